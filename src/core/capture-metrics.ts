/**
 * The capture runner's Prometheus series. Registered once per registry (a process running the
 * same source twice, as tests do, reuses them), labelled by source.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { METRIC_PREFIX } from "./metrics.js";

function once<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

export function createCaptureMetrics(registry: Registry) {
  const name = (suffix: string) => `${METRIC_PREFIX}capture_${suffix}`;
  const registers = [registry];
  return {
    events: once(
      registry,
      name("events_total"),
      () =>
        new Counter({
          name: name("events_total"),
          help: "change events produced, by topic and op",
          labelNames: ["source", "topic", "op"],
          registers,
        }),
    ),
    flushEvents: once(
      registry,
      name("flush_events"),
      () =>
        new Histogram({
          name: name("flush_events"),
          help: "events per Kafka transaction",
          labelNames: ["source"],
          buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10_000, 25_000],
          registers,
        }),
    ),
    flushBytes: once(
      registry,
      name("flush_bytes"),
      () =>
        new Histogram({
          name: name("flush_bytes"),
          help: "encoded bytes per Kafka transaction",
          labelNames: ["source"],
          buckets: [1024, 16_384, 131_072, 1_048_576, 4_194_304, 16_777_216],
          registers,
        }),
    ),
    flushSeconds: once(
      registry,
      name("flush_duration_seconds"),
      () =>
        new Histogram({
          name: name("flush_duration_seconds"),
          help: "time to produce and commit one Kafka transaction",
          labelNames: ["source"],
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
          registers,
        }),
    ),
    commitToKafkaSeconds: once(
      registry,
      name("commit_to_kafka_seconds"),
      () =>
        new Histogram({
          name: name("commit_to_kafka_seconds"),
          help: "from the change's commit in the source to its Kafka commit (streamed events, not snapshot reads)",
          labelNames: ["source"],
          buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
          registers,
        }),
    ),
    lastCommitTime: once(
      registry,
      name("last_commit_timestamp_seconds"),
      () =>
        new Gauge({
          name: name("last_commit_timestamp_seconds"),
          help: "wall time of the last Kafka commit",
          labelNames: ["source"],
          registers,
        }),
    ),
    lastSourceTime: once(
      registry,
      name("last_committed_source_timestamp_seconds"),
      () =>
        new Gauge({
          name: name("last_committed_source_timestamp_seconds"),
          help: "source commit time of the newest event committed to Kafka (now minus this is the source lag)",
          labelNames: ["source"],
          registers,
        }),
    ),
    restarts: once(
      registry,
      name("restarts_total"),
      () =>
        new Counter({
          name: name("restarts_total"),
          help: "reconnects after a retriable failure",
          labelNames: ["source"],
          registers,
        }),
    ),
    schemaRegistrations: once(
      registry,
      name("schema_registrations_total"),
      () =>
        new Counter({
          name: name("schema_registrations_total"),
          help: "key/value schemas registered (new tables and schema changes)",
          labelNames: ["source", "topic"],
          registers,
        }),
    ),
  };
}

export type CaptureMetrics = ReturnType<typeof createCaptureMetrics>;
