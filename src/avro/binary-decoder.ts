/**
 * Avro binary decoding for the sink's hot path, the reading side of binary-encoder.ts: a cursor
 * over one Buffer whose reads take values straight from the bytes (longs as numbers while they
 * are safe integers, BigInt only beyond; strings by utf8Slice), and skippers compiled once per
 * writer schema that step over what the sink does not use without building anything.
 *
 * Every read checks the end of the buffer, and bytes that cannot be a value of the schema (a
 * varint longer than its type, a negative length, a union index out of range, more items than
 * bytes left) throw an AvroDataError: decoding never reads past the end, never allocates by a
 * count it has not checked against the bytes left, and never loops longer than the buffer.
 */

/** Bytes that are not a value of the schema. */
export class AvroDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AvroDataError";
  }
}

/** A writer schema with something the compiled decoders do not read (callers fall back to avsc). */
export class AvroSchemaUnsupported extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AvroSchemaUnsupported";
  }
}

/**
 * Node's Buffer has utf8Slice: toString("utf8", start, end) calls it after re-checking its
 * arguments and looking the encoding up. @types/node does not declare it.
 */
interface Utf8Slicing {
  utf8Slice(start: number, end: number): string;
}

const EMPTY = Buffer.alloc(0);

/**
 * The weight of a varint's 9th byte. Up to 8 bytes are summed in float arithmetic: each term is
 * exact, and so is every partial sum when the total is a safe integer (epoch micros are 8 bytes).
 */
const NINTH_BYTE_SCALE = 128 ** 8;
const MIN_SAFE_BIG = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

const truncated = () => new AvroDataError("truncated buffer");

export type Skip = (cursor: AvroCursor) => void;

/** A read position in one buffer; reused from record to record (start, then finish). */
export class AvroCursor {
  buffer: Buffer = EMPTY;
  position = 0;
  end = 0;

  start(buffer: Buffer, position: number): void {
    this.buffer = buffer;
    this.position = position;
    this.end = buffer.length;
  }

  /** Refuses bytes after the value, as avsc's fromBuffer does, and lets go of the buffer. */
  finish(): void {
    const left = this.end - this.position;
    this.detach();
    if (left > 0) throw new AvroDataError(`trailing data: ${left} bytes after the value`);
  }

  detach(): void {
    this.buffer = EMPTY;
    this.position = 0;
    this.end = 0;
  }

  /** Nonzero is true, as avsc reads it. */
  readBoolean(): boolean {
    if (this.position >= this.end) throw truncated();
    return this.buffer[this.position++] !== 0;
  }

  /** A 32-bit int: at most 5 varint bytes, and no bits beyond 32. */
  readInt(): number {
    const { buffer, end } = this;
    let position = this.position;
    if (position >= end) throw truncated();
    let byte = buffer[position++] as number;
    let zigzag = byte & 0x7f;
    for (let shift = 7; byte & 0x80; shift += 7) {
      if (position >= end) throw truncated();
      byte = buffer[position++] as number;
      if (shift === 28 && byte > 0x0f) throw new AvroDataError("invalid int: more than 32 bits");
      zigzag |= (byte & 0x7f) << shift;
    }
    this.position = position;
    return (zigzag >>> 1) ^ -(zigzag & 1);
  }

  /** A 64-bit long: a number when it is a safe integer, else a bigint (as long-type.ts reads it). */
  readLong(): number | bigint {
    const { buffer, end } = this;
    let position = this.position;
    if (position >= end) throw truncated();
    let byte = buffer[position++] as number;
    if (byte < 0x80) {
      this.position = position;
      return (byte >>> 1) ^ -(byte & 1);
    }
    let zigzag = byte & 0x7f;
    let scale = 128;
    do {
      if (scale === NINTH_BYTE_SCALE) return this.#readWideLong();
      if (position >= end) throw truncated();
      byte = buffer[position++] as number;
      zigzag += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte & 0x80);
    if (zigzag > Number.MAX_SAFE_INTEGER) return this.#readWideLong();
    this.position = position;
    return zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
  }

