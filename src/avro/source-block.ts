/**
 * The `source` block of every envelope: one fixed record for all connectors, with each
 * connector's native position in nullable fields (Debezium keeps one per connector; one shared
 * record lets a consumer read any topic with the same code). schemas/source.avsc is this schema.
 */
import type { SourceInfo, TableSpec } from "../core/change-event.js";

const optional = (name: string, type: string) => ({ name, type: ["null", type], default: null });

export const sourceBlockSchema = {
  type: "record",
  name: "Source",
  namespace: "tributary",
  doc: "Where the event came from; `version` sorts in source order.",
  fields: [
    { name: "version", type: "string" },
    { name: "connector", type: "string" },
    { name: "name", type: "string" },
    { name: "ts_ms", type: "long" },
    { name: "snapshot", type: "boolean" },
    { name: "db", type: "string" },
    optional("schema", "string"),
    optional("table", "string"),
    optional("lsn", "string"),
    optional("txId", "long"),
    optional("file", "string"),
    optional("pos", "long"),
    optional("gtid", "string"),
    optional("cursor", "string"),
    optional("uidvalidity", "long"),
    optional("uid", "long"),
  ],
} as const;

/** The Avro value of the source block (avsc takes numbers for its longs). */
export interface SourceBlock {
  version: string;
  connector: string;
  name: string;
  ts_ms: number;
  snapshot: boolean;
  db: string;
  schema: string | null;
  table: string | null;
  lsn: string | null;
  txId: number | null;
  file: string | null;
  pos: number | null;
  gtid: string | null;
  cursor: string | null;
  uidvalidity: number | null;
  uid: number | null;
}

export function toSourceBlock(info: SourceInfo, table: TableSpec): SourceBlock {
  return {
    version: info.version,
    connector: info.connector,
    name: table.source,
    ts_ms: info.tsMs,
    snapshot: info.snapshot,
    db: info.db,
    schema: table.namespace === "" ? null : table.namespace,
    table: table.name,
    lsn: info.lsn ?? null,
    txId: info.txId ?? null,
    file: info.file ?? null,
    pos: info.pos ?? null,
    gtid: info.gtid ?? null,
    cursor: info.cursor ?? null,
    uidvalidity: info.uidValidity ?? null,
    uid: info.uid ?? null,
  };
}

const optionalNumber = (value: unknown) =>
  value === null || value === undefined ? undefined : Number(value);
const optionalString = (value: unknown) =>
  value === null || value === undefined ? undefined : String(value);

/** The SourceInfo of a decoded source block (absent native fields stay absent). */
export function fromSourceBlock(block: Record<string, unknown>): SourceInfo {
  const info: Record<string, unknown> = {
    version: String(block.version),
    connector: block.connector as SourceInfo["connector"],
    tsMs: Number(block.ts_ms),
    snapshot: Boolean(block.snapshot),
    db: String(block.db),
    lsn: optionalString(block.lsn),
    txId: optionalNumber(block.txId),
    file: optionalString(block.file),
    pos: optionalNumber(block.pos),
    gtid: optionalString(block.gtid),
    cursor: optionalString(block.cursor),
    uidValidity: optionalNumber(block.uidvalidity),
    uid: optionalNumber(block.uid),
  };
  for (const key of Object.keys(info)) if (info[key] === undefined) delete info[key];
  return info as unknown as SourceInfo;
}
