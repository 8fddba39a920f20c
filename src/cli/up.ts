/**
 * `tributary up`: every configured source and sink in one process, each on its own endpoint when
 * configured, and all of them together on the dashboard address (/healthz, /readyz, /metrics).
 */
import { parseArgs } from "node:util";
import { loadConfig, resolveConfigPath, type TributaryConfig } from "../core/config/index.js";
import { createLogger, type Logger } from "../core/logger.js";
import { mergeMetrics } from "../core/metrics.js";
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./io.js";
import { captureService, loggedShutdown, runServices, type Service, sinkService } from "./services.js";

export async function up(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: "string" } }, strict: true });
  const config = loadConfig(resolveConfigPath(values.config, io.env), { env: io.env });
  if (Object.keys(config.sources).length + Object.keys(config.sinks).length === 0) {
    io.err("tributary up: the config has no sources and no sinks: nothing to run");
    return EXIT_USAGE;
  }
  return runAll(config, createLogger({ service: "up" }));
}

/**
 * Runs every source and sink of `config` until SIGTERM/SIGINT (or `stop` aborts, for embedding);
 * also the entry of `npm start`.
 */
export async function runAll(config: TributaryConfig, logger: Logger, stop?: AbortSignal): Promise<number> {
  const shutdown = loggedShutdown(logger);
  stop?.addEventListener("abort", () => void shutdown.stop("stopped by its caller"), { once: true });
  const services: Service[] = [];
  for (const name of Object.keys(config.sources)) services.push(await captureService(name, config));
  for (const name of Object.keys(config.sinks)) services.push(sinkService(name, config));

  const failure = await runServices(services, {
    shutdown,
    logger,
    combined: { ...config.dashboard, metrics: mergeMetrics(services.map((service) => service.metrics)) },
  });
  const code = await shutdown.stop(failure ? "a service failed" : "every service ended", failure ? 1 : 0);
  logger.info("stopped");
  return failure || code !== 0 ? EXIT_FAILURE : EXIT_OK;
}
