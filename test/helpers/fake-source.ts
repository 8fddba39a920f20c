/**
 * A scripted in-memory Source: the connector side of the capture tests (the Kafka side is real).
 * Events come from a script with fixed versions; read(from) resumes after `from.version` but
 * first repeats up to `replay` earlier events, as a real source may after a crash, so the tests
 * see the runner drop them. It records every call the runner makes.
 */
import type { Batch, ChangeEvent, SourcePosition, TableSpec } from "../../src/core/change-event.js";
import type { Source, SourceContext } from "../../src/core/source.js";

export interface FakeSourceOptions {
  readonly name: string;
  readonly tables: readonly TableSpec[];
  readonly events?: readonly ChangeEvent[];
  readonly batchSize?: number;
  /** Events before `from` to send again on a resumed read. Default 3. */
  readonly replay?: number;
  /** End the stream after the scripted events (default: wait for more until aborted). */
  readonly endWhenDrained?: boolean;
  /** Called by commit(), before it returns: tests inspect Kafka at that moment. */
  readonly onCommit?: (position: SourcePosition) => Promise<void> | void;
  /** Makes open() fail this many times first (a source outage). */
  readonly failOpens?: number;
}

/** A fixed-width version: sorts as the number does. */
export function fakeVersion(sequence: number): string {
  return sequence.toString(16).padStart(16, "0");
}

export class FakeSource implements Source {
  readonly name: string;
  readonly events: ChangeEvent[];
  readonly commits: SourcePosition[] = [];
  readonly reads: (SourcePosition | undefined)[] = [];
  opens = 0;
  closes = 0;
  readonly #options: FakeSourceOptions;
  #failOpens: number;
  #wake: (() => void) | undefined;

  constructor(options: FakeSourceOptions) {
    this.name = options.name;
    this.events = [...(options.events ?? [])];
    this.#options = options;
    this.#failOpens = options.failOpens ?? 0;
  }

  /** Appends events to the script (a live source producing more). */
  push(...events: ChangeEvent[]): void {
    this.events.push(...events);
    this.#wake?.();
  }

  async open(_context: SourceContext): Promise<readonly TableSpec[]> {
    this.opens++;
    if (this.#failOpens > 0) {
      this.#failOpens--;
      throw Object.assign(new Error("connect ECONNREFUSED (fake)"), { code: "ECONNREFUSED" });
    }
    return this.#options.tables;
  }

  async *read(from: SourcePosition | undefined, signal: AbortSignal): AsyncIterable<Batch> {
    this.reads.push(from);
    const batchSize = this.#options.batchSize ?? 10;
    const resumeAt = from ? this.events.findIndex((event) => event.source.version > from.version) : 0;
    let index = Math.max(
      0,
      (resumeAt < 0 ? this.events.length : resumeAt) - (from ? (this.#options.replay ?? 3) : 0),
    );
    while (!signal.aborted) {
      if (index < this.events.length) {
        const events = this.events.slice(index, index + batchSize);
        index += events.length;
        const last = events[events.length - 1] as ChangeEvent;
        yield { events, position: { version: last.source.version, state: { next: index } } };
        continue;
      }
      if (this.#options.endWhenDrained) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
      this.#wake = undefined;
    }
  }

  async commit(position: SourcePosition): Promise<void> {
    await this.#options.onCommit?.(position);
    this.commits.push(position);
  }

  async close(): Promise<void> {
    this.closes++;
    this.#wake?.();
  }
}
