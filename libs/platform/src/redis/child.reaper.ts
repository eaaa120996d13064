import type { ChildProcess } from 'node:child_process';

type Registry = { children: Set<ChildProcess>; hooked: boolean };

// One registry per global, even if this module is loaded twice (two copies in node_modules, a
// reset module registry): a module-level Set would add one 'exit' hook per copy.
const KEY = Symbol.for('app.platform.redisChildren');
const holder = globalThis as unknown as Record<symbol, Registry | undefined>;

function registry(): Registry {
  const existing = holder[KEY];
  if (existing) return existing;
  const created: Registry = { children: new Set(), hooked: false };
  holder[KEY] = created;
  return created;
}

/**
 * Makes sure `child` does not outlive this process on a normal exit (including
 * process.exit() and an uncaught exception). SIGTERM, not SIGKILL: redis-server then flushes
 * its AOF. Not covered: this process being SIGKILLed, or dying of a signal it does not handle
 * (plain SIGTERM/SIGINT), because Node runs no 'exit' hook then; the app's shutdown hooks
 * must call stop() for those. (Ctrl+C reaches redis-server too: it shares our process group.)
 * Inside jest this hook is inert (each test file gets a copy of `process` whose 'exit' never
 * fires), so suites must stop their servers in afterAll, which usePrivateRedis does.
 */
export function reapOnExit(child: ChildProcess): void {
  const reg = registry();
  reg.children.add(child);
  child.once('exit', () => reg.children.delete(child));
  if (!reg.hooked) {
    reg.hooked = true;
    process.on('exit', () => {
      for (const c of reg.children) {
        try {
          c.kill('SIGTERM');
        } catch {
          // Already gone: nothing to clean up.
        }
      }
    });
  }
}
