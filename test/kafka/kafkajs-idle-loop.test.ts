import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";
import { Kafka, logLevel } from "kafkajs";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  kafkajsIdleLoopStopped,
  type RequestQueueState,
  scheduleCheckPendingRequests,
} from "../../src/kafka/kafkajs-idle-loop.js";
import { stack } from "../helpers/stack.js";

const require = createRequire(import.meta.url);

function queue(pending: number, throttledUntil = -1): RequestQueueState & { checks: number } {
  return {
    throttledUntil,
    throttleCheckTimeoutId: null,
    pending: Array.from({ length: pending }),
    checks: 0,
    checkPendingRequests() {
      this.checks++;
    },
  };
}

describe("the request queue's check of pending requests (kafkajs 2.2.4's idle loop stopped)", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("schedules nothing when nothing is pending and nothing is throttled", () => {
    vi.useFakeTimers();
    const idle = queue(0);
    scheduleCheckPendingRequests.call(idle);
    expect(idle.throttleCheckTimeoutId).toBeNull();
    vi.advanceTimersByTime(1000);
    expect(idle.checks).toBe(0);
  });

  it("looks at queued requests again soon, and at a throttle's end", () => {
    vi.useFakeTimers();
    const queued = queue(2);
    scheduleCheckPendingRequests.call(queued);
    vi.advanceTimersByTime(9);
    expect(queued.checks).toBe(0);
    vi.advanceTimersByTime(1);
    expect(queued.checks).toBe(1);

    const throttled = queue(0, Date.now() + 500);
    scheduleCheckPendingRequests.call(throttled);
    vi.advanceTimersByTime(499);
    expect(throttled.checks).toBe(0);
    vi.advanceTimersByTime(1);
    expect(throttled.checks).toBe(1);
  });

  it("keeps an idle kafkajs client from waking every millisecond, and its requests answered", async () => {
    expect(kafkajsIdleLoopStopped).toBe(true);
    const RequestQueue = require("kafkajs/src/network/requestQueue/index.js") as {
      prototype: { checkPendingRequests(): void };
    };
    const checkPendingRequests = vi.spyOn(RequestQueue.prototype, "checkPendingRequests");
    const admin = new Kafka({ brokers: [...stack.kafkaBrokers], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await admin.listTopics();
      checkPendingRequests.mockClear();
      await sleep(300);
      // The release's loop checks about 300 times in 300 ms, per connection.
      expect(checkPendingRequests.mock.calls.length).toBeLessThan(5);
      expect(Array.isArray(await admin.listTopics())).toBe(true);
    } finally {
      await admin.disconnect();
      checkPendingRequests.mockRestore();
    }
  });
});
