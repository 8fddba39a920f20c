import { type ChildProcess, spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { fakeVersion } from "../helpers/fake-source.js";
import { eventually, uniqueName } from "../helpers/stack.js";
import { committedVersions, ordersTable } from "./fixtures.js";

function startChild(source: string, count: number): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ["--import", "tsx", "test/capture/capture-child.ts"], {
    env: { ...process.env, CAPTURE_SOURCE: source, CAPTURE_COUNT: String(count), LOG_LEVEL: "silent" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout?.on("data", (chunk) => {
    text += String(chunk);
  });
  child.stderr?.on("data", (chunk) => {
    text += String(chunk);
  });
  return { child, output: () => text };
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

describe("a capture killed mid-stream", () => {
  it("leaves a read_committed consumer with every event exactly once after the restart", async () => {
    const name = uniqueName("fake");
    const count = 5000;
    const first = startChild(name, count);
    try {
      // Killed once a first flush committed, while later ones are being produced.
      await eventually(async () => (first.output().includes("committed") ? true : undefined), 30_000);
      first.child.kill("SIGKILL");
      await exited(first.child);
      expect(first.output()).not.toContain("drained");
    } finally {
      first.child.kill("SIGKILL");
    }

    const second = startChild(name, count);
    try {
      expect(await exited(second.child), second.output()).toBe(0);
      expect(second.output()).toContain(`committed ${fakeVersion(count)}`);
    } finally {
      second.child.kill("SIGKILL");
    }
    const expected = Array.from({ length: count }, (_, index) => fakeVersion(index + 1));
    expect(await committedVersions(ordersTable(name).topic)).toEqual(expected);
  }, 60_000);
});
