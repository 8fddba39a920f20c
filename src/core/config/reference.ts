/**
 * Renders docs/configuration.md from the config schema's `.describe()` texts, so the reference
 * cannot drift from what the loader accepts. test/core/config-reference.test.ts checks the file
 * is current; `UPDATE_DOCS=1 npx vitest run test/core/config-reference.test.ts` rewrites it.
 */
import type * as z from "zod";
import { typeLabelOf } from "./fields.js";
import { createConfigSchema } from "./schema.js";

interface FieldRow {
  readonly path: string;
  readonly type: string;
  readonly required: boolean;
  readonly defaultValue: string;
  readonly description: string;
  /** The `type` value of the union member the field belongs to, e.g. "postgres". */
  readonly variant: string | undefined;
}

type AnySchema = z.core.$ZodType;

interface Unwrapped {
  readonly schema: AnySchema;
  readonly description: string;
  readonly optional: boolean;
  readonly defaultValue: unknown;
  readonly label: string | undefined;
}

function defOf(schema: AnySchema): Record<string, unknown> & { type: string } {
  return schema._zod.def as unknown as Record<string, unknown> & { type: string };
}

/** Peels optional/default/pipe wrappers, keeping the outermost description and any default. */
function unwrap(outer: AnySchema): Unwrapped {
  let schema = outer;
  let description = "";
  let optional = false;
  let defaultValue: unknown;
  let label: string | undefined;
  for (;;) {
    description ||= (schema as { description?: string }).description ?? "";
    label ??= typeLabelOf(schema as z.ZodType);
    const def = defOf(schema);
    if (def.type === "optional" || def.type === "nullable") {
      optional = true;
      schema = def.innerType as AnySchema;
    } else if (def.type === "default" || def.type === "prefault") {
      optional = true;
      defaultValue ??= def.defaultValue;
      schema = def.innerType as AnySchema;
    } else if (def.type === "pipe") {
      const input = def.in as AnySchema;
      // z.preprocess puts the transform first: the real type is the output side.
      schema = defOf(input).type === "transform" ? (def.out as AnySchema) : input;
    } else {
      return { schema, description, optional, defaultValue, label };
    }
  }
}

function formatMilliseconds(ms: number): string {
  const units: [number, string][] = [
    [3_600_000, "h"],
    [60_000, "m"],
    [1000, "s"],
  ];
  const unit = units.find(([size]) => ms % size === 0 && ms >= size);
  return unit ? `${ms / unit[0]}${unit[1]}` : `${ms}ms`;
}

function formatBytes(bytes: number): string {
  const units: [number, string][] = [
    [1024 ** 3, "GiB"],
    [1024 ** 2, "MiB"],
    [1024, "KiB"],
  ];
  const unit = units.find(([size]) => bytes % size === 0 && bytes >= size);
  return unit ? `${bytes / unit[0]}${unit[1]}` : String(bytes);
}

