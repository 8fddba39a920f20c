import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, parseConfig, resolveConfigPath } from "../../src/core/config/load.js";
import { parseByteSize, parseDuration } from "../../src/core/config/units.js";
import { fixture, header, problemsOf } from "./config-helpers.js";

let secretsDir: string;

beforeAll(() => {
  secretsDir = mkdtempSync(join(tmpdir(), "tributary-config-"));
});

afterAll(() => {
  rmSync(secretsDir, { recursive: true, force: true });
});

function secretFile(name: string, content: string): string {
  const path = join(secretsDir, name);
  writeFileSync(path, content);
  return path;
}

describe("the PRODUCT.md example config", () => {
  it("parses, with secrets from the environment and a password file", () => {
    const env = {
      INFOPORTAL_PASSWORD: "ip-pw",
      OBE_PASSWORD_FILE: secretFile("obe", "obe-pw\n"),
      VONIGO_USERNAME: "vonigo-user",
      VONIGO_PASSWORD: "vonigo-pw",
      IMAP_USERNAME: "bi@example.test",
      IMAP_PASSWORD: "tributary",
      REDSHIFT_USER: "rs-user",
      REDSHIFT_PASSWORD: "rs-pw",
    };
    const config = loadConfig(fixture("product-example.yaml"), { env });
    expect(config.kafka).toEqual({ brokers: ["127.0.0.1:9092"], clientId: "tributary" });
    expect(Object.keys(config.sources)).toEqual(["infoportal", "obe", "vonigo", "bimail"]);
    expect(config.sources.infoportal).toMatchObject({
      type: "postgres",
      connection: { host: "127.0.0.1", port: 5432, user: "postgres", password: "ip-pw", sslmode: "prefer" },
      tables: { include: ["public.*"], exclude: [] },
      slot: "tributary_infoportal",
      snapshot: "initial",
      heartbeatInterval: 10_000,
    });
    expect(config.sources.obe).toMatchObject({
      type: "mysql",
      serverId: 5401,
      connection: { password: "obe-pw" },
    });
    expect(config.sources.obe).not.toHaveProperty("connection.passwordFile");
    expect(config.sources.vonigo).toMatchObject({
      username: "vonigo-user",
      password: "vonigo-pw",
      pollInterval: 60_000,
    });
    expect(config.sources.bimail).toMatchObject({ port: 1993, tls: "implicit", rejectUnauthorized: true });
    expect(config.sinks.warehouse).toMatchObject({
      dialect: "redshift",
      connection: { user: "rs-user", password: "rs-pw", port: 5439 },
      batch: { maxRows: 10_000, maxBytes: 16 * 1024 * 1024, maxWait: 1000 },
      deletes: "soft",
      groupId: "tributary-warehouse",
    });
    expect(config.dashboard).toEqual({ host: "127.0.0.1", port: 8085 });
  });
});

