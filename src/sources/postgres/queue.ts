/**
 * A bounded queue between the replication connection (producer) and read()'s iterator
 * (consumer): put() waits while it is full, which with the library's flow control pauses the
 * socket, so a slow runner leaves the changes in the slot instead of in memory.
 */
export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private failure: { error: unknown } | undefined;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducers: (() => void)[] = [];

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.items.length;
  }

  async put(item: T): Promise<void> {
    while (this.items.length >= this.capacity && !this.failure) {
      await new Promise<void>((resolve) => this.wakeProducers.push(resolve));
    }
    this.items.push(item);
    this.wake();
  }

  /** Makes the consumer's next take() throw `error` (after the items queued before it). */
  fail(error: unknown): void {
    this.failure ??= { error };
    this.wake();
  }

  /** The next item; undefined when `signal` aborted. */
  async take(signal: AbortSignal): Promise<T | undefined> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        const producers = this.wakeProducers;
        this.wakeProducers = [];
        for (const resume of producers) resume();
        return item;
      }
      if (this.failure) throw this.failure.error;
      if (signal.aborted) return undefined;
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        this.wakeConsumer = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
        signal.addEventListener("abort", onAbort, { once: true });
      });
    }
  }

  private wake(): void {
    const consumer = this.wakeConsumer;
    this.wakeConsumer = undefined;
    consumer?.();
  }
}
