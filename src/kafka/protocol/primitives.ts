/**
 * The primitive types of the Kafka protocol (big-endian integers, int16-prefixed strings,
 * int32-prefixed bytes and arrays), written into a growing buffer and read from a response.
 * Only the non-flexible encodings: the API versions we speak predate tagged fields.
 */

export class ProtocolWriter {
  #buffer: Buffer;
  #length = 0;

  constructor(initialBytes = 256) {
    this.#buffer = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.#length;
  }

  #reserve(bytes: number): number {
    const at = this.#length;
    if (at + bytes > this.#buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, at + bytes));
      this.#buffer.copy(grown, 0, 0, at);
      this.#buffer = grown;
    }
    this.#length = at + bytes;
    return at;
  }

  // Each write reserves first: reserving may replace the buffer, so the buffer is read after it.
  int8(value: number): this {
    const at = this.#reserve(1);
    this.#buffer.writeInt8(value, at);
    return this;
  }

  bool(value: boolean): this {
    return this.int8(value ? 1 : 0);
  }

  int16(value: number): this {
    const at = this.#reserve(2);
    this.#buffer.writeInt16BE(value, at);
    return this;
  }

  int32(value: number): this {
    const at = this.#reserve(4);
    this.#buffer.writeInt32BE(value, at);
    return this;
  }

  int64(value: bigint): this {
    const at = this.#reserve(8);
    this.#buffer.writeBigInt64BE(value, at);
    return this;
  }

  string(value: string): this {
    const bytes = Buffer.byteLength(value, "utf8");
    this.int16(bytes);
    const at = this.#reserve(bytes);
    this.#buffer.write(value, at, bytes, "utf8");
    return this;
  }

  nullableString(value: string | null): this {
    return value === null ? this.int16(-1) : this.string(value);
  }

  /** int32 length, then the bytes; null as length -1. */
  bytes(value: Uint8Array | null): this {
    if (value === null) return this.int32(-1);
    this.int32(value.length);
    const at = this.#reserve(value.length);
    this.#buffer.set(value, at);
    return this;
  }

  array<T>(items: readonly T[], write: (item: T, writer: this) => void): this {
    this.int32(items.length);
    for (const item of items) write(item, this);
    return this;
  }

  /** Overwrites the int32 at `offset` (a size known only once what follows it is written). */
  patchInt32(offset: number, value: number): void {
    this.#buffer.writeInt32BE(value, offset);
  }

  /** The bytes written so far (a view: do not write more afterwards). */
  finish(): Buffer {
    return this.#buffer.subarray(0, this.#length);
  }
}

/** Thrown when a response ends before its fields do: a bug or a broker speaking another version. */
export class TruncatedResponseError extends Error {
  constructor(needed: number, offset: number, length: number) {
    super(`Kafka response truncated: needed ${needed} bytes at offset ${offset} of ${length}`);
    this.name = "TruncatedResponseError";
  }
}

export class ProtocolReader {
  readonly #buffer: Buffer;
  #offset: number;

  constructor(buffer: Buffer, offset = 0) {
    this.#buffer = buffer;
    this.#offset = offset;
  }

  #take(bytes: number): number {
    const at = this.#offset;
    if (at + bytes > this.#buffer.length) throw new TruncatedResponseError(bytes, at, this.#buffer.length);
    this.#offset = at + bytes;
    return at;
  }

  int8(): number {
    return this.#buffer.readInt8(this.#take(1));
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  int16(): number {
    return this.#buffer.readInt16BE(this.#take(2));
  }

  int32(): number {
    return this.#buffer.readInt32BE(this.#take(4));
  }

  int64(): bigint {
    return this.#buffer.readBigInt64BE(this.#take(8));
  }

  nullableString(): string | null {
    const length = this.int16();
    if (length < 0) return null;
    const at = this.#take(length);
    return this.#buffer.toString("utf8", at, at + length);
  }

  string(): string {
    return this.nullableString() ?? "";
  }

  array<T>(read: (reader: this) => T): T[] {
    const count = this.int32();
    const items: T[] = [];
    for (let index = 0; index < count; index++) items.push(read(this));
    return items;
  }
}
