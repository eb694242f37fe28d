import { halvesToU64, type U64Halves, u64ToHalves } from "./u64.js";

/**
 * The hypercall control (input) value, 64 bits, passed in RCX on x64 (TLFS "Hypercall Interface" >
 * "Hypercall Inputs"). On the hot path it travels as two u32 halves: `lo` = bits 31:0,
 * `hi` = bits 63:32. A BigInt API is offered for callers that hold the value as one number.
 *
 * | bits  | field                              |
 * |-------|------------------------------------|
 * | 15:0  | call code                          |
 * | 16    | fast                               |
 * | 26:17 | variable header size (8-byte units)|
 * | 30:27 | RsvdZ                              |
 * | 31    | is nested                          |
 * | 43:32 | rep count                          |
 * | 47:44 | RsvdZ                              |
 * | 59:48 | rep start index                    |
 * | 63:60 | RsvdZ                              |
 */

// Low half (bits 31:0).
export const CONTROL_CALL_CODE_MASK = 0x0000ffff;
export const CONTROL_FAST_BIT = 0x00010000;
export const CONTROL_VARIABLE_HEADER_SHIFT = 17;
export const CONTROL_VARIABLE_HEADER_MASK = 0x3ff; // 10 bits, after shifting
export const CONTROL_RSVD_27_30_SHIFT = 27;
export const CONTROL_RSVD_27_30_MASK = 0xf; // 4 bits, after shifting
export const CONTROL_NESTED_BIT = 0x80000000;
// High half (bits 63:32), positions relative to bit 32.
export const CONTROL_REP_COUNT_MASK = 0xfff; // bits 43:32
export const CONTROL_RSVD_44_47_SHIFT = 12;
export const CONTROL_RSVD_44_47_MASK = 0xf; // bits 47:44
export const CONTROL_REP_START_SHIFT = 16;
export const CONTROL_REP_START_MASK = 0xfff; // bits 59:48
export const CONTROL_RSVD_60_63_SHIFT = 28;
export const CONTROL_RSVD_60_63_MASK = 0xf; // bits 63:60

/** The control value with every field named. */
export interface HypercallControl {
  readonly callCode: number;
  readonly fast: boolean;
  readonly variableHeaderSize: number;
  /** Bits 30:27, RsvdZ. */
  readonly reserved27to30: number;
  readonly isNested: boolean;
  readonly repCount: number;
  /** Bits 47:44, RsvdZ. */
  readonly reserved44to47: number;
  readonly repStartIndex: number;
  /** Bits 63:60, RsvdZ. */
  readonly reserved60to63: number;
}

export function decodeControl(lo: number, hi: number): HypercallControl {
  return {
    callCode: lo & CONTROL_CALL_CODE_MASK,
    fast: (lo & CONTROL_FAST_BIT) !== 0,
    variableHeaderSize: (lo >>> CONTROL_VARIABLE_HEADER_SHIFT) & CONTROL_VARIABLE_HEADER_MASK,
    reserved27to30: (lo >>> CONTROL_RSVD_27_30_SHIFT) & CONTROL_RSVD_27_30_MASK,
    isNested: (lo & CONTROL_NESTED_BIT) !== 0,
    repCount: hi & CONTROL_REP_COUNT_MASK,
    reserved44to47: (hi >>> CONTROL_RSVD_44_47_SHIFT) & CONTROL_RSVD_44_47_MASK,
    repStartIndex: (hi >>> CONTROL_REP_START_SHIFT) & CONTROL_REP_START_MASK,
    reserved60to63: (hi >>> CONTROL_RSVD_60_63_SHIFT) & CONTROL_RSVD_60_63_MASK,
  };
}

/** Encodes the fields back; each field is truncated to its width. */
export function encodeControl(c: HypercallControl): U64Halves {
  const lo =
    (c.callCode & CONTROL_CALL_CODE_MASK) |
    (c.fast ? CONTROL_FAST_BIT : 0) |
    ((c.variableHeaderSize & CONTROL_VARIABLE_HEADER_MASK) << CONTROL_VARIABLE_HEADER_SHIFT) |
    ((c.reserved27to30 & CONTROL_RSVD_27_30_MASK) << CONTROL_RSVD_27_30_SHIFT) |
    (c.isNested ? CONTROL_NESTED_BIT : 0);
  const hi =
    (c.repCount & CONTROL_REP_COUNT_MASK) |
    ((c.reserved44to47 & CONTROL_RSVD_44_47_MASK) << CONTROL_RSVD_44_47_SHIFT) |
    ((c.repStartIndex & CONTROL_REP_START_MASK) << CONTROL_REP_START_SHIFT) |
    ((c.reserved60to63 & CONTROL_RSVD_60_63_MASK) << CONTROL_RSVD_60_63_SHIFT);
  return { lo: lo >>> 0, hi: hi >>> 0 };
}

