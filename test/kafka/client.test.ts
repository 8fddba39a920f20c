import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/core/logger.js";
import { createKafka } from "../../src/kafka/client.js";

describe("the kafkajs client's logging", () => {
  it("keeps the broker's retried error answers out of error level, and other errors in it", async () => {
    const lines: Record<string, unknown>[] = [];
    const destination = {
      write: (chunk: string) =>
        lines.push(
          ...chunk
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l)),
        ),
    };
    const logger = createLogger({ service: "test", level: "debug", destination });
    // kafkajs's own logger, as its connections and consumers use it.
    const kafkaLogger = createKafka({ brokers: ["127.0.0.1:9092"], clientId: "log-test", logger }).logger();
    kafkaLogger.error("Response GroupCoordinator(key: 10, version: 2)", {
      error: "The group coordinator is not available",
    });
    kafkaLogger.namespace("Connection").error("Response GroupCoordinator(key: 10, version: 2)", {
      error: "The group coordinator is not available",
    });
    kafkaLogger.namespace("Connection").error("Connection error: connect ECONNREFUSED 127.0.0.1:1", {});
    const levels = lines.map((line) => [line.namespace ?? "", line.msg, line.level]);
    expect(levels).toEqual([
      ["", "Response GroupCoordinator(key: 10, version: 2)", "error"],
      ["Connection", "Response GroupCoordinator(key: 10, version: 2)", "debug"],
      ["Connection", "Connection error: connect ECONNREFUSED 127.0.0.1:1", "error"],
    ]);
  });
});
