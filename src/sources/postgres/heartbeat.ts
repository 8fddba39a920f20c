/**
 * Heartbeats: on an interval, a non-transactional logical message into the WAL. The stream sees
 * it after every earlier commit and yields an empty batch at its LSN, so the runner commits that
 * position and the slot advances even while the captured tables are idle (an idle slot otherwise
 * pins WAL forever). Each beat also measures the slot's lag and notices a slot whose WAL was lost.
 */

import type pg from "pg";
import type { Logger } from "pino";
import { Gauge, type Registry } from "prom-client";
import { lostSlotError, slotLag } from "./slot.js";
import { HEARTBEAT_PREFIX } from "./stream.js";

export function slotLagGauge(registry: Registry): Gauge<"source" | "slot"> {
  const name = "tributary_postgres_slot_lag_bytes";
  return (registry.getSingleMetric(name) ??
    new Gauge({
      name,
      help: "WAL bytes the replication slot holds back (pg_current_wal_lsn() - confirmed_flush_lsn)",
      labelNames: ["source", "slot"],
      registers: [registry],
    })) as Gauge<"source" | "slot">;
}

export interface HeartbeatOptions {
  readonly client: pg.Client;
  readonly source: string;
  readonly slot: string;
  readonly intervalMs: number;
  readonly lag: Gauge<"source" | "slot">;
  readonly logger: Logger;
  /** A failure that must stop the stream (the slot's WAL was lost). */
  readonly onFatal: (error: Error) => void;
}

export function emitHeartbeat(client: pg.Client): Promise<unknown> {
  return client.query("select pg_logical_emit_message(false, $1, now()::text)", [HEARTBEAT_PREFIX]);
}

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private beating = false;

  constructor(private readonly options: HeartbeatOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.beat(), this.options.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async beat(): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    const { client, slot, logger } = this.options;
    try {
      const state = await slotLag(client, slot);
      if (state?.walStatus === "lost") {
        this.stop();
        this.options.onFatal(lostSlotError(slot));
        return;
      }
      if (state) this.options.lag.set({ source: this.options.source, slot }, state.lagBytes);
      await emitHeartbeat(client);
    } catch (error) {
      // A failed beat is only a late one: the stream notices a real outage itself.
      logger.debug({ err: error }, "heartbeat failed");
    } finally {
      this.beating = false;
    }
  }
}
