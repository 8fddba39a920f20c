/**
 * The chunks the consumer handed over that are not yet applied and committed: one ordered chain
 * per partition (a partition's chunks apply and commit in offset order) and a cap on the chunks
 * in flight across partitions, which bounds memory: when it is reached, fetching waits.
 */
export class ChunkQueue {
  readonly #limit: number;
  readonly #chains = new Map<string, Promise<void>>();
  readonly #waiting: (() => void)[] = [];
  #inFlight = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Resolves once fewer than `limit` chunks are in flight. */
  async room(): Promise<void> {
    while (this.#inFlight >= this.#limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  /** Runs `task` after the earlier tasks of `partition`; `task` handles its own errors. */
  push(partition: string, task: () => Promise<void>): void {
    this.#inFlight++;
    const previous = this.#chains.get(partition) ?? Promise.resolve();
    const current: Promise<void> = previous.then(task).finally(() => {
      this.#inFlight--;
      this.#waiting.shift()?.();
      if (this.#chains.get(partition) === current) this.#chains.delete(partition);
    });
    this.#chains.set(partition, current);
  }

  /** Resolves once every task pushed so far (and any pushed meanwhile) has finished. */
  async drained(): Promise<void> {
    while (this.#chains.size > 0) await Promise.all([...this.#chains.values()]);
  }
}
