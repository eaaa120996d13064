import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import pino from 'pino';
import {
  FileLeaseBackend,
  type LeaseBackend,
  PostgresLeaseBackend,
  RoleLease,
} from '@app/infrastructure';
import { testPgUrl } from '../../support/postgres-url';
import { useTmpDir } from '../../support/tmp-dir';

const logger = pino({ level: 'silent' });
const ROOT = join(__dirname, '../../..');

async function until(cond: () => boolean, what: string, ms: number): Promise<number> {
  const started = Date.now();
  while (!cond()) {
    if (Date.now() - started > ms) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - started;
}

/** A candidate for the role: counts how often it was started and whether it runs now. */
function candidate(backend: LeaseBackend, name: string) {
  const role = { running: false, starts: 0 };
  const lease = new RoleLease({
    name,
    backend,
    logger,
    intervalMs: 200,
    onAcquired: () => {
      role.running = true;
      role.starts++;
    },
    onLost: () => {
      role.running = false;
    },
  });
  return { role, lease };
}

function holderChild(args: string[]): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '-r',
      './test/support/swc-register.js',
      'test/integration/shared-state/lease-holder-child.ts',
      ...args,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`lease child exited early (${code})`)));
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('HELD')) resolve(child);
    });
  });
}

const backends: Array<[string, (dir: string) => LeaseBackend, (dir: string) => string[]]> = [
  [
    'PostgreSQL advisory lock',
    () => new PostgresLeaseBackend(testPgUrl()),
    () => ['pg', testPgUrl()],
  ],
  ['file lock under DATA_DIR', (dir) => new FileLeaseBackend(dir), (dir) => ['file', dir]],
];

describe.each(backends)('RoleLease on a %s', (_label, makeBackend, childArgs) => {
  const tmp = useTmpDir('lease-');

  it('runs the role in exactly one candidate, and another takes over when the holder stops', async () => {
    const name = `role-${randomUUID()}`;
    const a = candidate(makeBackend(tmp()), name);
    const b = candidate(makeBackend(tmp()), name);
    a.lease.start();
    await a.lease.settled();
    b.lease.start();
    await until(() => a.role.running, 'a holds', 5000);
    // Several of b's attempts go by: it must keep failing while a holds the lease.
    await new Promise((r) => setTimeout(r, 700));
    expect([a.role.running, b.role.running]).toEqual([true, false]);
    await a.lease.stop();
    expect(a.role.running).toBe(false);
    await until(() => b.role.running, 'b takes over', 5000);
    expect(b.role.starts).toBe(1);
    await b.lease.stop();
  });

  it('is taken over within 10 s of a kill -9 of the holding process', async () => {
    const name = `role-${randomUUID()}`;
    const child = await holderChild([...childArgs(tmp()), name]);
    const c = candidate(makeBackend(tmp()), name);
    try {
      c.lease.start();
      await new Promise((r) => setTimeout(r, 700));
      expect(c.role.running).toBe(false);
      child.kill('SIGKILL');
      const tookMs = await until(() => c.role.running, 'takeover after SIGKILL', 10_000);
      expect(tookMs).toBeLessThan(10_000);
    } finally {
      child.kill('SIGKILL');
      await c.lease.stop();
    }
  });
});
