/**
 * Preconditions of logical replication, checked before anything is created so that a wrong
 * setting or a missing privilege is one clear error naming the fix, not a retry storm; and the
 * publication, created or completed with the captured tables.
 */
import type pg from "pg";
import { TributaryError } from "../../core/errors.js";
import { type CapturedTable, quoteIdent } from "./catalog.js";

export interface ServerFacts {
  readonly user: string;
  readonly database: string;
  readonly walLevel: string;
  /** REPLICATION attribute or superuser. */
  readonly canReplicate: boolean;
  /** CREATE on the database: needed to create the publication. */
  readonly canCreatePublication: boolean;
  readonly publicationExists: boolean;
  readonly slotExists: boolean;
  readonly maxReplicationSlots: number;
  readonly usedReplicationSlots: number;
}

const stop = (code: string, message: string, hint: string) =>
  new TributaryError(message, { code, retriable: false, hint });

/** The first unmet precondition, or undefined. Pure, so every case is testable without breaking a server. */
export function checkServer(
  facts: ServerFacts,
  names: { slot: string; publication: string },
): TributaryError | undefined {
  if (facts.walLevel !== "logical") {
    return stop(
      "PG_WAL_LEVEL",
      `Postgres runs with wal_level = ${facts.walLevel}; logical replication needs wal_level = logical`,
      "set wal_level = logical in postgresql.conf (or ALTER SYSTEM SET wal_level = logical) and restart Postgres",
    );
  }
  if (!facts.canReplicate) {
    return stop(
      "PG_REPLICATION_PRIVILEGE",
      `user "${facts.user}" may not use replication (it lacks the REPLICATION attribute)`,
      `run ALTER ROLE ${quoteIdent(facts.user)} WITH REPLICATION as a superuser`,
    );
  }
  if (!facts.publicationExists && !facts.canCreatePublication) {
    return stop(
      "PG_PUBLICATION_PRIVILEGE",
      `user "${facts.user}" may not create publication "${names.publication}" in database "${facts.database}"`,
      `run GRANT CREATE ON DATABASE ${quoteIdent(facts.database)} TO ${quoteIdent(facts.user)} ` +
        "(the user must also own the captured tables), or create the publication as their owner: " +
        `CREATE PUBLICATION ${quoteIdent(names.publication)} FOR TABLE ...`,
    );
  }
  if (!facts.slotExists && facts.usedReplicationSlots >= facts.maxReplicationSlots) {
    return stop(
      "PG_SLOTS_EXHAUSTED",
      `all ${facts.maxReplicationSlots} replication slots are in use; slot "${names.slot}" cannot be created`,
      "raise max_replication_slots in postgresql.conf and restart Postgres, or drop unused slots " +
        "(SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active)",
    );
  }
  return undefined;
}

export async function gatherFacts(
  client: pg.Client,
  names: { slot: string; publication: string },
): Promise<ServerFacts> {
  const { rows } = await client.query<{
    user: string;
    database: string;
    wal_level: string;
    can_replicate: boolean;
    can_create: boolean;
    publication_exists: boolean;
    slot_exists: boolean;
    max_slots: string;
    used_slots: string;
  }>(
    `select current_user as user, current_database() as database, current_setting('wal_level') as wal_level,
            (select rolreplication or rolsuper from pg_roles where rolname = current_user) as can_replicate,
            has_database_privilege(current_database(), 'CREATE') as can_create,
            exists (select 1 from pg_publication where pubname = $1) as publication_exists,
            exists (select 1 from pg_replication_slots where slot_name = $2) as slot_exists,
            current_setting('max_replication_slots') as max_slots,
            (select count(*) from pg_replication_slots) as used_slots`,
    [names.publication, names.slot],
  );
  const row = rows[0];
  if (!row) throw new Error("no answer to the server checks");
  return {
    user: row.user,
    database: row.database,
    walLevel: row.wal_level,
    canReplicate: Boolean(row.can_replicate),
    canCreatePublication: Boolean(row.can_create),
    publicationExists: Boolean(row.publication_exists),
    slotExists: Boolean(row.slot_exists),
    maxReplicationSlots: Number(row.max_slots),
    usedReplicationSlots: Number(row.used_slots),
  };
}

/** Creates the publication for `tables`, or adds the tables it lacks. */
export async function ensurePublication(
  client: pg.Client,
  publication: string,
  tables: readonly CapturedTable[],
): Promise<void> {
  const name = (table: CapturedTable) => `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
  try {
    const { rows } = await client.query<{ all_tables: boolean }>(
      "select puballtables as all_tables from pg_publication where pubname = $1",
      [publication],
    );
    if (rows.length === 0) {
      await client.query(
        `create publication ${quoteIdent(publication)} for table ${tables.map(name).join(", ")} ` +
          "with (publish_via_partition_root = true)",
      );
      return;
    }
    if (rows[0]?.all_tables) return;
    const { rows: published } = await client.query<{ schema: string; name: string }>(
      "select schemaname as schema, tablename as name from pg_publication_tables where pubname = $1",
      [publication],
    );
    const have = new Set(published.map((row) => `${row.schema}.${row.name}`));
    const missing = tables.filter((table) => !have.has(table.qualifiedName));
    if (missing.length > 0) {
      await client.query(
        `alter publication ${quoteIdent(publication)} add table ${missing.map(name).join(", ")}`,
      );
    }
  } catch (error) {
    if ((error as { code?: unknown }).code === "42501") {
      throw new TributaryError(
        `cannot create or change publication "${publication}": ${(error as Error).message}`,
        {
          code: "PG_PUBLICATION_PRIVILEGE",
          hint:
            "the user needs CREATE on the database and ownership of the captured tables; or have their owner run " +
            `CREATE PUBLICATION ${quoteIdent(publication)} FOR TABLE ${tables.map(name).join(", ")}`,
          cause: error,
        },
      );
    }
    throw error;
  }
}
