import { execFileSync } from 'node:child_process';
import {
  accessSync,
  appendFileSync,
  chownSync,
  constants,
  existsSync,
  readdirSync,
  readFileSync,
} from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { delimiter, join } from 'node:path';
import { Client } from 'pg';
import { DEFAULT_TEST_PG_URL } from './postgres-url';
import { makeTmpDir, removeTmpDir } from './tmp-dir';

// The PostgreSQL of a jest run, chosen once in globalSetup (test/support/global-setup.ts):
//   1. TEST_PG_URL, when set;
//   2. else the server on 127.0.0.1:5432, when postgres://postgres@127.0.0.1:5432/test answers;
//   3. else a private server: initdb into a temp folder, pg_ctl start on a free port of 127.0.0.1,
//      database `test`, stopped and removed in globalTeardown (TEST_PG_PRIVATE=1 forces this one).
// globalSetup runs in jest's own process before any worker is forked, so setting
// process.env.TEST_PG_URL here hands the URL to every test file (read it with testPgUrl()).
// This runs outside the test environment: plain Node, no moduleNameMapper, so no @app/ imports.

const HOST = '127.0.0.1';
const PROBE_TIMEOUT_MS = 2_000;
const PORT_RACE_RETRIES = 5;
// initdb as root: Postgres refuses to run as root, so both run as this user (else `nobody`).
const PREFERRED_USER = 'postgres';
const STATE = Symbol.for('sub-eol.test-postgres');

