import ZongJi, { type AnyBinlogEvent } from "@vlasky/zongji";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, stack, uniqueName } from "../helpers/stack.js";

// The local MariaDB must write a ROW binlog with full images and metadata, readable by zongji.
describe("MariaDB binlog on the local stack", () => {
  const table = uniqueName("test_binlog");
  let connection: mysql.Connection;

  beforeAll(async () => {
    connection = await mysql.createConnection({ ...stack.mariadb });
    await connection.query(`create table ${table} (id int primary key, name varchar(50) not null)`);
  });

  afterAll(async () => {
    await connection.query(`drop table if exists ${table}`);
    await connection.end();
  });

  it("runs a ROW binlog with full row images and metadata", async () => {
    const [rows] = await connection.query(
      "select @@log_bin as logBin, @@binlog_format as format, @@binlog_row_image as image, @@binlog_row_metadata as metadata",
    );
    expect(rows).toEqual([{ logBin: 1, format: "ROW", image: "FULL", metadata: "FULL" }]);
  });

  it("delivers an insert as a ROW event to zongji", async () => {
    const zongji = new ZongJi({
      host: stack.mariadb.host,
      port: stack.mariadb.port,
      user: "root",
      password: "",
    });
    const inserted: Record<string, unknown>[] = [];
    zongji.on("binlog", (event: AnyBinlogEvent) => {
      if (event.getEventName() === "writerows" && "rows" in event)
        inserted.push(...(event.rows as Record<string, unknown>[]));
    });
    zongji.on("error", () => undefined);
    const ready = new Promise<void>((resolve) => zongji.once("ready", () => resolve()));
    zongji.start({
      serverId: 9000 + Math.floor(Math.random() * 1000),
      startAtEnd: true,
      includeEvents: ["tablemap", "writerows"],
      includeSchema: { [stack.mariadb.database]: [table] },
    });
    try {
      await ready;
      await connection.query(`insert into ${table} (id, name) values (1, 'Ada'), (2, 'Grace')`);
      const rows = await eventually(async () => (inserted.length >= 2 ? inserted : undefined));
      expect(rows).toEqual([
        { id: 1, name: "Ada" },
        { id: 2, name: "Grace" },
      ]);
    } finally {
      zongji.stop();
    }
  });
});
