import { dirname, extname, join, resolve } from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread on the module `name` beside `callerFile` (the caller's `__filename`):
 * `<name>.js` when running the build; `<name>.ts` from the TypeScript sources, with the hook that
 * compiles TypeScript (`test/support/swc-register.js`, which the sources run under) loaded in the
 * new thread first. Worker modules are ordinary typed, linted files of the repository.
 */
export function startModuleWorker(
  callerFile: string,
  name: string,
  options: WorkerOptions = {},
): Worker {
  const dir = dirname(callerFile);
  const ext = extname(callerFile);
  const file = join(dir, `${name}${ext}`);
  if (ext !== '.ts') return new Worker(file, options);
  // From the sources, this file is libs/platform/src/process/module-worker.ts.
  const hook = resolve(__dirname, '..', '..', '..', '..', 'test', 'support', 'swc-register.js');
  return new Worker(`require(${JSON.stringify(hook)}); require(${JSON.stringify(file)});`, {
    ...options,
    eval: true,
  });
}
