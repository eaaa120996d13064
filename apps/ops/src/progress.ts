import { SingleBar } from 'cli-progress';

export interface Progress {
  update(done: number, total: number, events?: number): void;
  stop(): void;
}

const NOOP: Progress = { update: () => undefined, stop: () => undefined };

/**
 * A progress bar with rate and ETA on stderr, only when stderr is a terminal (scripts and pipes
 * get clean output and nothing else).
 */
export function progressBar(label: string, unit = 'events'): Progress {
  if (!process.stderr.isTTY) return NOOP;
  const started = Date.now();
  const bar = new SingleBar({
    stream: process.stderr,
    format: `${label} [{bar}] {percentage}% | {events} ${unit} | {rate}/s | ETA {eta_formatted}`,
    barsize: 30,
    hideCursor: true,
    clearOnComplete: false,
    etaBuffer: 50,
  });
  let begun = false;
  return {
    update(done, total, events = done) {
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      const payload = { events, rate: Math.round(events / seconds).toLocaleString('en') };
      if (!begun) {
        bar.start(Math.max(total, 1), 0, payload);
        begun = true;
      }
      bar.setTotal(Math.max(total, 1));
      bar.update(Math.min(done, Math.max(total, 1)), payload);
    },
    stop() {
      if (begun) bar.stop();
    },
  };
}
