/**
 * Building blocks of the config schema, so that the same kind of field behaves the same way in
 * every connector: strict objects, numbers (also from `${VAR}` strings), durations, byte sizes,
 * secrets with their `...File` twins, the per-service HTTP endpoint and table filters.
 */
import { resolve } from "node:path";
import * as z from "zod";
import { parseByteSize, parseDuration } from "./units.js";

/** What the schema needs from outside: where relative secret files live and how to read them. */
export interface SchemaContext {
  readonly baseDir: string;
  readonly readFile: (absolutePath: string) => string;
}

/** The type name shown in docs for fields whose zod shape says little (e.g. a duration). */
const typeLabels = new WeakMap<object, string>();

export function typeLabelOf(schema: z.ZodType): string | undefined {
  return typeLabels.get(schema._zod.def);
}

function labelled<T extends z.ZodType>(schema: T, label: string): T {
  // Keyed by the definition: `.describe()` and `.default()` clone or wrap schemas but keep it.
  typeLabels.set(schema._zod.def, label);
  return schema;
}

/** An object that rejects unknown keys, naming the keys it does accept. */
export function strictObject<S extends z.ZodRawShape>(shape: S) {
  const expected = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) => (issue.code === "unrecognized_keys" ? `expected one of: ${expected}` : undefined),
  });
}

const NUMERIC = /^-?\d+(\.\d+)?$/;

/** An integer; a numeric string (as `${VAR}` yields) is accepted. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.preprocess(
    (value) => (typeof value === "string" && NUMERIC.test(value.trim()) ? Number(value) : value),
    z.number().int().min(min).max(max),
  );
}

export const port = () => integer(1, 65_535);

/** A duration in milliseconds: `500ms`, `10s`, `1m`, `1h`, or a plain number of milliseconds. */
export function duration() {
  const schema = z.union([z.number(), z.string()]).transform((value, ctx) => {
    const milliseconds = parseDuration(value);
    if (milliseconds !== undefined) return milliseconds;
    ctx.addIssue({
      code: "custom",
      message: `expected a duration like 500ms, 10s, 1m or 1h, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  });
  return labelled(schema, "duration");
}

/** A size in bytes: `16MiB`, `512KiB`, `1MB`, or a plain number of bytes. */
export function byteSize() {
  const schema = z.union([z.number(), z.string()]).transform((value, ctx) => {
    const bytes = parseByteSize(value);
    if (bytes !== undefined) return bytes;
    ctx.addIssue({
      code: "custom",
      message: `expected a size like 512KiB or 16MiB, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  });
  return labelled(schema, "byte size");
}

/** A value given inline (`password`) or read from a file (`passwordFile`, e.g. a Docker secret). */
export function fileTwin<K extends string>(
  key: K,
  description: string,
  options: { required?: boolean } = {},
) {
  const requirement = options.required ? ` (required: ${key} or ${key}File)` : "";
  return {
    [key]: z.string().optional().describe(`${description}${requirement}`),
    [`${key}File`]: z
      .string()
      .optional()
      .describe(`path of a file holding ${key} (a trailing newline is dropped); instead of ${key}`),
  } as Record<K | `${K}File`, z.ZodOptional<z.ZodString>>;
}

const readFailures: Readonly<Record<string, string>> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EISDIR: "is a directory",
};

function describeReadFailure(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") return `${code}: ${readFailures[code] ?? "read failed"}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * The value of a `key`/`keyFile` pair, adding an issue when both are given, when a required one
 * is missing, or when the file cannot be read. Issues never contain the value itself.
 */
export function resolveFileTwin(
  object: Readonly<Record<string, unknown>>,
  key: string,
  options: { required: boolean; context: SchemaContext; ctx: z.RefinementCtx },
): string | undefined {
  const { ctx, context } = options;
  const inline = object[key] as string | undefined;
  const filePath = object[`${key}File`] as string | undefined;
  if (inline !== undefined && filePath !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: [`${key}File`],
      message: `give either ${key} or ${key}File, not both`,
    });
    return undefined;
  }
  if (filePath !== undefined) {
    const absolutePath = resolve(context.baseDir, filePath);
    let content: string;
    try {
      content = context.readFile(absolutePath).replace(/\r?\n$/, "");
    } catch (error) {
      const message = `cannot read ${absolutePath} (${describeReadFailure(error)})`;
      ctx.addIssue({ code: "custom", path: [`${key}File`], message });
      return undefined;
    }
    if (options.required && content === "") {
      ctx.addIssue({ code: "custom", path: [`${key}File`], message: `${absolutePath} is empty` });
    }
    return content;
  }
  if (inline === undefined || inline === "") {
    if (options.required) {
      ctx.addIssue({ code: "custom", path: [key], message: `is required (give ${key} or ${key}File)` });
    }
    return inline;
  }
  return inline;
}

/** The HTTP endpoint of one service: /healthz, /readyz and /metrics. */
export function httpEndpoint() {
  return strictObject({
    host: z.string().min(1).default("127.0.0.1").describe("address to listen on"),
    port: integer(0, 65_535).describe("port to listen on (0 picks a free one)"),
  }).describe("where this service serves /healthz, /readyz and /metrics; off when absent");
}

/** Which tables a database source captures: glob patterns over `schema.table` (or `database.table`). */
export function tableFilter(qualifier: string) {
  return strictObject({
    include: z
      .array(z.string().min(1))
      .default(["*.*"])
      .describe(`glob patterns over ${qualifier}.table to capture, e.g. "public.*"`),
    exclude: z
      .array(z.string().min(1))
      .default([])
      .describe("glob patterns to leave out, applied after include"),
  });
}