  #readWideLong(): number | bigint {
    const { buffer, end } = this;
    let position = this.position;
    let zigzag = 0n;
    let shift = 0n;
    let byte: number;
    do {
      if (shift === 70n) throw new AvroDataError("invalid long: more than 10 bytes");
      if (position >= end) throw truncated();
      byte = buffer[position++] as number;
      zigzag |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
    } while (byte & 0x80);
    this.position = position;
    const value = BigInt.asIntN(64, (zigzag >> 1n) ^ -(zigzag & 1n));
    return value >= MIN_SAFE_BIG && value <= MAX_SAFE_BIG ? Number(value) : value;
  }

  readFloat(): number {
    const position = this.position;
    if (position + 4 > this.end) throw truncated();
    this.position = position + 4;
    return this.buffer.readFloatLE(position);
  }

  readDouble(): number {
    const position = this.position;
    if (position + 8 > this.end) throw truncated();
    this.position = position + 8;
    return this.buffer.readDoubleLE(position);
  }

  /** The length of the bytes that follow (bytes, string), checked against the bytes left. */
  readLength(): number {
    const length = this.readLong();
    if (typeof length !== "number" || length < 0) throw new AvroDataError(`invalid length ${length}`);
    if (length > this.end - this.position) throw truncated();
    return length;
  }

  readString(): string {
    const length = this.readLength();
    if (length === 0) return "";
    const start = this.position;
    this.position = start + length;
    return (this.buffer as unknown as Utf8Slicing).utf8Slice(start, start + length);
  }

  /** A copy: a view would keep the whole Kafka fetch buffer alive as long as the row. */
  readBytes(): Buffer {
    const length = this.readLength();
    const start = this.position;
    const bytes = Buffer.allocUnsafe(length);
    this.buffer.copy(bytes, 0, start, start + length);
    this.position = start + length;
    return bytes;
  }

  /** Whether a ["null", T] union holds a value (branch 1): one byte, 0 or 2, in practice. */
  readPresent(): boolean {
    const position = this.position;
    const byte = position < this.end ? this.buffer[position] : undefined;
    if (byte === 0 || byte === 2) {
      this.position = position + 1;
      return byte === 2;
    }
    return this.readUnionBranch(2) === 1;
  }

  /** The branch index of a union of `branches` types. */
  readUnionBranch(branches: number): number {
    const index = this.readLong();
    if (typeof index !== "number" || index < 0 || index >= branches) {
      throw new AvroDataError(`invalid union index ${index} (${branches} branches)`);
    }
    return index;
  }

  /**
   * The number of items in the next block of an array or map, 0 after the last. A negative count
   * is followed by the block's size in bytes, which only skipping uses. The items read here take
   * at least one byte each, so a count beyond the bytes left is refused before anything is built.
   */
  readBlockCount(): number {
    let count = this.readLong();
    if (typeof count !== "number") throw new AvroDataError(`invalid block count ${count}`);
    if (count < 0) {
      count = -count;
      this.readLength();
    }
    if (count > this.end - this.position) throw truncated();
    return count;
  }

  advance(bytes: number): void {
    if (bytes > this.end - this.position) throw truncated();
    this.position += bytes;
  }

  skipVarint(): void {
    const { buffer, end } = this;
    let position = this.position;
    const limit = position + 10;
    let byte: number;
    do {
      if (position >= end) throw truncated();
      if (position === limit) throw new AvroDataError("invalid long: more than 10 bytes");
      byte = buffer[position++] as number;
    } while (byte & 0x80);
    this.position = position;
  }

  /** Bytes or a string. */
  skipBytes(): void {
    const length = this.readLength();
    this.position += length;
  }

  /**
   * Array or map blocks, by their byte size when the writer gave one. Items of a fixed width are
   * skipped in one step (so a long array of nulls costs nothing); others take a byte at least.
   */
  skipBlocks(skipItem: Skip, itemWidth: number | undefined): void {
    for (;;) {
      const count = this.readLong();
      if (typeof count !== "number") throw new AvroDataError(`invalid block count ${count}`);
      if (count === 0) return;
      if (count < 0) {
        const size = this.readLength();
        this.position += size;
      } else if (itemWidth !== undefined) {
        this.advance(count * itemWidth);
      } else {
        if (count > this.end - this.position) throw truncated();
        for (let index = 0; index < count; index++) skipItem(this);
      }
    }
  }
}

/** An Avro schema as JSON: a type name, a type object, or a union. */
export type AvroSchema = string | readonly AvroSchema[] | AvroObjectSchema;

export interface AvroObjectSchema {
  readonly type: unknown;
  readonly [attribute: string]: unknown;
}

/** How to skip one type, and its width in bytes when every value of it has the same. */
interface Skipper {
  readonly skip: Skip;
  readonly width: number | undefined;
}

/** One field of a flat record (AvroTypes.#flatSkip): how it is skipped, after which null branch. */
interface FlatStep {
  readonly kind: number;
  readonly width: number;
  /** The union branch that is null, or -1 for a field that is not a union. */
  readonly nullBranch: number;
}

const VARINT_STEP = 1;
const BYTES_STEP = 2;
const FIXED_STEP = 3;

function sequence(skips: readonly Skip[]): Skip {
  return (cursor) => {
    for (let index = 0; index < skips.length; index++) (skips[index] as Skip)(cursor);
  };
}