describe("defaults", () => {
  it("fills in every documented default", () => {
    const text = `${header}sources:
  info-portal: { type: postgres, connection: { host: h, database: d, user: u } }
  obe: { type: mysql, connection: { host: h, database: d, user: u }, serverId: 7 }
  vonigo: { type: vonigo, baseUrl: "https://t.vonigo.com/api/v1", company: c, username: u, password: p }
  mail: { type: imap, host: h, username: u, password: p, http: { port: 9100 } }
sinks:
  warehouse: { type: redshift, connection: { host: h, database: d, user: u, password: p }, topics: ["a.*"] }
`;
    const config = parseConfig(text, "t.yaml", { env: {} });
    expect(config.kafka.clientId).toBe("tributary");
    expect(config.sources["info-portal"]).toMatchObject({
      connection: { port: 5432, sslmode: "prefer" },
      slot: "tributary_info_portal",
      publication: "tributary_info_portal",
      snapshot: "initial",
      heartbeatInterval: 10_000,
      tables: { include: ["*.*"], exclude: [] },
    });
    expect(config.sources.obe).toMatchObject({ connection: { port: 3306 } });
    expect(config.sources.obe).not.toHaveProperty("connection.tls");
    expect(config.sources.vonigo).toMatchObject({
      pollInterval: 60_000,
      objects: ["WorkOrders", "Clients", "Contacts", "Jobs", "Quotes", "Invoices"],
    });
    expect(config.sources.mail).toMatchObject({
      port: 993,
      tls: "implicit",
      rejectUnauthorized: true,
      mailboxes: ["INBOX"],
      http: { host: "127.0.0.1", port: 9100 },
    });
    expect(config.sinks.warehouse).toMatchObject({
      dialect: "redshift",
      schema: "public",
      deletes: "soft",
      groupId: "tributary-warehouse",
      batch: { maxRows: 10_000, maxBytes: 16 * 1024 * 1024, maxWait: 1000 },
    });
    expect(config.sinks.warehouse?.tables).toBeUndefined();
    expect(config.dashboard).toEqual({ host: "127.0.0.1", port: 8085 });
  });

  it("keeps explicit TLS settings and the topic-to-table map", () => {
    const caPath = secretFile("ca.pem", "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n");
    const text = `${header}sources:
  obe: { type: mysql, connection: { host: h, database: d, user: u, tls: { caFile: ${caPath}, rejectUnauthorized: false } }, serverId: 7 }
  mail: { type: imap, host: h, tls: starttls, ca: "PEM", username: u, password: p }
sinks:
  warehouse: { type: redshift, dialect: postgres, connection: { host: h, database: d, user: u, password: p, sslmode: verify-full }, topics: [a], tables: { a.b.c: custom } }
`;
    const config = parseConfig(text, "t.yaml", { env: {} });
    expect(config.sources.obe).toMatchObject({
      connection: {
        tls: { ca: "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----", rejectUnauthorized: false },
      },
    });
    expect(config.sources.mail).toMatchObject({ tls: "starttls", ca: "PEM" });
    expect(config.sinks.warehouse).toMatchObject({
      dialect: "postgres",
      connection: { sslmode: "verify-full" },
      tables: { "a.b.c": "custom" },
    });
  });
});

describe("environment variable interpolation", () => {
  it("replaces references inside strings and keeps $${ as a literal", () => {
    const text = `kafka: { brokers: ["\${KAFKA_HOST}:9092", "b:\${KAFKA_PORT}"], clientId: "cost-$\${NOT_A_VAR}" }\nschemaRegistry: { url: "https://\${HOST}/apis/ccompat/v7" }\n`;
    const config = parseConfig(text, "t.yaml", {
      env: { KAFKA_HOST: "k1", KAFKA_PORT: "9093", HOST: "reg.test" },
    });
    expect(config.kafka.brokers).toEqual(["k1:9092", "b:9093"]);
    expect(config.kafka.clientId).toBe(`cost-\${NOT_A_VAR}`);
    expect(config.schemaRegistry.url).toBe("https://reg.test/apis/ccompat/v7");
  });

  it("uses the fallback of VAR:-fallback when the variable is unset or empty", () => {
    const text = `kafka: { brokers: ["\${KAFKA:-127.0.0.1:9092}", "\${EMPTY:-b:1}", "\${SET:-x}"] }\nschemaRegistry: { url: "http://r" }\n`;
    const config = parseConfig(text, "t.yaml", { env: { EMPTY: "", SET: "s:2" } });
    expect(config.kafka.brokers).toEqual(["127.0.0.1:9092", "b:1", "s:2"]);
  });

  it("accepts a numeric string from the environment where a number is expected", () => {
    const text = `${header}sources:\n  obe: { type: mysql, connection: { host: h, port: "\${OBE_PORT}", database: d, user: u }, serverId: "\${SERVER_ID}" }\n`;
    const config = parseConfig(text, "t.yaml", { env: { OBE_PORT: "3307", SERVER_ID: "42" } });
    expect(config.sources.obe).toMatchObject({ connection: { port: 3307 }, serverId: 42 });
  });

  it("reports every unset variable", () => {
    const text = `kafka: { brokers: ["\${A}"] }\nschemaRegistry: { url: "http://\${B}/x" }\n`;
    expect(problemsOf(() => parseConfig(text, "t.yaml", { env: {} }))).toEqual([
      "kafka.brokers[0]: environment variable A is not set",
      "schemaRegistry.url: environment variable B is not set",
    ]);
  });

  it("does not read the process environment when an env is given", () => {
    process.env.TRIBUTARY_TEST_ONLY_IN_PROCESS = "x";
    try {
      const text = `kafka: { brokers: ["\${TRIBUTARY_TEST_ONLY_IN_PROCESS}"] }\nschemaRegistry: { url: "http://r" }\n`;
      expect(problemsOf(() => parseConfig(text, "t.yaml", { env: {} }))).toHaveLength(1);
    } finally {
      delete process.env.TRIBUTARY_TEST_ONLY_IN_PROCESS;
    }
  });
});

