/**
 * Avro binary encoding compiled from a schema into one closure per type, for the capture's hot
 * path. avsc's general encoder turned every 64-bit long into a BigInt and an 8-byte Buffer; here
 * longs are zigzag varints written straight from numbers (BigInt only beyond 2^52), strings of
 * ASCII are written byte by byte, and nothing is allocated per value.
 *
 * Writers do not check room before each write: they write while it fits and always return where
 * the value ends, so an end beyond the buffer means "did not fit" and the caller retries in a
 * larger buffer (as avsc's encode does). Values that do not match the schema throw an
 * AvroValueError naming the field. Logical types are encoded as their underlying type: the
 * capture converts column values itself (column-values.ts).
 */

import { writeZigzagVarint } from "../core/varint.js";

export type Encode = (buffer: Buffer, offset: number, value: unknown) => number;

export class AvroValueError extends Error {
  constructor(path: string, expected: string, value: unknown) {
    const shown = typeof value === "string" ? JSON.stringify(value.slice(0, 40)) : String(value);
    super(`${path || "value"}: expected ${expected}, got ${typeof value} ${shown}`);
    this.name = "AvroValueError";
  }
}

type Schema = string | readonly Schema[] | { readonly type: string; readonly [key: string]: unknown };

const TWO_POW_52 = 2 ** 52;
const TWO_POW_52_BIG = 2n ** 52n;

/** An Avro int (and every length and count): a zigzag varint. */
export const writeInt = writeZigzagVarint;

export function writeBigLong(buffer: Buffer, offset: number, value: bigint): number {
  let zigzag = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  while (zigzag >= 0x80n) {
    buffer[offset++] = Number(zigzag & 0x7fn) | 0x80;
    zigzag >>= 7n;
  }
  buffer[offset++] = Number(zigzag);
  return offset;
}

/** A long from a safe integer number (see writeBigLong for bigint). */
export function writeLong(buffer: Buffer, offset: number, value: number): number {
  if (value >= -1_073_741_824 && value < 1_073_741_824) return writeInt(buffer, offset, value);
  if (value <= -TWO_POW_52 || value >= TWO_POW_52) return writeBigLong(buffer, offset, BigInt(value));
  // Zigzag in floating point: exact below 2^53.
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  while (zigzag >= 0x80) {
    buffer[offset++] = (zigzag % 0x80) | 0x80;
    zigzag = Math.floor(zigzag / 0x80);
  }
  buffer[offset++] = zigzag;
  return offset;
}

function writeBytes(buffer: Buffer, offset: number, bytes: Uint8Array): number {
  const start = writeInt(buffer, offset, bytes.length);
  const end = start + bytes.length;
  if (end <= buffer.length) buffer.set(bytes, start);
  return end;
}

export function writeString(buffer: Buffer, offset: number, text: string): number {
  const length = text.length;
  if (length < 64) {
    // ASCII fast path: one byte per character, the length prefix is then one byte too.
    let position = offset + 1;
    let index = 0;
    for (; index < length; index++) {
      const code = text.charCodeAt(index);
      if (code >= 0x80) break;
      buffer[position++] = code;
    }
    if (index === length) {
      buffer[offset] = length << 1;
      return position;
    }
  }
  const bytes = Buffer.byteLength(text, "utf8");
  const start = writeInt(buffer, offset, bytes);
  const end = start + bytes;
  if (end <= buffer.length) buffer.write(text, start, bytes, "utf8");
  return end;
}

function fitsFixed(buffer: Buffer, offset: number, bytes: number): boolean {
  return offset + bytes <= buffer.length;
}

/** Names of record, enum and fixed types, for references by name. */
type NamedTypes = Map<string, () => Encode>;

function fullName(name: string, namespace: string | undefined): string {
  return name.includes(".") || !namespace ? name : `${namespace}.${name}`;
}

