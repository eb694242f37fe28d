/**
 * Hex as hvcall reads it everywhere — scenario files, traces, fixtures and every command-line flag
 * (docs/cli.md §1). One rule:
 *  - a 64-bit NUMBER is `0x` (or `0X`) and hex digits, at most 16 of them after any leading zeros,
 *    in either case; a flag that takes only numbers (--control, --fast, …) also takes the digits
 *    without `0x`;
 *  - BYTES are two hex digits a byte, in file order, without `0x` (either case); spaces between
 *    bytes are allowed where a person types them (`hvcall decode`).
 * hvcall writes numbers as `0x` and 16 lowercase digits (a result, an MSR value) or the shortest
 * form (`0x1` in a dump), and bytes in lowercase.
 */
const NUMBER_RE = /^0[xX]0*([0-9a-fA-F]{1,16})$/;
const BARE_NUMBER_RE = /^0*([0-9a-fA-F]{1,16})$/;
const BYTES_RE = /^(?:[0-9a-fA-F]{2})*$/;

export const U64_HEX_HINT = "0x and up to 16 hex digits (leading zeros allowed), e.g. 0x1005d";
export const BYTES_HEX_HINT = "two hex digits a byte, without 0x, e.g. 1400000005000000";

/** The value of a `0x…` number (or, with `bareAllowed`, bare digits); undefined when not one. */
export function parseU64Hex(text: string, bareAllowed = false): bigint | undefined {
  const m = NUMBER_RE.exec(text) ?? (bareAllowed ? BARE_NUMBER_RE.exec(text) : null);
  return m === null ? undefined : BigInt(`0x${m[1]}`);
}

/** The bytes of a byte string (no `0x`, an even number of digits); undefined when not one. */
export function parseHexBytes(text: string): Uint8Array | undefined {
  return BYTES_RE.test(text) ? new Uint8Array(Buffer.from(text, "hex")) : undefined;
}

/** Why a text is not a byte string, for messages. */
export function hexBytesProblem(text: string): string {
  if (/^0[xX]/.test(text)) return "bytes are written without 0x";
  if (/^[0-9a-fA-F]*$/.test(text))
    return `odd number of hex digits (${text.length}): each byte is two digits`;
  return "not hex digits";
}

/** Lowercase hex of bytes. */
export function bytesHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}
