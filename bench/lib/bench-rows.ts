/** The table shape and rows bench:sink upserts, shared with bench:fast-path. */
import type { ColumnType } from "../../src/core/column-type.js";

export const benchColumns: readonly (readonly [string, ColumnType])[] = [
  ["id", { kind: "int64" }],
  ["customer", { kind: "string" }],
  ["amount", { kind: "decimal", precision: 12, scale: 2 }],
  ["status", { kind: "string" }],
  ["updated_at", { kind: "timestamptz" }],
];

const statuses = ["new", "paid", "shipped", "returned"];
const baseMicros = 1_700_000_000_000_000;

/** The row of key `id` as its insert (`round` 0) or its update (`round` 1) writes it. */
export function benchRow(id: number, round: number) {
  return {
    id: BigInt(id),
    customer: `customer ${id % 5000}`,
    amount: (((id * 7 + round * 1301) % 100_000) / 100).toFixed(2),
    status: statuses[(id + round) % statuses.length] as string,
    updated_at: baseMicros + id * 1000 + round * 3_600_000_000,
  };
}
