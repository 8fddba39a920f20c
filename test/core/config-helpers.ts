/** Helpers for the config tests: fixture paths and catching ConfigError problems. */
import { fileURLToPath } from "node:url";
import { ConfigError } from "../../src/core/errors.js";

export const fixturesDir = fileURLToPath(new URL("../fixtures/config/", import.meta.url));

export function fixture(name: string): string {
  return `${fixturesDir}${name}`;
}

/** The problems a ConfigError reports; fails when `run` succeeds or throws something else. */
export function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError, but the config was accepted");
}

export const header = `
kafka: { brokers: ["127.0.0.1:9092"] }
schemaRegistry: { url: "http://127.0.0.1:8081/apis/ccompat/v7" }
`;