const fixedWidth = (width: number): Skipper => ({ skip: (cursor) => cursor.advance(width), width });
const varint: Skipper = { skip: (cursor) => cursor.skipVarint(), width: undefined };
const lengthPrefixed: Skipper = { skip: (cursor) => cursor.skipBytes(), width: undefined };

const primitiveSkippers: ReadonlyMap<string, Skipper> = new Map([
  ["null", fixedWidth(0)],
  ["boolean", fixedWidth(1)],
  ["int", varint],
  ["long", varint],
  ["float", fixedWidth(4)],
  ["double", fixedWidth(8)],
  ["bytes", lengthPrefixed],
  ["string", lengthPrefixed],
]);

const isNamedType = (type: unknown) =>
  type === "record" || type === "error" || type === "enum" || type === "fixed";

function fullName(name: string, namespace: string | undefined): string {
  return name.includes(".") || !namespace ? name : `${namespace}.${name}`;
}

/** The full name a named type defines, inside `namespace`. */
function definedName(schema: AvroObjectSchema, namespace: string | undefined): string {
  if (typeof schema.name !== "string") throw new AvroSchemaUnsupported(`a ${schema.type} without a name`);
  return fullName(schema.name, typeof schema.namespace === "string" ? schema.namespace : namespace);
}

/** The namespace that names inside the named type `schema` resolve in. */
export function innerNamespace(schema: AvroObjectSchema, namespace: string | undefined): string | undefined {
  const name = definedName(schema, namespace);
  return name.includes(".") ? name.slice(0, name.lastIndexOf(".")) : undefined;
}

export interface AvroField {
  readonly name: string;
  readonly type: AvroSchema;
}

export function fieldsOf(record: AvroObjectSchema): readonly AvroField[] {
  const fields = record.fields;
  if (!Array.isArray(fields) || !fields.every((field) => typeof field?.name === "string")) {
    throw new AvroSchemaUnsupported(`record ${String(record.name)} has no list of named fields`);
  }
  return fields as AvroField[];
}

/** The name of a schema's type: a primitive or a defined name, "union", or a type object's type. */
export function typeNameOf(schema: AvroSchema): string {
  if (typeof schema === "string") return schema;
  if (Array.isArray(schema)) return "union";
  const type = (schema as AvroObjectSchema).type;
  return typeof type === "string" ? type : "";
}

/** The types of one writer schema: its named types by full name, and their compiled skippers. */
export class AvroTypes {
  readonly #named = new Map<string, AvroObjectSchema>();
  readonly #skippers = new Map<string, Skipper>();

  constructor(root: AvroSchema) {
    this.#collect(root, undefined);
  }

  /** The definition a type name refers to in `namespace`; any other schema as it is. */
  resolve(schema: AvroSchema, namespace: string | undefined): AvroSchema {
    if (typeof schema !== "string" || primitiveSkippers.has(schema)) return schema;
    const named = this.#named.get(fullName(schema, namespace)) ?? this.#named.get(schema);
    if (!named) throw new AvroSchemaUnsupported(`unknown type ${schema}`);
    return named;
  }

  /** A skipper of `schema`'s values, compiled once per named type. */
  skip(schema: AvroSchema, namespace: string | undefined): Skip {
    return this.#skipper(schema, namespace).skip;
  }

