/**
 * Streaming from the slot over pgoutput (protocol 1, our text decoder). Changes become events
 * versioned by commit LSN and sequence; a batch ends at N events (also inside a transaction, so
 * a million-row transaction never sits in memory), at a commit when nothing more is queued, or at
 * a heartbeat. The slot is confirmed only through confirm(), called after the runner's Kafka
 * commit, and only up to the last transaction produced completely; standby status updates report
 * that confirmed LSN, never the received one.
 */
import { LogicalReplicationService } from "pg-logical-replication";
import type { Logger } from "pino";
import type { Batch, ChangeEvent, Row, SourceInfo } from "../../core/change-event.js";
import { type CapturedColumn, type CapturedTable, captureColumn, type TypeCache } from "./catalog.js";
import { clientConfig, type PostgresConnection, translateError } from "./connection.js";
import { changeEvent, decodeRow, keyRow } from "./events.js";
import { type PgoutputMessage, POSTGRES_EPOCH_MICROS, TextPgoutputPlugin } from "./pgoutput.js";
import { BoundedQueue } from "./queue.js";
import { formatLsn, markerVersion, versionAt, versionPrefix } from "./version.js";

export const HEARTBEAT_PREFIX = "tributary.heartbeat";

export interface StreamState {
  readonly phase: "stream";
  /** The LSN the slot may confirm once this position is committed: every change before it was produced. */
  readonly flushLsn: string;
}

export interface StreamOptions {
  readonly connection: PostgresConnection;
  readonly slot: string;
  readonly publication: string;
  readonly db: string;
  /** Captured tables by `schema.table`. */
  readonly tables: ReadonlyMap<string, CapturedTable>;
  readonly types: TypeCache;
  /** The slot's confirmed_flush_lsn when streaming starts: standby updates never report less. */
  readonly confirmedFlushLsn: bigint;
  /** Versions at or below it were produced already (the runner's committed position). */
  readonly skipThrough: string | undefined;
  readonly maxBatchEvents: number;
  readonly logger: Logger;
}

interface Transaction {
  readonly commitLsn: bigint;
  /** formatLsn(commitLsn) and versionPrefix(commitLsn), once per transaction rather than per event. */
  readonly lsn: string;
  readonly versionPrefix: string;
  readonly tsMs: number;
  readonly xid: number;
  sequence: number;
}

const STATUS_INTERVAL_MS = 5_000;

/** Columns equal by name, type and typmod: a Relation message that changes none of them is no new schema. */
function sameColumns(
  columns: readonly CapturedColumn[],
  relation: Extract<PgoutputMessage, { tag: "relation" }>,
) {
  return (
    columns.length === relation.columns.length &&
    relation.columns.every((column, index) => {
      const known = columns[index];
      return (
        known?.spec.name === column.name && known.typeOid === column.typeOid && known.typmod === column.typmod
      );
    })
  );
}

