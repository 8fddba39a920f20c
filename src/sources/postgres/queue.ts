/**
 * A bounded queue between the replication connection (producer) and read()'s iterator
 * (consumer): put() waits while it is full, which with the library's flow control pauses the
 * socket, so a slow runner leaves the changes in the slot instead of in memory.
 */
export class BoundedQueue<T> {
  private readonly items: T[] = [];
  /** Index of the next item in `items`. */
  private head = 0;
  private failure: { error: unknown } | undefined;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducers: (() => void)[] = [];

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.items.length - this.head;
  }

  /** Queues `item`; returns a promise to wait for only when the queue is full (no promise per item). */
  put(item: T): Promise<void> | undefined {
    if (this.size >= this.capacity && !this.failure) return this.putLater(item);
    this.items.push(item);
    this.wake();
    return undefined;
  }

  private async putLater(item: T): Promise<void> {
    while (this.size >= this.capacity && !this.failure) {
      await new Promise<void>((resolve) => this.wakeProducers.push(resolve));
    }
    this.items.push(item);
    this.wake();
  }

  /** The next item if one is queued (no waiting, no promise), else undefined. */
  poll(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    return this.next();
  }

  /** Makes the consumer's next take() throw `error` (after the items queued before it). */
  fail(error: unknown): void {
    this.failure ??= { error };
    this.wake();
  }

  /** The next item; undefined when `signal` aborted. */
  async take(signal: AbortSignal): Promise<T | undefined> {
    for (;;) {
      const item = this.poll();
      if (item !== undefined) return item;
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

  private next(): T {
    const item = this.items[this.head] as T;
    // Let go of it now: a queue that stays full would otherwise keep taken items until it compacts.
    (this.items as (T | undefined)[])[this.head] = undefined;
    this.head++;
    // Compact now and then instead of shift()ing every item.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    if (this.wakeProducers.length > 0 && this.items.length - this.head < this.capacity) {
      const producers = this.wakeProducers;
      this.wakeProducers = [];
      for (const resume of producers) resume();
    }
    return item;
  }

  private wake(): void {
    const consumer = this.wakeConsumer;
    this.wakeConsumer = undefined;
    consumer?.();
  }
}
