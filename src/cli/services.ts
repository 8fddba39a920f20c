/**
 * The long-running services a Tributary process runs: a capture per source, a sink per sink. One
 * place builds them and runs them (HTTP endpoints, shutdown, failure handling), for
 * `tributary up` (all of them in one process) and the single-service commands.
 */
import type { Registry } from "prom-client";
import { CaptureStatus } from "../core/capture-status.js";
import type { TributaryConfig } from "../core/config/index.js";
import { ConfigError, hintFor } from "../core/errors.js";
import { type HttpServerOptions, type MetricsSource, type Readiness, startHttpServer } from "../core/http.js";
import { createLogger, type Logger } from "../core/logger.js";
import { createMetricsRegistry } from "../core/metrics.js";
import { runCapture } from "../core/runner.js";
import { createShutdown, type Shutdown } from "../core/shutdown.js";
import { WarehouseSink } from "../sinks/warehouse/sink.js";
import { createSource } from "../sources/index.js";
import { type CliIo, EXIT_FAILURE, EXIT_OK } from "./io.js";

export interface Service {
  /** e.g. "capture:infoportal", "sink:warehouse": the `service` label of its logs and metrics. */
  readonly name: string;
  readonly metrics: Registry;
  /** Where it serves /healthz, /readyz and /metrics on its own, when configured. */
  readonly http: { readonly host: string; readonly port: number } | undefined;
  readiness(): Promise<Readiness>;
  /** Resolves once `signal` stopped it; rejects with an error that needs a human. */
  run(signal: AbortSignal): Promise<void>;
}

export async function captureService(name: string, config: TributaryConfig): Promise<Service> {
  const sourceConfig = config.sources[name];
  if (!sourceConfig) {
    const known = Object.keys(config.sources).join(", ") || "none";
    throw new ConfigError([`sources.${name}: no such source in the config (configured: ${known})`]);
  }
  const service = `capture:${name}`;
  const metrics = createMetricsRegistry({ defaultLabels: { service } });
  const status = new CaptureStatus();
  const source = await createSource(name, sourceConfig);
  return {
    name: service,
    metrics,
    http: sourceConfig.http,
    readiness: () => status.readiness(),
    run: (signal) =>
      runCapture({ source, config, logger: createLogger({ service }), metrics, signal, status }),
  };
}

export function sinkService(name: string, config: TributaryConfig): Service {
  const sinkConfig = config.sinks[name];
  if (!sinkConfig) {
    const known = Object.keys(config.sinks).join(", ") || "none";
    throw new ConfigError([`sinks.${name}: no such sink in the config (configured: ${known})`]);
  }
  const service = `sink:${name}`;
  const metrics = createMetricsRegistry({ defaultLabels: { service } });
  const sink = new WarehouseSink({
    name,
    config: sinkConfig,
    kafka: config.kafka,
    registryUrl: config.schemaRegistry.url,
    logger: createLogger({ service }),
    metrics,
    // Topics a capture creates after the sink started (always so under `tributary up`) should
    // flow within seconds, not after the default half-minute topic listing.
    topicRefreshMs: 5_000,
  });
  return {
    name: service,
    metrics,
    http: sinkConfig.http,
    readiness: () => sink.readiness(),
    run: (signal) => sink.run(signal),
  };
}

/** Everything the services report, as one readiness: ready when all are. */
export async function combinedReadiness(services: readonly Service[]): Promise<Readiness> {
  const results = await Promise.all(services.map((service) => service.readiness()));
  return {
    ready: results.every((result) => result.ready),
    checks: Object.fromEntries(services.map((service, index) => [service.name, results[index]])),
  };
}

export interface RunOptions {
  readonly shutdown: Shutdown;
  readonly logger: Logger;
  /** An extra endpoint for all of them together (`tributary up`'s dashboard port). */
  readonly combined?: { readonly host: string; readonly port: number; readonly metrics: MetricsSource };
}

/**
 * Serves each service's endpoint, runs them all until the shutdown signal, and stops all of them
 * when one fails. Resolves with the failure, if there was one.
 */
export async function runServices(services: readonly Service[], options: RunOptions): Promise<unknown> {
  const { shutdown, logger } = options;
  const endpoints: HttpServerOptions[] = services.flatMap((service) =>
    service.http
      ? [{ ...service.http, readiness: () => service.readiness(), registry: service.metrics }]
      : [],
  );
  if (options.combined) {
    const { host, port, metrics } = options.combined;
    endpoints.push({ host, port, readiness: () => combinedReadiness(services), registry: metrics });
  }
  for (const endpoint of endpoints) {
    const server = await startHttpServer(endpoint);
    logger.info({ url: server.url }, "serving /healthz, /readyz and /metrics");
    shutdown.onShutdown(`http ${server.url}`, () => server.close());
  }

  let failure: unknown;
  const running = services.map((service) =>
    service.run(shutdown.signal).catch((error: unknown) => {
      failure ??= error;
      logger.error(
        { err: error, service: service.name },
        "a service stopped on an error that needs attention",
      );
      void shutdown.stop(`${service.name} failed`, 1);
    }),
  );
  // Registered last, so it runs first on shutdown: the services finish before their endpoints go.
  shutdown.onShutdown("services", () => Promise.all(running).then(() => undefined));
  logger.info({ services: services.map((service) => service.name) }, "running");
  await Promise.all(running);
  return failure;
}

/** The process's shutdown, saying in the log when it begins and what went wrong on the way. */
export function loggedShutdown(logger: Logger): Shutdown {
  return createShutdown({
    onProblem: (message, error) => logger.warn({ err: error }, message),
    onStopping: (reason) =>
      logger.info({ reason }, "stopping: work in progress finishes first (a second signal forces the exit)"),
  });
}

/**
 * Runs one service as its own process (`tributary capture`, `tributary sink`) until SIGTERM/SIGINT.
 * A failure that needs a human is printed with its hint; the exit code says how it ended.
 */
export async function runSingleService(service: Service, io: CliIo): Promise<number> {
  const logger = createLogger({ service: service.name });
  const shutdown = loggedShutdown(logger);
  const failure = await runServices([service], { shutdown, logger });
  const code = await shutdown.stop(failure ? "the service failed" : "the service ended", failure ? 1 : 0);
  logger.info("stopped");
  if (failure) {
    io.err(`tributary ${service.name}: ${failure instanceof Error ? failure.message : String(failure)}`);
    const hint = hintFor(failure);
    if (hint) io.err(`hint: ${hint}`);
    return EXIT_FAILURE;
  }
  return code === 0 ? EXIT_OK : EXIT_FAILURE;
}
