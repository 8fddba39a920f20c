import { describe, expect, it } from "vitest";
import { loadConfig, parseConfig } from "../../src/core/config/load.js";
import { fixture, header, problemsOf } from "./config-helpers.js";

const env = {};

describe("config errors name the path and what was expected", () => {
  it("reports a non-numeric port", () => {
    expect(problemsOf(() => loadConfig(fixture("bad-port.yaml"), { env }))).toEqual([
      'sources.obe.connection.port: expected a number, got "abc"',
    ]);
  });

  it("reports an unknown key with the keys that are accepted", () => {
    const problems = problemsOf(() => loadConfig(fixture("unknown-key.yaml"), { env }));
    expect(problems).toContain(
      "sources.obe.connection.hostname: unknown key (expected one of: host, port, database, user, password, passwordFile, tls)",
    );
    expect(problems).toContain("sources.obe.connection.host: is required (expected a string)");
  });

  it("reports unknown keys at the top level and in nested objects", () => {
    const text = `${header}kafkaa: {}\nsinks:\n  w: { type: redshift, connection: { host: h, database: d, user: u, password: p }, topics: [a], batch: { rows: 5 } }\n`;
    const problems = problemsOf(() => parseConfig(text, "t.yaml", { env }));
    expect(problems).toContain(
      "kafkaa: unknown key (expected one of: kafka, schemaRegistry, sources, sinks, dashboard)",
    );
    expect(problems).toContain(
      "sinks.w.batch.rows: unknown key (expected one of: maxRows, maxBytes, maxWait)",
    );
  });

  it("reports an unset environment variable by name", () => {
    expect(problemsOf(() => loadConfig(fixture("missing-env.yaml"), { env }))).toEqual([
      "sources.infoportal.connection.password: environment variable INFOPORTAL_PASSWORD is not set",
    ]);
  });

  it("reports an unreadable secret file", () => {
    expect(problemsOf(() => loadConfig(fixture("missing-secret-file.yaml"), { env }))).toEqual([
      "sources.obe.connection.passwordFile: cannot read /run/secrets/obe (ENOENT: no such file)",
    ]);
  });

  it("reports bad YAML with file, line and column", () => {
    const file = fixture("bad-yaml.yaml");
    const [problem, ...rest] = problemsOf(() => loadConfig(file, { env }));
    expect(rest).toEqual([]);
    expect(problem).toMatch(new RegExp(`^${file.replaceAll(".", "\\.")}:\\d+:\\d+: .*quote`, "i"));
    const tabbed = problemsOf(() =>
      parseConfig("kafka:\n  brokers: [a\n  clientId: x\n", "inline.yaml", { env }),
    );
    expect(tabbed[0]).toMatch(/^inline\.yaml:\d+:\d+: /);
  });

  it("reports duplicate keys as YAML errors", () => {
    const problems = problemsOf(() => parseConfig(`${header}kafka: { brokers: [b] }\n`, "dup.yaml", { env }));
    expect(problems[0]).toMatch(/^dup\.yaml:4:1: .*unique/i);
  });

  it("says which config file is missing and how to pass another", () => {
    const problems = problemsOf(() => loadConfig("/nonexistent/tributary.yaml", { env }));
    expect(problems).toEqual([
      "cannot read config file /nonexistent/tributary.yaml (ENOENT: no such file); pass another file with --config <file> or the TRIBUTARY_CONFIG environment variable",
    ]);
  });

  it("reports every problem of a file at once", () => {
    expect(problemsOf(() => loadConfig(fixture("several-problems.yaml"), { env }))).toEqual([
      "kafka.brokers: expected at least 1 item, got 0",
      'schemaRegistry.url: expected a URL, got "not-a-url"',
      'sources.infoportal.connection.sslmode: expected one of: disable, prefer, require, verify-ca, verify-full, got "maybe"',
      'sources.infoportal.snapshot: expected one of: initial, never, when_needed, got "sometimes"',
      'sources.legacy.type: expected one of: postgres, mysql, vonigo, imap, got "oracle"',
      'sinks.warehouse.batch.maxWait: expected a duration like 500ms, 10s, 1m or 1h, got "soon"',
      'sinks.warehouse.deletes: expected one of: soft, hard, got "never"',
    ]);
  });

  it("reports missing required fields, wrong types and bad names", () => {
    const text = `${header}sources:\n  "bad name": { type: imap }\n  m: { type: mysql, connection: { host: h, database: d, user: u }, serverId: 1.5 }\n  v: { type: vonigo, baseUrl: "https://x.test/api", company: c, usernameFile: /u, passwordFile: /p, objects: [] }\n  p: { connection: {} }\n  x: 5\nsinks:\n  w: { type: redshift, connection: { host: h, database: d, user: u, password: p }, topics: "a" }\n`;
    const problems = problemsOf(() => parseConfig(text, "t.yaml", { env, readFile: () => "secret" }));
    expect(problems).toEqual([
      'sources.bad name: invalid name (expected letters, digits, _ or -, got "bad name")',
      "sources.m.serverId: expected an integer, got 1.5",
      "sources.v.objects: expected at least 1 item, got 0",
      "sources.p.type: is required (one of: postgres, mysql, vonigo, imap)",
      "sources.x: expected a mapping, got 5",
      'sinks.w.topics: expected a list, got "a"',
    ]);
  });

  it("rejects out-of-range numbers and booleans given as strings", () => {
    const text = `${header}sources:\n  b: { type: imap, host: h, port: 70000, username: u, password: p, rejectUnauthorized: "no" }\ndashboard: { port: -1 }\n`;
    expect(problemsOf(() => parseConfig(text, "t.yaml", { env }))).toEqual([
      "sources.b.port: expected a number <= 65535, got 70000",
      'sources.b.rejectUnauthorized: expected true or false, got "no"',
      "dashboard.port: expected a number >= 0, got -1",
    ]);
  });

  it("reports an empty file", () => {
    expect(problemsOf(() => parseConfig("# nothing\n", "empty.yaml", { env }))).toEqual([
      "empty.yaml: the config file is empty",
    ]);
  });
});

