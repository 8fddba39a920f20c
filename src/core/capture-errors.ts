/**
 * How the capture runner judges a failure. The shared classifier, plus what it cannot know:
 * kafkajs gives up on an unreachable broker with a *non*-retriable "number of retries exceeded"
 * (an outage for us: wait and reconnect), a capture has no dead-letter topic (a record it cannot
 * encode stops it), and a fenced producer means another instance took over (stop).
 */
import { classify, type ErrorAction } from "./errors.js";

/** kafkajs errors that say "the cluster is not reachable right now". */
const kafkaOutages: ReadonlySet<string> = new Set([
  "KafkaJSNumberOfRetriesExceeded",
  "KafkaJSConnectionError",
  "KafkaJSConnectionClosedError",
  "KafkaJSRequestTimeoutError",
  "KafkaJSBrokerNotFound",
  "KafkaJSMetadataNotLoaded",
  "KafkaJSLockTimeout",
  // A broker that just restarted is still loading its group and transaction coordinators.
  "KafkaJSGroupCoordinatorNotFound",
]);

/** Protocol errors that mean this producer lost its transactional id to another instance. */
const fencedTypes: ReadonlySet<string> = new Set([
  "PRODUCER_FENCED",
  "INVALID_PRODUCER_EPOCH",
  "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
]);

export function isFenced(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (fencedTypes.has(String((current as { type?: unknown }).type))) return true;
  }
  return false;
}

/**
 * kafkajs sometimes gives up with a KafkaJSNonRetriableError built from a connection error
 * without keeping it as the cause (e.g. a transaction's request to a stopped broker): only the
 * message tells it was the network.
 */
const outageMessage =
  /^(Connection error|Connection timeout|Closed connection)|ECONNREFUSED|ECONNRESET|EPIPE/;

function isKafkaOutage(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (kafkaOutages.has(current.name)) return true;
    if (current.name === "KafkaJSNonRetriableError" && outageMessage.test(current.message)) return true;
  }
  return false;
}

export function classifyCaptureError(error: unknown): ErrorAction {
  if (isFenced(error)) return "stop";
  if (isKafkaOutage(error)) return "retry";
  // fetch() to an unreachable registry fails with a TypeError whose cause is the socket error.
  if (error instanceof TypeError && error.message === "fetch failed") return "retry";
  const action = classify(error);
  return action === "dead-letter" ? "stop" : action;
}
