import { createHash } from 'node:crypto';

/**
 * Schema and statements of the PostgreSQL event log. `position` is an identity column (its
 * sequence keeps the default CACHE 1, so every session draws from one counter); appends draw from
 * it only while holding the schema's append lock (see PostgresEventStore), which makes positions
 * increase in commit order. UNIQUE (stream_id, revision) backs the expected-revision check and is
 * the index stream reads use. data and metadata are `json`: the exact text written, no re-encoding.
 */
export const SCHEMA_VERSION = 1;
const VERSION_TAG = 'event-store schema v';

export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Constraint name a unique violation reports when two writers took the same revision. */
export const STREAM_REVISION_KEY = 'events_stream_revision_key';

/** A signed 64-bit advisory lock key (as SQL literal text) derived from a label. */
export function advisoryKey(label: string): string {
  return createHash('sha256').update(label).digest().readBigInt64BE(0).toString(10);
}

/** The LISTEN/NOTIFY channel of one schema's log (≤ 63 bytes whatever the schema name). */
export function notifyChannel(schema: string): string {
  return `event_store_${createHash('sha256').update(schema).digest('hex').slice(0, 16)}`;
}

export function statements(schema: string) {
  const events = `"${schema}".events`;
  // Text, parsed here: no global pg type parser (int8 as number, json as object) can change them.
  // `pos`, not `position`: ORDER BY position would otherwise sort by the text output column.
  const columns =
    'position::text AS pos, event_id, stream_id, revision, type, data::text AS data, metadata::text AS metadata';
  return {
    createSchema: `CREATE SCHEMA IF NOT EXISTS "${schema}"`,
    /** The version tag lives in the table's comment: no table of its own to keep it in. */
    version: `SELECT to_regclass('${events}') IS NOT NULL AS present,
      obj_description(to_regclass('${events}'), 'pg_class') AS tag`,
    create: `
      CREATE TABLE IF NOT EXISTS ${events} (
        position  bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id  text    NOT NULL,
        stream_id text    NOT NULL,
        revision  integer NOT NULL,
        type      text    NOT NULL,
        data      json    NOT NULL,
        metadata  json    NOT NULL,
        CONSTRAINT events_event_id_key UNIQUE (event_id),
        CONSTRAINT ${STREAM_REVISION_KEY} UNIQUE (stream_id, revision)
      );
      COMMENT ON TABLE ${events} IS '${VERSION_TAG}${SCHEMA_VERSION}'`,
    /**
     * One round trip per append: reads the stream's last revision, checks the expectation
     * ($2 = any | no_stream | stream_exists | exact, $3 = the exact revision) and inserts all the
     * events in revision order (ORDER BY before the identity default is drawn: positions follow
     * revisions), or nothing. `position` is null when the expectation failed.
     */
    append: `
      WITH cur AS (SELECT max(revision) AS r FROM ${events} WHERE stream_id = $1),
      ins AS (
        INSERT INTO ${events} (event_id, stream_id, revision, type, data, metadata)
        SELECT e.event_id, $1, (coalesce(cur.r, -1) + e.n)::integer, e.type, e.data, e.metadata
        FROM cur, unnest($4::text[], $5::text[], $6::json[], $7::json[])
          WITH ORDINALITY AS e(event_id, type, data, metadata, n)
        WHERE CASE $2::text
          WHEN 'any' THEN true
          WHEN 'no_stream' THEN cur.r IS NULL
          WHEN 'stream_exists' THEN cur.r IS NOT NULL
          ELSE cur.r = $3::integer END
        ORDER BY e.n
        RETURNING position, revision
      )
      SELECT cur.r AS current, (SELECT max(position)::text FROM ins) AS position,
        (SELECT max(revision) FROM ins) AS revision
      FROM cur`,
    /**
     * A batch of appends to distinct streams in one statement: request i ($1…$3 at i, the
     * expectation as in `append`) and its events ($4 = the request each event belongs to, from 1).
     * A request whose expectation fails inserts nothing; the others insert theirs, positions in
     * request then revision order. One row per request, in request order, shaped as `append`'s.
     */
    appendTogether: `
      WITH req AS (
        SELECT q.i, q.stream_id, q.expected, q.exact,
          (SELECT max(revision) FROM ${events} WHERE stream_id = q.stream_id) AS r
        FROM unnest($1::text[], $2::text[], $3::integer[])
          WITH ORDINALITY AS q(stream_id, expected, exact, i)
      ),
      ok AS (
        SELECT * FROM req WHERE CASE expected
          WHEN 'any' THEN true
          WHEN 'no_stream' THEN r IS NULL
          WHEN 'stream_exists' THEN r IS NOT NULL
          ELSE r = exact END
      ),
      ins AS (
        INSERT INTO ${events} (event_id, stream_id, revision, type, data, metadata)
        SELECT e.event_id, ok.stream_id,
          (coalesce(ok.r, -1) + row_number() OVER (PARTITION BY e.request ORDER BY e.n))::integer,
          e.type, e.data, e.metadata
        FROM unnest($4::integer[], $5::text[], $6::text[], $7::json[], $8::json[])
          WITH ORDINALITY AS e(request, event_id, type, data, metadata, n)
        JOIN ok ON ok.i = e.request
        ORDER BY e.n
        RETURNING stream_id, position, revision
      ),
      written AS (
        SELECT stream_id, max(position)::text AS position, max(revision) AS revision
        FROM ins GROUP BY stream_id
      )
      SELECT req.r AS current, written.position, written.revision
      FROM req LEFT JOIN written USING (stream_id)
      ORDER BY req.i`,
    streamRevision: `SELECT max(revision) AS r FROM ${events} WHERE stream_id = $1`,
    readStream: `SELECT ${columns} FROM ${events} WHERE stream_id = $1 AND revision >= $2 ORDER BY revision LIMIT $3`,
    /** Several stream reads at once: request i's events, in revision order, tagged `i` (from 1). */
    readStreams: `SELECT r.i, e.* FROM unnest($1::text[], $2::integer[], $3::bigint[])
        WITH ORDINALITY AS r(stream_id, from_revision, max_count, i)
      CROSS JOIN LATERAL (SELECT ${columns} FROM ${events}
        WHERE stream_id = r.stream_id AND revision >= r.from_revision
        ORDER BY revision LIMIT r.max_count) e
      ORDER BY r.i, e.revision`,
    readAll: `SELECT ${columns} FROM ${events} WHERE position > $1 ORDER BY position LIMIT $2`,
    head: `SELECT max(position)::text AS head FROM ${events}`,
  };
}

/** The schema version a table comment records, null when there is no table (or no tag). */
export function versionOf(tag: string | null | undefined): number | null {
  if (!tag?.startsWith(VERSION_TAG)) return null;
  const v = Number(tag.slice(VERSION_TAG.length));
  return Number.isSafeInteger(v) ? v : null;
}

export interface EventRow {
  pos: string;
  event_id: string;
  stream_id: string;
  revision: number;
  type: string;
  data: string;
  metadata: string;
}
