/**
 * What the source captures, read from pg_catalog: the tables matching the include/exclude globs,
 * their columns and types, and the key of each table.
 *
 * Key rule (docs/sources/postgres.md, "Keys"): the primary key; else the columns of the REPLICA
 * IDENTITY index; else every column, with a warning, because such a table has no identity the
 * warehouse can upsert on and Postgres refuses its updates and deletes unless it is REPLICA
 * IDENTITY FULL.
 */

import type pg from "pg";
import type { Logger } from "pino";
import type { ColumnSpec, TableSpec } from "../../core/change-event.js";
import { TributaryError } from "../../core/errors.js";
import { mapType, type PgType } from "./types.js";
import { type Decoder, decodeText } from "./values.js";

export interface CapturedColumn {
  readonly spec: ColumnSpec;
  readonly typeOid: number;
  readonly typmod: number;
  readonly decode: Decoder;
}

export interface CapturedTable {
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
  /** `schema.table`, as the include/exclude patterns and the position state name it. */
  readonly qualifiedName: string;
  readonly spec: TableSpec;
  readonly columns: readonly CapturedColumn[];
  /** d default, n nothing, f full, i index (pg_class.relreplident). */
  readonly replicaIdentity: string;
  /** False when every column is the key: no keyset pagination, no resume inside the table. */
  readonly keyed: boolean;
}

/** A glob over `schema.table`: `*` any run of characters, `?` one character. */
export function globToRegExp(pattern: string): RegExp {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replaceAll("*", ".*")
    .replaceAll("?", ".");
  return new RegExp(`^${source}$`);
}

/** SQL identifier quoting. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Types by oid, loaded on first use (with their element and base types) and kept. */
export class TypeCache {
  private readonly types = new Map<number, PgType>();

  constructor(private readonly client: pg.Client) {}

  /** Postgres's own name of a type with a typmod, e.g. "numeric(10,2)". */
  async formatType(oid: number, typmod: number): Promise<string> {
    const { rows } = await this.client.query<{ name: string }>("select format_type($1, $2) as name", [
      oid,
      typmod,
    ]);
    return rows[0]?.name ?? "unknown";
  }

  async get(oid: number): Promise<PgType> {
    const cached = this.types.get(oid);
    if (cached) return cached;
    const { rows } = await this.client.query<{
      schema: string;
      name: string;
      kind: string;
      element: number;
      category: string;
      base: number;
      basetypmod: number;
    }>(
      `select n.nspname as schema, t.typname as name, t.typtype as kind, t.typelem::int as element,
              t.typcategory as category, t.typbasetype::int as base, t.typtypmod as basetypmod
         from pg_type t join pg_namespace n on n.oid = t.typnamespace where t.oid = $1`,
      [oid],
    );
    const row = rows[0];
    if (!row) throw new TributaryError(`type ${oid} not found in pg_type`, { code: "PG_TYPE_UNKNOWN" });
    const type: PgType = {
      oid,
      schema: row.schema,
      name: row.name,
      kind: row.kind,
      ...(row.category === "A" && row.element !== 0 ? { element: await this.get(row.element) } : {}),
      ...(row.kind === "d" ? { base: await this.get(row.base), baseTypmod: row.basetypmod } : {}),
    };
    this.types.set(oid, type);
    return type;
  }
}

interface ColumnRow {
  name: string;
  type_oid: number;
  typmod: number;
  not_null: boolean;
  source_type: string;
}

/** One column's spec and decoder; `nullable` is widened for numeric(p,s), whose NaN decodes to null. */
export async function captureColumn(
  types: TypeCache,
  column: { name: string; typeOid: number; typmod: number; nullable: boolean; sourceType: string },
): Promise<CapturedColumn> {
  const mapped = await types
    .get(column.typeOid)
    .then((type) => mapType(type, column.typmod))
    .catch(() => ({
      type: { kind: "text", semantic: "unknown" } as const,
      decode: decodeText,
      forceNullable: false,
    }));
  return {
    spec: {
      name: column.name,
      type: mapped.type,
      nullable: column.nullable || mapped.forceNullable,
      sourceType: column.sourceType,
    },
    typeOid: column.typeOid,
    typmod: column.typmod,
    decode: mapped.decode,
  };
}

