/**
 * The capture runner: runs one source into Kafka, exactly once, until the signal aborts.
 * Sessions (capture-session.ts) do the work; this loop owns recovery: a retriable failure closes
 * everything and starts a new session from the committed position after a backoff (reset once a
 * session commits again), a "stop" failure ends the capture with the error.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Registry } from "prom-client";
import { TributarySchemaRegistry } from "../avro/registry.js";
import { DEFAULT_TOPIC_PARTITIONS, OFFSETS_TOPIC } from "../kafka/admin.js";
import { createKafka } from "../kafka/client.js";
import { classifyCaptureError } from "./capture-errors.js";
import { createCaptureMetrics } from "./capture-metrics.js";
import { type CaptureTuning, runSession } from "./capture-session.js";
import { CaptureStatus } from "./capture-status.js";
import type { TributaryConfig } from "./config/index.js";
import { hintFor } from "./errors.js";
import type { Logger } from "./logger.js";
import { backoffCeiling } from "./retry.js";
import type { Source } from "./source.js";

export type { CaptureTuning } from "./capture-session.js";

export const defaultCaptureTuning: CaptureTuning = {
  maxFlushEvents: 10_000,
  maxFlushBytes: 8 * 1024 * 1024,
  maxFlushWaitMs: 100,
  topicPartitions: DEFAULT_TOPIC_PARTITIONS,
  offsetsTopic: OFFSETS_TOPIC,
};

export interface CaptureOptions {
  readonly source: Source;
  readonly config: Pick<TributaryConfig, "kafka" | "schemaRegistry">;
  readonly logger: Logger;
  readonly metrics: Registry;
  /** Aborting it stops the capture cleanly: the current flush commits, the source closes. */
  readonly signal: AbortSignal;
  readonly tuning?: Partial<CaptureTuning>;
  /** Updated as the capture runs; serve its readiness() on /readyz. */
  readonly status?: CaptureStatus;
}

/** Resolves when the signal stopped the capture; rejects with the error that stopped it otherwise. */
export async function runCapture(options: CaptureOptions): Promise<void> {
  const { source, signal } = options;
  const logger = options.logger.child({ component: "capture", source: source.name });
  const status = options.status ?? new CaptureStatus();
  const metrics = createCaptureMetrics(options.metrics);
  const tuning = { ...defaultCaptureTuning, ...options.tuning };
  const clientId = `${options.config.kafka.clientId}-capture-${source.name}`;
  const kafka = createKafka({ brokers: options.config.kafka.brokers, clientId, logger });
  const registry = new TributarySchemaRegistry({ url: options.config.schemaRegistry.url });
  let failures = 0;

  while (!signal.aborted) {
    try {
      await runSession({
        source,
        kafka,
        brokers: options.config.kafka.brokers,
        clientId,
        registry,
        logger,
        metrics,
        metricsRegistry: options.metrics,
        status,
        tuning,
        signal,
        onProgress: () => {
          failures = 0;
        },
      });
      if (!signal.aborted) logger.info("the source ended its stream");
      break;
    } catch (error) {
      if (signal.aborted) break;
      if (classifyCaptureError(error) !== "retry") {
        status.failed(error);
        logger.error({ err: error, hint: hintFor(error) }, "capture stopped");
        throw error;
      }
      failures++;
      const delayMs = Math.round(Math.random() * backoffCeiling(failures));
      status.retrying(error);
      metrics.restarts.inc({ source: source.name });
      logger.warn(
        { err: error, attempt: failures, delayMs },
        "capture failed; reconnecting from the committed position",
      );
      await sleep(delayMs, undefined, { signal }).catch(() => undefined);
    }
  }
  status.stopped();
}
