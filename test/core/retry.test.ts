import { describe, expect, it } from "vitest";
import { backoffCeiling, type RetryInfo, retry } from "../../src/core/retry.js";

function failingTimes(times: number, error: () => unknown = () => new Error("transient")) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    fn: async () => {
      calls++;
      if (calls <= times) throw error();
      return "done";
    },
  };
}

describe("retry", () => {
  it("retries until the function succeeds, with growing delays up to the cap", async () => {
    const attempt = failingTimes(5);
    const seen: RetryInfo[] = [];
    const result = await retry(attempt.fn, {
      initialDelayMs: 1,
      maxDelayMs: 8,
      random: () => 0.999_999,
      onRetry: (info) => seen.push(info),
    });
    expect(result).toBe("done");
    expect(attempt.calls).toBe(6);
    expect(seen.map((info) => info.attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(seen.map((info) => info.delayMs)).toEqual([1, 2, 4, 8, 8]);
  });

  it("applies full jitter: the delay is random between 0 and the ceiling", async () => {
    const delays: number[] = [];
    await retry(failingTimes(2).fn, {
      initialDelayMs: 100,
      random: () => 0,
      onRetry: ({ delayMs }) => delays.push(delayMs),
    });
    expect(delays).toEqual([0, 0]);
    expect(backoffCeiling(1, { initialDelayMs: 300, maxDelayMs: 30_000 })).toBe(300);
    expect(backoffCeiling(4, { initialDelayMs: 300, maxDelayMs: 30_000 })).toBe(2400);
    expect(backoffCeiling(20, { initialDelayMs: 300, maxDelayMs: 30_000 })).toBe(30_000);
  });

  it("uses fast defaults under vitest", () => {
    expect(backoffCeiling(1)).toBe(10);
    expect(backoffCeiling(50)).toBe(100);
  });

  it("gives up after maxAttempts with the last error", async () => {
    const attempt = failingTimes(10, () => new Error("still down"));
    await expect(retry(attempt.fn, { maxAttempts: 3, initialDelayMs: 1 })).rejects.toThrow("still down");
    expect(attempt.calls).toBe(3);
  });

  it("stops at once when the function bails", async () => {
    let calls = 0;
    const bailed = new Error("not worth retrying");
    await expect(
      retry(async (bail) => {
        calls++;
        bail(bailed);
      }),
    ).rejects.toBe(bailed);
    expect(calls).toBe(1);
  });

  it("never retries programming errors or other 'stop' errors", async () => {
    const typeError = failingTimes(1, () => new TypeError("undefined is not a function"));
    await expect(retry(typeError.fn)).rejects.toBeInstanceOf(TypeError);
    expect(typeError.calls).toBe(1);
    const authError = failingTimes(1, () =>
      Object.assign(new Error("auth"), { code: "28P01", severity: "FATAL" }),
    );
    await expect(retry(authError.fn)).rejects.toThrow("auth");
    expect(authError.calls).toBe(1);
  });

  it("stops waiting when the signal aborts", async () => {
    const controller = new AbortController();
    const attempt = failingTimes(100);
    const pending = retry(attempt.fn, {
      initialDelayMs: 60_000,
      random: () => 1,
      signal: controller.signal,
      onRetry: () => setTimeout(() => controller.abort(new Error("shutting down")), 5),
    });
    const started = Date.now();
    await expect(pending).rejects.toThrow("shutting down");
    expect(Date.now() - started).toBeLessThan(5000);
    expect(attempt.calls).toBe(1);
  });

  it("does not start when the signal is already aborted", async () => {
    const attempt = failingTimes(0);
    await expect(retry(attempt.fn, { signal: AbortSignal.abort() })).rejects.toThrow();
    expect(attempt.calls).toBe(0);
  });

  it("passes the attempt number to the function", async () => {
    const attempts: number[] = [];
    await retry(async (_bail, attempt) => {
      attempts.push(attempt);
      if (attempt < 3) throw new Error("again");
    });
    expect(attempts).toEqual([1, 2, 3]);
  });
});
