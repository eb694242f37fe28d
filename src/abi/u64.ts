/**
 * 64-bit register values as two u32 halves (lo = bits 31:0, hi = bits 63:32). The hot path never
 * uses BigInt; these helpers convert at the edges.
 */
export interface U64Halves {
  readonly lo: number;
  readonly hi: number;
}

/**
 * One u64 slot seen as two u32 words: storing a bigint into a BigUint64Array takes it modulo 2^64
 * without allocating, and on a little-endian host word 0 is bits 31:0 (hvcall needs such a host,
 * see SiefImage). Conversions through it allocate no intermediate BigInts.
 */
const slot64 = new BigUint64Array(1);
const slot32 = new Uint32Array(slot64.buffer);

/** Bits 31:0 of a bigint taken modulo 2^64. No allocation. */
export function u64Lo(value: bigint): number {
  slot64[0] = value;
  return slot32[0]!;
}

/** Bits 63:32 of a bigint taken modulo 2^64. No allocation. */
export function u64Hi(value: bigint): number {
  slot64[0] = value;
  return slot32[1]!;
}

/** Splits a bigint into halves; the value is taken modulo 2^64. */
export function u64ToHalves(value: bigint): U64Halves {
  slot64[0] = value;
  return { lo: slot32[0]!, hi: slot32[1]! };
}

export function halvesToU64(lo: number, hi: number): bigint {
  slot32[0] = lo;
  slot32[1] = hi;
  return slot64[0]!;
}

/** "0x" and exactly 16 hex digits, the form the CLI contract prints results in. */
export function formatU64Hex(lo: number, hi: number): string {
  return `0x${(hi >>> 0).toString(16).padStart(8, "0")}${(lo >>> 0).toString(16).padStart(8, "0")}`;
}

export function formatBigU64Hex(value: bigint): string {
  const { lo, hi } = u64ToHalves(value);
  return formatU64Hex(lo, hi);
}
