/**
 * The whole config file as one zod schema. Its `.describe()` texts are the reference
 * documentation (docs/configuration.md is rendered from them by reference.ts).
 */
import * as z from "zod";
import { integer, type SchemaContext, strictObject } from "./fields.js";
import { sinkSchema } from "./sinks.js";
import { sourceSchema } from "./sources.js";

/** Source and sink names become parts of topic, slot and group names. */
const SERVICE_NAME = /^[A-Za-z0-9_-]+$/;
const serviceName = z.string().regex(SERVICE_NAME, "letters, digits, _ or -");

/** Replication slot names allow only lower-case letters, digits and underscores. */
function defaultSlotName(sourceName: string): string {
  return `tributary_${sourceName.toLowerCase().replace(/[^a-z0-9_]/g, "_")}`;
}

export function createConfigSchema(context: SchemaContext) {
  return strictObject({
    kafka: strictObject({
      brokers: z.array(z.string().min(1)).min(1).describe('bootstrap brokers, "host:port"'),
      clientId: z.string().min(1).default("tributary").describe("Kafka client id"),
    }).describe("the Kafka cluster"),
    schemaRegistry: strictObject({
      url: z.url().describe("Confluent-compatible schema registry URL"),
    }).describe("the Avro schema registry"),
    sources: z
      .record(serviceName, sourceSchema(context))
      .default({})
      .describe("capture services by name; the name prefixes their topics"),
    sinks: z.record(serviceName, sinkSchema(context)).default({}).describe("sink services by name"),
    dashboard: strictObject({
      host: z.string().min(1).default("127.0.0.1").describe("address to listen on"),
      port: integer(0, 65_535).default(8085).describe("port to listen on"),
    })
      .prefault({})
      .describe("the web dashboard of `tributary dashboard` and `tributary up`"),
  }).transform((config) => ({
    ...config,
    sources: Object.fromEntries(
      Object.entries(config.sources).map(([name, source]) => [
        name,
        source.type === "postgres"
          ? {
              ...source,
              slot: source.slot ?? defaultSlotName(name),
              publication: source.publication ?? defaultSlotName(name),
            }
          : source,
      ]),
    ),
    sinks: Object.fromEntries(
      Object.entries(config.sinks).map(([name, sink]) => [
        name,
        { ...sink, groupId: sink.groupId ?? `tributary-${name}` },
      ]),
    ),
  }));
}

export type ConfigSchema = ReturnType<typeof createConfigSchema>;
export type TributaryConfig = z.output<ConfigSchema>;
export type SourceConfig = TributaryConfig["sources"][string];
export type SinkConfig = TributaryConfig["sinks"][string];
export type PostgresSourceConfig = Extract<SourceConfig, { type: "postgres" }>;
export type MysqlSourceConfig = Extract<SourceConfig, { type: "mysql" }>;
export type VonigoSourceConfig = Extract<SourceConfig, { type: "vonigo" }>;
export type ImapSourceConfig = Extract<SourceConfig, { type: "imap" }>;
