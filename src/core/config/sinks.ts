/** The sink schema: Kafka topics into the warehouse (Redshift, or Postgres standing in for it). */
import * as z from "zod";
import { warehouseConnection } from "./connections.js";
import { byteSize, duration, httpEndpoint, integer, type SchemaContext, strictObject } from "./fields.js";

function batchLimits() {
  return strictObject({
    maxRows: integer(1).default(10_000).describe("rows per micro-batch at most"),
    maxBytes: byteSize()
      .default(16 * 1024 * 1024)
      .describe("bytes of record values per micro-batch at most, e.g. 16MiB"),
    maxWait: duration().default(1000).describe("how long a batch may wait to fill up"),
  })
    .prefault({})
    .describe("when a micro-batch is written: whichever limit is reached first");
}

export function sinkSchema(context: SchemaContext) {
  return strictObject({
    type: z.literal("redshift").describe("the warehouse sink"),
    dialect: z
      .enum(["redshift", "postgres"])
      .default("redshift")
      .describe("redshift | postgres (the local stand-in; same statements)"),
    connection: warehouseConnection(context),
    schema: z.string().min(1).default("public").describe("warehouse schema of the tables"),
    topics: z
      .array(z.string().min(1))
      .min(1)
      .describe('topics to consume; glob patterns such as "infoportal.*" are allowed'),
    tables: z
      .record(z.string().min(1), z.string().min(1))
      .optional()
      .describe("table name per topic, where the default <source>_<table> does not fit"),
    batch: batchLimits(),
    deletes: z
      .enum(["soft", "hard"])
      .default("soft")
      .describe("soft: mark _tributary_deleted | hard: delete the row"),
    groupId: z.string().min(1).optional().describe("Kafka consumer group; default tributary-<sink name>"),
    http: httpEndpoint().optional(),
  });
}