interface RunAs {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

interface PrivatePostgres {
  /** The temp folder: data/, postgres.log and the unix socket. */
  readonly dir: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** initdb and pg_ctl live here. */
  readonly binDir: string;
  /** Set when we are root: initdb, pg_ctl and the server run as this user. */
  readonly runAs: RunAs | undefined;
}

interface State {
  server: PrivatePostgres;
  /** Stops the server if the process ends without globalTeardown (signal, process.exit). */
  release: () => void;
}

const state = globalThis as typeof globalThis & { [STATE]?: State };

/** globalSetup: decides which PostgreSQL the run uses and sets process.env.TEST_PG_URL. */
export async function setUpTestPostgres(): Promise<void> {
  const given = process.env['TEST_PG_URL'];
  if (given) {
    say(`TEST_PG_URL from the environment (${redact(given)})`);
    return;
  }

  let reason: string;
  if (process.env['TEST_PG_PRIVATE'] === '1') {
    reason = 'TEST_PG_PRIVATE=1';
  } else {
    const problem = await probe(DEFAULT_TEST_PG_URL);
    if (problem === undefined) {
      process.env['TEST_PG_URL'] = DEFAULT_TEST_PG_URL;
      say(`the server on ${HOST}:5432 (${DEFAULT_TEST_PG_URL})`);
      return;
    }
    reason = `${DEFAULT_TEST_PG_URL} did not answer: ${problem}`;
  }

  const server = await startPrivatePostgres(reason);
  process.env['TEST_PG_URL'] = server.url;
}

/** globalTeardown: stops the private server, if setUpTestPostgres started one. */
export async function tearDownTestPostgres(): Promise<void> {
  const current = state[STATE];
  if (!current) return;
  delete state[STATE];
  current.release();
  stopPrivatePostgres(current.server);
}

/** undefined when the URL accepts a connection and a query, else why not. */
async function probe(url: string): Promise<string | undefined> {
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: PROBE_TIMEOUT_MS,
    query_timeout: PROBE_TIMEOUT_MS,
  });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (error) {
    return errorText(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function startPrivatePostgres(reason: string): Promise<{ url: string }> {
  const binDir = findPostgresBinDir();
  if (!binDir)
    throw new Error(
      `The tests need PostgreSQL (${reason}), and initdb/pg_ctl are neither on PATH nor in ` +
        '/usr/lib/postgresql/*/bin to start a private one. Install PostgreSQL (e.g. apt-get ' +
        'install postgresql), or set TEST_PG_URL to a server the tests may create schemas in.',
    );
  const runAs = process.getuid?.() === 0 ? unprivilegedUser() : undefined;
  const dir = makeTmpDir('test-pg-');
  const server: PrivatePostgres = {
    dir,
    dataDir: join(dir, 'data'),
    logFile: join(dir, 'postgres.log'),
    binDir,
    runAs,
  };
  // From here on an interrupted run removes the folder (and stops the server) on its way out.
  // initdb and pg_ctl run synchronously, so a signal is handled between steps, never halfway.
  state[STATE] = { server, release: stopOnProcessEnd(server) };
  try {
    if (runAs) chownSync(dir, runAs.uid, runAs.gid);
    initdb(server);
    appendFileSync(
      join(server.dataDir, 'postgresql.conf'),
      [
        '',
        '# test/support/postgres-harness.ts: a throwaway server for one jest run',
        `listen_addresses = '${HOST}'`,
        `unix_socket_directories = '${dir.replaceAll("'", "''")}'`,
        // Many test files each open pools of their own, some at once.
        'max_connections = 300',
        // Nothing here has to survive a crash of the machine.
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        '',
      ].join('\n'),
    );
    const port = await startOnFreePort(server);
    const admin = new Client({ connectionString: `postgres://postgres@${HOST}:${port}/postgres` });
    await admin.connect();
    try {
      await admin.query('CREATE DATABASE test');
    } finally {
      await admin.end();
    }
    const url = `postgres://postgres@${HOST}:${port}/test`;
    // "pg_ctl (PostgreSQL) 15.20 (Debian …)"
    const version = runBin(server, 'pg_ctl', ['--version'])
      .trim()
      .replace(/^pg_ctl \(PostgreSQL\)/, 'PostgreSQL');
    say(
      `a private server, ${version} from ${binDir}, on ${url} in ${dir}` +
        `${runAs ? ` as user ${runAs.name}` : ''} (${reason})`,
    );
    return { url };
  } catch (error) {
    const current = state[STATE];
    delete state[STATE];
    current?.release();
    stopPrivatePostgres(server);
    throw error;
  }
}

/** A folder holding both initdb and pg_ctl: on PATH first, else the newest /usr/lib/postgresql/N/bin. */
function findPostgresBinDir(): string | undefined {
  const hasBoth = (dir: string): boolean =>
    ['initdb', 'pg_ctl'].every((name) => isExecutable(join(dir, name)));
  const onPath = (process.env['PATH'] ?? '').split(delimiter).filter(Boolean).find(hasBoth);
  if (onPath) return onPath;
  const root = '/usr/lib/postgresql';
  let versions: string[];
  try {
    versions = readdirSync(root);
  } catch {
    return undefined;
  }
  const newestFirst = versions
    .filter((v) => /^\d+(\.\d+)*$/.test(v))
    .sort((a, b) => compareVersions(b, a))
    .map((v) => join(root, v, 'bin'));
  return newestFirst.find(hasBoth);
}

function compareVersions(a: string, b: string): number {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function unprivilegedUser(): RunAs {
  for (const name of [PREFERRED_USER, 'nobody']) {
    try {
      const id = (flag: string): number =>
        Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: 'pipe' }).trim());
      return { name, uid: id('-u'), gid: id('-g') };
    } catch {
      // No such user: try the next.
    }
  }
  throw new Error(
    `PostgreSQL refuses to run as root, and neither user ${PREFERRED_USER} nor nobody exists ` +
      'to run a private server as. Create one, run the tests as another user, or set TEST_PG_URL.',
  );
}

/** The command line that runs `bin` from the server's binDir (as runAs, through runuser or setpriv). */
function commandLine(server: PrivatePostgres, bin: string, args: string[]): [string, string[]] {
  const file = join(server.binDir, bin);
  const user = server.runAs;
  if (!user) return [file, args];
  const hasRunuser = (process.env['PATH'] ?? '')
    .split(delimiter)
    .some((dir) => dir && isExecutable(join(dir, 'runuser')));
  return hasRunuser
    ? ['runuser', ['-u', user.name, '--', file, ...args]]
    : [
        'setpriv',
        ['--reuid', `${user.uid}`, '--regid', `${user.gid}`, '--clear-groups', '--', file, ...args],
      ];
}

