/**
 * LSNs and event versions. A version is `<16 hex LSN>-<16 hex sequence>` (33 characters, upper
 * case), so plain string comparison is source order:
 *
 * - a streamed change: the commit LSN of its transaction (pgoutput's BEGIN carries it) and its
 *   1-based sequence within the transaction;
 * - a heartbeat: the message's LSN and sequence 0;
 * - a snapshot row: the snapshot's consistent point minus one and the row's 1-based ordinal in
 *   the snapshot. Every streamed commit has an LSN at or above the consistent point, so every
 *   change sorts after every snapshot row, even a commit that lands exactly on the point.
 */

/** Parses "16/B374D848" into a number of bytes. */
export function parseLsn(lsn: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn);
  if (!match) throw new TypeError(`not an LSN: ${JSON.stringify(lsn)}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** Formats a number of bytes the way Postgres prints an LSN ("16/B374D848"). */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

function hex16(value: bigint): string {
  return value.toString(16).toUpperCase().padStart(16, "0");
}

/** The version of the `sequence`-th change (from 1) of the transaction that commits at `commitLsn`. */
export function streamVersion(commitLsn: bigint, sequence: number): string {
  return `${hex16(commitLsn)}-${hex16(BigInt(sequence))}`;
}

/** The version of a batch that carries only a heartbeat (or another position) at `lsn`. */
export function markerVersion(lsn: bigint): string {
  return `${hex16(lsn)}-${hex16(0n)}`;
}

/** The version of the `ordinal`-th row (from 1) of a snapshot consistent at `consistentPoint`. */
export function snapshotVersion(consistentPoint: bigint, ordinal: number): string {
  return `${hex16(consistentPoint - 1n)}-${hex16(BigInt(ordinal))}`;
}
