import { execFile, execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const badConfig = fileURLToPath(new URL("../fixtures/config/bad-port.yaml", import.meta.url));
const run = promisify(execFile);

const compiledMain = `${root}dist/cli/main.js`;

function newestSourceChange(): number {
  const files = readdirSync(`${root}src`, { recursive: true, withFileTypes: true });
  const mtimes = files
    .filter((file) => file.isFile())
    .map((file) => statSync(`${file.parentPath}/${file.name}`).mtimeMs);
  return Math.max(...mtimes);
}

beforeAll(() => {
  // The binary runs the compiled CLI: build when dist is missing or older than the sources.
  if (existsSync(compiledMain) && statSync(compiledMain).mtimeMs >= newestSourceChange()) return;
  try {
    execFileSync("npm", ["run", "build"], { cwd: root, stdio: "ignore" });
  } catch (error) {
    // tsc still emits when someone else's file has a type error; only a missing CLI is fatal.
    if (!existsSync(compiledMain)) throw error;
  }
});

describe("bin/tributary.js", () => {
  it("exits 2 on a bad config, naming the problem, without a stack trace and without the password", async () => {
    const failure = await run(
      process.execPath,
      ["bin/tributary.js", "config", "check", "--config", badConfig],
      {
        cwd: root,
        env: { ...process.env, TRIBUTARY_CONFIG: "" },
      },
    ).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stdout).toBe("");
    expect(failure?.stderr).toBe('sources.obe.connection.port: expected a number, got "abc"\n');
    expect(failure?.stderr).not.toContain("hunter2");
  });

  it("prints the help and exits 0", async () => {
    const { stdout } = await run(process.execPath, ["bin/tributary.js", "--help"], { cwd: root });
    expect(stdout).toContain("tributary config check");
  });
});
