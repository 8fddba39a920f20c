/**
 * Topics Tributary writes to: created when missing (never altered when present), and their
 * partition counts, which the producer needs to spread truncate events over every partition.
 */
import type { Admin, ITopicConfig } from "kafkajs";

export const OFFSETS_TOPIC = "tributary.offsets";

/** Partitions of a new table topic: room for a few parallel sink consumers. */
export const DEFAULT_TOPIC_PARTITIONS = 6;

export interface TopicSpec {
  readonly topic: string;
  readonly partitions?: number;
  readonly config?: Readonly<Record<string, string>>;
}

/**
 * The offsets topic: compacted (only the last position per source matters) and one partition,
 * so a source's position records stay in order and one read finds the last one.
 */
export const offsetsTopicSpec: TopicSpec = {
  topic: OFFSETS_TOPIC,
  partitions: 1,
  config: { "cleanup.policy": "compact", "min.compaction.lag.ms": "60000" },
};

/** Creates the missing topics; returns the partition count of each requested topic. */
export async function ensureTopics(
  admin: Admin,
  specs: readonly TopicSpec[],
  defaultPartitions = DEFAULT_TOPIC_PARTITIONS,
): Promise<Map<string, number>> {
  const wanted = new Map(specs.map((spec) => [spec.topic, spec]));
  if (wanted.size === 0) return new Map();
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = [...wanted.values()]
    .filter((spec) => !existing.has(spec.topic))
    .map((spec) => ({
      topic: spec.topic,
      numPartitions: spec.partitions ?? defaultPartitions,
      configEntries: Object.entries(spec.config ?? {}).map(([name, value]) => ({ name, value })),
    }));
  // Another instance may create the same topic meanwhile: kafkajs then answers false, not an error.
  if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });
  const { topics } = await admin.fetchTopicMetadata({ topics: [...wanted.keys()] });
  return new Map(topics.map((topic) => [topic.name, topic.partitions.length]));
}
