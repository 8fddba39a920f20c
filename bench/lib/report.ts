/** Benchmark output: a table on stdout and a JSON file under bench/out/ (STYLE.md principle 9). */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface BenchRow {
  readonly measure: string;
  readonly value: number;
  readonly unit: string;
  readonly target?: string;
  readonly pass?: boolean;
}

export function printTable(title: string, rows: readonly BenchRow[]): void {
  const lines = rows.map((row) => [
    row.measure,
    `${formatNumber(row.value)} ${row.unit}`,
    row.target ?? "",
    row.pass === undefined ? "" : row.pass ? "yes" : "NO",
  ]);
  const header = ["measure", "value", "target", "met"];
  const widths = header.map((cell, column) =>
    Math.max(cell.length, ...lines.map((line) => line[column]?.length ?? 0)),
  );
  const format = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  process.stdout.write(`\n${title}\n\n${format(header)}\n${format(widths.map((w) => "-".repeat(w)))}\n`);
  for (const line of lines) process.stdout.write(`${format(line)}\n`);
  process.stdout.write("\n");
}

export function writeJson(name: string, data: unknown): string {
  const directory = join(process.cwd(), "bench", "out");
  mkdirSync(directory, { recursive: true });
  const file = join(directory, `${name}-${new Date().toISOString().replaceAll(":", "-")}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

function formatNumber(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toFixed(2);
}

/** Peak resident set size of this process so far, in MB (Linux: VmHWM). */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
