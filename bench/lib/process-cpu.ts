/**
 * Where a run's CPU went, read from /proc (Linux): the sink, the stack's Postgres and Kafka broker
 * and the benchmark itself share the machine's cores, so a throughput figure is only understood
 * with the CPU each of them spent on it.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc's CPU times. */
const ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined; // it exited
  }
}

/**
 * CPU seconds (user + system, all threads) of `pid`; with `reapedChildren`, plus its children
 * that exited and were waited for (how Postgres's exited backends stay counted: in the postmaster).
 */
export function cpuSeconds(pid: number, reapedChildren = false): number {
  const fields = statFields(pid);
  if (!fields) return 0;
  // After the name: state is field 3 of stat(5), so utime (14) is index 11, cutime (16) index 13.
  const ticks = [11, 12, ...(reapedChildren ? [13, 14] : [])].reduce(
    (sum, index) => sum + Number(fields[index]),
    0,
  );
  return ticks / ticksPerSecond;
}

function processes(): { pid: number; name: string; command: string; parent: number }[] {
  const found = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const name = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      const parent = Number(statFields(pid)?.[1]);
      found.push({ pid, name, command, parent });
    } catch {
      // it exited meanwhile
    }
  }
  return found;
}

/** A group of processes whose CPU is counted together. */
export interface CpuGroup {
  readonly name: string;
  /** CPU seconds so far of the group's processes (those alive, and those that ended). */
  readonly seconds: () => number;
}

/** Every process of the local Postgres: the postmaster with its reaped children, and its live ones. */
export function postgresGroup(): CpuGroup {
  return {
    name: "Postgres (every backend and worker)",
    seconds: () => {
      const all = processes().filter((process) => process.name === "postgres");
      const pids = new Set(all.map((process) => process.pid));
      return all.reduce((sum, process) => sum + cpuSeconds(process.pid, !pids.has(process.parent)), 0);
    },
  };
}

/** The Kafka broker of the local stack (the JVM running kafka.Kafka). */
export function kafkaBrokerGroup(name: string): CpuGroup {
  const broker = processes().find((process) => / kafka\.Kafka /.test(` ${process.command} `));
  if (!broker) throw new Error("no Kafka broker process (kafka.Kafka) found: is the stack up?");
  return { name, seconds: () => cpuSeconds(broker.pid) };
}

export function processGroup(name: string, pid: number): CpuGroup {
  return { name, seconds: () => cpuSeconds(pid) };
}

export function thisProcessGroup(name: string): CpuGroup {
  return {
    name,
    seconds: () => {
      const usage = process.cpuUsage();
      return (usage.user + usage.system) / 1e6;
    },
  };
}

/** CPU seconds each group spent between start() and the returned function's call. */
export function startCpuMeter(groups: readonly CpuGroup[]): () => Map<string, number> {
  const before = groups.map((group) => group.seconds());
  return () => new Map(groups.map((group, index) => [group.name, group.seconds() - (before[index] ?? 0)]));
}
