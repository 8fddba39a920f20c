/**
 * The ceilings the benchmarks compare against, measured in the same run on the same data:
 * PostgreSQL's own pg_recvlogical reading a pgoutput slot, and a raw COPY into the warehouse.
 */
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";

export interface PgTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
}

function run(command: string, args: readonly string[], stdin?: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [stdin ? "pipe" : "ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    if (stdin && child.stdin) stdin.pipe(child.stdin);
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited ${code}: ${stderr}`)),
    );
  });
}

/**
 * Seconds pg_recvlogical needs to read `slot` (pgoutput, proto 1) from its start up to `endLsn`,
 * decoding every change of `publication` and throwing the output away.
 */
export async function pgRecvlogicalSeconds(
  target: PgTarget,
  slot: string,
  publication: string,
  endLsn: string,
): Promise<number> {
  const started = performance.now();
  await run("pg_recvlogical", [
    ...["-h", target.host, "-p", String(target.port), "-U", target.user, "-d", target.database],
    ...["--slot", slot, "--start", "--endpos", endLsn, "--no-loop", "-f", "/dev/null"],
    ...["-o", "proto_version=1", "-o", `publication_names=${publication}`],
  ]);
  return (performance.now() - started) / 1000;
}

/** Seconds a raw `COPY table FROM STDIN (FORMAT csv)` of `csv` takes through psql. */
export async function copySeconds(target: PgTarget, table: string, csv: Readable): Promise<number> {
  const started = performance.now();
  await run(
    "psql",
    [
      ...["-h", target.host, "-p", String(target.port), "-U", target.user, "-d", target.database],
      ...["-v", "ON_ERROR_STOP=1", "-c", `\\copy ${table} from stdin with (format csv)`],
    ],
    csv,
  );
  return (performance.now() - started) / 1000;
}
