/**
 * 64-bit register values as two u32 halves (lo = bits 31:0, hi = bits 63:32). The hot path never
 * uses BigInt; these helpers convert at the edges.
 */
export interface U64Halves {
  readonly lo: number;
  readonly hi: number;
}

const U32 = 0x1_0000_0000n;
const U64_MASK = 0xffff_ffff_ffff_ffffn;

/** Splits a bigint into halves; the value is taken modulo 2^64. */
export function u64ToHalves(value: bigint): U64Halves {
  const v = value & U64_MASK;
  return { lo: Number(v & 0xffff_ffffn), hi: Number(v >> 32n) };
}

export function halvesToU64(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) * U32) | BigInt(lo >>> 0);
}

/** "0x" and exactly 16 hex digits, the form the CLI contract prints results in. */
export function formatU64Hex(lo: number, hi: number): string {
  return `0x${(hi >>> 0).toString(16).padStart(8, "0")}${(lo >>> 0).toString(16).padStart(8, "0")}`;
}

export function formatBigU64Hex(value: bigint): string {
  const { lo, hi } = u64ToHalves(value);
  return formatU64Hex(lo, hi);
}
