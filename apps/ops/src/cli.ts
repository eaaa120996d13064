import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DateTime } from 'luxon';
import pino from 'pino';
import {
  defaultOperator,
  exportAudit,
  inspectStream,
  JobNotFoundError,
  JobNotRetryableError,
  LifecycleJobsAdmin,
  OpsResources,
  replayReadModels,
  resolveProjections,
  STALE_GRACE_MS,
  UnknownProjectionError,
  verifyReadModels,
} from '@app/ops';
import { type AppConfig, loadConfig } from '@app/platform';
import { keysByKid, verifyEndOfLifeCertificate, verifyReceiptExport } from '@app/read-models';
import { formatInspection, formatReplay, formatVerify, table } from './format';
import { progressBar } from './progress';

/** Exit codes scripts can trust. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export class UsageError extends Error {}

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /**
   * Aborted when the process that started this one is gone (main.ts: only when it was started
   * with an IPC channel, as the api starts `replay`): a replay then stops and cleans up.
   */
  signal?: AbortSignal;
}

/** A time part followed by `Z` or a numeric offset: `…T10:00Z`, `…T10:00:00.000+01:00`. */
const EXPLICIT_OFFSET = /T[^+-]*(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;

/**
 * An ISO 8601 instant with an explicit offset (what the HTTP API accepts too). A time without
 * one would be read in the host's time zone, so the same command would select other events on
 * another machine: refused.
 */
const isoInstant =
  (what: string) =>
  (value: string): string => {
    const t = DateTime.fromISO(value, { setZone: true });
    if (!t.isValid)
      throw new InvalidArgumentError(`${what} must be an ISO 8601 time, e.g. 2026-06-30T00:00:00Z`);
    if (!EXPLICIT_OFFSET.test(value))
      throw new InvalidArgumentError(
        `${what} must be an ISO 8601 time with an offset (Z or ±hh:mm), e.g. 2026-06-30T00:00:00Z; ` +
          "without one it would be read in this host's time zone",
      );
    return t.toUTC().toISO();
  };

const positiveInt = (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) <= 0)
    throw new InvalidArgumentError('must be a positive integer');
  return Number(value);
};

/** Progress for a parent process: a JSON line on stderr at most every 200 ms, and the last one. */
function progressLines(io: CliIo): {
  update(done: number, total: number, events: number): void;
  stop(): void;
} {
  let last: string | null = null;
  let writtenAt = 0;
  const write = () => {
    if (last) io.err(last);
    last = null;
    writtenAt = Date.now();
  };
  return {
    update(done, total, events) {
      last = `${JSON.stringify({ progress: { events, done, total } })}\n`;
      if (Date.now() - writtenAt >= 200) write();
    },
    stop: write,
  };
}

/** A file the command was given; a missing or unreadable one is a usage error (exit 2). */
function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`${what}: cannot read ${path} (${(error as NodeJS.ErrnoException).code})`);
  }
}

/** The public keys of `--public-key` files (SPKI PEM; a file may hold several). */
function readPublicKeys(paths: readonly string[]): KeyObject[] {
  const keys: KeyObject[] = [];
  for (const path of paths) {
    const text = readText(path, '--public-key');
    const blocks = text.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g);
    if (!blocks) throw new UsageError(`--public-key ${path}: no PEM public key in it`);
    for (const block of blocks) {
      try {
        keys.push(createPublicKey(block));
      } catch {
        throw new UsageError(`--public-key ${path}: not a valid public key`);
      }
    }
  }
  return keys;
}

