/**
 * The Postgres source: open() checks the server and prepares the publication; read() decides
 * between a (new or resumed) snapshot and the stream from the committed position, then streams;
 * commit() confirms the slot up to what the runner committed to Kafka.
 */
import { randomBytes } from "node:crypto";
import type pg from "pg";
import type { Logger } from "pino";
import type { Batch, SourcePosition, TableSpec } from "../../core/change-event.js";
import type { PostgresSourceConfig } from "../../core/config/schema.js";
import { TributaryError } from "../../core/errors.js";
import type { Source, SourceContext, SourceHealth } from "../../core/source.js";
import { type CapturedTable, resolveTables, TypeCache } from "./catalog.js";
import { connect } from "./connection.js";
import { Heartbeat, slotLagGauge } from "./heartbeat.js";
import { checkServer, ensurePublication, gatherFacts } from "./setup.js";
import {
  createSlot,
  createSlotWithSnapshot,
  dropSlot,
  inspectSlot,
  lostSlotError,
  slotLag,
  wrongSlotError,
} from "./slot.js";
import { readSnapshot, type SnapshotState, snapshotMetrics } from "./snapshot.js";
import { SlotStream, type StreamState } from "./stream.js";
import { formatLsn, parseLsn } from "./version.js";

export interface PostgresSourceOptions {
  /** Rows per snapshot query (keyset page). Default 10,000. */
  readonly snapshotChunkSize?: number;
  /** Events per streamed batch, also inside one transaction. Default 5,000. */
  readonly maxBatchEvents?: number;
}

export type PostgresSourceState = SnapshotState | StreamState;

interface Opened {
  readonly meta: pg.Client;
  readonly types: TypeCache;
  readonly tables: readonly CapturedTable[];
  readonly context: SourceContext;
  readonly logger: Logger;
}

/** The position state, if it is one of ours (anything else is a programming or config error). */
export function parseState(state: unknown): PostgresSourceState | undefined {
  if (state === undefined || state === null) return undefined;
  const candidate = state as Partial<PostgresSourceState>;
  if (candidate.phase === "stream" && typeof candidate.flushLsn === "string") return candidate as StreamState;
  if (candidate.phase === "snapshot" && Array.isArray(candidate.pending)) return candidate as SnapshotState;
  throw new TributaryError(`not a Postgres source position: ${JSON.stringify(state).slice(0, 200)}`, {
    code: "PG_POSITION_INVALID",
    hint: "the committed position belongs to another source type; use another source name or reset its offsets",
  });
}

