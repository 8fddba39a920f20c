import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TributaryError } from "../../../src/core/errors.js";
import { translateError } from "../../../src/sources/postgres/connection.js";
import { checkServer, type ServerFacts } from "../../../src/sources/postgres/setup.js";
import { lostSlotError } from "../../../src/sources/postgres/slot.js";
import { uniqueName } from "../../helpers/stack.js";
import { cleanUp, Driver, newClient, sourceConfig } from "./harness.js";

async function openError(config: ReturnType<typeof sourceConfig>): Promise<TributaryError> {
  const driver = new Driver(config);
  try {
    await driver.open();
  } catch (error) {
    expect(error).toBeInstanceOf(TributaryError);
    return error as TributaryError;
  } finally {
    await driver.source.close();
  }
  throw new Error("open() succeeded");
}

describe("Postgres source bad input, against the server", () => {
  const client = newClient();
  const table = uniqueName("bad");
  const plainRole = uniqueName("plain_role");
  const replicatorRole = uniqueName("replicator_role");
  const configs: ReturnType<typeof sourceConfig>[] = [];
  const config = (overrides: Parameters<typeof sourceConfig>[0]) => {
    const made = sourceConfig({ tables: { include: [`public.${table}`], exclude: [] }, ...overrides });
    configs.push(made);
    return made;
  };

  beforeAll(async () => {
    await client.connect();
    await client.query(`create table ${table} (id int primary key)`);
    await client.query(`create role ${plainRole} login`);
    await client.query(`create role ${replicatorRole} login replication`);
  });

  afterAll(async () => {
    for (const made of configs) await cleanUp(client, made);
    await client.query(`drop table if exists ${table}`);
    await client.query(`drop role if exists ${plainRole}`);
    await client.query(`drop role if exists ${replicatorRole}`);
    await client.end();
  });

  it("names the user when the server refuses it", async () => {
    const base = config({});
    const error = await openError({
      ...base,
      connection: { ...base.connection, user: uniqueName("nobody") },
    });
    expect(error.code).toBe("PG_AUTH_FAILED");
    expect(error.retriable).toBe(false);
    expect(error.hint).toContain("connection.user");
  });

  it("names a missing database", async () => {
    const base = config({});
    const database = uniqueName("nodb");
    const error = await openError({ ...base, connection: { ...base.connection, database } });
    expect(error.code).toBe("PG_DATABASE_MISSING");
    expect(error.message).toContain(database);
    expect(error.hint).toContain(`CREATE DATABASE ${database}`);
  });

  it("names an include pattern that matches no table", async () => {
    const pattern = `public.${uniqueName("missing")}_*`;
    const error = await openError(config({ tables: { include: [`public.${table}`, pattern], exclude: [] } }));
    expect(error.code).toBe("PG_TABLE_NOT_FOUND");
    expect(error.message).toContain(pattern);
  });

  it("gives the ALTER ROLE for a user without REPLICATION", async () => {
    const base = config({});
    const error = await openError({ ...base, connection: { ...base.connection, user: plainRole } });
    expect(error.code).toBe("PG_REPLICATION_PRIVILEGE");
    expect(error.hint).toBe(`run ALTER ROLE "${plainRole}" WITH REPLICATION as a superuser`);
  });

  it("gives the GRANT for a user that may not create the publication", async () => {
    const base = config({});
    const error = await openError({ ...base, connection: { ...base.connection, user: replicatorRole } });
    expect(error.code).toBe("PG_PUBLICATION_PRIVILEGE");
    expect(error.hint).toContain(`GRANT CREATE ON DATABASE "infoportal" TO "${replicatorRole}"`);
  });
});

describe("Postgres source bad input, from facts and error codes", () => {
  const facts: ServerFacts = {
    user: "capture",
    database: "infoportal",
    walLevel: "logical",
    canReplicate: true,
    canCreatePublication: true,
    publicationExists: false,
    slotExists: false,
    maxReplicationSlots: 10,
    usedReplicationSlots: 3,
  };
  const names = { slot: "tributary_infoportal", publication: "tributary_infoportal" };

  it("accepts a server that is ready", () => {
    expect(checkServer(facts, names)).toBeUndefined();
  });

  it("names wal_level and the restart", () => {
    const error = checkServer({ ...facts, walLevel: "replica" }, names);
    expect(error?.code).toBe("PG_WAL_LEVEL");
    expect(error?.message).toContain("wal_level = replica");
    expect(error?.hint).toContain("wal_level = logical");
    expect(error?.hint).toContain("restart Postgres");
  });

  it("names max_replication_slots when every slot is taken, unless ours exists", () => {
    const full = { ...facts, usedReplicationSlots: 10 };
    expect(checkServer(full, names)?.code).toBe("PG_SLOTS_EXHAUSTED");
    expect(checkServer(full, names)?.hint).toContain("max_replication_slots");
    expect(checkServer({ ...full, slotExists: true }, names)).toBeUndefined();
  });

  it("needs no CREATE privilege when the publication exists", () => {
    expect(
      checkServer({ ...facts, canCreatePublication: false, publicationExists: true }, names),
    ).toBeUndefined();
  });

  const connection = {
    host: "db",
    port: 5432,
    database: "infoportal",
    user: "capture",
    sslmode: "disable" as const,
    password: undefined,
    ca: undefined,
  };
  const pgError = (code: string) => Object.assign(new Error("server says no"), { code, severity: "FATAL" });

  it("turns a wrong password into a stop with the fix", () => {
    const error = translateError(pgError("28P01"), connection) as TributaryError;
    expect(error.code).toBe("PG_AUTH_FAILED");
    expect(error.retriable).toBe(false);
    expect(error.message).toBe("Postgres refused the password of capture@db:5432/infoportal");
    expect(error.hint).toContain("connection.password");
  });

  it("turns 'all replication slots are in use' into a stop with the fix", () => {
    const error = translateError(pgError("53400"), connection) as TributaryError;
    expect(error.code).toBe("PG_SLOTS_EXHAUSTED");
    expect(error.hint).toContain("max_replication_slots");
  });

  it("lets other errors through unchanged", () => {
    const error = pgError("40001");
    expect(translateError(error, connection)).toBe(error);
  });

  it("says what to do with a slot whose WAL was lost", () => {
    const error = lostSlotError("tributary_infoportal");
    expect(error.code).toBe("PG_SLOT_LOST");
    expect(error.retriable).toBe(false);
    expect(error.hint).toContain("snapshot: when_needed");
    expect(error.hint).toContain("pg_drop_replication_slot('tributary_infoportal')");
  });
});
