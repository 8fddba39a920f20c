/**
 * The contract between a connector and the capture runner (STYLE.md principle 1): a source reads
 * batches and says where they came from; the runner owns connecting, retrying with backoff, the
 * Kafka transaction, acknowledgement, backpressure, metrics and shutdown.
 */
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Batch, SourcePosition, TableSpec } from "./change-event.js";

export interface SourceContext {
  readonly logger: Logger;
  readonly metrics: Registry;
}

export interface Source {
  /** The source's name in the config, e.g. "infoportal". */
  readonly name: string;

  /**
   * Connects and prepares (e.g. creates the slot and publication), checking permissions and
   * settings: errors here are TributaryErrors with a hint the user can act on. Returns the
   * tables it will capture, so the runner can create topics and register schemas up front.
   */
  open(context: SourceContext): Promise<readonly TableSpec[]>;

  /**
   * Yields batches from `from` (the last position the runner committed to Kafka, or undefined on
   * a first start). A batch may repeat events at or below `from.version` (the runner drops
   * them); it must never skip one. The iterator ends when `signal` aborts. A batch whose events
   * use a table not returned by open() (a new table, a schema change) carries it in its events'
   * `table`; the runner registers the new schema before producing.
   */
  read(from: SourcePosition | undefined, signal: AbortSignal): AsyncIterable<Batch>;

  /**
   * Called after the Kafka transaction holding every batch up to `position` committed: the source
   * may now let go of what came before it (Postgres: confirm the slot's flushed LSN).
   */
  commit(position: SourcePosition): Promise<void>;

  /** Releases connections; called once, after read() ended or failed. */
  close(): Promise<void>;

  /** Readiness details for /readyz and source lag for metrics (e.g. slot lag in bytes). */
  health?(): Promise<SourceHealth>;
}

/**
 * What a source says of itself on /readyz. `ready: false` holds readiness back while the source
 * is open but cannot deliver yet (Postgres: before read() created its replication slot).
 */
export type SourceHealth = Record<string, unknown> & { readonly ready?: boolean };
