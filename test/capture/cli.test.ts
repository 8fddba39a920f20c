import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../cli/run-cli.js";

function configFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), "tributary-capture-")), "tributary.yaml");
  writeFileSync(
    file,
    [
      'kafka: { brokers: ["127.0.0.1:9092"] }',
      'schemaRegistry: { url: "http://127.0.0.1:8081/apis/ccompat/v7" }',
      "sources:",
      "  obe:",
      "    type: mysql",
      "    connection: { host: 127.0.0.1, database: obe_v8, user: root, password: x }",
      "    serverId: 5401",
    ].join("\n"),
  );
  return file;
}

describe("tributary capture", () => {
  it("names the sources there are when the one asked for is not in the config", async () => {
    const { code, stderr } = await runCli(["capture", "infoportal", "--config", configFile()]);
    expect(code).toBe(2);
    expect(stderr).toEqual(["sources.infoportal: no such source in the config (configured: obe)"]);
  });

  it("says how to call it without a source name", async () => {
    const { code, stderr } = await runCli(["capture", "--config", configFile()]);
    expect(code).toBe(2);
    expect(stderr).toEqual(["usage: tributary capture <source> [--config <file>]"]);
  });

  it("says honestly that a source type is not implemented yet", async () => {
    const { code, stderr } = await runCli(["capture", "obe", "--config", configFile()]);
    expect(code).toBe(1);
    expect(stderr[0]).toBe("tributary: the mysql source (obe) is not implemented yet in this version");
    expect(stderr[1]).toMatch(/^hint: /);
  });
});
