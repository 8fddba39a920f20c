import { randomBytes } from "node:crypto";
import { resolve } from "node:path";

/** Where the local stack's servers listen (stack/stack.sh starts them; see PRODUCT.md, "Local stack"). */
export const stack = {
  kafkaBrokers: ["127.0.0.1:9092"],
  registryUrl: "http://127.0.0.1:8081/apis/ccompat/v7",
  postgres: { host: "127.0.0.1", port: 5432, user: "postgres" },
  mariadb: { host: "127.0.0.1", port: 3306, user: "root", password: "", database: "obe_v8" },
  imap: {
    host: "127.0.0.1",
    tlsPort: 1993,
    starttlsPort: 1143,
    user: "bi@example.test",
    password: "tributary",
    caFile: resolve(process.env.TRIBUTARY_STACK_HOME ?? ".stack", "dovecot/tls/ca.pem"),
  },
} as const;

/** A name no other test (or earlier run) uses: slots, topics, tables, subjects. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`, { cause: lastError });
}
