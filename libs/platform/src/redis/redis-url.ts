// REDIS_URL in its two forms, parsed in one place:
//
//   redis://[[user]:password@]host[:port][/db]     rediss://...  (one endpoint; ioredis parses it)
//   redis+sentinel://[[user]:password@]host1[:port1][,host2[:port2],...]/masterName[/db][?options]
//   rediss+sentinel://...                          (TLS to the master and to the sentinels)
//
// The sentinel form follows the `redis+sentinel://` convention of redis-py tools (prefect-redis,
// redisvl, Redis-Sentinel-Url): the hosts are sentinels (default port 26379), the path names the
// master group, the credentials are the master's (the data node's). Options: `db` (same as the
// path's /db), `sentinelUsername` and `sentinelPassword` (when the sentinels require AUTH;
// percent-encoded like the rest of the URL). Error messages never contain the URL: it may carry
// passwords.

export const SENTINEL_SCHEMES = ['redis+sentinel:', 'rediss+sentinel:'] as const;
export const DIRECT_SCHEMES = ['redis:', 'rediss:'] as const;
export const DEFAULT_SENTINEL_PORT = 26379;
const SENTINEL_OPTIONS = ['db', 'sentinelUsername', 'sentinelPassword'] as const;

export interface SentinelAddress {
  host: string;
  port: number;
}

export type RedisTarget =
  | { kind: 'direct'; url: string }
  | {
      kind: 'sentinel';
      sentinels: SentinelAddress[];
      /** The master group name the sentinels monitor (`sentinel monitor <name> ...`). */
      name: string;
      username?: string;
      password?: string;
      sentinelUsername?: string;
      sentinelPassword?: string;
      db: number;
      tls: boolean;
    };

/** A REDIS_URL that cannot be used; the message never contains the URL or its passwords. */
export class RedisUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUrlError';
  }
}

export const REDIS_URL_FORMS =
  'redis://, rediss://, or redis+sentinel://[user:password@]host:26379[,host2:26379]/<masterName>';

export function isSentinelUrl(url: string): boolean {
  const scheme = /^([a-z][a-z0-9+.-]*:)/i.exec(url.trim())?.[1]?.toLowerCase();
  return (SENTINEL_SCHEMES as readonly string[]).includes(scheme ?? '');
}

/** Parses either form; throws RedisUrlError. */
export function parseRedisUrl(url: string): RedisTarget {
  if (!isSentinelUrl(url)) {
    let protocol: string;
    try {
      protocol = new URL(url).protocol;
    } catch {
      throw new RedisUrlError(`must be a URL starting with ${REDIS_URL_FORMS}`);
    }
    if (!(DIRECT_SCHEMES as readonly string[]).includes(protocol))
      throw new RedisUrlError(`must be a URL starting with ${REDIS_URL_FORMS}`);
    return { kind: 'direct', url };
  }
  return parseSentinelUrl(url.trim());
}

/** The validation problem of a REDIS_URL, or undefined when it is usable. */
export function redisUrlProblem(url: string): string | undefined {
  try {
    parseRedisUrl(url);
    return undefined;
  } catch (error) {
    if (error instanceof RedisUrlError) return error.message;
    throw error;
  }
}

