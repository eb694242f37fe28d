/**
 * Parsing of the values a user types on the command line or in a fixture: integers and 64-bit hex
 * numbers. Kept free of heavy imports: `hvcall --help` loads this module.
 */
import { HV_VP_INDEX_MAX } from "../abi/vp-index.js";

/** A 64-bit number as the CLI takes it: `0x` and 1 to 16 significant hex digits (either case). */
const U64_HEX_RE = /^0[xX]0*[0-9a-fA-F]{1,16}$/;
const DECIMAL_RE = /^[0-9]+$/;

export const U64_HEX_HINT = "0x and 1 to 16 hex digits, e.g. 0x1005d";

/** The value of `0x…` (1..16 hex digits), or undefined when the text is not such a number. */
export function parseU64Hex(text: string): bigint | undefined {
  return U64_HEX_RE.test(text) ? BigInt(text) : undefined;
}

/** A non-negative integer written in decimal or as `0x…` hex, up to `max`; else undefined. */
export function parseInteger(text: string, max: number): number | undefined {
  let value: number;
  if (DECIMAL_RE.test(text)) value = Number(text);
  else if (U64_HEX_RE.test(text)) value = Number(BigInt(text));
  else return undefined;
  return Number.isSafeInteger(value) && value <= max ? value : undefined;
}

/** HV_PARTITION_ID as the scenario file writes it: a positive integer up to 2^53 - 1. */
export function parsePartitionId(text: string): number | undefined {
  const id = parseInteger(text, Number.MAX_SAFE_INTEGER);
  return id === undefined || id < 1 ? undefined : id;
}

/** HV_VP_INDEX: a u32. */
export function parseVpIndex(text: string): number | undefined {
  return parseInteger(text, HV_VP_INDEX_MAX);
}
