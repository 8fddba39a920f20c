import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { createShutdown, type SignalSource } from "../../src/core/shutdown.js";

/** A stand-in for `process`: emits signals on demand and records exit calls. */
function fakeProcess() {
  const emitter = new EventEmitter();
  const exits: number[] = [];
  const source: SignalSource = {
    on: (event, listener) => emitter.on(event, listener),
    off: (event, listener) => emitter.off(event, listener),
    exit: (code) => {
      exits.push(code);
    },
  };
  return { source, emitter, exits };
}

describe("createShutdown", () => {
  it("runs handlers in reverse order of registration on SIGTERM and exits 0", async () => {
    const fake = fakeProcess();
    const shutdown = createShutdown({ process: fake.source });
    const order: string[] = [];
    shutdown.onShutdown("http", async () => {
      order.push("http");
    });
    shutdown.onShutdown("consumer", async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      order.push("consumer");
    });
    shutdown.onShutdown("producer", () => {
      order.push("producer");
    });
    expect(shutdown.signal.aborted).toBe(false);
    fake.emitter.emit("SIGTERM");
    expect(shutdown.signal.aborted).toBe(true);
    expect(await shutdown.done).toBe(0);
    expect(order).toEqual(["producer", "consumer", "http"]);
    expect(fake.exits).toEqual([]);
    expect(fake.emitter.listenerCount("SIGTERM")).toBe(0);
  });

  it("gives up after the timeout with exit code 1", async () => {
    const fake = fakeProcess();
    const problems: string[] = [];
    const shutdown = createShutdown({
      process: fake.source,
      timeoutMs: 20,
      onProblem: (message) => problems.push(message),
    });
    shutdown.onShutdown("stuck", () => new Promise(() => {}));
    fake.emitter.emit("SIGINT");
    expect(await shutdown.done).toBe(1);
    expect(problems).toEqual(["shutdown did not finish within 20ms"]);
  });

  it("keeps running the other handlers when one fails, and exits 1", async () => {
    const fake = fakeProcess();
    const ran: string[] = [];
    const shutdown = createShutdown({ process: fake.source });
    shutdown.onShutdown("first", () => {
      ran.push("first");
    });
    shutdown.onShutdown("broken", () => {
      throw new Error("close failed");
    });
    expect(await shutdown.stop("test")).toBe(1);
    expect(ran).toEqual(["first"]);
  });

  it("forces the exit on a second signal: 130 for SIGINT, 143 for SIGTERM", async () => {
    for (const [signal, code] of [
      ["SIGINT", 130],
      ["SIGTERM", 143],
    ] as const) {
      const fake = fakeProcess();
      const shutdown = createShutdown({ process: fake.source, timeoutMs: 50 });
      shutdown.onShutdown("slow", () => new Promise(() => {}));
      fake.emitter.emit(signal);
      fake.emitter.emit(signal);
      expect(fake.exits).toEqual([code]);
      await shutdown.done;
    }
  });

  it("starts shutdown only once", async () => {
    const fake = fakeProcess();
    const shutdown = createShutdown({ process: fake.source });
    let calls = 0;
    shutdown.onShutdown("once", () => {
      calls++;
    });
    const [first, second] = await Promise.all([shutdown.stop("a"), shutdown.stop("b")]);
    expect([first, second, calls]).toEqual([0, 0, 1]);
  });
  it("says once, when shutdown begins, why it began", async () => {
    const fake = fakeProcess();
    const reasons: string[] = [];
    const shutdown = createShutdown({ process: fake.source, onStopping: (reason) => reasons.push(reason) });
    fake.emitter.emit("SIGINT");
    await shutdown.stop("every service ended");
    expect(await shutdown.done).toBe(0);
    expect(reasons).toEqual(["SIGINT"]);
  });
});