  #collect(schema: AvroSchema, namespace: string | undefined): void {
    if (typeof schema === "string") return;
    if (Array.isArray(schema)) {
      for (const branch of schema as readonly AvroSchema[]) this.#collect(branch, namespace);
      return;
    }
    const object = schema as AvroObjectSchema;
    if (isNamedType(object.type)) {
      this.#named.set(definedName(object, namespace), object);
      if (object.type === "record" || object.type === "error") {
        const inner = innerNamespace(object, namespace);
        for (const field of fieldsOf(object)) this.#collect(field.type, inner);
      }
    } else if (object.type === "array") {
      this.#collect(object.items as AvroSchema, namespace);
    } else if (object.type === "map") {
      this.#collect(object.values as AvroSchema, namespace);
    }
  }

  #skipper(schema: AvroSchema, namespace: string | undefined): Skipper {
    const resolved = this.resolve(schema, namespace);
    if (typeof resolved === "string") return primitiveSkippers.get(resolved) as Skipper;
    if (Array.isArray(resolved)) {
      const branches = (resolved as readonly AvroSchema[]).map(
        (branch) => this.#skipper(branch, namespace).skip,
      );
      const count = branches.length;
      return {
        skip: (cursor) => (branches[cursor.readUnionBranch(count)] as Skip)(cursor),
        width: undefined,
      };
    }
    const object = resolved as AvroObjectSchema;
    const primitive = typeof object.type === "string" ? primitiveSkippers.get(object.type) : undefined;
    if (primitive) return primitive; // logical types included: their bytes are the underlying type's
    if (isNamedType(object.type)) return this.#namedSkipper(object, namespace);
    if (object.type === "array") {
      const items = this.#skipper(object.items as AvroSchema, namespace);
      return { skip: (cursor) => cursor.skipBlocks(items.skip, items.width), width: undefined };
    }
    if (object.type === "map") {
      const values = this.#skipper(object.values as AvroSchema, namespace).skip;
      const skipEntry: Skip = (cursor) => {
        cursor.skipBytes();
        values(cursor);
      };
      return { skip: (cursor) => cursor.skipBlocks(skipEntry, undefined), width: undefined };
    }
    throw new AvroSchemaUnsupported(`Avro type ${JSON.stringify(object.type)}`);
  }

  #namedSkipper(schema: AvroObjectSchema, namespace: string | undefined): Skipper {
    const name = definedName(schema, namespace);
    const compiled = this.#skippers.get(name);
    if (compiled) return compiled;
    if (schema.type === "enum") return this.#define(name, varint);
    if (schema.type === "fixed") {
      const size = schema.size;
      if (typeof size !== "number" || !Number.isInteger(size) || size < 0) {
        throw new AvroSchemaUnsupported(`fixed ${name} has no size`);
      }
      return this.#define(name, fixedWidth(size));
    }
    // Registered before its fields compile, so a field may refer to its own record.
    let skipFields: Skip = () => {};
    this.#define(name, { skip: (cursor) => skipFields(cursor), width: undefined });
    const inner = innerNamespace(schema, namespace);
    const fields = fieldsOf(schema).map((field) => this.#skipper(field.type, inner));
    if (fields.every((field) => field.width !== undefined)) {
      const width = fields.reduce((sum, field) => sum + (field.width as number), 0);
      skipFields = (cursor) => cursor.advance(width);
      return this.#define(name, { skip: skipFields, width });
    }
    skipFields = this.#flatSkip(fieldsOf(schema), inner) ?? sequence(fields.map((field) => field.skip));
    return this.#define(name, { skip: skipFields, width: undefined });
  }

  /**
   * One loop over the fields of a record whose fields are all primitives (logical types and enums
   * included) or nullable ones (a union of null and a primitive), as row images are: no call per
   * field and union branch. Undefined for any other record.
   */
  #flatSkip(fields: readonly AvroField[], namespace: string | undefined): Skip | undefined {
    const steps = fields.map((field) => this.#flatStep(field.type, namespace));
    if (steps.some((step) => step === undefined)) return undefined;
    const kinds = steps.map((step) => (step as FlatStep).kind);
    const widths = steps.map((step) => (step as FlatStep).width);
    const nullBranches = steps.map((step) => (step as FlatStep).nullBranch);
    const count = steps.length;
    return (cursor) => {
      for (let index = 0; index < count; index++) {
        const nullBranch = nullBranches[index] as number;
        if (nullBranch !== -1 && cursor.readUnionBranch(2) === nullBranch) continue;
        const kind = kinds[index];
        if (kind === VARINT_STEP) cursor.skipVarint();
        else if (kind === BYTES_STEP) cursor.skipBytes();
        else cursor.advance(widths[index] as number);
      }
    };
  }

  #flatStep(schema: AvroSchema, namespace: string | undefined): FlatStep | undefined {
    const resolved = this.resolve(schema, namespace);
    if (!Array.isArray(resolved)) return this.#primitiveStep(resolved, namespace, -1);
    const branches = resolved as readonly AvroSchema[];
    const nullBranch = branches.indexOf("null");
    if (branches.length !== 2 || nullBranch === -1) return undefined;
    return this.#primitiveStep(branches[1 - nullBranch] as AvroSchema, namespace, nullBranch);
  }

  #primitiveStep(
    schema: AvroSchema,
    namespace: string | undefined,
    nullBranch: number,
  ): FlatStep | undefined {
    if (Array.isArray(schema)) return undefined;
    const skipper = this.#skipper(schema, namespace);
    if (skipper === varint) return { kind: VARINT_STEP, width: 0, nullBranch };
    if (skipper === lengthPrefixed) return { kind: BYTES_STEP, width: 0, nullBranch };
    if (skipper.width !== undefined) return { kind: FIXED_STEP, width: skipper.width, nullBranch };
    return undefined;
  }

  #define(name: string, skipper: Skipper): Skipper {
    this.#skippers.set(name, skipper);
    return skipper;
  }
}
