import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { PlatformError } from '../errors/platform.error';
import { reapOnExit } from './child.reaper';
import { fileSize, readTail, TailBuffer } from './log-tail';
import { isReadyReply, probeOnce } from './redis.ping';

// Spawning, probing and stopping one redis-server process. The launcher wraps these in a
// handle that survives restarts.

export const HOST = '127.0.0.1';
const STOP_GRACE_MS = 10_000;

/** Everything a (re)start needs; fixed for the life of a handle. */
export interface Settings {
  dataDir: string;
  logFile: string;
  bin: string;
  persistence: 'aof' | 'none';
  extraArgs: readonly string[];
  startTimeoutMs: number;
}

function redisArgs(settings: Settings, port: number): string[] {
  const persistence =
    settings.persistence === 'aof'
      ? ['--appendonly', 'yes', '--appendfsync', 'everysec']
      : ['--appendonly', 'no'];
  // Flag/value pairs, one per line.
  // prettier-ignore
  return [
    '--port', String(port),
    '--bind', HOST,
    '--daemonize', 'no',
    '--dir', settings.dataDir,
    '--logfile', settings.logFile,
    // BullMQ loses jobs silently if Redis evicts keys under memory pressure.
    '--maxmemory-policy', 'noeviction',
    // No RDB snapshots: with AOF they only duplicate work; without it the mode means "memory only".
    '--save', '',
    ...persistence,
    ...settings.extraArgs,
  ];
}

/** Spawns one redis-server and waits for PONG; on any failure the child is gone again. */
export async function launch(settings: Settings, port: number): Promise<ChildProcess> {
  const logOffset = await fileSize(settings.logFile);
  const output = new TailBuffer();
  const child = spawn(settings.bin, redisArgs(settings, port), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Config errors ("FATAL CONFIG FILE ERROR") go to stdout/stderr, not to the log file.
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk));

  await new Promise<void>((resolveSpawn, rejectSpawn) => {
    child.once('spawn', resolveSpawn);
    child.once('error', (error: NodeJS.ErrnoException) =>
      rejectSpawn(spawnError(settings.bin, error)),
    );
  });
  // Later 'error' events (a failed kill) must not crash the app as unhandled; exit is watched.
  child.on('error', () => undefined);
  reapOnExit(child);

  const describeLog = async (): Promise<string> => {
    const log = (await readTail(settings.logFile, logOffset)).trim();
    const out = output.toString().trim();
    return (
      [out && `output:\n${out}`, log && `log (${settings.logFile}):\n${log}`]
        .filter(Boolean)
        .join('\n') || '(no output)'
    );
  };

  const deadline = Date.now() + settings.startTimeoutMs;
  let lastReply = 'no answer yet';
  while (Date.now() < deadline) {
    if (!isRunning(child)) {
      const details = await describeLog();
      if (/address already in use/i.test(details)) {
        throw new PlatformError(
          'REDIS_PORT_IN_USE',
          `Port ${port} on ${HOST} is already in use; redis-server could not bind it.\n${details}`,
        );
      }
      throw new PlatformError(
        'REDIS_START_FAILED',
        `redis-server exited during start-up (code ${child.exitCode}, signal ${child.signalCode}).\n${details}`,
      );
    }
    try {
      const probe = await probeOnce(port, HOST);
      lastReply = probe.reply;
      // Only our own process counts: another server on this port would answer PONG too.
      if (probe.pid !== undefined && probe.pid !== child.pid) {
        lastReply = `answered by another process (pid ${probe.pid})`;
      } else if (isReadyReply(probe.reply)) {
        return child;
      }
    } catch (error) {
      lastReply = error instanceof Error ? error.message : String(error);
    }
    await sleep(25);
  }
  await killNow(child);
  throw new PlatformError(
    'REDIS_START_FAILED',
    `redis-server did not answer PING on ${HOST}:${port} within ${settings.startTimeoutMs} ms (last: ${lastReply}).\n${await describeLog()}`,
  );
}

function spawnError(bin: string, error: NodeJS.ErrnoException): PlatformError {
  if (error.code === 'ENOENT') {
    return new PlatformError(
      'REDIS_SERVER_NOT_FOUND',
      `Cannot start a private Redis: the redis-server binary "${bin}" was not found. ` +
        'Install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis), ' +
        'or set REDIS_URL to an existing Redis (maxmemory-policy noeviction, AOF on).',
      { cause: error },
    );
  }
  return new PlatformError('REDIS_START_FAILED', `Cannot run "${bin}": ${error.message}`, {
    cause: error,
  });
}

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

export function waitForExit(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return Promise.resolve();
  return new Promise((resolveExit) => child.once('exit', () => resolveExit()));
}

async function killNow(child: ChildProcess): Promise<void> {
  const exited = waitForExit(child);
  child.kill('SIGKILL');
  await exited;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return;
  const exited = waitForExit(child);
  child.kill('SIGTERM');
  // A frozen (SIGSTOPped) server only handles SIGTERM once it runs again.
  child.kill('SIGCONT');
  // Cancel the grace timer once the child is gone, or it would hold the event loop open.
  const cancel = new AbortController();
  const timer = sleep(STOP_GRACE_MS, 'timeout' as const, { signal: cancel.signal }).catch(
    () => 'cancelled' as const,
  );
  const outcome = await Promise.race([exited.then(() => 'exited' as const), timer]);
  cancel.abort();
  if (outcome === 'timeout') await killNow(child);
}
