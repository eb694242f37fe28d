/**
 * Parsing of the values a user types on the command line: integers and 64-bit hex numbers, by the
 * one hex rule of src/text/hex-text.ts. Kept free of heavy imports: `hvcall --help` loads this.
 */
import { InvalidArgumentError } from "commander";
import { HV_VP_INDEX_MAX } from "../abi/vp-index.js";
import { parseU64Hex, U64_HEX_HINT } from "../text/hex-text.js";

const DECIMAL_RE = /^[0-9]+$/;

/** A non-negative integer written in decimal or as `0x…` hex, up to `max`; else undefined. */
export function parseInteger(text: string, max: number): number | undefined {
  let value: number;
  if (DECIMAL_RE.test(text)) value = Number(text);
  else {
    const hex = parseU64Hex(text);
    if (hex === undefined) return undefined;
    value = Number(hex);
  }
  return Number.isSafeInteger(value) && value <= max ? value : undefined;
}

/** --caller: HV_PARTITION_ID, a positive integer up to 2^53 - 1. */
export function callerFlag(text: string): number {
  const id = parseInteger(text, Number.MAX_SAFE_INTEGER);
  if (id === undefined || id < 1)
    throw new InvalidArgumentError("expected a partition id, an integer 1..2^53-1.");
  return id;
}

/** --vp: HV_VP_INDEX, a u32. */
export function vpFlag(text: string): number {
  const index = parseInteger(text, HV_VP_INDEX_MAX);
  if (index === undefined)
    throw new InvalidArgumentError("expected a VP index, an integer 0..2^32-1.");
  return index;
}

/** A 64-bit number flag: `0x…`, or the hex digits alone (the flag takes only numbers). */
export function u64Flag(text: string): bigint {
  const value = parseU64Hex(text, true);
  if (value === undefined)
    throw new InvalidArgumentError(`expected a 64-bit hex number: ${U64_HEX_HINT}.`);
  return value;
}