export function createPostgresSource(
  name: string,
  config: PostgresSourceConfig,
  options: PostgresSourceOptions = {},
): Source {
  const slot = config.slot;
  const publication = config.publication;
  const chunkSize = options.snapshotChunkSize ?? 10_000;
  const maxBatchEvents = options.maxBatchEvents ?? 5_000;
  const db = config.connection.database;
  let opened: Opened | undefined;
  let stream: SlotStream | undefined;
  let heartbeat: Heartbeat | undefined;

  const required = (): Opened => {
    if (!opened) throw new Error("open() the source before read()");
    return opened;
  };

  type Plan = { kind: "stream" } | { kind: "snapshot"; resume: SnapshotState | undefined };

  /** Snapshot or stream, and what to do with the slot first (see docs/sources/postgres.md, "Snapshot modes"). */
  async function plan(state: PostgresSourceState | undefined): Promise<Plan> {
    const { meta, logger } = required();
    const current = await inspectSlot(meta, slot);
    if (current) {
      const wrong = wrongSlotError(slot, current, db);
      if (wrong) throw wrong;
    }
    if (current?.walStatus === "lost") {
      if (config.snapshot !== "when_needed") throw lostSlotError(slot);
      logger.warn(
        { slot },
        `slot ${slot} lost its WAL: dropping it and taking a new snapshot (snapshot: when_needed)`,
      );
      await dropSlot(meta, slot);
      return { kind: "snapshot", resume: undefined };
    }
    if (state?.phase === "snapshot" && state.pending.length > 0) {
      if (current) return { kind: "snapshot", resume: state };
      logger.warn(
        { slot },
        `slot ${slot} is gone in the middle of the snapshot: starting the snapshot again`,
      );
      return { kind: "snapshot", resume: undefined };
    }
    if (state) {
      if (current) return { kind: "stream" };
      if (config.snapshot === "when_needed") {
        logger.warn({ slot }, `slot ${slot} is gone: taking a new snapshot (snapshot: when_needed)`);
        return { kind: "snapshot", resume: undefined };
      }
      throw new TributaryError(
        `replication slot "${slot}" is gone, so changes since the last position are lost`,
        {
          code: "PG_SLOT_MISSING",
          hint: "set snapshot: when_needed to take a new snapshot, or reset this source's committed position",
        },
      );
    }
    if (config.snapshot === "never" || (config.snapshot === "when_needed" && current)) {
      if (!current) await createSlot(meta, slot);
      return { kind: "stream" };
    }
    if (current) {
      // Nothing was committed from this slot yet: a new snapshot covers whatever it held.
      logger.warn(
        { slot },
        `slot ${slot} exists but no position was committed: recreating it for the snapshot`,
      );
      await dropSlot(meta, slot);
    }
    return { kind: "snapshot", resume: undefined };
  }

  async function* snapshot(resume: SnapshotState | undefined, signal: AbortSignal): AsyncGenerator<Batch> {
    const { tables, context, logger } = required();
    const replication = await connect(config.connection, {
      applicationName: "tributary-snapshot",
      replication: true,
    });
    let reader: pg.Client | undefined;
    try {
      let state: SnapshotState;
      let exported: Awaited<ReturnType<typeof createSlotWithSnapshot>>;
      if (resume) {
        // The first snapshot died with its connection: a temporary slot exports a new one, and the
        // permanent slot still streams from the original consistent point.
        const temporary = `tributary_resume_${randomBytes(6).toString("hex")}`;
        exported = await createSlotWithSnapshot(replication, temporary, { temporary: true });
        state = { ...resume, snapshotPoint: formatLsn(exported.consistentPoint) };
        logger.info(
          { pending: state.pending, lastKey: state.lastKey },
          "resuming the snapshot in a new snapshot",
        );
      } else {
        exported = await createSlotWithSnapshot(replication, slot, { temporary: false });
        const point = formatLsn(exported.consistentPoint);
        state = {
          phase: "snapshot",
          consistentPoint: point,
          snapshotPoint: point,
          pending: tables.map((table) => table.qualifiedName),
          lastKey: null,
          ordinal: 0,
        };
        logger.info({ slot, consistentPoint: point, tables: state.pending.length }, "snapshot started");
      }
      reader = await connect(config.connection, { applicationName: "tributary-snapshot", textValues: true });
      await reader.query("begin isolation level repeatable read read only");
      await reader.query(`set transaction snapshot '${exported.snapshotName.replaceAll("'", "''")}'`);
      yield* readSnapshot({
        client: reader,
        tables,
        state,
        chunkSize,
        db,
        logger,
        metrics: snapshotMetrics(context.metrics),
        signal,
      });
      if (!signal.aborted) logger.info("snapshot finished");
    } finally {
      await reader?.query("commit").catch(() => undefined);
      await reader?.end().catch(() => undefined);
      await replication.end().catch(() => undefined);
    }
  }

  return {
    name,

    async open(context: SourceContext): Promise<readonly TableSpec[]> {
      // The runner's logger already names the source.
      const logger = context.logger;
      const meta = await connect(config.connection, { applicationName: `tributary-${name}` });
      try {
        const problem = checkServer(await gatherFacts(meta, { slot, publication }), { slot, publication });
        if (problem) throw problem;
        const types = new TypeCache(meta);
        const tables = await resolveTables(meta, types, {
          source: name,
          include: config.tables.include,
          exclude: config.tables.exclude,
          logger,
        });
        if (tables.length === 0) {
          throw new TributaryError("tables.exclude leaves no table to capture", {
            code: "PG_TABLE_NOT_FOUND",
            hint: "narrow tables.exclude or widen tables.include",
          });
        }
        await ensurePublication(meta, publication, tables);
        opened = { meta, types, tables, context, logger };
        return tables.map((table) => table.spec);
      } catch (error) {
        await meta.end().catch(() => undefined);
        throw error;
      }
    },

    async *read(from: SourcePosition | undefined, signal: AbortSignal): AsyncGenerator<Batch> {
      const { meta, types, tables, context, logger } = required();
      const state = parseState(from?.state);
      const decided = await plan(state);
      let flushFromState = state?.phase === "stream" ? parseLsn(state.flushLsn) : 0n;
      if (decided.kind === "snapshot") {
        for await (const batch of snapshot(decided.resume, signal)) yield batch;
        if (signal.aborted) return;
        flushFromState = 0n;
      }
      const current = await inspectSlot(meta, slot);
      if (!current)
        throw new TributaryError(`replication slot "${slot}" disappeared`, { code: "PG_SLOT_MISSING" });
      stream = new SlotStream({
        connection: config.connection,
        slot,
        publication,
        db,
        tables: new Map(tables.map((table) => [table.qualifiedName, table])),
        types,
        confirmedFlushLsn:
          (current.confirmedFlushLsn ?? 0n) > flushFromState
            ? (current.confirmedFlushLsn ?? 0n)
            : flushFromState,
        skipThrough: from?.version,
        maxBatchEvents,
        logger,
      });
      const active = stream;
      heartbeat = new Heartbeat({
        client: meta,
        source: name,
        slot,
        intervalMs: config.heartbeatInterval,
        lag: slotLagGauge(context.metrics),
        logger,
        onFatal: (error) => active.fail(error),
      });
      heartbeat.start();
      try {
        yield* active.read(signal);
      } finally {
        heartbeat.stop();
      }
    },

    async commit(position: SourcePosition): Promise<void> {
      const state = parseState(position.state);
      if (state?.phase === "stream") stream?.confirm(parseLsn(state.flushLsn));
    },

    async close(): Promise<void> {
      heartbeat?.stop();
      await stream?.stop();
      await opened?.meta.end().catch(() => undefined);
      opened = undefined;
    },

    async health(): Promise<SourceHealth> {
      const { meta } = required();
      const lag = await slotLag(meta, slot);
      // Until read() created the slot, changes made now would not be captured: not ready yet.
      const slotExists = lag !== undefined;
      return { ready: slotExists, slot, slotExists, lagBytes: lag?.lagBytes, walStatus: lag?.walStatus };
    },
  };
}