/**
 * Which rule of a simple call's control value is broken (signal-event spec §1). Checked in this
 * order; `None` when the value is valid for a simple call.
 */
export const ControlRule = {
  None: 0,
  VariableHeaderNotZero: 1,
  Reserved27to30NotZero: 2,
  IsNestedSet: 3,
  RepCountNotZero: 4,
  Reserved44to47NotZero: 5,
  RepStartIndexNotZero: 6,
  Reserved60to63NotZero: 7,
} as const;

export type ControlRuleValue = (typeof ControlRule)[keyof typeof ControlRule];

export const CONTROL_RULE_NAMES: Readonly<Record<ControlRuleValue, string>> = {
  0: "none",
  1: "variable header size (bits 26:17) must be 0",
  2: "RsvdZ bits 30:27 must be 0",
  3: "is-nested (bit 31) must be 0",
  4: "rep count (bits 43:32) must be 0 for a simple call",
  5: "RsvdZ bits 47:44 must be 0",
  6: "rep start index (bits 59:48) must be 0 for a simple call",
  7: "RsvdZ bits 63:60 must be 0",
};

/** Bits of the low half that a simple, non-nested call with no variable header may set. */
const SIMPLE_CALL_LO_ALLOWED = CONTROL_CALL_CODE_MASK | CONTROL_FAST_BIT;

/**
 * Validates a control value for a simple call with no variable header, non-nested.
 * Allocation-free: returns the first broken rule (a small integer) or ControlRule.None.
 */
export function checkSimpleCallControl(lo: number, hi: number): ControlRuleValue {
  if ((lo & ~SIMPLE_CALL_LO_ALLOWED) === 0 && hi === 0) return ControlRule.None;
  if ((lo >>> CONTROL_VARIABLE_HEADER_SHIFT) & CONTROL_VARIABLE_HEADER_MASK)
    return ControlRule.VariableHeaderNotZero;
  if ((lo >>> CONTROL_RSVD_27_30_SHIFT) & CONTROL_RSVD_27_30_MASK)
    return ControlRule.Reserved27to30NotZero;
  if (lo & CONTROL_NESTED_BIT) return ControlRule.IsNestedSet;
  if (hi & CONTROL_REP_COUNT_MASK) return ControlRule.RepCountNotZero;
  if ((hi >>> CONTROL_RSVD_44_47_SHIFT) & CONTROL_RSVD_44_47_MASK)
    return ControlRule.Reserved44to47NotZero;
  if ((hi >>> CONTROL_REP_START_SHIFT) & CONTROL_REP_START_MASK)
    return ControlRule.RepStartIndexNotZero;
  return ControlRule.Reserved60to63NotZero;
}

/** Every rule the control value breaks for a simple call, in bit order (for `hvcall decode`). */
export function simpleCallControlViolations(c: HypercallControl): ControlRuleValue[] {
  const out: ControlRuleValue[] = [];
  if (c.variableHeaderSize !== 0) out.push(ControlRule.VariableHeaderNotZero);
  if (c.reserved27to30 !== 0) out.push(ControlRule.Reserved27to30NotZero);
  if (c.isNested) out.push(ControlRule.IsNestedSet);
  if (c.repCount !== 0) out.push(ControlRule.RepCountNotZero);
  if (c.reserved44to47 !== 0) out.push(ControlRule.Reserved44to47NotZero);
  if (c.repStartIndex !== 0) out.push(ControlRule.RepStartIndexNotZero);
  if (c.reserved60to63 !== 0) out.push(ControlRule.Reserved60to63NotZero);
  return out;
}

export function decodeControlBigInt(value: bigint): HypercallControl {
  const { lo, hi } = u64ToHalves(value);
  return decodeControl(lo, hi);
}

export function encodeControlBigInt(c: HypercallControl): bigint {
  const { lo, hi } = encodeControl(c);
  return halvesToU64(lo, hi);
}
