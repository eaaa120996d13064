import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { percentile } from './percentile';

export interface OpenLoopResult {
  /** Requests sent (= rate × duration). */
  sent: number;
  ok: number;
  non2xx: number;
  errors: number;
  /** Seconds from the first scheduled send to the last response. */
  durationS: number;
  p50: number;
  p99: number;
  max: number;
}

export interface OpenLoopRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/**
 * Constant arrival rate (open loop, like wrk2 or k6's constant-arrival-rate): request i is due at
 * start + i/rate and is sent then whatever the earlier ones are doing; its latency counts from
 * that due instant, so a slow server cannot hide queueing by slowing the client down (no
 * coordinated omission). autocannon's `overallRate` is not this: each connection sends its share
 * of a second back to back when the second starts, so "1,000/s" arrives as bursts.
 */
export async function openLoop(
  baseUrl: string,
  rate: number,
  durationS: number,
  next: () => OpenLoopRequest,
  maxSockets = 128,
): Promise<OpenLoopResult> {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets });
  const total = Math.round(rate * durationS);
  const latencies: number[] = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  const pending: Promise<void>[] = [];
  const start = performance.now() + 20;
  const send = (r: OpenLoopRequest, due: number) =>
    new Promise<void>((resolve) => {
      const req = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          method: r.method,
          path: r.path,
          headers: r.headers,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - due);
            if (res.statusCode !== undefined && res.statusCode < 300) ok++;
            else non2xx++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(r.body);
    });
  for (let i = 0; i < total;) {
    const now = performance.now();
    // Send everything due by now, then sleep until the next due instant.
    while (i < total && start + (i * 1000) / rate <= now) {
      pending.push(send(next(), start + (i * 1000) / rate));
      i++;
    }
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await Promise.all(pending);
  const end = performance.now();
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    sent: total,
    ok,
    non2xx,
    errors,
    durationS: (end - start) / 1000,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    max: latencies[latencies.length - 1] ?? 0,
  };
}
