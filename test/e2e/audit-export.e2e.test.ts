import { get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { NewEvent } from '@app/event-store';
import { ReadModelProjector } from '@app/read-models';
import { auth, type TestApp, startApp, TOKENS } from '../support/app-harness';
import { registered } from '../support/fixtures';

const EVENTS = 100_000;
const STREAMS = 100;
/** Bytes of the body between two heap samples: about 30 samples over the ~61 MiB. */
const SAMPLE_EVERY = 2 * 2 ** 20;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const meta = (i: number) => ({
  correlationId: `corr-${i}`,
  causationId: null,
  commandId: null,
  actor: { actorId: `usr_${i % 17}`, role: 'user' },
  channel: 'self_service',
  recordedAt: new Date(Date.UTC(2026, 1, 10, 9) + i * 1000).toISOString(),
  schemaVersion: 1,
});

/** A stream of one subscription: registered, then refusals (D6), as a busy audit log has. */
function streamEvents(s: number, count: number): NewEvent[] {
  const subscriptionId = `exp_${s}`;
  const ids = { subscriptionId, accountId: `acc_exp_${s % 10}` };
  return Array.from({ length: count }, (_, j) =>
    j === 0
      ? {
          type: 'SubscriptionRegistered',
          data: registered({ ...ids, assignedLicences: 3, now: '2026-02-10T09:00:00.000Z' }).data,
          metadata: meta(s * count + j),
        }
      : {
          type: 'CancellationRefused',
          data: {
            ...ids,
            code: 'FORBIDDEN_ROLE',
            rule: 'R4',
            message:
              'Only a billing admin may cancel this subscription; ask them or contact support.',
            requestedBy: { actorId: `usr_${j % 17}`, role: 'user' },
            channel: 'self_service',
            refusedAt: '2026-02-10T09:00:00.000Z',
            policyVersion: 'cancellation-policy/1',
          },
          metadata: meta(s * count + j),
        },
  );
}

describe('NDJSON export of the audit log', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ logLevel: 'warn' });
    await t.app.get(ReadModelProjector).stop();
    const started = Date.now();
    const per = EVENTS / STREAMS;
    for (let s = 0; s < STREAMS; s++)
      await t.raw.appendToStream(`subscription-exp_${s}`, streamEvents(s, per), {
        expectedRevision: 'no_stream',
      });
    const head = (await t.raw.headPosition())!;
    const appended = Date.now();
    t.app.get(ReadModelProjector).start();
    expect(await t.app.get(ReadModelProjector).waitFor(head, 120_000)).toBe(true);
    process.stdout.write(
      `seeded ${EVENTS} events: append ${appended - started} ms, projection caught up after ${Date.now() - appended} ms\n`,
    );
    await t.app.listen(0, '127.0.0.1');
  }, 180_000);
  afterAll(() => t.close());

  it('streams all 100,000 events in bounded memory (heap growth measured while the response flows)', async () => {
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    gc();
    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    let samples = 0;
    // Live heap while the response flows: collect garbage first, so what is measured is what the
    // export retains (a buffered export would retain the whole body). Sampled every SAMPLE_EVERY
    // bytes received, not on a timer: each gc() stops the export for as long as it takes (tens of
    // ms, more on a busy host), and a timer firing every 50 ms kept a slow host collecting garbage
    // most of the time (58 s of a 60 s timeout); this way the samples cost the same everywhere.
    const sample = () => {
      gc();
      samples++;
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    };
    const started = Date.now();
    const result = await new Promise<{
      status: number;
      type: string;
      lines: number;
      bytes: number;
      samples: unknown[];
    }>((resolve, reject) => {
      const req = get(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/audit/events?format=ndjson',
          headers: auth(TOKENS.auditor),
        },
        (res) => {
          let lines = 0;
          let bytes = 0;
          let nextSample = SAMPLE_EVERY;
          let tail = '';
          const samples: unknown[] = [];
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            bytes += Buffer.byteLength(chunk);
            if (bytes >= nextSample) {
              sample();
              nextSample += SAMPLE_EVERY;
            }
            // Count lines and keep a sample; the body itself is never accumulated.
            const text = tail + chunk;
            const parts = text.split('\n');
            tail = parts.pop()!;
            for (const line of parts)
              if (lines++ % 25_000 === 0 || lines % 25_000 === 8) samples.push(JSON.parse(line));
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode!,
              type: String(res.headers['content-type']),
              lines,
              bytes,
              samples,
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
    });
    const elapsed = Date.now() - started;
    const growthMb = (peak - baseline) / 2 ** 20;
    const bodyMb = result.bytes / 2 ** 20;
    process.stdout.write(
      `NDJSON export: ${result.lines} lines, ${bodyMb.toFixed(1)} MiB streamed in ${elapsed} ms, live heap growth at most ${growthMb.toFixed(1)} MiB (${samples} samples)\n`,
    );
    expect(result.status).toBe(200);
    expect(result.type).toMatch(/^application\/x-ndjson/);
    expect(result.lines).toBe(EVENTS);
    expect(result.samples[0]).toMatchObject({ position: '1', type: 'SubscriptionRegistered' });
    expect(result.samples[1]).toMatchObject({
      position: '8',
      type: 'CancellationRefused',
      data: { code: 'FORBIDDEN_ROLE' },
    });
    // Buffering the export would cost at least the body (~40 MiB as UTF-16/objects: far more).
    expect(bodyMb).toBeGreaterThan(30);
    expect(samples).toBeGreaterThan(10);
    expect(growthMb).toBeLessThan(16);
  }, 60_000);
});
