import { BitLayout, type ValuesOf } from "./bit-layout.js";
import { halvesToU64, type U64Halves, u64ToHalves } from "./u64.js";

/**
 * The hypercall result value, 64 bits in RAX on x64 (TLFS "Hypercall Interface" > "Hypercall
 * Outputs"; docs/hypercall-abi.md §2).
 */
export const HV_HYPERCALL_RESULT = new BitLayout("hypercall result value", 64, {
  status: { lsb: 0, width: 16, label: "HV_STATUS" },
  reserved16to31: { lsb: 16, width: 16, kind: "reserved-zero", label: "RsvdZ" },
  repsCompleted: { lsb: 32, width: 12, label: "reps completed" },
  reserved44to63: { lsb: 44, width: 20, kind: "reserved-zero", label: "RsvdZ" },
});

export type HypercallResult = ValuesOf<typeof HV_HYPERCALL_RESULT>;

const F = HV_HYPERCALL_RESULT.fields;
export const RESULT_STATUS_MASK = F.status.mask;
export const RESULT_REPS_COMPLETED_MASK = F.repsCompleted.mask;

/**
 * What a handler and the dispatcher return on the hot path: the status and the reps completed in
 * one small integer (status | reps << 16: 28 bits, so V8 keeps it unboxed). For a simple call it
 * is the status itself.
 */
export const OUTCOME_REPS_SHIFT = 16;

export function packOutcome(status: number, repsCompleted: number): number {
  return (
    (status & RESULT_STATUS_MASK) |
    ((repsCompleted & RESULT_REPS_COMPLETED_MASK) << OUTCOME_REPS_SHIFT)
  );
}

export function outcomeStatus(outcome: number): number {
  return outcome & RESULT_STATUS_MASK;
}

export function outcomeReps(outcome: number): number {
  return outcome >>> OUTCOME_REPS_SHIFT;
}

/** Low half of the result value for a packed outcome (reserved bits zero). */
export function resultLo(outcome: number): number {
  return outcome & RESULT_STATUS_MASK;
}

/** High half of the result value for a packed outcome (reserved bits zero). */
export function resultHi(outcome: number): number {
  return outcome >>> OUTCOME_REPS_SHIFT;
}

export function decodeResult(lo: number, hi: number): HypercallResult {
  return HV_HYPERCALL_RESULT.decode(lo, hi);
}

export function encodeResult(r: Partial<HypercallResult>): U64Halves {
  return HV_HYPERCALL_RESULT.encode(r);
}

/** True when the reserved bits of a result value are zero. */
export function resultReservedBitsClear(lo: number, hi: number): boolean {
  return (
    (lo & HV_HYPERCALL_RESULT.reservedZeroLo) === 0 &&
    (hi & HV_HYPERCALL_RESULT.reservedZeroHi) === 0
  );
}

export function decodeResultBigInt(value: bigint): HypercallResult {
  const { lo, hi } = u64ToHalves(value);
  return decodeResult(lo, hi);
}

export function encodeResultBigInt(r: Partial<HypercallResult>): bigint {
  const { lo, hi } = encodeResult(r);
  return halvesToU64(lo, hi);
}
