/**
 * What /readyz says about a capture: ready once the source opened and says it can deliver, and
 * while the loop is healthy (not waiting to reconnect after a failure), with the last committed
 * version and time.
 */
import type { SourcePosition } from "./change-event.js";
import type { Readiness } from "./http.js";
import type { Source } from "./source.js";

export type CaptureState = "starting" | "running" | "retrying" | "stopped" | "failed";

export class CaptureStatus {
  state: CaptureState = "starting";
  #lastError: string | undefined;
  #committedVersion: string | undefined;
  #lastCommitAt: string | undefined;
  #source: Source | undefined;

  /** The source opened and the committed position was read: events flow from here. */
  running(source: Source, committed: SourcePosition | undefined): void {
    this.state = "running";
    this.#source = source;
    this.#committedVersion = committed?.version;
  }

  committed(position: SourcePosition): void {
    this.#committedVersion = position.version;
    this.#lastCommitAt = new Date().toISOString();
  }

  retrying(error: unknown): void {
    this.state = "retrying";
    this.#lastError = error instanceof Error ? error.message : String(error);
  }

  failed(error: unknown): void {
    this.state = "failed";
    this.#lastError = error instanceof Error ? error.message : String(error);
  }

  stopped(): void {
    this.state = "stopped";
  }

  async readiness(): Promise<Readiness> {
    const checks: Record<string, unknown> = {
      state: this.state,
      committedVersion: this.#committedVersion ?? null,
      lastCommitAt: this.#lastCommitAt ?? null,
    };
    if (this.#lastError !== undefined) checks.lastError = this.#lastError;
    if (this.state === "running" && this.#source?.health) {
      try {
        const health = await this.#source.health();
        checks.source = health;
        return { ready: health.ready !== false, checks };
      } catch (error) {
        checks.source = { error: error instanceof Error ? error.message : String(error) };
        return { ready: false, checks };
      }
    }
    return { ready: this.state === "running", checks };
  }
}
