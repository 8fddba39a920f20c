/**
 * zod issues as lines a user can act on: `<path>: <what was expected>, got <what was there>`.
 * Values of secret fields are never shown.
 */
import type * as z from "zod";
import { isSecretKey } from "../redact.js";

type Issue = z.core.$ZodIssue;
type PathKey = PropertyKey;

const typeNames: Readonly<Record<string, string>> = {
  array: "a list",
  object: "a mapping",
  record: "a mapping",
  boolean: "true or false",
  int: "an integer",
  number: "a number",
  string: "a string",
};

/** Fields whose values may be credentials, or are too long to quote (a PEM certificate). */
const HIDDEN_VALUE = /^(user|username|ca)$/i;

export function formatPath(path: readonly PathKey[]): string {
  if (path.length === 0) return "(top level)";
  return path
    .map((key, index) =>
      typeof key === "number" ? `[${key}]` : index === 0 ? String(key) : `.${String(key)}`,
    )
    .join("");
}

function isHidden(path: readonly PathKey[]): boolean {
  const last = [...path].reverse().find((key) => typeof key === "string");
  return typeof last === "string" && (isSecretKey(last) || HIDDEN_VALUE.test(last));
}

function describeValue(value: unknown, path: readonly PathKey[]): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return value.length === 0 ? "an empty list" : "a list";
  if (typeof value === "object") return "a mapping";
  if (isHidden(path)) return `a ${typeof value} (value hidden)`;
  if (typeof value === "string")
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return String(value);
}

function expectedTypeName(expected: string): string {
  return typeNames[expected] ?? `a ${expected}`;
}

function listValues(values: readonly unknown[]): string {
  return values.map((value) => (typeof value === "string" ? value : JSON.stringify(value))).join(", ");
}

function sizeMessage(
  issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig,
  path: readonly PathKey[],
): string {
  const small = issue.code === "too_small";
  const bound = Number(
    small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum,
  );
  const input = issue.input;
  if (issue.origin === "array") {
    const count = Array.isArray(input) ? input.length : 0;
    const items = bound === 1 ? "item" : "items";
    return `expected ${small ? "at least" : "at most"} ${bound} ${items}, got ${count}`;
  }
  if (issue.origin === "string") {
    if (small && bound === 1) return "must not be empty";
    return `expected ${small ? "at least" : "at most"} ${bound} characters`;
  }
  const comparison = small ? (issue.inclusive ? ">=" : ">") : issue.inclusive ? "<=" : "<";
  return `expected a number ${comparison} ${bound}, got ${describeValue(input, path)}`;
}

function unionMessage(issue: z.core.$ZodIssueInvalidUnion, path: readonly PathKey[]): string {
  if (issue.discriminator !== undefined && issue.errors.length === 0) {
    const options = listValues("options" in issue ? (issue.options ?? []) : []);
    const key = issue.discriminator;
    const given = (issue.input as Record<string, unknown> | undefined)?.[key];
    if (given === undefined) return `is required (one of: ${options})`;
    return `expected one of: ${options}, got ${describeValue(given, path)}`;
  }
  const expected = issue.errors
    .flat()
    .filter((inner) => inner.code === "invalid_type")
    .map((inner) => expectedTypeName((inner as z.core.$ZodIssueInvalidType).expected));
  if (expected.length === 0) return issue.message;
  return `expected ${[...new Set(expected)].join(" or ")}, got ${describeValue(issue.input, path)}`;
}

function message(issue: Issue, path: readonly PathKey[]): string {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return `is required (expected ${expectedTypeName(issue.expected)})`;
      return `expected ${expectedTypeName(issue.expected)}, got ${describeValue(issue.input, path)}`;
    case "invalid_value":
      return issue.values.length === 1
        ? `expected ${JSON.stringify(issue.values[0])}, got ${describeValue(issue.input, path)}`
        : `expected one of: ${listValues(issue.values)}, got ${describeValue(issue.input, path)}`;
    case "invalid_union":
      return unionMessage(issue, path);
    case "too_small":
    case "too_big":
      return sizeMessage(issue, path);
    case "invalid_format":
      if (issue.format === "url") return `expected a URL, got ${describeValue(issue.input, path)}`;
      return `expected ${issue.message}, got ${describeValue(issue.input, path)}`;
    default:
      return issue.message;
  }
}

/** One line per problem; an issue about several unknown keys becomes one line per key. */
export function formatIssue(issue: Issue, basePath: readonly PathKey[] = []): string[] {
  const path = [...basePath, ...issue.path];
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => `${formatPath([...path, key])}: unknown key (${issue.message})`);
  }
  if (issue.code === "invalid_key") {
    const reasons = issue.issues.map((inner) => message(inner, path));
    return [`${formatPath(path)}: invalid name (${reasons.join("; ")})`];
  }
  return [`${formatPath(path)}: ${message(issue, path)}`];
}