/** Runs a PostgreSQL binary to completion and returns its output (stderr included). */
function runBin(server: PrivatePostgres, bin: string, args: string[]): string {
  const [file, argv] = commandLine(server, bin, args);
  try {
    // cwd: the temp folder, which runAs can enter (the repo or /root may be closed to it).
    return execFileSync(file, argv, {
      cwd: server.dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    });
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(
      `${[file, ...argv].join(' ')} failed: ${errorText(error)}\n${stdout ?? ''}${stderr ?? ''}`,
    );
  }
}

function initdb(server: PrivatePostgres): void {
  const args = ['-D', server.dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync'];
  // C.UTF-8, as the machines' own server; plain C where the system has no such locale.
  try {
    runBin(server, 'initdb', [...args, '--locale=C.UTF-8']);
  } catch (error) {
    if (!/invalid locale name/i.test(errorText(error))) throw error;
    // initdb removes what it made when it fails; a half-made data dir would stop the retry.
    removeTmpDir(server.dataDir);
    runBin(server, 'initdb', [...args, '--locale=C']);
  }
}

/** Starts the server on a port that was free; someone may take it first, then try another. */
async function startOnFreePort(server: PrivatePostgres): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const logBefore = readLog(server).length;
    try {
      runBin(server, 'pg_ctl', [
        ...['-D', server.dataDir, '-l', server.logFile, '-o', `-p ${port}`],
        ...['-w', '-t', '60', '-s', 'start'],
      ]);
      return port;
    } catch (error) {
      const log = readLog(server).slice(logBefore);
      const raced = /could not bind|already in use/i.test(log);
      if (!raced || attempt >= PORT_RACE_RETRIES)
        throw new Error(`${errorText(error)}\n${server.logFile}:\n${log}`);
    }
  }
}

function readLog(server: PrivatePostgres): string {
  try {
    return readFileSync(server.logFile, 'utf8');
  } catch {
    return '';
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probeServer = createServer();
    probeServer.once('error', reject);
    probeServer.listen(0, HOST, () => {
      const { port } = probeServer.address() as AddressInfo;
      probeServer.close(() => resolve(port));
    });
  });
}

/**
 * pg_ctl stop -m immediate (the data is thrown away anyway), then the temp folder goes. Sync, so
 * the exit and signal handlers can call it too. A server that is not running is no error.
 */
function stopPrivatePostgres(server: PrivatePostgres): void {
  if (existsSync(join(server.dataDir, 'postmaster.pid'))) {
    const [file, argv] = commandLine(server, 'pg_ctl', [
      ...['-D', server.dataDir, '-m', 'immediate', '-w', '-t', '30', '-s', 'stop'],
    ]);
    try {
      execFileSync(file, argv, { cwd: server.dir, stdio: 'pipe', timeout: 60_000 });
    } catch (error) {
      const { stderr } = error as { stderr?: Buffer };
      process.stderr.write(
        `postgres-harness: ${[file, ...argv].join(' ')} failed: ${errorText(error)}\n${stderr?.toString() ?? ''}`,
      );
    }
  }
  removeTmpDir(server.dir);
}

/**
 * globalTeardown does not run when jest is interrupted (Ctrl-C) or exits early: stop the server
 * then as well, so no stray postgres outlives the run. Returns the function that removes the hooks.
 */
function stopOnProcessEnd(server: PrivatePostgres): () => void {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    stopPrivatePostgres(server);
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    release();
    stop();
    // Nobody else handles it: die of it as we would have without this hook.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const release = (): void => {
    process.off('exit', stop);
    for (const signal of signals) process.off(signal, onSignal);
  };
  process.once('exit', stop);
  for (const signal of signals) process.once(signal, onSignal);
  return release;
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(not a URL)';
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function say(which: string): void {
  process.stderr.write(`\nPostgreSQL for this run: ${which}\n`);
}