function primitive(type: string, path: string): Encode | undefined {
  switch (type) {
    case "null":
      return (_buffer, offset, value) => {
        if (value !== null && value !== undefined) throw new AvroValueError(path, "null", value);
        return offset;
      };
    case "boolean":
      return (buffer, offset, value) => {
        if (typeof value !== "boolean") throw new AvroValueError(path, "boolean", value);
        buffer[offset] = value ? 1 : 0;
        return offset + 1;
      };
    case "int":
      return (buffer, offset, value) => {
        if (typeof value !== "number" || (value | 0) !== value) throw new AvroValueError(path, "int", value);
        return writeInt(buffer, offset, value);
      };
    case "long":
      return (buffer, offset, value) => {
        if (typeof value === "number" && Number.isSafeInteger(value)) return writeLong(buffer, offset, value);
        if (typeof value === "bigint") {
          // Most int64 column values are small: the number path is several times faster.
          if (value > -TWO_POW_52_BIG && value < TWO_POW_52_BIG) {
            return writeLong(buffer, offset, Number(value));
          }
          if (BigInt.asIntN(64, value) === value) return writeBigLong(buffer, offset, value);
        }
        throw new AvroValueError(path, "long", value);
      };
    case "float":
      return (buffer, offset, value) => {
        if (typeof value !== "number") throw new AvroValueError(path, "float", value);
        if (fitsFixed(buffer, offset, 4)) buffer.writeFloatLE(value, offset);
        return offset + 4;
      };
    case "double":
      return (buffer, offset, value) => {
        if (typeof value !== "number") throw new AvroValueError(path, "double", value);
        if (fitsFixed(buffer, offset, 8)) buffer.writeDoubleLE(value, offset);
        return offset + 8;
      };
    case "bytes":
      return (buffer, offset, value) => {
        if (!(value instanceof Uint8Array)) throw new AvroValueError(path, "bytes", value);
        return writeBytes(buffer, offset, value);
      };
    case "string":
      return (buffer, offset, value) => {
        if (typeof value !== "string") throw new AvroValueError(path, "string", value);
        return writeString(buffer, offset, value);
      };
    default:
      return undefined;
  }
}

/** Whether a union branch of this schema takes `value` (the first that does is written). */
function branchTest(
  schema: Schema,
  named: NamedTypes,
  namespace: string | undefined,
): (value: unknown) => boolean {
  const type =
    typeof schema === "string" ? schema : Array.isArray(schema) ? "union" : (schema as { type: string }).type;
  switch (type) {
    case "null":
      return (value) => value === null || value === undefined;
    case "boolean":
      return (value) => typeof value === "boolean";
    case "int":
    case "long":
    case "float":
    case "double":
      return (value) => typeof value === "number" || typeof value === "bigint";
    case "string":
    case "enum":
      return (value) => typeof value === "string";
    case "bytes":
    case "fixed":
      return (value) => value instanceof Uint8Array;
    case "array":
      return (value) => Array.isArray(value);
    default:
      if (typeof schema === "string" && named.has(fullName(schema, namespace))) {
        return (value) => typeof value === "object" && value !== null && !(value instanceof Uint8Array);
      }
      return (value) => typeof value === "object" && value !== null && !Array.isArray(value);
  }
}

