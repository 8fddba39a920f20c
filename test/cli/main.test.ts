import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { commands } from "../../src/cli/commands.js";
import { runCli } from "./run-cli.js";

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/config/${name}`, import.meta.url));
const packageJson = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));

describe("tributary --help and --version", () => {
  it("lists every command of the table with usage and summary, and the global --config option", async () => {
    const { code, stdout, stderr } = await runCli(["--help"]);
    expect(code).toBe(0);
    expect(stderr).toEqual([]);
    const help = stdout.join("\n");
    for (const command of commands) {
      expect(help).toContain(`tributary ${command.usage}`);
      expect(help).toContain(command.summary);
    }
    expect(help).toMatch(/--config <file>.*tributary\.yaml.*TRIBUTARY_CONFIG/);
  });

  it("prints the help on stderr and exits 2 without a command", async () => {
    const { code, stdout, stderr } = await runCli([]);
    expect(code).toBe(2);
    expect(stdout).toEqual([]);
    expect(stderr.join("\n")).toContain("Usage: tributary");
  });

  it("prints the package version", async () => {
    for (const flag of ["--version", "-V"]) {
      const { code, stdout } = await runCli([flag]);
      expect(code).toBe(0);
      expect(stdout).toEqual([packageJson.version]);
    }
  });
});

describe("command dispatch", () => {
  it("rejects an unknown command with exit 2", async () => {
    const { code, stderr } = await runCli(["frobnicate"]);
    expect(code).toBe(2);
    expect(stderr).toEqual(['tributary: unknown command "frobnicate"; run tributary --help for the list']);
  });

  it.each([
    [["replay", "--group", "g", "--to", "earliest"], "replay"],
    [["lag", "--watch"], "lag"],
    [["dashboard"], "dashboard"],
  ])("says honestly that %j is not implemented yet", async (argv, name) => {
    const { code, stdout, stderr } = await runCli(argv);
    expect(code).toBe(2);
    expect(stdout).toEqual([]);
    expect(stderr).toEqual([`tributary ${name}: not implemented yet in this version`]);
  });
});

describe("tributary config check", () => {
  it("accepts a valid config and counts its sources and sinks", async () => {
    const file = fixture("minimal.yaml");
    const { code, stdout, stderr } = await runCli(["config", "check", "--config", file]);
    expect(stderr).toEqual([]);
    expect(code).toBe(0);
    expect(stdout).toEqual([`config ok: ${file} (0 sources, 0 sinks)`]);
  });

  it("takes --config before the command and TRIBUTARY_CONFIG from the environment", async () => {
    const file = fixture("product-example.yaml");
    const env = {
      INFOPORTAL_PASSWORD: "a",
      OBE_PASSWORD_FILE: fixture("minimal.yaml"),
      VONIGO_USERNAME: "b",
      VONIGO_PASSWORD: "c",
      IMAP_USERNAME: "d",
      IMAP_PASSWORD: "e",
      REDSHIFT_USER: "f",
      REDSHIFT_PASSWORD: "g",
    };
    const before = await runCli(["--config", file, "config", "check"], env);
    expect(before.stdout).toEqual([`config ok: ${file} (4 sources, 1 sink)`]);
    const fromEnv = await runCli(["config", "check"], { ...env, TRIBUTARY_CONFIG: file });
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stdout).toEqual([`config ok: ${file} (4 sources, 1 sink)`]);
  });

  it("prints every problem, one per line, and exits 2", async () => {
    const { code, stdout, stderr } = await runCli([
      "config",
      "check",
      "--config",
      fixture("several-problems.yaml"),
    ]);
    expect(code).toBe(2);
    expect(stdout).toEqual([]);
    expect(stderr).toHaveLength(7);
    expect(stderr[0]).toBe("kafka.brokers: expected at least 1 item, got 0");
    expect(stderr.join("\n")).not.toMatch(/\n\s+at /);
  });

  it("names a missing config file and how to pass another", async () => {
    const { code, stderr } = await runCli(["config", "check"], {
      TRIBUTARY_CONFIG: "no/such/tributary.yaml",
    });
    expect(code).toBe(2);
    expect(stderr).toEqual([
      "cannot read config file no/such/tributary.yaml (ENOENT: no such file); pass another file with --config <file> or the TRIBUTARY_CONFIG environment variable",
    ]);
  });

  it("rejects an unknown option with its usage", async () => {
    const { code, stderr } = await runCli(["config", "check", "--strict"]);
    expect(code).toBe(2);
    expect(stderr[0]).toMatch(/^tributary config check: Unknown option '--strict'/);
    expect(stderr[1]).toBe("usage: tributary config check");
  });
});
