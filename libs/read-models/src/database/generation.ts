import { randomBytes } from 'node:crypto';
import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  type KyselyPlugin,
  OperationNodeTransformer,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type SchemableIdentifierNode,
  IdentifierNode,
  type UnknownRow,
} from 'kysely';
import type { ReadDatabase } from './read-db.schema';

/**
 * The tables the projection makes from the log (what a replay rebuilds and compares), and with
 * their checkpoint the tables of one generation of the read models (saved in the same transaction as the rows). A replay builds a new
 * generation of them and switches readers over by the pointer (`rm_generation`); the other
 * tables of the read database (scrub markers, replay jobs, webhook endpoints and deliveries,
 * the pointer itself) are not derived from the log and stay where they are.
 */
export const PROJECTED_TABLES = [
  'rm_audit_events',
  'rm_subscriptions',
  'rm_accounts',
  'rm_purge_receipts',
  'rm_confirmations',
  'rm_integration_events',
] as const satisfies readonly (keyof ReadDatabase)[];
export type ProjectedTable = (typeof PROJECTED_TABLES)[number];
export const GENERATION_TABLES = [...PROJECTED_TABLES, 'rm_checkpoints'] as const;
export type GenerationTable = (typeof GENERATION_TABLES)[number];

/**
 * Every table of the read database is either in a generation or not: the compiler names a new
 * table that is in neither list.
 */
export const BASE_TABLES = [
  'rm_generation',
  'rm_scrubs',
  'ops_replays',
  'webhook_endpoints',
  'webhook_deliveries',
] as const satisfies readonly Exclude<keyof ReadDatabase, GenerationTable>[];
type Unlisted = Exclude<keyof ReadDatabase, GenerationTable | (typeof BASE_TABLES)[number]>;
const everyTableListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyTableListed;

/** A generation's name: `g` + base-36 time + hex (also a safe SQL identifier part). */
export const GENERATION_NAME = /^g[0-9a-z]{1,40}$/;

export function checkGeneration(name: string): string {
  if (!GENERATION_NAME.test(name)) throw new Error(`read models: bad generation name ${name}`);
  return name;
}

/** SQLite: the directory of a generation under DATA_DIR (its file is `read-models.sqlite`). */
export const GENERATIONS_DIR = 'read-models';
export const generationDir = (dataDir: string, generation: string): string =>
  join(dataDir, GENERATIONS_DIR, checkGeneration(generation));
export const generationFile = (dataDir: string, generation: string): string =>
  join(generationDir(dataDir, generation), 'read-models.sqlite');

/** What a directory being removed is renamed to first (`<name>.removed-<hex>`). */
export const REMOVED_MARK = '.removed-';

/**
 * Removes a generation's directory, crash-safe: renamed aside first (one step), then deleted. A
 * process killed while deleting leaves a `.removed-` directory, which a replay deletes whoever
 * owned it, never a half-deleted generation without its owner file.
 */
export function removeGenerationDirectory(path: string): void {
  const aside = `${path}${REMOVED_MARK}${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // not there
  }
  rmSync(aside, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
}

/**
 * PostgreSQL: the schema of a generation, beside the read database's own schema. Never cut to
 * PostgreSQL's 63 characters: a cut name could be another generation's, or the base schema.
 */
export function generationSchema(base: string, generation: string): string {
  const name = `${base}_${checkGeneration(generation)}`;
  if (name.length > 63)
    throw new Error(
      `read models: the schema name ${base} leaves no room for its generations' schemas (${name} is over 63 characters)`,
    );
  return name;
}

/** SQLite: the name a generation's file is attached under. */
export const attachedName = (generation: string): string => `rm_${checkGeneration(generation)}`;

const GENERATION_TABLE_SET: ReadonlySet<string> = new Set(GENERATION_TABLES);

/** Qualifies the generation tables (and references to them) with a schema; the rest as written. */
class QualifyGenerationTables extends OperationNodeTransformer {
  constructor(private readonly schema: string) {
    super();
  }

  protected override transformSchemableIdentifier(
    node: SchemableIdentifierNode,
  ): SchemableIdentifierNode {
    const transformed = super.transformSchemableIdentifier(node);
    if (transformed.schema || !GENERATION_TABLE_SET.has(transformed.identifier.name))
      return transformed;
    return { ...transformed, schema: IdentifierNode.create(this.schema) };
  }
}

/**
 * The pointer as Kysely sees it: every query names the generation tables in the schema
 * `current()` returns as it is built (PostgreSQL: the generation's schema; SQLite: a placeholder
 * the connection resolves as it prepares the statement, PointerFollowingDatabase); null leaves
 * them unqualified (the read database's own tables).
 */
export class GenerationPlugin implements KyselyPlugin {
  constructor(private readonly current: () => string | null) {}

  transformQuery({ node }: PluginTransformQueryArgs): RootOperationNode {
    const schema = this.current();
    return schema === null ? node : new QualifyGenerationTables(schema).transformNode(node);
  }

  transformResult({ result }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(result);
  }
}