describe("config error messages never contain secret values", () => {
  it("hides a password of the wrong type", () => {
    const text = `${header}sources:\n  m: { type: mysql, connection: { host: h, database: d, user: u, password: 987654321 }, serverId: 1 }\n`;
    const problems = problemsOf(() => parseConfig(text, "t.yaml", { env }));
    expect(problems).toEqual([
      "sources.m.connection.password: expected a string, got a number (value hidden)",
    ]);
  });

  it("does not show interpolated secret values or secret file contents", () => {
    const text = `${header}sinks:\n  w: { type: redshift, connection: { host: h, port: "\${PORT}", database: d, userFile: /u, password: "\${PW}" }, topics: [a] }\n`;
    const problems = problemsOf(() =>
      parseConfig(text, "t.yaml", {
        env: { PW: "s3cr3t-pw", PORT: "s3cr3t-port" },
        readFile: () => "s3cr3t-user",
      }),
    );
    expect(problems).toEqual(['sinks.w.connection.port: expected a number, got "s3cr3t-port"']);
    const withBoth = `${header}sinks:\n  w: { type: redshift, connection: { host: h, database: d, user: x, userFile: /u, password: "\${PW}" }, topics: [a] }\n`;
    const twinProblems = problemsOf(() =>
      parseConfig(withBoth, "t.yaml", { env: { PW: "s3cr3t-pw" }, readFile: () => "s3cr3t-user" }),
    );
    expect(twinProblems).toEqual(["sinks.w.connection.userFile: give either user or userFile, not both"]);
    expect(twinProblems.join("\n")).not.toMatch(/s3cr3t/);
  });
});
