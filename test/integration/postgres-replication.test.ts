import pg from "pg";
import { LogicalReplicationService, type Pgoutput, PgoutputPlugin } from "pg-logical-replication";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, stack, uniqueName } from "../helpers/stack.js";

// The local Postgres must be set up for logical replication (wal_level=logical, slots, senders)
// with the `infoportal` database: a pgoutput slot can be created and streamed from.
describe("Postgres logical replication on the local stack", () => {
  const connection = { ...stack.postgres, database: "infoportal" };
  const client = new pg.Client(connection);
  const table = uniqueName("test_replication");
  const slot = uniqueName("test_slot");
  const publication = uniqueName("test_pub");

  beforeAll(async () => {
    await client.connect();
    await client.query(`create table ${table} (id int primary key, name text not null)`);
    await client.query(`create publication ${publication} for table ${table}`);
    await client.query("select pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
  });

  afterAll(async () => {
    // A slot still held by a closing walsender cannot be dropped yet; a leaked slot pins WAL.
    await eventually(async () => {
      const { rows } = await client.query("select active from pg_replication_slots where slot_name = $1", [
        slot,
      ]);
      if (rows.length === 0) return true;
      if (rows[0].active) return undefined;
      await client.query("select pg_drop_replication_slot($1)", [slot]);
      return true;
    });
    await client.query(`drop publication if exists ${publication}`);
    await client.query(`drop table if exists ${table}`);
    await client.end();
  });

  it("runs with wal_level=logical", async () => {
    const { rows } = await client.query("show wal_level");
    expect(rows[0].wal_level).toBe("logical");
  });

  it("streams an insert through a pgoutput slot", async () => {
    const service = new LogicalReplicationService(connection, {
      acknowledge: { auto: true, timeoutSeconds: 1 },
    });
    const inserts: Pgoutput.MessageInsert[] = [];
    service.on("data", (_lsn: string, message: Pgoutput.Message) => {
      if (message.tag === "insert") inserts.push(message);
    });
    service.on("error", () => undefined);
    const streaming = service
      .subscribe(new PgoutputPlugin({ protoVersion: 1, publicationNames: [publication] }), slot)
      .catch(() => undefined);
    try {
      await client.query(`insert into ${table} (id, name) values (1, 'Ada'), (2, 'Grace')`);
      const received = await eventually(async () => (inserts.length >= 2 ? inserts : undefined));
      expect(received.map((insert) => insert.new)).toEqual([
        { id: 1, name: "Ada" },
        { id: 2, name: "Grace" },
      ]);
      expect(received[0]?.relation.name).toBe(table);
    } finally {
      await service.stop();
      await streaming;
    }
  });
});