/** Builds the program; `run` resolves to the exit code (never calls process.exit). */
export function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  let config: AppConfig | null = null;
  const cfg = (): AppConfig => (config ??= loadConfig(io.env));
  const withResources = async <T>(fn: (r: OpsResources) => Promise<T>): Promise<T> => {
    const r = await OpsResources.open(cfg());
    try {
      return await fn(r);
    } finally {
      await r.close();
    }
  };
  const print = (json: boolean, value: unknown, human: () => string): void =>
    io.out(json ? `${JSON.stringify(value, null, 2)}\n` : human());

  const program = new Command('ops')
    .description(
      'Operator tools for the subscription end-of-life service. Runs against the same DATA_DIR, ' +
        'READ_DB_URL, EVENTSTORE_URL and REDIS_URL as the service.\n' +
        'Exit codes: 0 ok, 1 failure or drift, 2 usage error.',
    )
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('replay')
    .description(
      'Rebuild the read models from the event log into a new generation, then switch readers ' +
        'to it by the pointer and drop the old one (queries keep answering meanwhile).',
    )
    .option('--projection <name>', 'projection to rebuild: read-models or all', 'all')
    .option(
      '--dry-run',
      'build and compare with the live read models, do not switch (exit 1 if they differ)',
    )
    .option('--batch-size <n>', 'events per transaction', positiveInt, 2000)
    .option('--json', 'machine-readable report')
    .option(
      '--progress-ndjson',
      'progress as one JSON object per line on stderr, {"progress": {events, done, total}} (for a parent process)',
    )
    .action(
      async (o: {
        projection: string;
        dryRun?: boolean;
        batchSize: number;
        json?: boolean;
        progressNdjson?: boolean;
      }) => {
        try {
          resolveProjections(o.projection);
        } catch (error) {
          if (error instanceof UnknownProjectionError) throw new UsageError(error.message);
          throw error;
        }
        await withResources(async (r) => {
          const bar = o.progressNdjson
            ? progressLines(io)
            : progressBar(o.dryRun ? 'replay (dry run)' : 'replay');
          const report = await replayReadModels({
            log: r.raw,
            live: r.readDb,
            dataDir: r.config.dataDir,
            readDbUrl: r.config.readDbUrl,
            upcast: r.upcast,
            upcasterModule: r.upcasterModule,
            projection: o.projection,
            dryRun: o.dryRun ?? false,
            batchSize: o.batchSize,
            onProgress: (p) => bar.update(p.done, p.total, p.events),
            signal: io.signal,
            signer: r.keyring.signer,
          }).finally(() => bar.stop());
          print(o.json ?? false, report, () => formatReplay(report));
          if (report.dryRun && report.identical === false) setExit(EXIT.failure);
        });
      },
    );

  program
    .command('verify-receipts')
    .description(
      'Check an NDJSON export of the purge receipts (GET /v1/audit/purges?format=ndjson) offline ' +
        'with the public key(s) alone: every receipt signed, none altered, missing, reordered or ' +
        'cut off the end (D11, docs/receipts.md). Exit 1 naming the first bad line.',
    )
    .argument('<export.ndjson>', 'the export')
    .requiredOption(
      '--public-key <file.pem...>',
      'Ed25519 public key(s), SPKI PEM (GET /v1/audit/receipt-keys); one file may hold several',
    )
    .option('--json', 'machine-readable result')
    .action((file: string, o: { publicKey: string[]; json?: boolean }) => {
      const keys = readPublicKeys(o.publicKey);
      const result = verifyReceiptExport(readText(file, 'the export'), keysByKid(keys));
      print(o.json ?? false, result, () =>
        result.ok
          ? `OK: ${result.receipts} receipts, each signed, in sequence, chained; head signed by ${result.headKid}.\n`
          : '',
      );
      if (!result.ok) {
        if (!o.json)
          io.err(
            `${file}: line ${result.line}${result.receiptId ? ` (receipt ${result.receiptId})` : ''}: ${result.problem}: ${result.message}\n`,
          );
        setExit(EXIT.failure);
      }
    });

  program
    .command('verify-certificate')
    .description(
      'Check an end-of-life certificate (GET /v1/subscriptions/{id}/end-of-life-certificate, ' +
        'JSON) offline with the public key(s) alone: signed by the key its kid names and not ' +
        'altered (D11, docs/end-of-life-certificate.md). Exit 1 saying what is wrong.',
    )
    .argument('<certificate.json>', 'the certificate')
    .requiredOption(
      '--public-key <file.pem...>',
      'Ed25519 public key(s), SPKI PEM (GET /v1/audit/receipt-keys); one file may hold several',
    )
    .option('--json', 'machine-readable result')
    .action((file: string, o: { publicKey: string[]; json?: boolean }) => {
      const keys = readPublicKeys(o.publicKey);
      const result = verifyEndOfLifeCertificate(readText(file, 'the certificate'), keysByKid(keys));
      print(o.json ?? false, result, () =>
        result.ok
          ? `OK: the end-of-life certificate of ${result.subscriptionId} is signed by ${result.kid} and unaltered; it names receipt ${result.receiptId} (sequence ${result.sequence}).\n`
          : '',
      );
      if (!result.ok) {
        if (!o.json) io.err(`${file}: ${result.problem}: ${result.message}\n`);
        setExit(EXIT.failure);
      }
    });

  program
    .command('inspect')
    .description(
      'Every event of a stream with the state folded after it; with --as-of, the state as of that time.',
    )
    .argument('<streamId>', 'e.g. subscription-sub_123 or account-acc_1')
    .option('--as-of <iso>', 'only events recorded at or before this time', isoInstant('--as-of'))
    .option('--json', 'machine-readable output')
    .action(async (streamId: string, o: { asOf?: string; json?: boolean }) => {
      await withResources(async (r) => {
        const result = await inspectStream(r.store, streamId, {
          asOf: o.asOf ? new Date(o.asOf) : null,
        });
        if (!result) {
          io.err(`No stream ${streamId}.\n`);
          setExit(EXIT.failure);
          return;
        }
        print(o.json ?? false, result, () => formatInspection(result));
      });
    });

  program
    .command('verify')
    .description(
      'Compare every read-model row with the fold of its stream (one audit row per event; ' +
        'subscriptions, accounts, purge receipts, integration events). ' +
        'Exit 1 with a report on drift.',
    )
    .option('--max-drifts <n>', 'drifts listed in the report', positiveInt, 100)
    .option('--json', 'machine-readable report')
    .action(async (o: { maxDrifts: number; json?: boolean }) => {
      await withResources(async (r) => {
        const bar = progressBar('verify');
        const report = await verifyReadModels({
          log: r.raw,
          readDb: r.readDb,
          upcast: r.upcast,
          signer: r.keyring.signer,
          maxDrifts: o.maxDrifts,
          onProgress: (p) => bar.update(p.done, p.total),
        }).finally(() => bar.stop());
        print(o.json ?? false, report, () => formatVerify(report));
        if (!report.ok) setExit(EXIT.failure);
      });
    });

  program
    .command('reconcile-jobs')
    .description(
      'Run the lifecycle reconciler now: make Redis hold exactly the jobs the log calls for. ' +
        'Prints what it changes (with --dry-run: what it would change).',
    )
    .option('--dry-run', 'only print what would change')
    .option('--json', 'machine-readable output')
    .action(async (o: { dryRun?: boolean; json?: boolean }) => {
      const logger = pino({ level: 'warn' }, pino.destination(2));
      await withResources(async (r) => {
        const admin = await LifecycleJobsAdmin.open(r.config);
        try {
          const result = await admin.reconcile(r.raw, logger, o.dryRun ?? false);
          print(o.json ?? false, result, () => {
            const p = result.plan;
            const lines = [
              `${o.dryRun ? 'Would change' : 'Changes'} (scheduler at ${p.schedulerPosition ?? '-'}, log head ${p.logHead ?? '-'}${p.caughtUp ? '' : ', scheduler behind: nothing removed'}):`,
              `  desired ${p.desired}, present ${p.present}`,
              `  create ${p.missing.length}${p.missing.length ? `: ${p.missing.join(', ')}` : ''}`,
              `  remove ${p.stale.length}${p.stale.length ? `: ${p.stale.join(', ')}` : ''}`,
              ...(p.recent.length
                ? [
                    `  keep, not called for but added less than ${STALE_GRACE_MS / 1000} s ago ${p.recent.length}: ${p.recent.join(', ')}`,
                  ]
                : []),
              `  retry ${p.retry.length}${p.retry.length ? `: ${p.retry.join(', ')}` : ''}`,
              `  refused (left failed) ${p.refused.length}${p.refused.length ? `: ${p.refused.join(', ')}` : ''}`,
            ];
            if (result.applied)
              lines.push(
                `Applied: recreated ${result.applied.recreated}, removed ${result.applied.removed}, retried ${result.applied.retried}.`,
              );
            return `${lines.join('\n')}\n`;
          });
        } finally {
          await admin.close();
        }
      });
    });

  program
    .command('jobs')
    .description(
      'Lifecycle jobs (term ends and purges) and their state; default: pending and failed.',
    )
    .addOption(new Option('--failed', 'failed jobs only').conflicts('delayed'))
    .addOption(new Option('--delayed', 'delayed (scheduled) jobs only').conflicts('failed'))
    .option('--json', 'machine-readable output')
    .action(async (o: { failed?: boolean; delayed?: boolean; json?: boolean }) => {
      const admin = await LifecycleJobsAdmin.open(cfg());
      try {
        const states = o.failed
          ? (['failed'] as const)
          : o.delayed
            ? (['delayed'] as const)
            : (['active', 'wait', 'delayed', 'failed'] as const);
        const jobs = await admin.list(states);
        print(o.json ?? false, jobs, () =>
          jobs.length === 0
            ? 'No jobs.\n'
            : table(
                ['id', 'state', 'due', 'attempts', 'reason'],
                jobs.map((j) => [
                  j.id,
                  j.state,
                  j.dueAt ?? '',
                  String(j.attemptsMade),
                  j.failedReason ?? '',
                ]),
              ),
        );
      } finally {
        await admin.close();
      }
    });

  program
    .command('retry')
    .description(
      'Retry a failed lifecycle job (a new series of attempts), or run a delayed one now.',
    )
    .argument('<jobId>', 'e.g. purge-sub_1-1767225600000')
    .option(
      '--actor <id>',
      'who is acting, recorded in the log with the action (default: the OS user at this host)',
    )
    .action(async (jobId: string, options: { actor?: string }) => {
      const config = cfg();
      const admin = await LifecycleJobsAdmin.open(config);
      const resources = await OpsResources.open(config);
      try {
        const r = await admin.retry(jobId, {
          log: resources.raw,
          operator: options.actor ?? defaultOperator(),
          at: new Date(),
        });
        io.out(`${r.jobId}: ${r.action} (was ${r.from}).\n`);
      } catch (error) {
        if (error instanceof JobNotFoundError || error instanceof JobNotRetryableError) {
          io.err(`${error.message}\n`);
          setExit(EXIT.failure);
          return;
        }
        throw error;
      } finally {
        await admin.close();
        await resources.close();
      }
    });

  program
    .command('export-audit')
    .description(
      'Write the audit events recorded in [--from, --to) to an NDJSON file, oldest first.',
    )
    .requiredOption('--from <iso>', 'inclusive start', isoInstant('--from'))
    .requiredOption('--to <iso>', 'exclusive end', isoInstant('--to'))
    .requiredOption(
      '--out <file.ndjson>',
      'output file, replaced atomically once the export is complete (left as it was on failure)',
    )
    .action(async (o: { from: string; to: string; out: string }) => {
      if (o.from >= o.to) throw new UsageError('--from must be before --to');
      await withResources(async (r) => {
        const bar = progressBar('export-audit');
        // Ctrl+C or SIGTERM: stop between pages and remove the partial file (it holds decrypted
        // personal fields) instead of dying with it on disk.
        const interrupted = new AbortController();
        const stop = (): void =>
          interrupted.abort(new Error(`export-audit interrupted; ${o.out} left as it was`));
        process.once('SIGINT', stop).once('SIGTERM', stop);
        const result = await exportAudit({
          store: r.readStore,
          reader: r.auditReader,
          from: o.from,
          to: o.to,
          out: o.out,
          onProgress: (p) => bar.update(p.done, p.total),
          signal: interrupted.signal,
        }).finally(() => {
          process.off('SIGINT', stop).off('SIGTERM', stop);
          bar.stop();
        });
        io.out(`Wrote ${result.events} audit events to ${o.out}.\n`);
      });
    });

  return program;
}

/** Runs the CLI on argv (without node and script) and resolves to its exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (c) => {
    code = Math.max(code, c);
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.exitCode === 0
      )
        return EXIT.ok;
      return EXIT.usage;
    }
    if (error instanceof UsageError) {
      io.err(`error: ${error.message}\n`);
      return EXIT.usage;
    }
    io.err(`ops failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failure;
  }
}
