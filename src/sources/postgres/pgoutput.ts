/**
 * A pure decoder of pgoutput protocol version 1 messages (the payload of XLogData), keeping each
 * value as the server's text so types.ts decodes streamed and snapshot values alike, and keeping
 * "unchanged TOAST" distinct from NULL. pg-logical-replication's own parser runs values through
 * pg's global type parsers and folds unchanged TOAST into undefined, so we plug this one in.
 * https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html
 */
import type { Client } from "pg";

/** An unchanged TOAST value: the server did not send it. */
export const UNCHANGED = Symbol("unchanged-toast");

export type TupleValue = string | null | typeof UNCHANGED;
export type Tuple = readonly TupleValue[];

export interface RelationColumn {
  readonly name: string;
  readonly isKey: boolean;
  readonly typeOid: number;
  readonly typmod: number;
}

export type PgoutputMessage =
  | {
      readonly tag: "begin";
      readonly commitLsn: bigint;
      readonly commitTimeMicros: bigint;
      readonly xid: number;
    }
  | {
      readonly tag: "commit";
      readonly commitLsn: bigint;
      readonly endLsn: bigint;
      readonly commitTimeMicros: bigint;
    }
  | {
      readonly tag: "relation";
      readonly oid: number;
      readonly schema: string;
      readonly name: string;
      readonly replicaIdentity: string;
      readonly columns: readonly RelationColumn[];
    }
  | { readonly tag: "insert"; readonly oid: number; readonly after: Tuple }
  | {
      readonly tag: "update";
      readonly oid: number;
      /** "K": only the old key columns were sent; "O": the whole old row (REPLICA IDENTITY FULL). */
      readonly beforeKind: "K" | "O" | undefined;
      readonly before: Tuple | undefined;
      readonly after: Tuple;
    }
  | { readonly tag: "delete"; readonly oid: number; readonly beforeKind: "K" | "O"; readonly before: Tuple }
  | { readonly tag: "truncate"; readonly oids: readonly number[]; readonly cascade: boolean }
  | {
      readonly tag: "message";
      readonly transactional: boolean;
      readonly lsn: bigint;
      readonly prefix: string;
      readonly content: Buffer;
    }
  | { readonly tag: "origin" | "type" };

/** Microseconds between 1970-01-01 and 2000-01-01, the Postgres epoch. */
export const POSTGRES_EPOCH_MICROS = 946_684_800_000_000n;

class Reader {
  private offset = 0;
  constructor(private readonly buffer: Buffer) {}

  byte(): number {
    return this.buffer[this.offset++] as number;
  }
  int16(): number {
    const value = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }
  int32(): number {
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
  int64(): bigint {
    const value = this.buffer.readBigInt64BE(this.offset);
    this.offset += 8;
    return value;
  }
  string(): string {
    const end = this.buffer.indexOf(0, this.offset);
    const value = this.buffer.toString("utf8", this.offset, end);
    this.offset = end + 1;
    return value;
  }
  /** `length` bytes of UTF-8 text, decoded without a Buffer view in between. */
  text(length: number): string {
    const value = this.buffer.toString("utf8", this.offset, this.offset + length);
    this.offset += length;
    return value;
  }
  bytes(length: number): Buffer {
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }
}

const KIND_NULL = 0x6e; // 'n'
const KIND_UNCHANGED = 0x75; // 'u'
const KIND_TEXT = 0x74; // 't'

function readTuple(reader: Reader): Tuple {
  const count = reader.int16();
  const values = new Array<TupleValue>(count);
  for (let index = 0; index < count; index++) {
    const kind = reader.byte();
    if (kind === KIND_TEXT) values[index] = reader.text(reader.int32());
    else if (kind === KIND_NULL) values[index] = null;
    else if (kind === KIND_UNCHANGED) values[index] = UNCHANGED;
    else {
      const shown = JSON.stringify(String.fromCharCode(kind));
      throw new Error(`pgoutput: unexpected tuple value kind ${shown} (binary mode is off)`);
    }
  }
  return values;
}

export function decodePgoutput(buffer: Buffer): PgoutputMessage {
  const reader = new Reader(buffer);
  const tag = String.fromCharCode(reader.byte());
  switch (tag) {
    case "B":
      return {
        tag: "begin",
        commitLsn: reader.int64(),
        commitTimeMicros: reader.int64(),
        xid: reader.int32(),
      };
    case "C": {
      reader.byte(); // flags, unused
      return {
        tag: "commit",
        commitLsn: reader.int64(),
        endLsn: reader.int64(),
        commitTimeMicros: reader.int64(),
      };
    }
    case "R": {
      const oid = reader.int32();
      const schema = reader.string();
      const name = reader.string();
      const replicaIdentity = String.fromCharCode(reader.byte());
      const count = reader.int16();
      const columns: RelationColumn[] = [];
      for (let index = 0; index < count; index++) {
        const flags = reader.byte();
        columns.push({
          isKey: (flags & 1) === 1,
          name: reader.string(),
          typeOid: reader.int32(),
          typmod: reader.int32(),
        });
      }
      return { tag: "relation", oid, schema, name, replicaIdentity, columns };
    }
    case "I": {
      const oid = reader.int32();
      reader.byte(); // 'N'
      return { tag: "insert", oid, after: readTuple(reader) };
    }
    case "U": {
      const oid = reader.int32();
      let kind = String.fromCharCode(reader.byte());
      let before: Tuple | undefined;
      let beforeKind: "K" | "O" | undefined;
      if (kind === "K" || kind === "O") {
        beforeKind = kind;
        before = readTuple(reader);
        kind = String.fromCharCode(reader.byte());
      }
      return { tag: "update", oid, beforeKind, before, after: readTuple(reader) };
    }
    case "D": {
      const oid = reader.int32();
      const beforeKind = String.fromCharCode(reader.byte()) === "O" ? "O" : "K";
      return { tag: "delete", oid, beforeKind, before: readTuple(reader) };
    }
    case "T": {
      const count = reader.int32();
      const flags = reader.byte();
      const oids: number[] = [];
      for (let index = 0; index < count; index++) oids.push(reader.int32());
      return { tag: "truncate", oids, cascade: (flags & 1) === 1 };
    }
    case "M": {
      const flags = reader.byte();
      const lsn = reader.int64();
      const prefix = reader.string();
      return {
        tag: "message",
        transactional: (flags & 1) === 1,
        lsn,
        prefix,
        content: reader.bytes(reader.int32()),
      };
    }
    case "O":
      return { tag: "origin" };
    case "Y":
      return { tag: "type" };
    default:
      throw new Error(`pgoutput: unknown message ${JSON.stringify(tag)}`);
  }
}

/** The output plugin handed to LogicalReplicationService: our decoder, messages on, protocol 1. */
export class TextPgoutputPlugin {
  constructor(readonly options: { readonly publication: string }) {}

  get name(): string {
    return "pgoutput";
  }

  parse(buffer: Buffer): PgoutputMessage {
    return decodePgoutput(buffer);
  }

  start(client: Client, slotName: string, lastLsn: string): Promise<unknown> {
    const publication = this.options.publication.replaceAll("'", "''");
    return client.query(
      `START_REPLICATION SLOT "${slotName}" LOGICAL ${lastLsn} ` +
        `(proto_version '1', publication_names '${publication}', messages 'true')`,
    );
  }
}
