/**
 * The kafkajs release whose internals kafkajs-idle-loop.ts and kafkajs-record-batch.ts replace
 * parts of, and a `require` for those internals (kafkajs is CommonJS). Another release keeps all
 * of its own code.
 */
import { createRequire } from "node:module";

export const PATCHED_KAFKAJS_VERSION = "2.2.4";

export const kafkajsRequire = createRequire(import.meta.url);

/** Whether the kafkajs this process loads is the release the replacements were written for. */
export function isPatchedKafkajs(): boolean {
  const { version } = kafkajsRequire("kafkajs/package.json") as { version: string };
  return version === PATCHED_KAFKAJS_VERSION;
}
