/**
 * A Tributary service as users run it: the compiled CLI (`bin/tributary.js`, which needs the build)
 * in a child process, with its own config file. Benchmarks measure it from outside: readiness over
 * its HTTP endpoint, memory from /proc.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const cliPath = fileURLToPath(new URL("../../bin/tributary.js", import.meta.url));

/** The node flags of the CLI's shebang (`#!/usr/bin/env -S node <flags>`): users run it with them. */
export function cliNodeFlags(): string[] {
  const [first = ""] = readFileSync(cliPath, "utf8").split("\n", 1);
  const words = first.split(" ").filter(Boolean);
  const node = words.indexOf("node");
  if (!first.startsWith("#!") || node === -1) throw new Error(`${cliPath} has no node shebang`);
  return words.slice(node + 1);
}

/** Extra node flags for the child, e.g. `--cpu-prof` (which NODE_OPTIONS does not allow). */
const childNodeFlags = (process.env.BENCH_CHILD_NODE_FLAGS ?? "").split(" ").filter(Boolean);

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (address === null || typeof address === "string") throw new Error("no TCP port was assigned");
  return address.port;
}

export class CliProcess {
  readonly #child: ChildProcess;
  readonly #directory: string;
  readonly #exited: Promise<number | null>;

  /** Runs `tributary <args> --config <file>` with `configYaml` as the file; logs at warn. */
  constructor(args: readonly string[], configYaml: string) {
    this.#directory = mkdtempSync(join(tmpdir(), "tributary-bench-"));
    const configFile = join(this.#directory, "tributary.yaml");
    writeFileSync(configFile, configYaml);
    this.#child = spawn(
      process.execPath,
      [...cliNodeFlags(), ...childNodeFlags, cliPath, ...args, "--config", configFile],
      {
        env: { ...process.env, LOG_LEVEL: "warn" },
        stdio: ["ignore", "inherit", "inherit"],
      },
    );
    this.#exited = once(this.#child, "exit").then(([code]) => code as number | null);
  }

  /** Resolves with the exit code when the process ends (an early end is a failure to report). */
  get exited(): Promise<number | null> {
    return this.#exited;
  }

  /** Polls `url` until it answers 200; rejects if the process ends first. */
  async waitReady(url: string): Promise<void> {
    let ended = false;
    void this.#exited.then(() => {
      ended = true;
    });
    for (;;) {
      if (ended) throw new Error(`the service exited before ${url} answered`);
      const ok = await fetch(url)
        .then((response) => response.ok)
        .catch(() => false);
      if (ok) return;
      await sleep(10);
    }
  }

  /** The process's peak resident set size so far, in MB (Linux: VmHWM). */
  get pid(): number {
    return this.#child.pid as number;
  }

  peakRssMb(): number {
    const status = readFileSync(`/proc/${this.#child.pid}/status`, "utf8");
    const kilobytes = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
    if (kilobytes === undefined) throw new Error("no VmHWM in /proc/<pid>/status");
    return Number(kilobytes) / 1024;
  }

  /** SIGTERM, then waits for the graceful stop. */
  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill("SIGTERM");
    await this.#exited;
    rmSync(this.#directory, { recursive: true, force: true });
  }
}
