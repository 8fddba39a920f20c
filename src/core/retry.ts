/**
 * The one retry helper: exponential backoff with full jitter and a cap. Connectors never write
 * their own retry loops; they call this (or the runner does).
 */
import { classify, type ErrorAction } from "./errors.js";

export interface RetryInfo {
  readonly error: unknown;
  /** The attempt that just failed, starting at 1. */
  readonly attempt: number;
  readonly delayMs: number;
}

export interface RetryOptions {
  /** Upper bound of the first delay. Default 300ms (10ms under vitest). */
  readonly initialDelayMs?: number;
  /** Upper bound of any delay. Default 30s (100ms under vitest). */
  readonly maxDelayMs?: number;
  readonly factor?: number;
  /** Attempts in total, including the first. Default unlimited: outages make services wait. */
  readonly maxAttempts?: number;
  /** Stops waiting: the pending retry rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Called before each wait, e.g. to log the failure. */
  readonly onRetry?: (info: RetryInfo) => void;
  /** Decides which errors are worth another attempt; only "retry" ones are. */
  readonly classify?: (err: unknown) => ErrorAction;
  /** Source of jitter in [0, 1); injectable so tests can pin it. */
  readonly random?: () => number;
}

/** Gives up at once with `err`, from inside the retried function. */
export type Bail = (err: unknown) => never;

class BailSignal {
  constructor(readonly error: unknown) {}
}

const underTest = process.env.VITEST !== undefined;

const defaults = {
  initialDelayMs: underTest ? 10 : 300,
  maxDelayMs: underTest ? 100 : 30_000,
  factor: 2,
  maxAttempts: Number.POSITIVE_INFINITY,
};

/** The ceiling of the delay after failed attempt `attempt` (1-based), before jitter. */
export function backoffCeiling(
  attempt: number,
  options: { initialDelayMs?: number; maxDelayMs?: number; factor?: number } = {},
): number {
  const initial = options.initialDelayMs ?? defaults.initialDelayMs;
  const cap = options.maxDelayMs ?? defaults.maxDelayMs;
  const factor = options.factor ?? defaults.factor;
  return Math.min(cap, initial * factor ** (attempt - 1));
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The operation was aborted", "AbortError");
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export async function retry<T>(
  fn: (bail: Bail, attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? defaults.maxAttempts;
  const decide = options.classify ?? classify;
  const random = options.random ?? Math.random;
  const bail: Bail = (err) => {
    throw new BailSignal(err);
  };

  for (let attempt = 1; ; attempt++) {
    if (options.signal?.aborted) throw abortReason(options.signal);
    try {
      return await fn(bail, attempt);
    } catch (caught) {
      if (caught instanceof BailSignal) throw caught.error;
      if (attempt >= maxAttempts || decide(caught) !== "retry") throw caught;
      const delayMs = Math.round(random() * backoffCeiling(attempt, options));
      options.onRetry?.({ error: caught, attempt, delayMs });
      await sleep(delayMs, options.signal);
    }
  }
}
