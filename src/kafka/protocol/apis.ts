/**
 * The requests a transactional producer needs, each as a pure pair: write the request body,
 * read the response body. Versions are the newest non-flexible ones, which every broker from
 * Kafka 2.5 to 4.x accepts: Metadata v6, FindCoordinator v2, InitProducerId v1,
 * AddPartitionsToTxn v1, Produce v7, EndTxn v1.
 */
import type { ProtocolReader, ProtocolWriter } from "./primitives.js";

export interface Api<Request, Response> {
  readonly key: number;
  readonly version: number;
  readonly name: string;
  write(writer: ProtocolWriter, request: Request): void;
  read(reader: ProtocolReader): Response;
}

export interface BrokerAddress {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

export interface PartitionMetadata {
  readonly errorCode: number;
  readonly partition: number;
  readonly leader: number;
}

export interface TopicMetadata {
  readonly errorCode: number;
  readonly name: string;
  readonly partitions: PartitionMetadata[];
}

export interface MetadataResponse {
  readonly brokers: BrokerAddress[];
  readonly topics: TopicMetadata[];
}

export const metadataApi: Api<{ topics: readonly string[] }, MetadataResponse> = {
  key: 3,
  version: 6,
  name: "Metadata",
  write(writer, { topics }) {
    writer.array(topics, (topic, w) => w.string(topic));
    writer.bool(false); // allow_auto_topic_creation: the capture creates its topics itself
  },
  read(reader) {
    reader.int32(); // throttle_time_ms
    const brokers = reader.array((r) => {
      const nodeId = r.int32();
      const host = r.string();
      const port = r.int32();
      r.nullableString(); // rack
      return { nodeId, host, port };
    });
    reader.nullableString(); // cluster_id
    reader.int32(); // controller_id
    const topics = reader.array((r) => {
      const errorCode = r.int16();
      const name = r.string();
      r.bool(); // is_internal
      const partitions = r.array((p) => {
        const partitionError = p.int16();
        const partition = p.int32();
        const leader = p.int32();
        p.array((n) => n.int32()); // replica_nodes
        p.array((n) => n.int32()); // isr_nodes
        p.array((n) => n.int32()); // offline_replicas
        return { errorCode: partitionError, partition, leader };
      });
      return { errorCode, name, partitions };
    });
    return { brokers, topics };
  },
};

export interface CoordinatorResponse extends BrokerAddress {
  readonly errorCode: number;
}

const TRANSACTION_COORDINATOR = 1;

export const findTransactionCoordinatorApi: Api<{ transactionalId: string }, CoordinatorResponse> = {
  key: 10,
  version: 2,
  name: "FindCoordinator",
  write(writer, { transactionalId }) {
    writer.string(transactionalId).int8(TRANSACTION_COORDINATOR);
  },
  read(reader) {
    reader.int32(); // throttle_time_ms
    const errorCode = reader.int16();
    reader.nullableString(); // error_message
    const nodeId = reader.int32();
    const host = reader.string();
    const port = reader.int32();
    return { errorCode, nodeId, host, port };
  },
};

export interface ProducerIdentity {
  readonly producerId: bigint;
  readonly producerEpoch: number;
}

export const initProducerIdApi: Api<
  { transactionalId: string; transactionTimeoutMs: number },
  ProducerIdentity & { errorCode: number }
> = {
  key: 22,
  version: 1,
  name: "InitProducerId",
  write(writer, { transactionalId, transactionTimeoutMs }) {
    writer.nullableString(transactionalId).int32(transactionTimeoutMs);
  },
  read(reader) {
    reader.int32(); // throttle_time_ms
    const errorCode = reader.int16();
    const producerId = reader.int64();
    const producerEpoch = reader.int16();
    return { errorCode, producerId, producerEpoch };
  },
};

export interface TopicPartitions {
  readonly topic: string;
  readonly partitions: readonly number[];
}

export interface PartitionError {
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: number;
}

export const addPartitionsToTxnApi: Api<
  ProducerIdentity & { transactionalId: string; topics: readonly TopicPartitions[] },
  PartitionError[]
> = {
  key: 24,
  version: 1,
  name: "AddPartitionsToTxn",
  write(writer, { transactionalId, producerId, producerEpoch, topics }) {
    writer.string(transactionalId).int64(producerId).int16(producerEpoch);
    writer.array(topics, ({ topic, partitions }, w) => {
      w.string(topic);
      w.array(partitions, (partition, p) => p.int32(partition));
    });
  },
  read(reader) {
    reader.int32(); // throttle_time_ms
    return reader
      .array((r) => {
        const topic = r.string();
        return r.array((p) => ({ topic, partition: p.int32(), errorCode: p.int16() }));
      })
      .flat();
  },
};

export interface PartitionRecords {
  readonly partition: number;
  /** One record batch (Produce v3+ takes exactly one per partition). */
  readonly batch: Buffer;
}

export interface ProduceRequest {
  readonly transactionalId: string;
  readonly timeoutMs: number;
  readonly topics: readonly { topic: string; partitions: readonly PartitionRecords[] }[];
}

const ACKS_ALL = -1;

export const produceApi: Api<ProduceRequest, PartitionError[]> = {
  key: 0,
  version: 7,
  name: "Produce",
  write(writer, { transactionalId, timeoutMs, topics }) {
    writer.nullableString(transactionalId).int16(ACKS_ALL).int32(timeoutMs);
    writer.array(topics, ({ topic, partitions }, w) => {
      w.string(topic);
      w.array(partitions, ({ partition, batch }, p) => p.int32(partition).bytes(batch));
    });
  },
  read(reader) {
    const errors = reader.array((r) => {
      const topic = r.string();
      return r.array((p) => {
        const partition = p.int32();
        const errorCode = p.int16();
        p.int64(); // base_offset
        p.int64(); // log_append_time_ms
        p.int64(); // log_start_offset
        return { topic, partition, errorCode };
      });
    });
    reader.int32(); // throttle_time_ms
    return errors.flat();
  },
};

export const endTxnApi: Api<ProducerIdentity & { transactionalId: string; commit: boolean }, number> = {
  key: 26,
  version: 1,
  name: "EndTxn",
  write(writer, { transactionalId, producerId, producerEpoch, commit }) {
    writer.string(transactionalId).int64(producerId).int16(producerEpoch).bool(commit);
  },
  read(reader) {
    reader.int32(); // throttle_time_ms
    return reader.int16();
  },
};
