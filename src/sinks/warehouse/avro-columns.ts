/**
 * Reading column types back from an Avro writer schema (the sink's side of ColumnType ↔ Avro).
 * A field's `tributary.type` attribute (a ColumnType as JSON, or its kind) wins; without it the
 * type follows from the Avro type and logical type. Pure.
 *
 * Kept apart so that it can be replaced by the capture side's src/avro/column-avro.ts.
 */
import type { ColumnType } from "../../core/column-type.js";

export type AvroSchemaJson = string | AvroSchemaJson[] | { readonly [key: string]: unknown };

export interface AvroField {
  readonly name: string;
  readonly type: AvroSchemaJson;
  readonly [attribute: string]: unknown;
}

export const TYPE_ATTRIBUTE = "tributary.type";

/** The non-null branch of a ["null", T] union, and whether null was allowed. */
export function nonNullBranch(type: AvroSchemaJson): { type: AvroSchemaJson; nullable: boolean } {
  if (!Array.isArray(type)) return { type, nullable: false };
  const branches = type.filter((branch) => branch !== "null");
  return {
    type: branches.length === 1 ? (branches[0] as AvroSchemaJson) : type,
    nullable: branches.length < type.length,
  };
}

function attributeType(value: unknown, avro: AvroSchemaJson): ColumnType | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "object" && typeof (value as { kind?: unknown }).kind === "string")
    return value as ColumnType;
  if (typeof value !== "string") return undefined;
  if (value.startsWith("{")) {
    try {
      return attributeType(JSON.parse(value), avro);
    } catch {
      return undefined;
    }
  }
  if (value === "decimal" || value === "array") return fromAvro(avro);
  return { kind: value } as ColumnType;
}

function logical(schema: { readonly [key: string]: unknown }): ColumnType | undefined {
  switch (schema.logicalType) {
    case "decimal":
      return { kind: "decimal", precision: Number(schema.precision), scale: Number(schema.scale ?? 0) };
    case "uuid":
      return { kind: "uuid" };
    case "date":
      return { kind: "date" };
    case "time-micros":
    case "time-millis":
      return { kind: "time" };
    case "timestamp-micros":
    case "timestamp-millis":
      return { kind: "timestamptz" };
    case "local-timestamp-micros":
    case "local-timestamp-millis":
      return { kind: "timestamp" };
    default:
      return undefined;
  }
}

const primitives: Readonly<Record<string, ColumnType>> = {
  boolean: { kind: "boolean" },
  int: { kind: "int32" },
  long: { kind: "int64" },
  float: { kind: "float32" },
  double: { kind: "float64" },
  string: { kind: "string" },
  bytes: { kind: "bytes" },
};

/** The ColumnType an Avro type stands for, without attributes. */
export function fromAvro(avro: AvroSchemaJson): ColumnType {
  const { type } = nonNullBranch(avro);
  if (typeof type === "string") return primitives[type] ?? { kind: "text", semantic: type };
  if (Array.isArray(type)) return { kind: "json" };
  const fromAttribute = attributeType(type[TYPE_ATTRIBUTE], { ...type, [TYPE_ATTRIBUTE]: undefined });
  if (fromAttribute) return fromAttribute;
  const fromLogical = logical(type);
  if (fromLogical) return fromLogical;
  if (type.type === "array") return { kind: "array", items: fromAvro(type.items as AvroSchemaJson) };
  if (type.type === "enum") return { kind: "text", semantic: "enum" };
  if (type.type === "fixed") return { kind: "bytes" };
  if (typeof type.type === "string" && primitives[type.type]) return primitives[type.type] as ColumnType;
  return { kind: "json" };
}

export function columnTypeOf(field: AvroField): ColumnType {
  return attributeType(field[TYPE_ATTRIBUTE], field.type) ?? fromAvro(field.type);
}

/** Two's-complement big-endian unscaled integer → exact decimal text. */
export function decimalText(bytes: Buffer, scale: number): string {
  if (bytes.length === 0) return "0";
  let unscaled = BigInt(`0x${bytes.toString("hex")}`);
  if ((bytes[0] ?? 0) & 0x80) unscaled -= 1n << BigInt(bytes.length * 8);
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, "0");
  const text = scale > 0 ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return negative ? `-${text}` : text;
}

/** Exact decimal text → two's-complement big-endian bytes of the unscaled integer. */
export function decimalBytes(text: string, scale: number): Buffer {
  const [whole = "0", fraction = ""] = text.replace(/^\+/, "").split(".");
  const negative = whole.startsWith("-");
  const digits = `${whole.replace("-", "")}${fraction.padEnd(scale, "0").slice(0, scale)}`;
  let unscaled = BigInt(digits === "" ? "0" : digits);
  if (negative) unscaled = -unscaled;
  let length = 1;
  while (unscaled >= 1n << BigInt(length * 8 - 1) || unscaled < -(1n << BigInt(length * 8 - 1))) length++;
  const value = unscaled < 0n ? (1n << BigInt(length * 8)) + unscaled : unscaled;
  return Buffer.from(value.toString(16).padStart(length * 2, "0"), "hex");
}
