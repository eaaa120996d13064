import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { PlatformError } from '../errors/platform.error';
import { findFreePort } from './free-port';
import { HOST, isRunning, launch, stopChild, waitForExit, type Settings } from './redis.process';

const PORT_RACE_RETRIES = 5;

export interface PrivateRedisOptions {
  /** Redis keeps its AOF/RDB here (created if missing), e.g. DATA_DIR/redis. */
  dataDir: string;
  /** Fixed port; default: a free one picked by the OS. */
  port?: number;
  /** 'aof': appendonly + fsync every second (the queue survives a crash); 'none': memory only. */
  persistence: 'aof' | 'none';
  /** Default: <dataDir>/redis-server.log. */
  logFile?: string;
  /** Path or name of the binary; default `redis-server` from PATH. */
  redisServerBin?: string;
  /** Appended after our arguments (later arguments win in redis), e.g. for fault tests. */
  extraArgs?: readonly string[];
  /** How long to wait for the first PONG (AOF loading counts). Default 15 s. */
  startTimeoutMs?: number;
}

export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  /** Pid of the current redis-server process (changes on restart). */
  readonly pid: number;
  readonly running: boolean;
  readonly dataDir: string;
  readonly logFile: string;
  /** Graceful: SIGTERM (redis flushes the AOF and exits), SIGKILL after a grace period. */
  stop(): Promise<void>;
  /**
   * Sends `signal` (default SIGKILL: a crash) and waits for the process to exit. SIGSTOP and
   * SIGCONT return at once, so tests can freeze and thaw a server.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts again on the same port and data dir (stops first if still running). */
  restart(): Promise<void>;
  /**
   * Called when the server dies without stop() or kill() being asked for (a crash in
   * production): the app should log it and exit or fail readiness, since jobs stall meanwhile.
   * Returns a function that removes the listener.
   */
  onUnexpectedExit(
    listener: (exit: { code: number | null; signal: string | null }) => void,
  ): () => void;
}

/**
 * Starts a redis-server child process bound to 127.0.0.1 and resolves once it answers PING.
 * Used by the app when REDIS_URL is unset and by the test harness, so tests exercise the same
 * start-up path as production.
 */
export async function startPrivateRedis(options: PrivateRedisOptions): Promise<PrivateRedis> {
  const dataDir = resolve(options.dataDir);
  const settings: Settings = {
    dataDir,
    logFile: resolve(options.logFile ?? join(dataDir, 'redis-server.log')),
    bin: options.redisServerBin ?? 'redis-server',
    persistence: options.persistence,
    extraArgs: options.extraArgs ?? [],
    startTimeoutMs: options.startTimeoutMs ?? 15_000,
  };
  await mkdir(dataDir, { recursive: true });
  await mkdir(dirname(settings.logFile), { recursive: true });

  let child: ChildProcess;
  let port: number;
  if (options.port !== undefined) {
    port = options.port;
    child = await launch(settings, port);
  } else {
    // The port was free when we looked; someone may grab it before redis binds: look again.
    for (let attempt = 1; ; attempt++) {
      port = await findFreePort(HOST);
      try {
        child = await launch(settings, port);
        break;
      } catch (error) {
        const raced = error instanceof PlatformError && error.code === 'REDIS_PORT_IN_USE';
        if (!raced || attempt >= PORT_RACE_RETRIES) throw error;
      }
    }
  }

  const exitListeners = new Set<(exit: { code: number | null; signal: string | null }) => void>();
  // Set by stop/kill/restart so the exit they cause is not reported as a crash.
  let exitRequested = false;
  const watch = (proc: ChildProcess): ChildProcess => {
    exitRequested = false;
    proc.once('exit', (code, signal) => {
      if (exitRequested) return;
      for (const listener of exitListeners) listener({ code, signal });
    });
    return proc;
  };
  watch(child);

  const handle: PrivateRedis = {
    url: `redis://${HOST}:${port}`,
    port,
    dataDir,
    logFile: settings.logFile,
    get pid() {
      return child.pid ?? -1;
    },
    get running() {
      return isRunning(child);
    },
    stop: () => {
      exitRequested = true;
      return stopChild(child);
    },
    kill: async (signal = 'SIGKILL') => {
      if (!isRunning(child)) return;
      const freezeOnly = signal === 'SIGSTOP' || signal === 'SIGCONT';
      if (!freezeOnly) exitRequested = true;
      const exited = waitForExit(child);
      child.kill(signal);
      if (!freezeOnly) await exited;
    },
    restart: async () => {
      exitRequested = true;
      await stopChild(child);
      child = watch(await launch(settings, port));
    },
    onUnexpectedExit: (listener) => {
      exitListeners.add(listener);
      return () => exitListeners.delete(listener);
    },
  };
  return handle;
}
