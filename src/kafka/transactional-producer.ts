/**
 * The capture's transactional producer: one Kafka transaction per flush, holding the flush's
 * records and the source's position record. Its transactional id is stable per source
 * (`tributary-capture-<source>`): a restarted instance fences the old one, and connecting aborts
 * whatever transaction a crashed predecessor left open.
 *
 * It speaks the Kafka protocol itself (protocol/) rather than through kafkajs, whose per-record
 * encoding cost more CPU than the whole rest of the capture: records go straight from the flush
 * into one exactly-sized record batch per partition (record-batch.ts).
 *
 * A flush is: AddPartitionsToTxn for every partition it touches, Produce (one batch per
 * partition per request, per leader in parallel, acks=all), EndTxn commit. Any failure aborts
 * the transaction and leaves the producer unusable: the runner starts a new session, whose
 * InitProducerId fences this producer's epoch, so no half-sent flush can ever be committed.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { TributaryError } from "../core/errors.js";
import {
  addPartitionsToTxnApi,
  type BrokerAddress,
  endTxnApi,
  findTransactionCoordinatorApi,
  initProducerIdApi,
  metadataApi,
  type PartitionError,
  type PartitionRecords,
  type ProducerIdentity,
  produceApi,
} from "./protocol/apis.js";
import { BrokerConnection } from "./protocol/connection.js";
import {
  check,
  KafkaConnectionError,
  KafkaProtocolError,
  OPERATION_NOT_ATTEMPTED,
} from "./protocol/errors.js";
import { appendRecord, type BatchRecord, PartitionBatches } from "./record-batch.js";

/** A single record to a given partition (the offsets record). */
export interface OutgoingRecord extends BatchRecord {
  readonly topic: string;
  readonly partition: number;
}

/** A flush's records: by topic, the batches of each partition written to (holes elsewhere). */
export type TopicBatches = ReadonlyMap<string, readonly (PartitionBatches | undefined)[]>;

export interface ProducerOptions {
  /** Bootstrap brokers, "host:port". */
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly transactionalId: string;
  /** Largest Produce request (all partitions of one leader together). */
  readonly maxRequestBytes?: number;
  /** The broker aborts a transaction left open longer than this. Default 60 s. */
  readonly transactionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
}

export function captureTransactionalId(sourceName: string): string {
  return `tributary-capture-${sourceName}`;
}

const DEFAULTS = {
  maxRequestBytes: 8 * 1024 * 1024,
  transactionTimeoutMs: 60_000,
  requestTimeoutMs: 30_000,
  connectTimeoutMs: 3_000,
};

/** Coordinator answers that pass by themselves (loading, moving, finishing the last transaction). */
const TRANSIENT_COORDINATOR_ERRORS: ReadonlySet<string> = new Set([
  "COORDINATOR_LOAD_IN_PROGRESS",
  "COORDINATOR_NOT_AVAILABLE",
  "NOT_COORDINATOR",
  "CONCURRENT_TRANSACTIONS",
]);
const COORDINATOR_ATTEMPTS = 30;
/** A topic the capture just created may have no leader yet. */
const METADATA_ATTEMPTS = 20;

function parseAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(":");
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port)) {
    throw new TributaryError(`kafka.brokers entry "${address}" is not host:port`, {
      code: "CONFIG_INVALID",
      hint: 'write each broker as "host:port", e.g. "127.0.0.1:9092"',
    });
  }
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, "$1"), port };
}

function backoffMs(attempt: number): number {
  return Math.min(1_000, 20 * 2 ** attempt);
}

/** The flush's batches and the offsets record, which goes last (in a topic of its own). */
function withOffset(records: TopicBatches, offset: OutgoingRecord): TopicBatches {
  const batches = new PartitionBatches();
  appendRecord(batches, offset);
  const partitions: PartitionBatches[] = [];
  partitions[offset.partition] = batches;
  return new Map([...records, [offset.topic, partitions]]);
}

/** What is left to send of one partition's sealed batches. */
interface PartitionQueue {
  readonly topic: string;
  readonly partition: number;
  readonly batches: readonly Buffer[];
  next: number;
}

export class TransactionalProducer {
  readonly #options: ProducerOptions & typeof DEFAULTS;
  readonly #connections = new Map<string, BrokerConnection>();
  readonly #brokers = new Map<number, BrokerAddress>();
  /** Leader node id per partition, by topic. */
  readonly #leaders = new Map<string, number[]>();
  /** Next sequence number per partition, by topic (idempotence). */
  readonly #sequences = new Map<string, number[]>();
  #coordinator: BrokerAddress | undefined;
  #identity: ProducerIdentity = { producerId: -1n, producerEpoch: -1 };
  #failed: unknown;

  private constructor(options: ProducerOptions) {
    this.#options = { ...DEFAULTS, ...options };
  }

