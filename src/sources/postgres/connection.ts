/**
 * Connections to the source database: the pg client options from the config, and the
 * translation of the server's refusals into TributaryErrors that name the fix.
 */
import pg from "pg";
import type { PostgresSourceConfig } from "../../core/config/schema.js";
import { TributaryError } from "../../core/errors.js";
import { sessionSettings } from "./types.js";

export type PostgresConnection = PostgresSourceConfig["connection"];

/** Every value as the server's text: types.ts decodes it, identically for snapshot and stream. */
const textTypes = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

function tlsOptions(connection: PostgresConnection): pg.ClientConfig["ssl"] {
  switch (connection.sslmode) {
    case "disable":
    case "prefer": // node-postgres cannot fall back from TLS to plain; prefer means plain here.
      return false;
    case "require":
      return { rejectUnauthorized: false };
    case "verify-ca":
      return { rejectUnauthorized: true, ca: connection.ca, checkServerIdentity: () => undefined };
    case "verify-full":
      return { rejectUnauthorized: true, ca: connection.ca };
  }
}

export function clientConfig(
  connection: PostgresConnection,
  applicationName: string,
  options: { textValues?: boolean } = {},
): pg.ClientConfig {
  return {
    host: connection.host,
    port: connection.port,
    database: connection.database,
    user: connection.user,
    password: connection.password,
    ssl: tlsOptions(connection),
    application_name: applicationName,
    options: sessionSettings,
    ...(options.textValues ? { types: textTypes } : {}),
    connectionTimeoutMillis: 15_000,
  };
}

/** Turns a server or network error into a TributaryError with a hint when we know the fix. */
export function translateError(error: unknown, connection: PostgresConnection): unknown {
  if (!(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  const where = `${connection.user}@${connection.host}:${connection.port}/${connection.database}`;
  const stop = (errorCode: string, message: string, hint: string) =>
    new TributaryError(message, { code: errorCode, retriable: false, hint, cause: error });
  switch (code) {
    case "28P01":
      return stop(
        "PG_AUTH_FAILED",
        `Postgres refused the password of ${where}`,
        "check connection.user and connection.password (or passwordFile) in the config",
      );
    case "28000":
      return stop(
        "PG_AUTH_FAILED",
        `Postgres refused ${where}: ${error.message}`,
        "check connection.user in the config, and that pg_hba.conf allows this user from this host",
      );
    case "3D000":
      return stop(
        "PG_DATABASE_MISSING",
        `database "${connection.database}" does not exist on ${connection.host}:${connection.port}`,
        `create it (CREATE DATABASE ${connection.database}) or fix connection.database in the config`,
      );
    case "53400":
      return stop(
        "PG_SLOTS_EXHAUSTED",
        `Postgres has no free replication slot: ${error.message}`,
        "raise max_replication_slots (and max_wal_senders) in postgresql.conf and restart Postgres, " +
          "or drop unused slots (SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active)",
      );
    case "55006":
      // After a crash the old walsender may hold the slot for a moment: waiting is the fix.
      return new TributaryError(`the replication slot is in use by another connection: ${error.message}`, {
        code: "PG_SLOT_ACTIVE",
        retriable: true,
        hint: "another capture streams from this slot; stop it, or give this source its own slot",
        cause: error,
      });
    case "53300":
      return new TributaryError(`Postgres has no free connection or WAL sender: ${error.message}`, {
        code: "PG_TOO_MANY_CONNECTIONS",
        retriable: true,
        hint: "raise max_connections / max_wal_senders in postgresql.conf, or stop idle clients",
        cause: error,
      });
    default:
      return error;
  }
}

/**
 * A connected client; `replication` opens a walsender connection (replication=database),
 * `textValues` returns every value as the server's text (the snapshot reader).
 */
export async function connect(
  connection: PostgresConnection,
  options: { applicationName: string; replication?: boolean; textValues?: boolean },
): Promise<pg.Client> {
  const config = clientConfig(connection, options.applicationName, options);
  // `replication` is a startup parameter pg passes through but does not declare in its types.
  const client = new pg.Client(
    options.replication ? ({ ...config, replication: "database" } as pg.ClientConfig) : config,
  );
  // An idle connection that the server drops must not crash the process: the next query fails instead.
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw translateError(error, connection);
  }
  return client;
}
