import { describe, expect, it } from "vitest";
import { createLogger, defaultLogLevel } from "../../src/core/logger.js";
import { redactUrlPasswords } from "../../src/core/redact.js";

/** A pino destination that keeps every line it receives. */
function captureLines() {
  const lines: string[] = [];
  return {
    destination: { write: (chunk: string) => lines.push(...chunk.split("\n").filter(Boolean)) },
    lines,
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

const SECRETS = [
  "hunter2",
  "s3cr3t",
  "tok-123",
  "Bearer abc",
  "pw-in-url",
  "deep-pw",
  "file-pw",
  "cookie-val",
];

function expectNoSecrets(lines: readonly string[]): void {
  const output = lines.join("\n");
  for (const secret of SECRETS) expect(output).not.toContain(secret);
}

describe("createLogger", () => {
  it("writes JSON lines with service, level, time and message", () => {
    const capture = captureLines();
    const logger = createLogger({
      service: "capture:infoportal",
      level: "info",
      destination: capture.destination,
    });
    logger.info({ rows: 3 }, "batch committed");
    logger.debug("not at info level");
    const [record, ...rest] = capture.records();
    expect(rest).toEqual([]);
    expect(record).toMatchObject({
      service: "capture:infoportal",
      level: "info",
      rows: 3,
      msg: "batch committed",
    });
    expect(typeof record?.time).toBe("string");
  });

  it("adds component fields in child loggers", () => {
    const capture = captureLines();
    const logger = createLogger({ service: "capture:obe", level: "info", destination: capture.destination });
    logger.child({ source: "obe", table: "obe_v8.orders" }).warn("slow");
    expect(capture.records()[0]).toMatchObject({
      service: "capture:obe",
      source: "obe",
      table: "obe_v8.orders",
    });
  });

  it("redacts secret fields at any depth, in objects and child bindings", () => {
    const capture = captureLines();
    const logger = createLogger({ service: "test", level: "info", destination: capture.destination });
    logger.info(
      { password: "hunter2", token: "tok-123", headers: { authorization: "Bearer abc" } },
      "top level",
    );
    logger.info(
      {
        config: {
          sources: { obe: { connection: { password: "deep-pw", passwordFile: "/run/secrets/obe" } } },
        },
      },
      "deep",
    );
    logger.info({ list: [{ dbPassword: "s3cr3t" }, { cookie: "cookie-val" }] }, "in arrays");
    logger.child({ connection: { user: "u", password: "file-pw" } }).info("child");
    expectNoSecrets(capture.lines);
    const [top, deep, arrays, child] = capture.records();
    expect(top).toMatchObject({
      password: "[Redacted]",
      token: "[Redacted]",
      headers: { authorization: "[Redacted]" },
    });
    expect(deep).toMatchObject({
      config: {
        sources: { obe: { connection: { password: "[Redacted]", passwordFile: "/run/secrets/obe" } } },
      },
    });
    expect(arrays).toMatchObject({ list: [{ dbPassword: "[Redacted]" }, { cookie: "[Redacted]" }] });
    expect(child).toMatchObject({ connection: { user: "u", password: "[Redacted]" } });
  });

  it("masks passwords inside connection URLs in messages, fields and errors", () => {
    const capture = captureLines();
    const logger = createLogger({ service: "test", level: "info", destination: capture.destination });
    logger.info("connecting to postgres://replicator:pw-in-url@db.internal:5432/infoportal");
    logger.info({ url: "mysql://root:pw-in-url@127.0.0.1/obe_v8" }, "field");
    logger.error(new Error("connect failed for amqp://guest:pw-in-url@mq"));
    logger.error({ err: new Error("redis://:pw-in-url@cache failed") }, "nested error");
    expectNoSecrets(capture.lines);
    const records = capture.records();
    expect(records[0]?.msg).toBe("connecting to postgres://replicator:***@db.internal:5432/infoportal");
    expect(records[1]?.url).toBe("mysql://root:***@127.0.0.1/obe_v8");
    expect(records[2]?.msg).toBe("connect failed for amqp://guest:***@mq");
    expect(JSON.stringify(records[3]?.err)).toContain("redis://:***@cache");
  });

  it("takes the level from LOG_LEVEL, silent under vitest otherwise", () => {
    expect(defaultLogLevel({ LOG_LEVEL: "DEBUG" })).toBe("debug");
    expect(defaultLogLevel({ VITEST: "true" })).toBe("silent");
    expect(defaultLogLevel({})).toBe("info");
  });
});

describe("redactUrlPasswords", () => {
  it("keeps URLs without a password intact", () => {
    expect(redactUrlPasswords("http://127.0.0.1:8081/apis/ccompat/v7")).toBe(
      "http://127.0.0.1:8081/apis/ccompat/v7",
    );
    expect(redactUrlPasswords("postgres://user@host/db")).toBe("postgres://user@host/db");
    expect(redactUrlPasswords("a postgres://u:p@h and https://x:y@z")).toBe(
      "a postgres://u:***@h and https://x:***@z",
    );
  });
});
