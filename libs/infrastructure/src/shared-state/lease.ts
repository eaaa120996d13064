import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import type { Logger } from 'pino';
import { parsePostgresUrl } from '@app/event-store';
import type { AppConfig } from '@app/platform';

/** A lease this process holds until release() or until alive() finds it gone. */
export interface HeldLease {
  /** False once the lease can no longer be trusted (its connection to the store is gone). */
  alive(): Promise<boolean>;
  release(): Promise<void>;
}

/** Where leases are taken: one attempt, no waiting. */
export interface LeaseBackend {
  tryAcquire(name: string): Promise<HeldLease | null>;
}

/**
 * PostgreSQL (READ_DB_URL): a session advisory lock on a connection of its own. The server
 * releases it the moment that session ends: at once when the holder's process dies (its socket is
 * closed by the kernel), and within about 15 s when its host vanishes (server-side TCP keepalives
 * set on the session), so another process takes the role over.
 */
export class PostgresLeaseBackend implements LeaseBackend {
  private readonly target: { connectionString: string; schema: string };

  constructor(url: string) {
    this.target = parsePostgresUrl(url);
  }

  async tryAcquire(name: string): Promise<HeldLease | null> {
    const client = new Client({
      connectionString: this.target.connectionString,
      connectionTimeoutMillis: 5000,
      keepAlive: true,
      query_timeout: 5000,
      options:
        '-c idle_session_timeout=0 -c idle_in_transaction_session_timeout=0 ' +
        '-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=5',
    });
    let lost = false;
    client.on('error', () => {
      lost = true;
    });
    client.on('end', () => {
      lost = true;
    });
    await client.connect();
    try {
      const key = `${this.target.schema}:${name}`;
      const r = await client.query<{ held: boolean }>(
        "SELECT pg_try_advisory_lock(hashtext('lease'), hashtext($1)) AS held",
        [key],
      );
      if (!r.rows[0]?.held) {
        await client.end().catch(() => undefined);
        return null;
      }
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    return {
      alive: async () => {
        if (lost) return false;
        try {
          await client.query('SELECT 1');
          return true;
        } catch {
          return false;
        }
      },
      release: async () => {
        lost = true;
        // Ending the session releases the lock (no unlock call that could hang on a dead link).
        await client.end().catch(() => undefined);
      },
    };
  }
}

/**
 * Embedded default (no READ_DB_URL): the write lock of a small SQLite file under DATA_DIR/leases,
 * held in exclusive locking mode until released. The operating system drops it when the process
 * dies, however it dies; processes sharing a DATA_DIR are on one host, as its SQLite files require.
 */
export class FileLeaseBackend implements LeaseBackend {
  constructor(private readonly dir: string) {}

  async tryAcquire(name: string): Promise<HeldLease | null> {
    mkdirSync(this.dir, { recursive: true });
    const db = new Database(join(this.dir, `${name}.lock`), { timeout: 0 });
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
      db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER)');
      db.exec('COMMIT');
    } catch (error) {
      db.close();
      if ((error as { code?: string }).code === 'SQLITE_BUSY') return null;
      throw error;
    }
    return {
      alive: async () => db.open,
      release: async () => {
        if (db.open) db.close();
      },
    };
  }
}

export function leaseBackendFor(config: Pick<AppConfig, 'dataDir' | 'readDbUrl'>): LeaseBackend {
  return config.readDbUrl
    ? new PostgresLeaseBackend(config.readDbUrl)
    : new FileLeaseBackend(join(config.dataDir, 'leases'));
}

export interface RoleLeaseOptions {
  /** The role: one holder at a time per name and store. */
  name: string;
  backend: LeaseBackend;
  logger: Logger;
  /** Starts the role; called each time this process becomes the holder. */
  onAcquired: () => Promise<void> | void;
  /** Stops the role; called when the lease is lost or released. */
  onLost: () => Promise<void> | void;
  /** How often a process without the lease tries to take it, and the holder checks it. */
  intervalMs?: number;
}

/**
 * Runs a role (scheduler, projector …) in exactly one process at a time: each candidate tries
 * the lease every `intervalMs` (default 2 s, so a dead holder's role is taken over within a few
 * seconds), the holder checks it at the same pace and stops the role the moment it cannot
 * vouch for it. The roles it guards are idempotent, so the short overlap a lost connection can
 * cause (the old holder still finishing a batch) costs work, never correctness.
 */
export class RoleLease {
  private held: HeldLease | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly o: RoleLeaseOptions) {}

  get holding(): boolean {
    return this.held !== null;
  }

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.tick(), this.o.intervalMs ?? 2000);
    this.timer.unref();
    void this.tick();
  }

  /** Resolves once the first attempt is done (tests, start-up ordering). */
  async settled(): Promise<void> {
    await this.ticking;
  }

  /** Stops trying; stops the role and releases the lease if held. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
    await this.drop('released');
  }

  private tick(): Promise<void> {
    this.ticking ??= this.step()
      .catch((error: unknown) =>
        this.o.logger.warn({ err: error, lease: this.o.name }, 'lease: attempt failed; retrying'),
      )
      .finally(() => {
        this.ticking = null;
      });
    return this.ticking;
  }

  private async step(): Promise<void> {
    if (this.stopped) return;
    if (this.held) {
      if (!(await this.held.alive())) await this.drop('lost');
      return;
    }
    const lease = await this.o.backend.tryAcquire(this.o.name);
    if (!lease) return;
    if (this.stopped) return void (await lease.release());
    this.held = lease;
    this.o.logger.info({ lease: this.o.name, pid: process.pid }, 'lease taken: running the role');
    await this.o.onAcquired();
  }

  private async drop(why: 'lost' | 'released'): Promise<void> {
    const lease = this.held;
    if (!lease) return;
    this.held = null;
    if (why === 'lost') this.o.logger.warn({ lease: this.o.name }, 'lease lost: stopping the role');
    try {
      await this.o.onLost();
    } finally {
      await lease.release();
    }
  }
}
