/**
 * Scrubbing secrets out of anything that is about to be logged or printed: values of secret-named
 * keys at any depth, and passwords inside connection URLs in any string.
 */

export const REDACTED = "[Redacted]";

/** Keys whose values are secrets wherever they appear (case-insensitive). */
const SECRET_KEY = /(password|passwd|secret|token|authorization|apikey|cookie)$/i;

/** `scheme://user:password@` — the password is whatever sits between the colon and the @. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"'\\]*:)([^\s@/"'\\]+)@/gi;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** `postgres://user:pw@host` → `postgres://user:***@host`. */
export function redactUrlPasswords(text: string): string {
  return text.replace(URL_CREDENTIALS, "$1***@");
}

/** A copy of `value` with secret keys replaced and URL passwords masked; cycles are cut. */
export function scrubSecrets(value: unknown, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === "string") return redactUrlPasswords(value);
  if (value === null || typeof value !== "object") return value;
  // Errors keep their class so serializers still recognise them; their text is masked on output.
  if (value instanceof Error || value instanceof Date || Buffer.isBuffer(value)) return value;
  if (seen.has(value)) return "[Circular]";
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => scrubSecrets(item, seen));
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    copy[key] = isSecretKey(key) && item !== undefined && item !== null ? REDACTED : scrubSecrets(item, seen);
  }
  return copy;
}
