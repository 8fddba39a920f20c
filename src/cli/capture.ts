/**
 * `tributary capture <source>`: one source from the config into Kafka, with /healthz, /readyz and
 * /metrics on the source's `http` endpoint, until SIGTERM/SIGINT (or a failure that needs a human).
 */
import { parseArgs } from "node:util";
import { CaptureStatus } from "../core/capture-status.js";
import { loadConfig, resolveConfigPath } from "../core/config/load.js";
import { hintFor } from "../core/errors.js";
import { startHttpServer } from "../core/http.js";
import { createLogger } from "../core/logger.js";
import { createMetricsRegistry } from "../core/metrics.js";
import { runCapture } from "../core/runner.js";
import { createShutdown } from "../core/shutdown.js";
import { createSource } from "../sources/index.js";
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./io.js";

export async function capture(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { config: { type: "string" } },
    strict: true,
    allowPositionals: true,
  });
  const [sourceName, ...extra] = positionals;
  if (sourceName === undefined || extra.length > 0) {
    io.err("usage: tributary capture <source> [--config <file>]");
    return EXIT_USAGE;
  }
  const config = loadConfig(resolveConfigPath(values.config, io.env), { env: io.env });
  const sourceConfig = config.sources[sourceName];
  if (!sourceConfig) {
    const known = Object.keys(config.sources).join(", ") || "none";
    io.err(`tributary capture: no source "${sourceName}" in the config (sources: ${known})`);
    return EXIT_USAGE;
  }

  const service = `capture:${sourceName}`;
  const logger = createLogger({ service });
  const metrics = createMetricsRegistry({ defaultLabels: { service } });
  const shutdown = createShutdown({ onProblem: (message, error) => logger.warn({ err: error }, message) });
  const status = new CaptureStatus();
  const source = await createSource(sourceName, sourceConfig);

  if (sourceConfig.http) {
    const server = await startHttpServer({
      ...sourceConfig.http,
      registry: metrics,
      readiness: () => status.readiness(),
    });
    logger.info({ url: server.url }, "serving /healthz, /readyz and /metrics");
    shutdown.onShutdown("http server", () => server.close());
  }
  const running = runCapture({ source, config, logger, metrics, signal: shutdown.signal, status });
  // Registered last, so it runs first: the capture finishes its flush before the server goes.
  shutdown.onShutdown("capture", () =>
    running.then(
      () => undefined,
      () => undefined,
    ),
  );

  try {
    await running;
  } catch (error) {
    await shutdown.stop("the capture stopped on an error", EXIT_FAILURE);
    io.err(`tributary capture ${sourceName}: ${error instanceof Error ? error.message : String(error)}`);
    const hint = hintFor(error);
    if (hint) io.err(`hint: ${hint}`);
    return EXIT_FAILURE;
  }
  // The signal ended the capture (or a finite source drained): finish the shutdown.
  const code = await shutdown.stop("the capture ended");
  return code === 0 ? EXIT_OK : code;
}
