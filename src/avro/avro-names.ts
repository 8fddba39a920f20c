/**
 * Avro names allow only [A-Za-z_][A-Za-z0-9_]*, table and column names allow anything. A valid name
 * is kept as it is; any other is sanitized and suffixed with a hash of the original, so the
 * result depends on that name alone (never on its neighbours: adding a column must not rename
 * another, or the schema would stop being BACKWARD compatible). Callers keep the original in an
 * attribute.
 */
import { createHash } from "node:crypto";

const AVRO_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isAvroName(name: string): boolean {
  return AVRO_NAME.test(name);
}

/** `name` itself when it is a valid Avro name, else a deterministic valid stand-in. */
export function avroName(name: string): string {
  if (isAvroName(name)) return name;
  const hash = createHash("sha256").update(name, "utf8").digest("hex").slice(0, 8);
  const sanitized = name.replace(/[^A-Za-z0-9_]/g, "_");
  const prefixed = /^[A-Za-z_]/.test(sanitized) ? sanitized : `_${sanitized}`;
  return `${prefixed}_${hash}`;
}

/** A dotted Avro namespace from dotted parts (e.g. a topic name), each part made a valid name. */
export function avroNamespace(dotted: string): string {
  return dotted
    .split(".")
    .filter((part) => part !== "")
    .map(avroName)
    .join(".");
}
