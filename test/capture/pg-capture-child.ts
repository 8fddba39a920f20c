/**
 * The real Postgres capture in its own process, for SIGKILL tests: source CAPTURE_SOURCE with the
 * JSON config CAPTURE_CONFIG; prints "committed <version>" after each Kafka commit it acknowledges.
 */
import type { PostgresSourceConfig } from "../../src/core/config/schema.js";
import { createMetricsRegistry } from "../../src/core/metrics.js";
import { runCapture } from "../../src/core/runner.js";
import type { Source } from "../../src/core/source.js";
import { createPostgresSource } from "../../src/sources/postgres/source.js";
import { silent } from "../sources/postgres/harness.js";
import { config } from "./fixtures.js";

const name = process.env.CAPTURE_SOURCE ?? "";
const sourceConfig = JSON.parse(process.env.CAPTURE_CONFIG ?? "{}") as PostgresSourceConfig;
const inner = createPostgresSource(name, sourceConfig, {
  snapshotChunkSize: Number(process.env.CAPTURE_CHUNK ?? 2_000),
});
const source: Source = {
  name,
  open: (context) => inner.open(context),
  read: (from, signal) => inner.read(from, signal),
  close: () => inner.close(),
  async commit(position) {
    await inner.commit(position);
    process.stdout.write(`committed ${position.version}\n`);
  },
};
await runCapture({
  source,
  config,
  logger: silent,
  metrics: createMetricsRegistry(),
  signal: new AbortController().signal,
});
