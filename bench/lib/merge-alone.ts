/**
 * The warehouse's share of the sink, measured on its own: the sink's own TableManager and
 * BatchApplier merge ready-made micro-batches (no Kafka, no Avro decoding, no deduplication), with
 * as many transactions at once as the sink runs. No sink can be faster than this on the same
 * machine, so it tells how much of the distance to the raw-COPY ceiling is the merge itself.
 */
import pg from "pg";
import type { TableSpec } from "../../src/core/change-event.js";
import { createLogger } from "../../src/core/logger.js";
import { BatchApplier } from "../../src/sinks/warehouse/apply.js";
import type { StagedRow } from "../../src/sinks/warehouse/batch.js";
import type { TableModel } from "../../src/sinks/warehouse/sql.js";
import { TableManager } from "../../src/sinks/warehouse/tables.js";
import { type CpuGroup, startCpuMeter } from "./process-cpu.js";

export interface MergeTable {
  /** The warehouse table's name. */
  readonly name: string;
  readonly spec: TableSpec;
  /** Its micro-batches in the order the sink would apply them. */
  readonly batches: readonly (readonly StagedRow[])[];
}

export interface MergeAloneOptions {
  readonly connection: { host: string; port: number; user: string; database: string };
  /** A schema of its own: the tables are created there. */
  readonly schema: string;
  readonly tables: readonly MergeTable[];
  /** Transactions at once; each table's batches stay in order on one of them, as in the sink. */
  readonly concurrency: number;
  /** Processes whose CPU the merge costs. */
  readonly cpuGroups: readonly CpuGroup[];
}

export interface MergeAlone {
  /** Seconds to merge every batch of every table (table creation not counted). */
  readonly seconds: number;
  /** CPU seconds of each of `cpuGroups` meanwhile. */
  readonly cpu: Map<string, number>;
}

export async function mergeAlone(options: MergeAloneOptions): Promise<MergeAlone> {
  const pool = new pg.Pool({ ...options.connection, max: options.concurrency + 1 });
  const base = { pool, dialect: "postgres" as const, deletes: "soft" as const };
  const logger = createLogger({ service: "bench", level: "warn" });
  const manager = new TableManager({ ...base, schema: options.schema, logger });
  const applier = new BatchApplier(base);
  try {
    const models: TableModel[] = [];
    for (const table of options.tables) {
      const prepared = await manager.prepare(table.name, table.spec.keyColumns, [table.spec.columns]);
      models.push(prepared.model);
    }
    const stopCpuMeter = startCpuMeter(options.cpuGroups);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: options.concurrency }, async (_, worker) => {
        for (const [index, table] of options.tables.entries()) {
          if (index % options.concurrency !== worker) continue;
          const model = models[index];
          if (!model) throw new Error(`no model for ${table.name}`);
          for (const rows of table.batches) {
            const refused = await applier.apply(model, [{ kind: "rows", rows }]);
            if (refused.length > 0) throw new Error(`the warehouse refused ${refused.length} rows`);
          }
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    return { seconds, cpu: stopCpuMeter() };
  } finally {
    await pool.end();
  }
}
