/**
 * The kafkajs client of a service: our pino logger bridged in (kafkajs's own lines become JSON
 * lines of a `kafkajs` child), the Java-compatible partitioner, and retry defaults that are fast
 * under test. kafkajs retries each request itself; outages longer than that reach the runner,
 * which reconnects with backoff.
 */
import { Kafka, type KafkaConfig, type logCreator, logLevel, type RetryOptions } from "kafkajs";
import type { Logger } from "../core/logger.js";
// kafkajs 2.2.4's idle loop and record decoding, replaced for every client here.
import "./kafkajs-patches.js";

export interface KafkaClientOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly logger: Logger;
  readonly retry?: RetryOptions;
  /** Default 10 s: long enough for a broker under load, short enough to notice an outage. */
  readonly requestTimeoutMs?: number;
}

const underTest = process.env.VITEST !== undefined;

const defaultRetry: RetryOptions = underTest
  ? { initialRetryTime: 50, maxRetryTime: 500, retries: 3 }
  : { initialRetryTime: 300, maxRetryTime: 10_000, retries: 5 };

const pinoLevels: Partial<Record<logLevel, "error" | "warn" | "info" | "debug">> = {
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

/**
 * Our producer is transactional: a failed transaction is aborted and redone from the source's
 * committed position, so limited request retries cannot break exactly-once, whatever kafkajs
 * warns at each start.
 */
const ignoredMessages: ReadonlySet<string> = new Set([
  "Limiting retries for the idempotent producer may invalidate EoS guarantees",
]);

function pinoLogCreator(logger: Logger): logCreator {
  const child = logger.child({ library: "kafkajs" });
  return () =>
    ({ namespace, level, log }) => {
      // kafkajs logs every error answer of the broker at error level, then retries the request
      // itself; a failure that outlasts its retries reaches our code and is logged there.
      const retriedAnswer = namespace === "Connection" && log.message.startsWith("Response ");
      const method = retriedAnswer ? "debug" : (pinoLevels[level] ?? "info");
      const { message, timestamp: _timestamp, logger: _name, ...fields } = log;
      if (ignoredMessages.has(message)) return;
      child[method]({ namespace, ...fields }, message);
    };
}

export function createKafka(options: KafkaClientOptions): Kafka {
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: [...options.brokers],
    // kafkajs logs every retried connection error; warnings and worse are what an operator needs.
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(options.logger),
    retry: options.retry ?? defaultRetry,
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    connectionTimeout: 3_000,
  };
  return new Kafka(config);
}