function formatDefault(value: unknown, label: string | undefined): string {
  if (value === undefined) return "";
  // An object default only means "its fields' defaults apply"; those rows show them.
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return "";
  if (label === "duration" && typeof value === "number") return formatMilliseconds(value);
  if (label === "byte size" && typeof value === "number") return formatBytes(value);
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

function isInteger(def: Record<string, unknown>): boolean {
  const checks = (def.checks as AnySchema[] | undefined) ?? [];
  return checks.some((check) => (check._zod.def as { format?: string }).format === "safeint");
}

function typeName(field: Unwrapped): string {
  if (field.label) return field.label;
  const def = defOf(field.schema);
  switch (def.type) {
    case "string":
      return def.format === "url" ? "URL" : "string";
    case "number":
      return isInteger(def) ? "integer" : "number";
    case "enum":
      return Object.values(def.entries as Record<string, string>).join(" \\| ");
    case "literal":
      return (def.values as unknown[]).map((value) => `\`${String(value)}\``).join(" \\| ");
    case "array":
      return `list of ${typeName(unwrap(def.element as AnySchema))}`;
    case "record": {
      const value = unwrap(def.valueType as AnySchema);
      const nested = ["object", "union"].includes(defOf(value.schema).type);
      return nested ? "mapping by name" : `map of ${typeName(value)}`;
    }
    case "union":
      return def.discriminator ? `mapping, by \`${String(def.discriminator)}\`` : "union";
    case "object":
      return "mapping";
    default:
      return def.type;
  }
}

function collect(outer: AnySchema, path: string, variant: string | undefined, rows: FieldRow[]): void {
  const field = unwrap(outer);
  const def = defOf(field.schema);
  const structural = def.type === "object" || def.type === "union" || def.type === "record";
  const leafRecord =
    def.type === "record" &&
    !["object", "union"].includes(defOf(unwrap(def.valueType as AnySchema).schema).type);
  if (path && (!structural || leafRecord || field.description)) {
    rows.push({
      path,
      type: typeName(field),
      required: !field.optional,
      defaultValue: formatDefault(field.defaultValue, field.label),
      description: field.description,
      variant,
    });
  }
  if (def.type === "object") {
    for (const [key, child] of Object.entries(def.shape as Record<string, AnySchema>)) {
      collect(child, path ? `${path}.${key}` : key, variant, rows);
    }
  } else if (def.type === "record" && !leafRecord) {
    collect(def.valueType as AnySchema, `${path}.<name>`, variant, rows);
  } else if (def.type === "union" && def.discriminator) {
    for (const option of def.options as AnySchema[]) {
      const shape = defOf(unwrap(option).schema).shape as Record<string, AnySchema>;
      const discriminator = shape[def.discriminator as string] as AnySchema;
      const value = String((defOf(discriminator).values as unknown[])[0]);
      collect(option, path, value, rows);
    }
  }
}

function escapeCell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

function renderTable(rows: readonly FieldRow[]): string[] {
  return [
    "| key | type | required | default | description |",
    "| --- | --- | --- | --- | --- |",
    ...rows
      .map((row) =>
        [
          `\`${row.path}\``,
          row.type,
          row.required ? "yes" : "",
          row.defaultValue ? `\`${escapeCell(row.defaultValue)}\`` : "",
          escapeCell(row.description),
        ].join(" | "),
      )
      .map((line) => `| ${line} |`),
  ];
}

const introduction = [
  "# Configuration reference",
  "",
  "<!-- Generated from the config schema by src/core/config/reference.ts; do not edit by hand.",
  "     Regenerate: UPDATE_DOCS=1 npx vitest run test/core/config-reference.test.ts -->",
  "",
  "The config file is YAML (default `tributary.yaml`; `--config <file>` or `TRIBUTARY_CONFIG` pick another).",
  "`tributary config check` validates it and names every problem with its path. Unknown keys are errors.",
  "",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the text shows the config syntax
  "- `${VAR}` anywhere in a string reads the environment variable `VAR` (an unset one is an error);",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the text shows the config syntax
  "  `${VAR:-fallback}` uses the fallback when `VAR` is unset or empty; `$${` writes a literal `${`.",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the text shows the config syntax
  "  A number field accepts a numeric string, as `${VAR}` yields.",
  "- Every secret has a `...File` twin (`password` / `passwordFile`, `user` / `userFile`, ...): the",
  "  path of a file holding the value, e.g. a Docker secret; a trailing newline is dropped. Give one",
  "  of the two, not both. Relative paths are relative to the config file.",
  "- Durations: `500ms`, `10s`, `1m`, `1h`, or a plain number of milliseconds.",
  "  Sizes: `512KiB`, `16MiB`, `1MB`, or a plain number of bytes.",
];

export function renderConfigReference(): string {
  const schema = createConfigSchema({ baseDir: ".", readFile: () => "" });
  const rows: FieldRow[] = [];
  collect(schema, "", undefined, rows);
  const sections = new Map<string, FieldRow[]>();
  for (const row of rows) {
    const top = row.path.split(".")[0] ?? row.path;
    const title = row.variant ? `${top}: type ${row.variant}` : top;
    sections.set(title, [...(sections.get(title) ?? []), row]);
  }
  const body = [...sections].flatMap(([title, sectionRows]) => [
    "",
    `## ${title}`,
    "",
    ...renderTable(sectionRows),
  ]);
  return `${[...introduction, ...body].join("\n")}\n`;
}