function compile(schema: Schema, named: NamedTypes, namespace: string | undefined, path: string): Encode {
  if (typeof schema === "string") {
    const simple = primitive(schema, path);
    if (simple) return simple;
    const reference = named.get(fullName(schema, namespace)) ?? named.get(schema);
    if (!reference) throw new Error(`Avro schema refers to unknown type ${schema}`);
    return (buffer, offset, value) => reference()(buffer, offset, value);
  }
  if (Array.isArray(schema)) return compileUnion(schema, named, namespace, path);
  const object = schema as { readonly type: string; readonly [key: string]: unknown };
  const simple = primitive(object.type, path);
  if (simple) return simple;
  switch (object.type) {
    case "record":
    case "error":
      return compileRecord(object, named, namespace, path);
    case "enum": {
      const symbols = object.symbols as readonly string[];
      const indexes = new Map(symbols.map((symbol, index) => [symbol, index]));
      const encode: Encode = (buffer, offset, value) => {
        const index = typeof value === "string" ? indexes.get(value) : undefined;
        if (index === undefined) throw new AvroValueError(path, `one of ${symbols.join(", ")}`, value);
        return writeInt(buffer, offset, index);
      };
      const name = fullName(object.name as string, (object.namespace as string | undefined) ?? namespace);
      named.set(name, () => encode);
      return encode;
    }
    case "fixed": {
      const size = object.size as number;
      const encode: Encode = (buffer, offset, value) => {
        if (!(value instanceof Uint8Array) || value.length !== size) {
          throw new AvroValueError(path, `${size} bytes`, value);
        }
        if (fitsFixed(buffer, offset, size)) buffer.set(value, offset);
        return offset + size;
      };
      const name = fullName(object.name as string, (object.namespace as string | undefined) ?? namespace);
      named.set(name, () => encode);
      return encode;
    }
    case "array": {
      const items = compile(object.items as Schema, named, namespace, `${path}[]`);
      return (buffer, offset, value) => {
        if (!Array.isArray(value)) throw new AvroValueError(path, "array", value);
        let position = offset;
        if (value.length > 0) {
          position = writeInt(buffer, position, value.length);
          for (const item of value) position = items(buffer, position, item);
        }
        buffer[position] = 0; // end of blocks
        return position + 1;
      };
    }
    case "map": {
      const values = compile(object.values as Schema, named, namespace, `${path}{}`);
      return (buffer, offset, value) => {
        if (typeof value !== "object" || value === null) throw new AvroValueError(path, "map", value);
        const entries = value instanceof Map ? [...value] : Object.entries(value);
        let position = offset;
        if (entries.length > 0) {
          position = writeInt(buffer, position, entries.length);
          for (const [key, item] of entries) {
            position = writeString(buffer, position, String(key));
            position = values(buffer, position, item);
          }
        }
        buffer[position] = 0;
        return position + 1;
      };
    }
    default:
      throw new Error(`Avro type ${object.type} is not supported by the encoder`);
  }
}

function compileRecord(
  schema: { readonly [key: string]: unknown },
  named: NamedTypes,
  outerNamespace: string | undefined,
  path: string,
): Encode {
  const name = schema.name as string;
  const namespace = name.includes(".")
    ? name.slice(0, name.lastIndexOf("."))
    : ((schema.namespace as string | undefined) ?? outerNamespace);
  let encode: Encode | undefined;
  // Registered before the fields compile, so a field may refer to its own record.
  named.set(fullName(name, namespace), () => encode as Encode);
  const fields = (schema.fields as readonly { name: string; type: Schema }[]).map((field) => ({
    name: field.name,
    encode: compile(field.type, named, namespace, path ? `${path}.${field.name}` : field.name),
  }));
  const count = fields.length;
  encode = (buffer, offset, value) => {
    if (typeof value !== "object" || value === null) throw new AvroValueError(path, `record ${name}`, value);
    const record = value as Record<string, unknown>;
    let position = offset;
    for (let index = 0; index < count; index++) {
      const field = fields[index] as (typeof fields)[number];
      position = field.encode(buffer, position, record[field.name]);
    }
    return position;
  };
  return encode;
}

function compileUnion(
  branches: readonly Schema[],
  named: NamedTypes,
  namespace: string | undefined,
  path: string,
): Encode {
  const encoders = branches.map((branch) => compile(branch, named, namespace, path));
  if (branches.length === 2 && branches[0] === "null") {
    // The nullable union of every optional field: index 0 for null, 1 for the value.
    const present = encoders[1] as Encode;
    return (buffer, offset, value) => {
      if (value === null || value === undefined) {
        buffer[offset] = 0;
        return offset + 1;
      }
      buffer[offset] = 2; // zigzag of 1
      return present(buffer, offset + 1, value);
    };
  }
  const tests = branches.map((branch) => branchTest(branch, named, namespace));
  return (buffer, offset, value) => {
    const index = tests.findIndex((test) => test(value));
    if (index < 0) throw new AvroValueError(path, "a union branch", value);
    return (encoders[index] as Encode)(buffer, writeInt(buffer, offset, index), value);
  };
}

/** An encoder for values of `schema` (a parsed Avro schema: JSON objects, arrays and names). */
export function compileEncoder(schema: unknown): Encode {
  return compile(schema as Schema, new Map(), undefined, "");
}
