import { spawn } from "node:child_process";
import avro from "avsc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../helpers/stack.js";
import {
  confirmedFlushLsn,
  currentWalLsn,
  dropAll,
  e2eSetup,
  exited,
  newClient,
  sequenceSuffix,
  startCapture,
  startChild,
} from "./pg-e2e.js";
import { readToEnd } from "./topic-reader.js";

/** The Avro body of a key `{id: long}` after the 5-byte wire header (no registry round trip per record). */
const keyType = avro.Type.forSchema({ type: "record", name: "Key", fields: [{ name: "id", type: "long" }] });

/** How often a read_committed consumer sees each id among the topic's non-tombstone records. */
async function idCounts(topic: string): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (const record of await readToEnd(topic, 50_000)) {
    if (record.key === null || record.value === null) continue;
    const { id } = keyType.fromBuffer(record.key.subarray(5)) as { id: number };
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** Ids from 1 to `count` that a consumer saw other than exactly once (and ids it should not have seen). */
function notExactlyOnce(counts: Map<number, number>, count: number): string[] {
  const problems: string[] = [];
  for (let id = 1; id <= count; id++) {
    const seen = counts.get(id) ?? 0;
    if (seen !== 1) problems.push(`${id}×${seen}`);
  }
  for (const id of counts.keys()) if (id < 1 || id > count) problems.push(`unexpected ${id}`);
  return problems;
}

function commits(output: string): string[] {
  return output.split("\n").filter((line) => line.startsWith("committed "));
}

async function kafka(action: "down" | "up"): Promise<void> {
  const steps = action === "down" ? "kafka_down" : "kafka_up; kafka_wait";
  // Output ignored: the started broker keeps inherited pipes open, which would never let this end.
  const child = spawn("bash", ["-c", `source stack/lib/common.sh; source stack/lib/kafka.sh; ${steps}`], {
    stdio: "ignore",
  });
  const code = await exited(child);
  if (code !== 0) throw new Error(`kafka ${action} exited ${code}`);
}

describe("Postgres capture across crashes and outages", () => {
  const client = newClient();
  beforeAll(() => client.connect());
  afterAll(() => client.end());

  it("is exactly once for read_committed after a SIGKILL in the middle of a 200k-row transaction", async () => {
    const setup = e2eSetup("e2e_bigtx");
    const rows = 200_000;
    await client.query(`create table ${setup.table} (id bigint primary key, payload text)`);
    const first = startChild(setup);
    try {
      // The (empty) snapshot is committed: streaming from here.
      await eventually(async () => (commits(first.output()).length > 0 ? true : undefined), 30_000);
      const before = commits(first.output()).length;
      await client.query(
        `insert into ${setup.table} select n, 'payload ' || n from generate_series(1, ${rows}) as n`,
      );
      // Killed after part of the transaction is in Kafka, the rest not.
      await eventually(async () => (commits(first.output()).length >= before + 2 ? true : undefined), 40_000);
      first.child.kill("SIGKILL");
      await exited(first.child);
      expect(commits(first.output()).some((line) => line.endsWith(sequenceSuffix(rows)))).toBe(false);
    } finally {
      first.child.kill("SIGKILL");
    }
    const second = startChild(setup);
    try {
      await eventually(
        async () =>
          commits(second.output()).some((line) => line.endsWith(sequenceSuffix(rows))) ? true : undefined,
        40_000,
      );
    } finally {
      second.child.kill("SIGTERM");
      await exited(second.child);
    }
    try {
      expect(notExactlyOnce(await idCounts(setup.topic), rows).slice(0, 10)).toEqual([]);
    } finally {
      await dropAll(client, setup);
    }
  }, 120_000);

  it("is exactly once for read_committed after a SIGKILL in the middle of the snapshot", async () => {
    const setup = e2eSetup("e2e_snapkill");
    const rows = 100_000;
    await client.query(`create table ${setup.table} (id bigint primary key, payload text)`);
    await client.query(
      `insert into ${setup.table} select n, 'payload ' || n from generate_series(1, ${rows}) as n`,
    );
    const first = startChild(setup, { CAPTURE_CHUNK: "2000" });
    try {
      await eventually(async () => (commits(first.output()).length >= 2 ? true : undefined), 30_000);
      first.child.kill("SIGKILL");
      await exited(first.child);
      expect(commits(first.output()).some((line) => line.endsWith(sequenceSuffix(rows)))).toBe(false);
    } finally {
      first.child.kill("SIGKILL");
    }
    const second = startChild(setup, { CAPTURE_CHUNK: "2000" });
    try {
      // The snapshot's last row has ordinal `rows`: every row counted once across both runs.
      await eventually(
        async () =>
          commits(second.output()).some((line) => line.endsWith(sequenceSuffix(rows))) ? true : undefined,
        40_000,
      );
    } finally {
      second.child.kill("SIGTERM");
      await exited(second.child);
    }
    try {
      expect(notExactlyOnce(await idCounts(setup.topic), rows).slice(0, 10)).toEqual([]);
    } finally {
      await dropAll(client, setup);
    }
  }, 120_000);

  it("waits out Kafka stopped for 30 s during a load: nothing lost or duplicated, the slot held, memory bounded", async () => {
    const setup = e2eSetup("e2e_outage", { heartbeatInterval: 1_000 });
    await client.query(`create table ${setup.table} (id bigint primary key, payload text)`);
    const capture = startCapture(setup.sourceName, setup.config);
    const writer = newClient();
    await writer.connect();
    let nextId = 1;
    let writing = true;
    const load = (async () => {
      // About 2,000 rows/s in transactions of 200.
      while (writing) {
        await writer.query(
          `insert into ${setup.table} select n, repeat('x', 100) from generate_series($1::bigint, $2::bigint) as n`,
          [nextId, nextId + 199],
        );
        nextId += 200;
        await new Promise((done) => setTimeout(done, 100));
      }
    })();
    // Growth from here, not the worker's absolute size: earlier tests of this file read hundreds of
    // thousands of records into this process, and V8 does not hand all of that back.
    const baselineRssMb = process.memoryUsage().rss / 1024 / 1024;
    let peakRssMb = 0;
    const sampler = setInterval(() => {
      peakRssMb = Math.max(peakRssMb, process.memoryUsage().rss / 1024 / 1024);
    }, 250);
    let kafkaDown = false;
    try {
      await eventually(async () => ((await capture.committedEvents()) >= 2_000 ? true : undefined), 30_000);
      await kafka("down");
      kafkaDown = true;
      // A transaction in flight when the broker went away may still have been acknowledged: settle first.
      await new Promise((done) => setTimeout(done, 3_000));
      const heldAt = await confirmedFlushLsn(client, setup.config.slot);
      await new Promise((done) => setTimeout(done, 27_000));
      // The source paused: nothing was acknowledged to the slot while Kafka was down.
      expect(await confirmedFlushLsn(client, setup.config.slot)).toBe(heldAt);
      const readiness = await capture.status.readiness();
      expect(readiness.checks.state, JSON.stringify(readiness.checks)).not.toBe("failed");
      await kafka("up");
      kafkaDown = false;
      await new Promise((done) => setTimeout(done, 2_000));
      writing = false;
      await load;
      const written = await currentWalLsn(client);
      await eventually(async () => {
        const confirmed = await confirmedFlushLsn(client, setup.config.slot);
        return confirmed !== undefined && confirmed >= written ? true : undefined;
      }, 60_000);
      expect(notExactlyOnce(await idCounts(setup.topic), nextId - 1).slice(0, 10)).toEqual([]);
      expect(peakRssMb - baselineRssMb, `peak ${peakRssMb} MB from ${baselineRssMb} MB`).toBeLessThan(200);
    } finally {
      writing = false;
      clearInterval(sampler);
      await load.catch(() => undefined);
      await writer.end();
      if (kafkaDown) await kafka("up");
      await capture.stop();
      await dropAll(client, setup);
    }
  }, 180_000);
});
