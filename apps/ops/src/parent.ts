/** How long a stop may take once the parent is gone before the process exits regardless. */
export const PARENT_GONE_EXIT_AFTER_MS = 30_000;

/**
 * The lifetime of the process that started this one, when it started it with an IPC channel (the
 * api starts `ops replay` so: apps/api/src/ops-replay/replay-process.ts). That channel closes
 * when the parent goes away for whatever reason (exit, crash, SIGKILL, OOM: the kernel closes
 * its end), and the returned signal is then aborted: a replay stops between pages of its build,
 * or rolls its switch-over back, and removes its new generation. Output to stdout and stderr (pipes
 * nobody reads any more: EPIPE) is dropped rather than crashing the process before it has
 * cleaned up, and a stop that does not end within `exitAfterMs` ends the process. SIGINT is
 * ignored (a terminal's Ctrl+C is for the parent, which reaches this process through the channel).
 *
 * Without a channel (an operator's terminal, a script, cron): null, nothing changes.
 */
export function watchParent(exitAfterMs = PARENT_GONE_EXIT_AFTER_MS): AbortSignal | null {
  const channel = process.channel;
  if (!channel) return null;
  const stop = new AbortController();
  const gone = (): void => {
    if (stop.signal.aborted) return;
    stop.abort(new Error('stopped: the process that started it is gone'));
    setTimeout(() => process.exit(1), exitAfterMs).unref();
  };
  // The channel only watches: it must not keep this process alive once its work is done.
  channel.unref();
  // Ctrl+C in the terminal of `npm start` reaches the whole process group, this process too:
  // the parent decides. Its shutdown waits for the replay to finish; if it exits instead, the
  // channel closes and the replay stops cleanly (not killed mid-build, its generation left behind).
  process.on('SIGINT', () => undefined);
  process.once('disconnect', gone);
  // The reader of our output is the parent: a write failing on its closed pipe means it is gone.
  process.stdout.on('error', gone);
  process.stderr.on('error', gone);
  if (!process.connected) gone();
  return stop.signal;
}
