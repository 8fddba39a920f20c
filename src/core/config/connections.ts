/**
 * Database connection blocks: Postgres (the Info Portal source, and the Redshift sink, which
 * speaks the Postgres protocol) and MySQL/MariaDB.
 */
import * as z from "zod";
import { fileTwin, integer, port, resolveFileTwin, type SchemaContext, strictObject } from "./fields.js";

// biome-ignore lint/suspicious/noTemplateCurlyInString: the text shows the config syntax
const PASSWORD_DESCRIPTION = "password (use ${VAR} or passwordFile rather than writing it here)";

export const sslModes = ["disable", "prefer", "require", "verify-ca", "verify-full"] as const;

function postgresServerFields<U extends z.ZodRawShape>(
  defaultPort: number,
  userFields: U,
  passwordRequired: boolean,
) {
  return {
    host: z.string().min(1).describe("server host name or address"),
    port: port().default(defaultPort).describe("server port"),
    database: z.string().min(1).describe("database name"),
    ...userFields,
    ...fileTwin("password", PASSWORD_DESCRIPTION, { required: passwordRequired }),
    sslmode: z
      .enum(sslModes)
      .default("prefer")
      .describe("TLS mode, as libpq: disable | prefer | require | verify-ca | verify-full"),
    ...fileTwin("ca", "PEM certificate(s) of the CA that signed the server certificate (with verify-*)"),
  };
}

/** A Postgres source: the password may be absent (trust or peer authentication). */
export function postgresConnection(context: SchemaContext) {
  return strictObject(postgresServerFields(5432, { user: z.string().min(1).describe("user name") }, false))
    .transform((connection, ctx) => {
      const { passwordFile: _passwordFile, caFile: _caFile, ...rest } = connection;
      return {
        ...rest,
        password: resolveFileTwin(connection, "password", { required: false, context, ctx }),
        ca: resolveFileTwin(connection, "ca", { required: false, context, ctx }),
      };
    })
    .describe("how to connect");
}

/** The warehouse: Redshift (or its Postgres stand-in); user and password are secrets there. */
export function warehouseConnection(context: SchemaContext) {
  return strictObject(postgresServerFields(5439, fileTwin("user", "user name", { required: true }), true))
    .transform((connection, ctx) => {
      const { passwordFile: _passwordFile, caFile: _caFile, userFile: _userFile, ...rest } = connection;
      return {
        ...rest,
        user: resolveFileTwin(connection, "user", { required: true, context, ctx }) ?? "",
        password: resolveFileTwin(connection, "password", { required: true, context, ctx }) ?? "",
        ca: resolveFileTwin(connection, "ca", { required: false, context, ctx }),
      };
    })
    .describe("how to connect");
}

export function mysqlConnection(context: SchemaContext) {
  const tls = strictObject({
    ...fileTwin("ca", "PEM certificate(s) of the CA that signed the server certificate"),
    rejectUnauthorized: z.boolean().default(true).describe("verify the server certificate"),
  })
    .transform((options, ctx) => {
      const { caFile: _caFile, ...rest } = options;
      return { ...rest, ca: resolveFileTwin(options, "ca", { required: false, context, ctx }) };
    })
    .describe("TLS to the server; plain TCP when absent");
  return strictObject({
    host: z.string().min(1).describe("server host name or address"),
    port: port().default(3306).describe("server port"),
    database: z.string().min(1).describe("database name"),
    user: z.string().min(1).describe("user name"),
    ...fileTwin("password", PASSWORD_DESCRIPTION),
    tls: tls.optional(),
  })
    .transform((connection, ctx) => {
      const { passwordFile: _passwordFile, ...rest } = connection;
      return {
        ...rest,
        password: resolveFileTwin(connection, "password", { required: false, context, ctx }),
      };
    })
    .describe("how to connect");
}

/** MySQL replicas need a server id unique in the replication topology. */
export const mysqlServerId = () =>
  integer(1, 4_294_967_295).describe("replication server id, unique among the server's replicas");
