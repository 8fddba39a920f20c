/**
 * Human units in the config: durations (`500ms`, `10s`, `1m`, `1h`; a plain number is
 * milliseconds) and byte sizes (`16MiB`, `512KiB`, `1MB`; a plain number is bytes).
 */

const durationUnits: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

const byteUnits: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

const NUMBER_WITH_UNIT = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;

function parseWithUnits(
  value: number | string,
  units: Readonly<Record<string, number>>,
  plainUnit: string,
): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : undefined;
  const match = NUMBER_WITH_UNIT.exec(value.trim());
  if (!match) return undefined;
  const multiplier = units[(match[2] || plainUnit).toLowerCase()];
  if (multiplier === undefined) return undefined;
  return Math.round(Number(match[1]) * multiplier);
}

/** Milliseconds, or undefined when `value` is not a duration. */
export function parseDuration(value: number | string): number | undefined {
  return parseWithUnits(value, durationUnits, "ms");
}

/** Bytes, or undefined when `value` is not a size. */
export function parseByteSize(value: number | string): number | undefined {
  return parseWithUnits(value, byteUnits, "b");
}
