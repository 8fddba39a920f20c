import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../helpers/stack.js";
import { dropAll, e2eSetup, exited, newClient } from "./pg-e2e.js";

describe("tributary capture <postgres source> through the CLI", () => {
  const client = newClient();
  beforeAll(() => client.connect());
  afterAll(() => client.end());

  it("serves /readyz and /metrics with events by table and op, flush size and latency, commit→Kafka latency, slot lag", async () => {
    const setup = e2eSetup("e2e_cli");
    await client.query(`create table ${setup.table} (id bigint primary key, payload text)`);
    await client.query(`insert into ${setup.table} select n, 'old ' || n from generate_series(1, 100) as n`);
    const file = join(mkdtempSync(join(tmpdir(), "tributary-capture-")), "tributary.yaml");
    writeFileSync(
      file,
      [
        'kafka: { brokers: ["127.0.0.1:9092"] }',
        'schemaRegistry: { url: "http://127.0.0.1:8081/apis/ccompat/v7" }',
        "sources:",
        `  ${setup.sourceName}:`,
        "    type: postgres",
        "    connection: { host: 127.0.0.1, port: 5432, database: infoportal, user: postgres, sslmode: disable }",
        `    tables: { include: ["public.${setup.table}"] }`,
        `    slot: ${setup.config.slot}`,
        `    publication: ${setup.config.publication}`,
        "    heartbeatInterval: 1s",
        "    http: { port: 0 }",
      ].join("\n"),
    );
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "test/capture/cli-main-child.ts", "capture", setup.sourceName, "--config", file],
      { env: { ...process.env, LOG_LEVEL: "info" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout?.on("data", (chunk) => {
      output += String(chunk);
    });
    child.stderr?.on("data", (chunk) => {
      output += String(chunk);
    });
    try {
      const url = await eventually(async () => /"url":"(http:\/\/[^"]+)"/.exec(output)?.[1], 30_000);
      const readiness = await eventually(async () => {
        const response = await fetch(`${url}/readyz`);
        return response.status === 200 ? ((await response.json()) as Record<string, unknown>) : undefined;
      }, 30_000);
      expect(readiness).toMatchObject({
        status: "ready",
        checks: { state: "running", source: { slotExists: true } },
      });

      await client.query(`insert into ${setup.table} select n, 'new' from generate_series(101, 150) as n`);
      await client.query(`update ${setup.table} set payload = 'changed' where id <= 10`);
      await client.query(`delete from ${setup.table} where id = 150`);
      const labels = `source="${setup.sourceName}",topic="${setup.topic}"`;
      const metrics = await eventually(async () => {
        const text = await (await fetch(`${url}/metrics`)).text();
        return text.includes(`op="d"`) && text.includes("tributary_postgres_slot_lag_bytes{")
          ? text
          : undefined;
      }, 30_000);
      const value = (pattern: RegExp) => Number(pattern.exec(metrics)?.[1]);
      expect(
        value(new RegExp(`tributary_capture_events_total\\{[^}]*${labels}[^}]*op="r"[^}]*\\} (\\d+)`)),
      ).toBe(100);
      expect(
        value(new RegExp(`tributary_capture_events_total\\{[^}]*${labels}[^}]*op="c"[^}]*\\} (\\d+)`)),
      ).toBe(50);
      expect(
        value(new RegExp(`tributary_capture_events_total\\{[^}]*${labels}[^}]*op="u"[^}]*\\} (\\d+)`)),
      ).toBe(10);
      expect(
        value(new RegExp(`tributary_capture_events_total\\{[^}]*${labels}[^}]*op="d"[^}]*\\} (\\d+)`)),
      ).toBe(1);
      expect(value(/tributary_capture_flush_events_sum\{[^}]*\} (\d+)/)).toBe(161);
      expect(value(/tributary_capture_flush_bytes_sum\{[^}]*\} (\d+)/)).toBeGreaterThan(0);
      expect(value(/tributary_capture_flush_duration_seconds_count\{[^}]*\} (\d+)/)).toBeGreaterThan(0);
      // Streamed events only (not the 100 snapshot reads).
      expect(value(/tributary_capture_commit_to_kafka_seconds_count\{[^}]*\} (\d+)/)).toBe(61);
      expect(value(/tributary_postgres_slot_lag_bytes\{[^}]*\} (-?\d+)/)).not.toBeNaN();

      child.kill("SIGTERM");
      expect(await exited(child), output.slice(-2000)).toBe(0);
    } finally {
      child.kill("SIGKILL");
      await dropAll(client, setup);
    }
  }, 60_000);
});
