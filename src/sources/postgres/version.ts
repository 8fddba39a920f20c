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

const ZEROS = "0000000000000000";

/** A sequence (a non-negative safe integer) as 16 upper-case hex digits, without a bigint. */
function sequenceHex(sequence: number): string {
  const digits = sequence.toString(16).toUpperCase();
  return digits.length >= 16 ? digits : ZEROS.slice(digits.length) + digits;
}

/**
 * The part of a version before its sequence: computed once per transaction (or snapshot), so
 * each event only appends its sequence (versionAt).
 */
export function versionPrefix(lsn: bigint): string {
  return `${hex16(lsn)}-`;
}

export function versionAt(prefix: string, sequence: number): string {
  return prefix + sequenceHex(sequence);
}

/** The version of the `sequence`-th change (from 1) of the transaction that commits at `commitLsn`. */
export function streamVersion(commitLsn: bigint, sequence: number): string {
  return versionAt(versionPrefix(commitLsn), sequence);
}

/** The version of a batch that carries only a heartbeat (or another position) at `lsn`. */
export function markerVersion(lsn: bigint): string {
  return versionAt(versionPrefix(lsn), 0);
}

/** The version of the `ordinal`-th row (from 1) of a snapshot consistent at `consistentPoint`. */
export function snapshotVersion(consistentPoint: bigint, ordinal: number): string {
  return versionAt(versionPrefix(consistentPoint - 1n), ordinal);
}
