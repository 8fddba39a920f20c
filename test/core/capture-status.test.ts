import { describe, expect, it } from "vitest";
import { CaptureStatus } from "../../src/core/capture-status.js";
import type { Source, SourceHealth } from "../../src/core/source.js";

function sourceWithHealth(health: () => Promise<SourceHealth>): Source {
  return {
    name: "demo",
    open: async () => [],
    read: async function* () {},
    commit: async () => undefined,
    close: async () => undefined,
    health,
  };
}

describe("CaptureStatus readiness", () => {
  it("is not ready while starting, nor while the running source says it cannot deliver yet", async () => {
    const status = new CaptureStatus();
    expect((await status.readiness()).ready).toBe(false);

    let slotExists = false;
    status.running(
      sourceWithHealth(async () => ({ ready: slotExists, slotExists })),
      undefined,
    );
    const beforeSlot = await status.readiness();
    expect(beforeSlot).toMatchObject({
      ready: false,
      checks: { state: "running", source: { slotExists: false } },
    });

    slotExists = true;
    expect(await status.readiness()).toMatchObject({ ready: true, checks: { source: { slotExists: true } } });
  });

  it("is ready for a running source whose health has no opinion, and not when the health check throws", async () => {
    const status = new CaptureStatus();
    status.running(
      sourceWithHealth(async () => ({ lagBytes: 0 })),
      undefined,
    );
    expect((await status.readiness()).ready).toBe(true);

    const failing = new CaptureStatus();
    failing.running(
      sourceWithHealth(async () => {
        throw new Error("connection refused");
      }),
      undefined,
    );
    expect(await failing.readiness()).toMatchObject({
      ready: false,
      checks: { source: { error: "connection refused" } },
    });
  });
});