describe("...File twins", () => {
  const vonigo = (fields: string) =>
    `${header}sources:\n  v: { type: vonigo, baseUrl: "https://t.vonigo.com/api/v1", company: c, ${fields} }\n`;

  it("reads the file and drops one trailing newline", () => {
    const usernameFile = secretFile("user", "api-user\n");
    const passwordFile = secretFile("pw", "  pw with spaces  \n");
    const config = parseConfig(
      vonigo(`usernameFile: ${usernameFile}, passwordFile: ${passwordFile}`),
      "t.yaml",
      { env: {} },
    );
    expect(config.sources.v).toMatchObject({ username: "api-user", password: "  pw with spaces  " });
    expect(config.sources.v).not.toHaveProperty("passwordFile");
  });

  it("resolves relative paths against the config file's directory", () => {
    secretFile("relative-pw", "rel\n");
    const configPath = join(secretsDir, "tributary.yaml");
    writeFileSync(configPath, vonigo("username: u, passwordFile: relative-pw"));
    expect(loadConfig(configPath, { env: {} }).sources.v).toMatchObject({ password: "rel" });
  });

  it("rejects both, and requires one where the secret is required", () => {
    const file = secretFile("pw2", "x");
    expect(
      problemsOf(() =>
        parseConfig(vonigo(`username: u, password: p, passwordFile: ${file}`), "t.yaml", { env: {} }),
      ),
    ).toEqual(["sources.v.passwordFile: give either password or passwordFile, not both"]);
    expect(problemsOf(() => parseConfig(vonigo("password: p"), "t.yaml", { env: {} }))).toEqual([
      "sources.v.username: is required (give username or usernameFile)",
    ]);
  });

  it("reports an empty secret file", () => {
    const empty = secretFile("empty", "\n");
    expect(
      problemsOf(() => parseConfig(vonigo(`username: u, passwordFile: ${empty}`), "t.yaml", { env: {} })),
    ).toEqual([`sources.v.passwordFile: ${empty} is empty`]);
  });
});

describe("units", () => {
  it("parses durations to milliseconds", () => {
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("10s")).toBe(10_000);
    expect(parseDuration("1m")).toBe(60_000);
    expect(parseDuration("1h")).toBe(3_600_000);
    expect(parseDuration("1.5s")).toBe(1500);
    expect(parseDuration(250)).toBe(250);
    expect(parseDuration("250")).toBe(250);
    expect(parseDuration("10 days")).toBeUndefined();
    expect(parseDuration("-1s")).toBeUndefined();
    expect(parseDuration(-5)).toBeUndefined();
  });

  it("parses byte sizes", () => {
    expect(parseByteSize("16MiB")).toBe(16 * 1024 * 1024);
    expect(parseByteSize("512KiB")).toBe(512 * 1024);
    expect(parseByteSize("1MB")).toBe(1_000_000);
    expect(parseByteSize(4096)).toBe(4096);
    expect(parseByteSize("lots")).toBeUndefined();
  });

  it("applies durations and sizes in the config", () => {
    const text = `${header}sources:\n  p: { type: postgres, connection: { host: h, database: d, user: u }, heartbeatInterval: 500ms }\nsinks:\n  w: { type: redshift, connection: { host: h, database: d, user: u, password: p }, topics: [a], batch: { maxWait: 2500, maxBytes: 1MiB, maxRows: "50" } }\n`;
    const config = parseConfig(text, "t.yaml", { env: {} });
    expect(config.sources.p).toMatchObject({ heartbeatInterval: 500 });
    expect(config.sinks.w?.batch).toEqual({ maxWait: 2500, maxBytes: 1024 * 1024, maxRows: 50 });
  });
});

describe("resolveConfigPath", () => {
  it("prefers --config, then TRIBUTARY_CONFIG, then tributary.yaml", () => {
    expect(resolveConfigPath("a.yaml", { TRIBUTARY_CONFIG: "b.yaml" })).toBe("a.yaml");
    expect(resolveConfigPath(undefined, { TRIBUTARY_CONFIG: "b.yaml" })).toBe("b.yaml");
    expect(resolveConfigPath(undefined, {})).toBe("tributary.yaml");
  });
});
