import { readFileSync } from 'node:fs';
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

/**
 * Stops a process (SIGSTOP) and resolves once the kernel reports it stopped (Linux /proc), so
 * nothing it does can happen after this returns until SIGCONT.
 */
export async function freezeProcess(pid: number): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  // Field 3 of /proc/<pid>/stat: T when stopped.
  while (procStatFields(pid)[0] !== 'T') await new Promise((r) => setTimeout(r, 1));
}

/**
 * The fields of /proc/<pid>/stat from the third on (state, ppid, …; index i is field i + 3),
 * after the parenthesised command name, which may itself hold ") ", hence the last one. Throws
 * when the process is gone or there is no /proc.
 */
export function procStatFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
