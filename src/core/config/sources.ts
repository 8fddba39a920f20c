/**
 * The source schemas, one per connector, discriminated on `type`. Defaults that depend on the
 * source's name (slot, publication) are filled in by the top-level schema.
 */
import * as z from "zod";
import { mysqlConnection, mysqlServerId, postgresConnection } from "./connections.js";
import {
  duration,
  fileTwin,
  httpEndpoint,
  port,
  resolveFileTwin,
  type SchemaContext,
  strictObject,
  tableFilter,
} from "./fields.js";

export const snapshotModes = ["initial", "never", "when_needed"] as const;

export const vonigoObjects = ["WorkOrders", "Clients", "Contacts", "Jobs", "Quotes", "Invoices"] as const;

function postgresSource(context: SchemaContext) {
  return strictObject({
    type: z.literal("postgres").describe("Postgres logical replication (pgoutput)"),
    connection: postgresConnection(context),
    tables: tableFilter("schema").prefault({}).describe("which tables to capture"),
    slot: z
      .string()
      .regex(/^[a-z0-9_]{1,63}$/, "lower-case letters, digits and _ (at most 63)")
      .optional()
      .describe("replication slot name; default tributary_<source name>"),
    publication: z.string().min(1).optional().describe("publication name; default tributary_<source name>"),
    snapshot: z
      .enum(snapshotModes)
      .default("initial")
      .describe("initial: copy existing rows first | never | when_needed: only if the slot is new"),
    heartbeatInterval: duration()
      .default(10_000)
      .describe("how often to advance the slot while the captured tables are idle"),
    http: httpEndpoint().optional(),
  });
}

function mysqlSource(context: SchemaContext) {
  return strictObject({
    type: z.literal("mysql").describe("MySQL / MariaDB binlog (ROW format)"),
    connection: mysqlConnection(context),
    serverId: mysqlServerId(),
    tables: tableFilter("database").prefault({}).describe("which tables to capture"),
    http: httpEndpoint().optional(),
  });
}

function vonigoSource(context: SchemaContext) {
  return strictObject({
    type: z.literal("vonigo").describe("the Vonigo REST API, polled"),
    baseUrl: z.url().describe('API base URL, e.g. "https://<tenant>.vonigo.com/api/v1"'),
    company: z.string().min(1).describe("company name used to log in"),
    ...fileTwin("username", "API user name", { required: true }),
    ...fileTwin("password", "the raw password; the client sends its MD5", { required: true }),
    objects: z
      .array(z.string().min(1))
      .min(1)
      .default([...vonigoObjects])
      .describe("API objects to poll, each becomes topic <source>.<object in lower case>"),
    pollInterval: duration().default(60_000).describe("time between polls"),
    http: httpEndpoint().optional(),
  }).transform((source, ctx) => {
    const { usernameFile: _usernameFile, passwordFile: _passwordFile, ...rest } = source;
    return {
      ...rest,
      username: resolveFileTwin(source, "username", { required: true, context, ctx }) ?? "",
      password: resolveFileTwin(source, "password", { required: true, context, ctx }) ?? "",
    };
  });
}

function imapSource(context: SchemaContext) {
  return strictObject({
    type: z.literal("imap").describe("an IMAP mailbox, watched with IDLE"),
    host: z.string().min(1).describe("server host name or address"),
    port: port().default(993).describe("server port"),
    tls: z
      .enum(["implicit", "starttls"])
      .default("implicit")
      .describe("implicit: TLS from the first byte | starttls: upgrade a plain connection"),
    ...fileTwin("ca", "PEM certificate(s) of the CA that signed the server certificate"),
    rejectUnauthorized: z.boolean().default(true).describe("verify the server certificate"),
    ...fileTwin("username", "login user name", { required: true }),
    ...fileTwin("password", "login password", { required: true }),
    mailboxes: z.array(z.string().min(1)).min(1).default(["INBOX"]).describe("mailboxes to watch"),
    http: httpEndpoint().optional(),
  }).transform((source, ctx) => {
    const { usernameFile: _usernameFile, passwordFile: _passwordFile, caFile: _caFile, ...rest } = source;
    return {
      ...rest,
      username: resolveFileTwin(source, "username", { required: true, context, ctx }) ?? "",
      password: resolveFileTwin(source, "password", { required: true, context, ctx }) ?? "",
      ca: resolveFileTwin(source, "ca", { required: false, context, ctx }),
    };
  });
}

export function sourceSchema(context: SchemaContext) {
  return z
    .discriminatedUnion("type", [
      postgresSource(context),
      mysqlSource(context),
      vonigoSource(context),
      imapSource(context),
    ])
    .describe("one source: its `type` selects the connector");
}