export class SlotStream {
  private readonly service: LogicalReplicationService;
  private readonly queue: BoundedQueue<PgoutputMessage>;
  private readonly relations = new Map<number, CapturedTable | null>();
  private confirmed: bigint;
  private statusTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: StreamOptions) {
    this.confirmed = options.confirmedFlushLsn;
    this.queue = new BoundedQueue(Math.max(options.maxBatchEvents * 2, 1_000));
    this.service = new LogicalReplicationService(clientConfig(options.connection, "tributary-stream"), {
      // Acknowledgement is ours: the library's would report the received LSN, not the committed one.
      acknowledge: { auto: false, timeoutSeconds: 0 },
      // The data handler waits while our queue is full, and the library pauses the socket meanwhile.
      flowControl: { enabled: true },
    });
    this.service.on("data", (_lsn: string, message: PgoutputMessage) => this.queue.put(message));
    this.service.on("error", (error: Error) => this.queue.fail(translateError(error, options.connection)));
    this.service.on("heartbeat", (_lsn: string, _timestamp: number, shouldRespond: boolean) => {
      if (shouldRespond) this.sendStatus();
    });
  }

  /** Ends read() with `error` (e.g. the heartbeat found the slot's WAL lost). */
  fail(error: unknown): void {
    this.queue.fail(error);
  }

  /** Lets the slot go of everything before `flushLsn` (called after the runner's Kafka commit). */
  confirm(flushLsn: bigint): void {
    if (flushLsn <= this.confirmed) return;
    this.confirmed = flushLsn;
    this.sendStatus();
  }

  private sendStatus(): void {
    // The library reports lsn + 1 as written, flushed and applied; the server skips commits below it.
    void this.service.acknowledge(formatLsn(this.confirmed - 1n)).catch(() => undefined);
  }

  async stop(): Promise<void> {
    clearInterval(this.statusTimer);
    await this.service.stop().catch(() => undefined);
  }

  async *read(signal: AbortSignal): AsyncGenerator<Batch> {
    const plugin = new TextPgoutputPlugin({ publication: this.options.publication });
    this.service
      .subscribe(plugin as never, this.options.slot)
      .then(() => {
        if (!signal.aborted) this.queue.fail(new Error("the replication connection closed"));
      })
      .catch((error: unknown) => this.queue.fail(translateError(error, this.options.connection)));
    this.statusTimer = setInterval(() => this.sendStatus(), STATUS_INTERVAL_MS);
    const onAbort = () => void this.stop();
    signal.addEventListener("abort", onAbort, { once: true });
    const { skipThrough, maxBatchEvents } = this.options;
    let flushLsn = this.confirmed;
    let transaction: Transaction | undefined;
    let events: ChangeEvent[] = [];
    let version = skipThrough ?? "";
    const batch = (): Batch => {
      const out = {
        events,
        position: { version, state: { phase: "stream", flushLsn: formatLsn(flushLsn) } },
      };
      events = [];
      return out;
    };
    try {
      for (;;) {
        const message = this.queue.poll() ?? (await this.queue.take(signal));
        if (!message) return;
        switch (message.tag) {
          case "begin":
            transaction = {
              commitLsn: message.commitLsn,
              lsn: formatLsn(message.commitLsn),
              versionPrefix: versionPrefix(message.commitLsn),
              tsMs: Number((message.commitTimeMicros + POSTGRES_EPOCH_MICROS) / 1000n),
              xid: message.xid,
              sequence: 0,
            };
            break;
          case "relation":
            this.relations.set(message.oid, await this.relationTable(message));
            break;
          case "commit":
            flushLsn = message.commitLsn + 1n;
            // A transaction without captured changes still moves the position (so the slot can advance).
            if (transaction?.sequence === 0 && markerVersion(message.commitLsn) > version) {
              version = markerVersion(message.commitLsn);
            }
            transaction = undefined;
            if (this.queue.size === 0 && (events.length > 0 || !skipThrough || version > skipThrough)) {
              yield batch();
            }
            break;
          case "message":
            if (message.transactional || message.prefix !== HEARTBEAT_PREFIX || transaction) break;
            flushLsn = message.lsn + 1n;
            if (markerVersion(message.lsn) > version) {
              version = markerVersion(message.lsn);
              yield batch();
            }
            break;
          case "insert":
          case "update":
          case "delete":
          case "truncate":
            if (!transaction) throw new Error(`pgoutput: ${message.tag} outside a transaction`);
            for (const event of this.toEvents(message, transaction)) {
              if (skipThrough && event.source.version <= skipThrough) continue;
              events.push(event);
              version = event.source.version;
            }
            if (events.length >= maxBatchEvents) yield batch();
            break;
          default:
            break;
        }
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      await this.stop();
    }
  }

  /** The table a Relation message describes: the captured one, or a new schema version of it. */
  private async relationTable(
    relation: Extract<PgoutputMessage, { tag: "relation" }>,
  ): Promise<CapturedTable | null> {
    const qualifiedName = `${relation.schema}.${relation.name}`;
    const known = this.relations.get(relation.oid) ?? this.options.tables.get(qualifiedName);
    if (!known) return null;
    if (sameColumns(known.columns, relation)) return known;
    const columns: CapturedColumn[] = [];
    for (const column of relation.columns) {
      const previous = known.columns.find((c) => c.spec.name === column.name);
      if (previous && previous.typeOid === column.typeOid && previous.typmod === column.typmod) {
        columns.push(previous);
        continue;
      }
      // An added column is nullable: rows written before it have no value (and Avro needs a default).
      columns.push(
        await captureColumn(this.options.types, {
          name: column.name,
          typeOid: column.typeOid,
          typmod: column.typmod,
          nullable: previous?.spec.nullable ?? true,
          sourceType: await this.options.types.formatType(column.typeOid, column.typmod),
        }),
      );
    }
    const names = new Set(columns.map((column) => column.spec.name));
    const keyColumns = known.spec.keyColumns.filter((name) => names.has(name));
    this.options.logger.info(
      { table: qualifiedName, columns: columns.map((column) => column.spec.name) },
      `schema of ${qualifiedName} changed: new columns ${columns.map((c) => c.spec.name).join(", ")}`,
    );
    return {
      ...known,
      replicaIdentity: relation.replicaIdentity,
      columns,
      spec: {
        ...known.spec,
        columns: columns.map((column) => column.spec),
        keyColumns: keyColumns.length > 0 ? keyColumns : columns.map((column) => column.spec.name),
      },
    };
  }

  /** The source block of the transaction's next change. */
  private nextSource(transaction: Transaction): SourceInfo {
    transaction.sequence += 1;
    return {
      version: versionAt(transaction.versionPrefix, transaction.sequence),
      connector: "postgres",
      tsMs: transaction.tsMs,
      snapshot: false,
      db: this.options.db,
      lsn: transaction.lsn,
      txId: transaction.xid,
    };
  }

  private toEvents(
    message: Extract<PgoutputMessage, { tag: "insert" | "update" | "delete" | "truncate" }>,
    transaction: Transaction,
  ): ChangeEvent[] {
    if (message.tag === "truncate") {
      const tables = message.oids.map((oid) => this.relations.get(oid)).filter((table) => table != null);
      return tables.map((table) =>
        changeEvent(table, "t", { before: null, after: null }, this.nextSource(transaction)),
      );
    }
    const table = this.relations.get(message.oid);
    if (table === undefined)
      throw new Error(`pgoutput: change for relation ${message.oid} before its Relation message`);
    if (table === null) return [];
    if (message.tag === "insert") {
      const { row, unavailable } = decodeRow(table, message.after);
      return [
        changeEvent(table, "c", { before: null, after: row, unavailable }, this.nextSource(transaction)),
      ];
    }
    let before: Row | null = null;
    if (message.before) {
      before =
        message.beforeKind === "O" ? decodeRow(table, message.before).row : keyRow(table, message.before);
    }
    if (message.tag === "delete")
      return [changeEvent(table, "d", { before, after: null }, this.nextSource(transaction))];
    const full = message.beforeKind === "O" ? (before ?? undefined) : undefined;
    const { row, unavailable } = decodeRow(table, message.after, full);
    return [changeEvent(table, "u", { before, after: row, unavailable }, this.nextSource(transaction))];
  }
}
