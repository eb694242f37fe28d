import { halvesToU64, type U64Halves, u64ToHalves } from "./u64.js";

/**
 * The hypercall result value, 64 bits, returned in RAX on x64 (TLFS "Hypercall Interface" >
 * "Hypercall Outputs"):
 *
 * | bits  | field            |
 * |-------|------------------|
 * | 15:0  | HV_STATUS        |
 * | 31:16 | RsvdZ            |
 * | 43:32 | reps completed   |
 * | 63:44 | RsvdZ            |
 */
export const RESULT_STATUS_MASK = 0xffff;
export const RESULT_RSVD_16_31_SHIFT = 16;
export const RESULT_RSVD_16_31_MASK = 0xffff;
export const RESULT_REPS_COMPLETED_MASK = 0xfff; // bits 43:32 in the high half
export const RESULT_RSVD_44_63_SHIFT = 12;
export const RESULT_RSVD_44_63_MASK = 0xfffff;

export interface HypercallResult {
  readonly status: number;
  /** Bits 31:16, RsvdZ. */
  readonly reserved16to31: number;
  readonly repsCompleted: number;
  /** Bits 63:44, RsvdZ. */
  readonly reserved44to63: number;
}

/** Low half of the result for a status (reserved bits zero). */
export function resultLo(status: number): number {
  return status & RESULT_STATUS_MASK;
}

/** High half of the result for a reps-completed count (reserved bits zero). */
export function resultHi(repsCompleted: number): number {
  return repsCompleted & RESULT_REPS_COMPLETED_MASK;
}

export function decodeResult(lo: number, hi: number): HypercallResult {
  return {
    status: lo & RESULT_STATUS_MASK,
    reserved16to31: (lo >>> RESULT_RSVD_16_31_SHIFT) & RESULT_RSVD_16_31_MASK,
    repsCompleted: hi & RESULT_REPS_COMPLETED_MASK,
    reserved44to63: (hi >>> RESULT_RSVD_44_63_SHIFT) & RESULT_RSVD_44_63_MASK,
  };
}

export function encodeResult(r: HypercallResult): U64Halves {
  const lo =
    (r.status & RESULT_STATUS_MASK) |
    ((r.reserved16to31 & RESULT_RSVD_16_31_MASK) << RESULT_RSVD_16_31_SHIFT);
  const hi =
    (r.repsCompleted & RESULT_REPS_COMPLETED_MASK) |
    ((r.reserved44to63 & RESULT_RSVD_44_63_MASK) << RESULT_RSVD_44_63_SHIFT);
  return { lo: lo >>> 0, hi: hi >>> 0 };
}

/** True when the reserved bits of a result value are zero. */
export function resultReservedBitsClear(lo: number, hi: number): boolean {
  return (lo & ~RESULT_STATUS_MASK) === 0 && (hi & ~RESULT_REPS_COMPLETED_MASK) === 0;
}

export function decodeResultBigInt(value: bigint): HypercallResult {
  const { lo, hi } = u64ToHalves(value);
  return decodeResult(lo, hi);
}

export function encodeResultBigInt(r: HypercallResult): bigint {
  const { lo, hi } = encodeResult(r);
  return halvesToU64(lo, hi);
}