  /** Connects and initializes the transactional id (fencing any older holder of it). */
  static async connect(options: ProducerOptions): Promise<TransactionalProducer> {
    const producer = new TransactionalProducer(options);
    try {
      await producer.#initProducerId();
      return producer;
    } catch (error) {
      await producer.disconnect();
      throw error;
    }
  }

  /**
   * Writes `records` then `offset` in one transaction and commits it. On any failure the
   * transaction is aborted (if the broker still listens) and the error thrown: nothing of it
   * becomes visible to read_committed consumers, and this producer takes no more flushes.
   */
  async commitFlush(records: TopicBatches, offset: OutgoingRecord): Promise<void> {
    if (this.#failed !== undefined) {
      throw new TributaryError("this transactional producer failed before; connect a new one", {
        code: "PRODUCER_FAILED",
        cause: this.#failed,
      });
    }
    if (records.has(offset.topic)) throw new Error(`the flush writes to the offsets topic ${offset.topic}`);
    const partitioned = withOffset(records, offset);
    let begun = false;
    try {
      await this.#loadLeaders(partitioned);
      begun = true;
      await this.#addPartitions(partitioned);
      await this.#produce(partitioned);
      await this.#endTransaction(true);
    } catch (error) {
      this.#failed = error;
      if (begun) await this.#endTransaction(false).catch(() => undefined);
      throw error;
    }
  }

  async disconnect(): Promise<void> {
    for (const connection of this.#connections.values()) connection.close();
    this.#connections.clear();
  }

  async #connection(address: { host: string; port: number }): Promise<BrokerConnection> {
    const key = `${address.host}:${address.port}`;
    const open = this.#connections.get(key);
    if (open?.isOpen) return open;
    const connection = await BrokerConnection.connect({
      ...address,
      clientId: this.#options.clientId,
      connectTimeoutMs: this.#options.connectTimeoutMs,
      requestTimeoutMs: this.#options.requestTimeoutMs,
    });
    this.#connections.set(key, connection);
    return connection;
  }

  /** Any broker: an open connection, else the bootstrap brokers in turn. */
  async #anyBroker(): Promise<BrokerConnection> {
    for (const connection of this.#connections.values()) if (connection.isOpen) return connection;
    let lastError: unknown;
    for (const address of this.#options.brokers) {
      try {
        return await this.#connection(parseAddress(address));
      } catch (error) {
        if (!(error instanceof KafkaConnectionError)) throw error;
        lastError = error;
      }
    }
    throw new KafkaConnectionError(
      `no Kafka broker of ${this.#options.brokers.join(", ")} accepted a connection`,
      lastError,
    );
  }

