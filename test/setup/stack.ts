import { spawnSync } from "node:child_process";

/**
 * vitest global setup: the suites talk to the real servers of the local stack, so make sure it is
 * up first. `stack.sh up` is idempotent and takes a couple of seconds when everything runs already.
 */
export default function ensureLocalStack(): void {
  if (process.env.TRIBUTARY_SKIP_STACK === "1") return;
  const started = Date.now();
  const result = spawnSync("bash", ["stack/stack.sh", "up"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (result.status !== 0) {
    throw new Error(
      `the local stack did not come up (bash stack/stack.sh up exited ${result.status}):\n${result.stderr}${result.stdout}`,
    );
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stderr.write(`local stack up (${seconds} s)\n`);
}
