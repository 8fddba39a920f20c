/**
 * Kafka's protocol error codes, by name and whether retrying can help, and the two errors the
 * producer throws: a protocol error a broker answered, and a broker that could not be reached.
 * Both are TributaryErrors, so the shared classifier knows what to do with them.
 */
import { TributaryError } from "../../core/errors.js";

interface ErrorCode {
  readonly type: string;
  readonly retriable: boolean;
}

/**
 * The codes the producer's APIs answer (see Kafka's Errors.java); others show as UNKNOWN_<code>.
 * "Retriable" means a new capture session (reconnect, new producer id) can succeed, which is how
 * the runner recovers; the producer itself retries only the coordinator's transient answers.
 */
const codes: Readonly<Record<number, ErrorCode>> = {
  [-1]: { type: "UNKNOWN_SERVER_ERROR", retriable: false },
  2: { type: "CORRUPT_MESSAGE", retriable: true },
  3: { type: "UNKNOWN_TOPIC_OR_PARTITION", retriable: true },
  5: { type: "LEADER_NOT_AVAILABLE", retriable: true },
  6: { type: "NOT_LEADER_OR_FOLLOWER", retriable: true },
  7: { type: "REQUEST_TIMED_OUT", retriable: true },
  10: { type: "MESSAGE_TOO_LARGE", retriable: false },
  13: { type: "NETWORK_EXCEPTION", retriable: true },
  14: { type: "COORDINATOR_LOAD_IN_PROGRESS", retriable: true },
  15: { type: "COORDINATOR_NOT_AVAILABLE", retriable: true },
  16: { type: "NOT_COORDINATOR", retriable: true },
  17: { type: "INVALID_TOPIC_EXCEPTION", retriable: false },
  18: { type: "RECORD_LIST_TOO_LARGE", retriable: false },
  19: { type: "NOT_ENOUGH_REPLICAS", retriable: true },
  20: { type: "NOT_ENOUGH_REPLICAS_AFTER_APPEND", retriable: true },
  29: { type: "TOPIC_AUTHORIZATION_FAILED", retriable: false },
  31: { type: "CLUSTER_AUTHORIZATION_FAILED", retriable: false },
  35: { type: "UNSUPPORTED_VERSION", retriable: false },
  45: { type: "OUT_OF_ORDER_SEQUENCE_NUMBER", retriable: true },
  46: { type: "DUPLICATE_SEQUENCE_NUMBER", retriable: false },
  47: { type: "INVALID_PRODUCER_EPOCH", retriable: false },
  48: { type: "INVALID_TXN_STATE", retriable: true },
  49: { type: "INVALID_PRODUCER_ID_MAPPING", retriable: true },
  50: { type: "INVALID_TRANSACTION_TIMEOUT", retriable: false },
  51: { type: "CONCURRENT_TRANSACTIONS", retriable: true },
  53: { type: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", retriable: false },
  55: { type: "OPERATION_NOT_ATTEMPTED", retriable: true },
  56: { type: "KAFKA_STORAGE_ERROR", retriable: true },
  59: { type: "UNKNOWN_PRODUCER_ID", retriable: true },
  89: { type: "THROTTLING_QUOTA_EXCEEDED", retriable: true },
  90: { type: "PRODUCER_FENCED", retriable: false },
};

/** Said of the other partitions of a request in which one partition failed. */
export const OPERATION_NOT_ATTEMPTED = 55;

const hints: Readonly<Record<string, string>> = {
  TOPIC_AUTHORIZATION_FAILED: "grant the capture's Kafka principal WRITE and DESCRIBE on its topics",
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    "grant the capture's Kafka principal WRITE and DESCRIBE on transactional ids tributary-capture-*",
  CLUSTER_AUTHORIZATION_FAILED: "grant the capture's Kafka principal IDEMPOTENT_WRITE on the cluster",
  PRODUCER_FENCED:
    "another capture of this source took over its transactional id; run one capture per source",
  INVALID_PRODUCER_EPOCH:
    "another capture of this source took over its transactional id; run one capture per source",
  MESSAGE_TOO_LARGE: "raise the broker's message.max.bytes or the topic's max.message.bytes",
  INVALID_TRANSACTION_TIMEOUT: "raise the broker's transaction.max.timeout.ms",
  UNSUPPORTED_VERSION: "Tributary needs Kafka 2.5 or newer",
};

export class KafkaProtocolError extends TributaryError {
  /** Kafka's name of the error, e.g. PRODUCER_FENCED. */
  readonly type: string;
  readonly errorCode: number;

  constructor(errorCode: number, context: string) {
    const known = codes[errorCode] ?? { type: `UNKNOWN_${errorCode}`, retriable: false };
    const hint = hints[known.type];
    super(`Kafka answered ${known.type} (${errorCode}) to ${context}`, {
      code: `KAFKA_${known.type}`,
      retriable: known.retriable,
      ...(hint ? { hint } : {}),
    });
    this.name = "KafkaProtocolError";
    this.type = known.type;
    this.errorCode = errorCode;
  }
}

/** Throws a KafkaProtocolError unless `errorCode` is 0 (no error). */
export function check(errorCode: number, context: string): void {
  if (errorCode !== 0) throw new KafkaProtocolError(errorCode, context);
}

/** A broker that refused, dropped or did not answer a connection or request: an outage. */
export class KafkaConnectionError extends TributaryError {
  constructor(message: string, cause?: unknown) {
    super(message, {
      code: "KAFKA_UNREACHABLE",
      retriable: true,
      hint: "check that Kafka is running and kafka.brokers in the config points at it",
      cause,
    });
    this.name = "KafkaConnectionError";
  }
}
