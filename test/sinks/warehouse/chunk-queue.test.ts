import { describe, expect, it } from "vitest";
import { ChunkQueue } from "../../../src/sinks/warehouse/chunk-queue.js";

/** A task that finishes when `finish` is called, recording when it started and ended. */
function gate(log: string[], name: string) {
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const task = async () => {
    log.push(`start ${name}`);
    await done;
    log.push(`end ${name}`);
  };
  return { task, finish };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("the chunk queue between fetching and the warehouse", () => {
  it("runs a partition's chunks in order and different partitions side by side", async () => {
    const queue = new ChunkQueue(10);
    const log: string[] = [];
    const a1 = gate(log, "a1");
    const a2 = gate(log, "a2");
    const b1 = gate(log, "b1");
    queue.push("a", a1.task);
    queue.push("a", a2.task);
    queue.push("b", b1.task);
    await turn();
    expect(log).toEqual(["start a1", "start b1"]);
    b1.finish();
    a1.finish();
    await turn();
    expect(log).toEqual(["start a1", "start b1", "end b1", "end a1", "start a2"]);
    a2.finish();
    await queue.drained();
    expect(log.at(-1)).toBe("end a2");
  });

  it("makes fetching wait while `limit` chunks are in flight", async () => {
    const queue = new ChunkQueue(2);
    const log: string[] = [];
    const first = gate(log, "1");
    const second = gate(log, "2");
    queue.push("a", first.task);
    queue.push("b", second.task);
    let roomy = false;
    const room = queue.room().then(() => {
      roomy = true;
    });
    await turn();
    expect(roomy).toBe(false);
    second.finish();
    await room;
    expect(roomy).toBe(true);
    first.finish();
    await queue.drained();
  });

  it("drains tasks pushed while draining", async () => {
    const queue = new ChunkQueue(4);
    const log: string[] = [];
    queue.push("a", async () => {
      log.push("first");
      queue.push("b", async () => {
        log.push("pushed meanwhile");
      });
    });
    await queue.drained();
    expect(log).toEqual(["first", "pushed meanwhile"]);
  });
});