function parseSentinelUrl(url: string): RedisTarget {
  const match = /^(redis\+sentinel|rediss\+sentinel):\/\/([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/i.exec(
    url,
  );
  if (!match) throw new RedisUrlError(`must look like ${REDIS_URL_FORMS}`);
  const [, scheme = '', authority = '', path = '', query = '', fragment] = match;
  if (fragment !== undefined) throw new RedisUrlError('a redis+sentinel:// URL takes no #fragment');

  // Credentials: everything before the last '@' (a percent-encoded password has no raw '@').
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at) : undefined;
  const hostList = at >= 0 ? authority.slice(at + 1) : authority;
  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    username = decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo, 'the user name');
    password = colon >= 0 ? decode(userinfo.slice(colon + 1), 'the password') : undefined;
    if (username === '') username = undefined;
    if (password === '') password = undefined;
  }

  const sentinels = hostList.split(',').map((entry, index) => parseHostPort(entry, index + 1));

  const segments = path.split('/').slice(1);
  const [rawName, rawDb, ...extra] = segments;
  if (rawName === undefined || rawName === '')
    throw new RedisUrlError(
      'a redis+sentinel:// URL names the master group after the hosts: redis+sentinel://host:26379/<masterName>',
    );
  if (extra.length > 0 || rawDb === '')
    throw new RedisUrlError('the path of a redis+sentinel:// URL is /<masterName>[/<db>]');
  const name = decode(rawName, 'the master name');

  const params = new URLSearchParams(query.slice(1));
  for (const key of new Set(params.keys())) {
    if (!(SENTINEL_OPTIONS as readonly string[]).includes(key))
      throw new RedisUrlError(
        `unknown option "${printable(key)}" in a redis+sentinel:// URL (known: ${SENTINEL_OPTIONS.join(', ')})`,
      );
    if (params.getAll(key).length > 1)
      throw new RedisUrlError(`option ${key} is given more than once`);
  }
  const queryDb = params.get('db') ?? undefined;
  if (rawDb !== undefined && queryDb !== undefined && rawDb !== queryDb)
    throw new RedisUrlError('the database is given twice (path /<db> and ?db=) with two values');
  const dbText = rawDb ?? queryDb;
  let db = 0;
  if (dbText !== undefined) {
    if (!/^\d{1,5}$/.test(dbText))
      throw new RedisUrlError('the database of a redis+sentinel:// URL must be a number, e.g. /0');
    db = Number(dbText);
  }

  const target: RedisTarget = {
    kind: 'sentinel',
    sentinels,
    name,
    db,
    tls: scheme.toLowerCase() === 'rediss+sentinel',
  };
  if (username !== undefined) target.username = username;
  if (password !== undefined) target.password = password;
  const sentinelUsername = params.get('sentinelUsername');
  const sentinelPassword = params.get('sentinelPassword');
  if (sentinelUsername) target.sentinelUsername = sentinelUsername;
  if (sentinelPassword) target.sentinelPassword = sentinelPassword;
  return target;
}

function parseHostPort(entry: string, position: number): SentinelAddress {
  const where = `sentinel ${position}`;
  if (entry === '')
    throw new RedisUrlError(
      `${where} is empty: list the sentinels as host:port,host:port (no spaces)`,
    );
  // [IPv6]:port or host:port or host.
  const match = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9._-]+))(?::(\d*))?$/i.exec(entry);
  if (!match)
    throw new RedisUrlError(
      `${where} is not a host[:port] (letters, digits, '.', '-', '_', or an [IPv6] address)`,
    );
  const host = match[1] ?? match[2] ?? '';
  const portText = match[3];
  if (portText === '') throw new RedisUrlError(`${where} has an empty port`);
  const port = portText === undefined ? DEFAULT_SENTINEL_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new RedisUrlError(`${where} has a port outside 1-65535`);
  return { host, port };
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new RedisUrlError(`${what} in REDIS_URL is not valid percent-encoding`);
  }
}

/** An option name is the user's text, not a secret, but keep it short and printable. */
function printable(text: string): string {
  return text.replace(/[^\w.-]/g, '?').slice(0, 40);
}

/**
 * REDIS_URL for messages and logs: where it points, never a password or user name.
 * `redis://host:port` / `redis+sentinel://s1:26379,s2:26379/mymaster`.
 */
export function describeRedisUrl(url: string): string {
  try {
    const target = parseRedisUrl(url);
    if (target.kind === 'direct') {
      const u = new URL(target.url);
      return `${u.protocol}//${u.host}`;
    }
    const hosts = target.sentinels
      .map((s) => `${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.port}`)
      .join(',');
    const scheme = target.tls ? 'rediss+sentinel' : 'redis+sentinel';
    return `${scheme}://${hosts}/${encodeURIComponent(target.name)}`;
  } catch {
    return '(unusable REDIS_URL)';
  }
}
