/**
 * `tributary sink <sink>`: runs one warehouse sink from the config, with /healthz, /readyz and
 * /metrics on the sink's `http` endpoint, until SIGTERM/SIGINT. On shutdown the in-flight batch
 * either finishes (its offsets committed after the warehouse commit) or is abandoned with nothing
 * committed; either way nothing unapplied is ever committed.
 */
import { parseArgs } from "node:util";
import { loadConfig, resolveConfigPath } from "../core/config/load.js";
import { ConfigError } from "../core/errors.js";
import { startHttpServer } from "../core/http.js";
import { createLogger } from "../core/logger.js";
import { createMetricsRegistry } from "../core/metrics.js";
import { createShutdown } from "../core/shutdown.js";
import { WarehouseSink } from "../sinks/warehouse/sink.js";
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./io.js";

export async function sinkCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { config: { type: "string" } },
    strict: true,
    allowPositionals: true,
  });
  const name = positionals[0];
  if (!name || positionals.length > 1) {
    io.err("usage: tributary sink <sink> [--config <file>]");
    return EXIT_USAGE;
  }
  const config = loadConfig(resolveConfigPath(values.config, io.env), { env: io.env });
  const sinkConfig = config.sinks[name];
  if (!sinkConfig) {
    const known = Object.keys(config.sinks).join(", ") || "none";
    throw new ConfigError([`sinks.${name}: no such sink in the config (configured: ${known})`]);
  }
  const service = `sink:${name}`;
  const logger = createLogger({ service });
  const metrics = createMetricsRegistry({ defaultLabels: { service } });
  const shutdown = createShutdown({ onProblem: (message, error) => logger.warn({ err: error }, message) });
  const sink = new WarehouseSink({
    name,
    config: sinkConfig,
    kafka: config.kafka,
    registryUrl: config.schemaRegistry.url,
    logger,
    metrics,
  });
  if (sinkConfig.http) {
    const server = await startHttpServer({
      host: sinkConfig.http.host,
      port: sinkConfig.http.port,
      registry: metrics,
      readiness: () => sink.readiness(),
    });
    logger.info({ url: server.url }, "serving /healthz, /readyz and /metrics");
    shutdown.onShutdown("http", () => server.close());
  }
  const running = sink.run(shutdown.signal);
  shutdown.onShutdown("sink", () => running.catch(() => undefined));
  logger.info({ topics: sinkConfig.topics, schema: sinkConfig.schema }, "sink started");
  try {
    await running;
  } catch (error) {
    logger.error({ err: error }, "the sink stopped on an error that needs attention");
    await shutdown.stop("fatal error", EXIT_FAILURE);
    return EXIT_FAILURE;
  }
  // run() returns only once the shutdown signal aborted it.
  return (await shutdown.done) === 0 ? EXIT_OK : EXIT_FAILURE;
}
