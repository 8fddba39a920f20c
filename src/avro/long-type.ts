/**
 * avsc's own long refuses integers beyond 2^53; int64 columns need all 64 bits. This long
 * accepts bigint (and safe integer numbers) when encoding, and decodes to a number when it is
 * safe, to a bigint otherwise: lossless, and plain numbers for the common small values (ts_ms,
 * epoch micros). column-values.ts turns each into the column's one documented JS type.
 */
import avro from "avsc";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function isInt64(value: unknown): value is bigint | number {
  if (typeof value === "bigint") return value >= INT64_MIN && value <= INT64_MAX;
  return typeof value === "number" && Number.isSafeInteger(value);
}

function narrow(value: bigint): bigint | number {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value;
}

export const int64LongType = avro.types.LongType.__with({
  fromBuffer: (buffer: Buffer) => narrow(buffer.readBigInt64LE()),
  toBuffer: (value: bigint | number) => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigInt64LE(BigInt(value));
    return buffer;
  },
  fromJSON: (json: unknown) => narrow(BigInt(json as number | string)),
  toJSON: (value: bigint | number) => Number(value),
  isValid: isInt64,
  compare: (a: bigint | number, b: bigint | number) => {
    const left = BigInt(a);
    const right = BigInt(b);
    return left === right ? 0 : left < right ? -1 : 1;
  },
});

/**
 * The avsc `typeHook` that puts int64LongType in place of every long, logical ones included
 * (Tributary converts logical types itself, so avsc sees the underlying long). A hook rather than
 * the `registry` option: avsc adds every named type to that registry, and a shared one would
 * then refuse the next schema that reuses a name.
 */
export function int64TypeHook(schema: unknown): avro.Type | undefined {
  if (schema === "long") return int64LongType;
  if (typeof schema === "object" && schema !== null && (schema as { type?: unknown }).type === "long") {
    return int64LongType;
  }
  return undefined;
}
