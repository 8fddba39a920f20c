/**
 * The distinct keys of a micro-batch, each given a slot (0, 1, … in order of first sight), found
 * by their bytes: an open-addressing table of FNV-1a hashes of the bytes. No string is built per
 * record; building and hashing one was most of the fast path's scanning time.
 */
export class KeySlots {
  /** Slot + 1 per table entry, 0 for an empty one. */
  readonly #table: Int32Array;
  readonly #mask: number;
  /** Per slot: where its key's bytes are. */
  readonly #buffers: Buffer[] = [];
  readonly #starts: number[] = [];
  readonly #ends: number[] = [];

  /** For at most `keys` distinct keys: the table stays at most half full, and never grows. */
  constructor(keys: number) {
    let size = 16;
    while (size < keys * 2) size *= 2;
    this.#table = new Int32Array(size);
    this.#mask = size - 1;
  }

  get count(): number {
    return this.#buffers.length;
  }

  /** The slot of the key `buffer[start, end)`; a new one (`count` before the call) for a new key. */
  slotOf(buffer: Buffer, start: number, end: number): number {
    let hash = 0x811c9dc5;
    for (let index = start; index < end; index++) {
      hash = Math.imul(hash ^ (buffer[index] as number), 0x01000193);
    }
    const table = this.#table;
    for (let entry = hash & this.#mask; ; entry = (entry + 1) & this.#mask) {
      const stored = table[entry] as number;
      if (stored === 0) {
        const slot = this.#buffers.length;
        if (slot * 2 >= table.length) throw new RangeError("more distinct keys than the slots were made for");
        table[entry] = slot + 1;
        this.#buffers.push(buffer);
        this.#starts.push(start);
        this.#ends.push(end);
        return slot;
      }
      if (this.#holds(stored - 1, buffer, start, end)) return stored - 1;
    }
  }

  #holds(slot: number, buffer: Buffer, start: number, end: number): boolean {
    const other = this.#buffers[slot] as Buffer;
    const otherStart = this.#starts[slot] as number;
    if ((this.#ends[slot] as number) - otherStart !== end - start) return false;
    for (let index = 0; index < end - start; index++) {
      if (other[otherStart + index] !== buffer[start + index]) return false;
    }
    return true;
  }
}