  /**
   * Runs `call` against the transaction coordinator, finding it first, and retries while the
   * coordinator answers that it is loading, moving or finishing the previous transaction.
   */
  async #withCoordinator<T>(call: (coordinator: BrokerConnection) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (!this.#coordinator) {
          const found = await (await this.#anyBroker()).call(findTransactionCoordinatorApi, {
            transactionalId: this.#options.transactionalId,
          });
          check(found.errorCode, `FindCoordinator for ${this.#options.transactionalId}`);
          this.#coordinator = found;
        }
        return await call(await this.#connection(this.#coordinator));
      } catch (error) {
        const transient = error instanceof KafkaProtocolError && TRANSIENT_COORDINATOR_ERRORS.has(error.type);
        if (!transient || attempt + 1 >= COORDINATOR_ATTEMPTS) throw error;
        if (error.type !== "CONCURRENT_TRANSACTIONS") this.#coordinator = undefined;
        await sleep(backoffMs(attempt));
      }
    }
  }

  async #initProducerId(): Promise<void> {
    this.#identity = await this.#withCoordinator(async (coordinator) => {
      const answer = await coordinator.call(initProducerIdApi, {
        transactionalId: this.#options.transactionalId,
        transactionTimeoutMs: this.#options.transactionTimeoutMs,
      });
      check(answer.errorCode, `InitProducerId for ${this.#options.transactionalId}`);
      return answer;
    });
    this.#sequences.clear();
  }

  /** Leaders of every partition the flush touches, asking the cluster about topics not known yet. */
  async #loadLeaders(partitioned: TopicBatches): Promise<void> {
    const missing = () =>
      [...partitioned].filter(([topic, partitions]) => {
        const leaders = this.#leaders.get(topic);
        return !leaders || leaders.length < partitions.length;
      });
    for (let attempt = 0; ; attempt++) {
      const topics = missing().map(([topic]) => topic);
      if (topics.length === 0) return;
      const metadata = await (await this.#anyBroker()).call(metadataApi, { topics });
      for (const broker of metadata.brokers) this.#brokers.set(broker.nodeId, broker);
      let lastError: KafkaProtocolError | undefined;
      for (const topic of metadata.topics) {
        const failed = topic.errorCode !== 0 ? topic : topic.partitions.find((p) => p.errorCode !== 0);
        if (failed) {
          lastError = new KafkaProtocolError(failed.errorCode, `Metadata for topic ${topic.name}`);
          continue;
        }
        const leaders: number[] = [];
        for (const partition of topic.partitions) leaders[partition.partition] = partition.leader;
        this.#leaders.set(topic.name, leaders);
      }
      if (missing().length === 0) return;
      if (attempt + 1 >= METADATA_ATTEMPTS || (lastError && !lastError.retriable)) {
        throw (
          lastError ??
          new TributaryError(
            `Kafka has fewer partitions than the capture writes to for ${topics.join(", ")}`,
            {
              code: "KAFKA_PARTITIONS_MISSING",
              hint: "a topic was recreated with fewer partitions; restore its partition count",
            },
          )
        );
      }
      await sleep(backoffMs(attempt + 2));
    }
  }

  async #addPartitions(partitioned: TopicBatches): Promise<void> {
    const topics = [...partitioned].map(([topic, partitions]) => ({
      topic,
      partitions: partitions.flatMap((batches, partition) => (batches ? [partition] : [])),
    }));
    await this.#withCoordinator(async (coordinator) => {
      const errors = await coordinator.call(addPartitionsToTxnApi, {
        transactionalId: this.#options.transactionalId,
        ...this.#identity,
        topics,
      });
      throwFirst(errors, "AddPartitionsToTxn");
    });
  }

  async #produce(partitioned: TopicBatches): Promise<void> {
    const identity = { ...this.#identity, transactional: true, timestamp: Date.now() };
    const byLeader = new Map<number, PartitionQueue[]>();
    for (const [topic, partitions] of partitioned) {
      const leaders = this.#leaders.get(topic) ?? [];
      let sequences = this.#sequences.get(topic);
      if (!sequences) {
        sequences = [];
        this.#sequences.set(topic, sequences);
      }
      partitions.forEach((batches, partition) => {
        if (!batches) return;
        const baseSequence = sequences[partition] ?? 0;
        // Sequence numbers wrap at 2^31 like the Java client's.
        sequences[partition] = (baseSequence + batches.recordCount) % 2_147_483_648;
        const leader = leaders[partition] as number;
        let queues = byLeader.get(leader);
        if (!queues) {
          queues = [];
          byLeader.set(leader, queues);
        }
        queues.push({ topic, partition, batches: batches.seal(identity, baseSequence), next: 0 });
      });
    }
    await Promise.all([...byLeader].map(([leader, queues]) => this.#produceTo(leader, queues)));
  }

  /**
   * Sends the queues' batches to their leader, one request at a time (so sequence numbers arrive
   * in order), each request holding at most one batch per partition (Produce v3+).
   */
  async #produceTo(leader: number, queues: PartitionQueue[]): Promise<void> {
    const address = this.#brokers.get(leader);
    if (!address)
      throw new KafkaProtocolError(5, `Produce: partition leader ${leader} is not in the metadata`);
    const connection = await this.#connection(address);
    let pending = queues;
    while (pending.length > 0) {
      const request = new Map<string, PartitionRecords[]>();
      let requestBytes = 0;
      for (const queue of pending) {
        if (requestBytes >= this.#options.maxRequestBytes) break;
        const batch = queue.batches[queue.next++] as Buffer;
        requestBytes += batch.length;
        let partitions = request.get(queue.topic);
        if (!partitions) {
          partitions = [];
          request.set(queue.topic, partitions);
        }
        partitions.push({ partition: queue.partition, batch });
      }
      const errors = await connection.call(
        produceApi,
        {
          transactionalId: this.#options.transactionalId,
          // The broker answers (with an error) before our own request timeout gives up on it.
          timeoutMs: Math.max(1_000, this.#options.requestTimeoutMs - 5_000),
          topics: [...request].map(([topic, partitions]) => ({ topic, partitions })),
        },
        requestBytes + 1024,
      );
      throwFirst(errors, "Produce");
      pending = pending.filter((queue) => queue.next < queue.batches.length);
    }
  }

  async #endTransaction(commit: boolean): Promise<void> {
    await this.#withCoordinator(async (coordinator) => {
      const errorCode = await coordinator.call(endTxnApi, {
        transactionalId: this.#options.transactionalId,
        ...this.#identity,
        commit,
      });
      check(errorCode, commit ? "EndTxn (commit)" : "EndTxn (abort)");
    });
  }
}

/**
 * Throws the error of the first partition that failed for its own reason: a broker answers
 * OPERATION_NOT_ATTEMPTED for the other partitions of a request one partition failed, and that
 * one (e.g. CONCURRENT_TRANSACTIONS, which is retried) is what the caller must see.
 */
export function throwFirst(errors: readonly PartitionError[], request: string): void {
  const failed =
    errors.find((error) => error.errorCode !== 0 && error.errorCode !== OPERATION_NOT_ATTEMPTED) ??
    errors.find((error) => error.errorCode !== 0);
  if (failed) check(failed.errorCode, `${request} for ${failed.topic}[${failed.partition}]`);
}