async function describeTable(
  client: pg.Client,
  types: TypeCache,
  source: string,
  table: { oid: number; schema: string; name: string; replident: string },
  logger: Logger,
): Promise<CapturedTable> {
  const { rows: columnRows } = await client.query<ColumnRow>(
    `select attname as name, atttypid::int as type_oid, atttypmod as typmod, attnotnull as not_null,
            format_type(atttypid, atttypmod) as source_type
       from pg_attribute where attrelid = $1 and attnum > 0 and not attisdropped order by attnum`,
    [table.oid],
  );
  const { rows: keyRows } = await client.query<{ name: string; is_primary: boolean }>(
    `select a.attname as name, i.indisprimary as is_primary
       from pg_index i cross join lateral unnest(i.indkey) with ordinality as k(attnum, position)
       join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
      where i.indrelid = $1 and (i.indisprimary or i.indisreplident)
      order by i.indisprimary desc, k.position`,
    [table.oid],
  );
  const primary = keyRows.filter((row) => row.is_primary).map((row) => row.name);
  const identity = keyRows.filter((row) => !row.is_primary).map((row) => row.name);
  const keyed = primary.length > 0 || identity.length > 0;
  const keyColumns = primary.length > 0 ? primary : keyed ? identity : columnRows.map((row) => row.name);
  const qualifiedName = `${table.schema}.${table.name}`;
  if (!keyed) {
    logger.warn(
      { table: qualifiedName },
      `table ${qualifiedName} has no primary key and no REPLICA IDENTITY index: its Kafka key is every column ` +
        "(rule: primary key, else the replica identity index, else all columns). Add a primary key, or run " +
        `ALTER TABLE ${quoteIdent(table.schema)}.${quoteIdent(table.name)} REPLICA IDENTITY FULL so Postgres ` +
        "accepts and publishes its updates and deletes.",
    );
  }
  const columns: CapturedColumn[] = [];
  for (const row of columnRows) {
    columns.push(
      await captureColumn(types, {
        name: row.name,
        typeOid: row.type_oid,
        typmod: row.typmod,
        nullable: !row.not_null,
        sourceType: row.source_type,
      }),
    );
  }
  return {
    oid: table.oid,
    schema: table.schema,
    name: table.name,
    qualifiedName,
    replicaIdentity: table.replident,
    keyed,
    columns,
    spec: {
      source,
      namespace: table.schema,
      name: table.name,
      topic: `${source}.${table.schema}.${table.name}`,
      columns: columns.map((column) => column.spec),
      keyColumns,
    },
  };
}

/** The tables matching `include` and not `exclude`, sorted by name; an include pattern matching nothing is an error. */
export async function resolveTables(
  client: pg.Client,
  types: TypeCache,
  options: { source: string; include: readonly string[]; exclude: readonly string[]; logger: Logger },
): Promise<CapturedTable[]> {
  const { rows } = await client.query<{ oid: number; schema: string; name: string; replident: string }>(
    `select c.oid::int as oid, n.nspname as schema, c.relname as name, c.relreplident as replident
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and not c.relispartition
        and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'
      order by n.nspname, c.relname`,
  );
  const includes = options.include.map((pattern) => ({ pattern, regexp: globToRegExp(pattern) }));
  const excludes = options.exclude.map(globToRegExp);
  for (const { pattern, regexp } of includes) {
    if (!rows.some((row) => regexp.test(`${row.schema}.${row.name}`))) {
      throw new TributaryError(`tables.include pattern "${pattern}" matches no table in the database`, {
        code: "PG_TABLE_NOT_FOUND",
        hint: `create the table, or fix the pattern "${pattern}" in tables.include (patterns match schema.table, e.g. "public.*")`,
      });
    }
  }
  const selected = rows.filter((row) => {
    const name = `${row.schema}.${row.name}`;
    return includes.some(({ regexp }) => regexp.test(name)) && !excludes.some((regexp) => regexp.test(name));
  });
  const tables: CapturedTable[] = [];
  for (const table of selected)
    tables.push(await describeTable(client, types, options.source, table, options.logger));
  return tables;
}
