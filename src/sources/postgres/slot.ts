/** The replication slot: inspect, create (with or without an exported snapshot), drop, lag. */
import type pg from "pg";
import { TributaryError } from "../../core/errors.js";
import { quoteIdent } from "./catalog.js";
import { parseLsn } from "./version.js";

export interface SlotState {
  readonly plugin: string | null;
  readonly database: string | null;
  /** The LSN below which the slot has let go of changes (undefined before its first decode). */
  readonly confirmedFlushLsn: bigint | undefined;
  /** reserved | extended | unreserved | lost (null while the slot reserves no WAL). */
  readonly walStatus: string | null;
  readonly active: boolean;
}

export async function inspectSlot(client: pg.Client, slot: string): Promise<SlotState | undefined> {
  const { rows } = await client.query<{
    plugin: string | null;
    database: string | null;
    confirmed_flush_lsn: string | null;
    wal_status: string | null;
    active: boolean;
  }>(
    `select plugin, database, confirmed_flush_lsn::text, wal_status, active
       from pg_replication_slots where slot_name = $1`,
    [slot],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    plugin: row.plugin,
    database: row.database,
    confirmedFlushLsn: row.confirmed_flush_lsn ? parseLsn(row.confirmed_flush_lsn) : undefined,
    walStatus: row.wal_status,
    active: row.active,
  };
}

export function lostSlotError(slot: string): TributaryError {
  return new TributaryError(`replication slot "${slot}" lost the WAL it needed (wal_status = lost)`, {
    code: "PG_SLOT_LOST",
    retriable: false,
    hint:
      "changes were removed before they were captured: set snapshot: when_needed to drop the slot and take a " +
      `new snapshot, or drop it yourself (SELECT pg_drop_replication_slot('${slot}')) and restart with snapshot: initial`,
  });
}

export function wrongSlotError(slot: string, state: SlotState, database: string): TributaryError | undefined {
  if (state.plugin === "pgoutput" && state.database === database) return undefined;
  return new TributaryError(
    `replication slot "${slot}" exists but is not a pgoutput slot of database "${database}" ` +
      `(plugin ${state.plugin}, database ${state.database})`,
    { code: "PG_SLOT_MISMATCH", hint: "configure another slot name, or drop that slot if nothing uses it" },
  );
}

export interface ExportedSnapshot {
  readonly consistentPoint: bigint;
  readonly snapshotName: string;
}

/**
 * CREATE_REPLICATION_SLOT ... (SNAPSHOT 'export') on a walsender connection. The snapshot stays
 * usable only while that connection stays open and runs nothing else.
 */
export async function createSlotWithSnapshot(
  replication: pg.Client,
  slot: string,
  options: { temporary: boolean },
): Promise<ExportedSnapshot> {
  const temporary = options.temporary ? " TEMPORARY" : "";
  const { rows } = await replication.query<{ consistent_point: string; snapshot_name: string }>(
    `CREATE_REPLICATION_SLOT ${quoteIdent(slot)}${temporary} LOGICAL pgoutput (SNAPSHOT 'export')`,
  );
  const row = rows[0];
  if (!row) throw new Error("CREATE_REPLICATION_SLOT returned no row");
  return { consistentPoint: parseLsn(row.consistent_point), snapshotName: row.snapshot_name };
}

export async function createSlot(client: pg.Client, slot: string): Promise<void> {
  await client.query("select pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
}

export async function dropSlot(client: pg.Client, slot: string): Promise<void> {
  await client.query(
    "select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1",
    [slot],
  );
}

/** Bytes of WAL the slot holds back: the server's current LSN minus the slot's confirmed flush LSN. */
export async function slotLag(
  client: pg.Client,
  slot: string,
): Promise<{ lagBytes: number; walStatus: string | null } | undefined> {
  const { rows } = await client.query<{ lag: string | null; wal_status: string | null }>(
    `select (pg_current_wal_lsn() - confirmed_flush_lsn)::text as lag, wal_status
       from pg_replication_slots where slot_name = $1`,
    [slot],
  );
  const row = rows[0];
  if (!row) return undefined;
  return { lagBytes: Number(row.lag ?? 0), walStatus: row.wal_status };
}
