import type { ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';

/** True when something accepts TCP connections on the port (127.0.0.1). */
export const listening = (port: number): Promise<boolean> =>
  new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
export async function stopChildProcess(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
