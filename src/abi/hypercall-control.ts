import { type BitField, BitLayout, type ValuesOf } from "./bit-layout.js";
import { halvesToU64, type U64Halves, u64ToHalves } from "./u64.js";

/**
 * The hypercall control (input) value, 64 bits in RCX on x64 (TLFS "Hypercall Interface" >
 * "Hypercall Inputs"; docs/hypercall-abi.md §1). Declared once; every mask below is derived.
 */
export const HV_HYPERCALL_CONTROL = new BitLayout("hypercall control value", 64, {
  callCode: { lsb: 0, width: 16, label: "call code" },
  fast: { lsb: 16, width: 1, kind: "flag", label: "fast" },
  variableHeaderSize: { lsb: 17, width: 10, label: "variable header size" },
  reserved27to30: { lsb: 27, width: 4, kind: "reserved-zero", label: "RsvdZ" },
  isNested: { lsb: 31, width: 1, kind: "flag", label: "is nested" },
  repCount: { lsb: 32, width: 12, label: "rep count" },
  reserved44to47: { lsb: 44, width: 4, kind: "reserved-zero", label: "RsvdZ" },
  repStartIndex: { lsb: 48, width: 12, label: "rep start index" },
  reserved60to63: { lsb: 60, width: 4, kind: "reserved-zero", label: "RsvdZ" },
});

/** The control value with every field named. */
export type HypercallControl = ValuesOf<typeof HV_HYPERCALL_CONTROL>;

const F = HV_HYPERCALL_CONTROL.fields;

// Hot-path masks and shifts (u32 halves), derived from the table above.
export const CONTROL_CALL_CODE_MASK = F.callCode.inPlace;
export const CONTROL_FAST_BIT = F.fast.inPlace;
export const CONTROL_VARIABLE_HEADER_SHIFT = F.variableHeaderSize.shift;
export const CONTROL_VARIABLE_HEADER_MASK = F.variableHeaderSize.mask;
export const CONTROL_NESTED_BIT = F.isNested.inPlace;
export const CONTROL_REP_COUNT_MASK = F.repCount.mask;
export const CONTROL_REP_START_SHIFT = F.repStartIndex.shift;
export const CONTROL_REP_START_MASK = F.repStartIndex.mask;
/** Variable header size is counted in 8-byte units. */
export const VARIABLE_HEADER_UNIT_BYTES = 8;

export function decodeControl(lo: number, hi: number): HypercallControl {
  return HV_HYPERCALL_CONTROL.decode(lo, hi);
}

export function encodeControl(c: Partial<HypercallControl>): U64Halves {
  return HV_HYPERCALL_CONTROL.encode(c);
}

export function decodeControlBigInt(value: bigint): HypercallControl {
  const { lo, hi } = u64ToHalves(value);
  return decodeControl(lo, hi);
}

export function encodeControlBigInt(c: Partial<HypercallControl>): bigint {
  const { lo, hi } = encodeControl(c);
  return halvesToU64(lo, hi);
}

/** What the control-value rules of a call depend on (a handler row declares these). */
export interface CallShape {
  /** The TLFS name, e.g. "HvCallSignalEvent". */
  readonly name: string;
  readonly kind: "simple" | "rep";
  readonly fastAllowed: boolean;
  readonly variableHeaderAllowed: boolean;
}

/** The control bits a call may set, per half (the hot path's allowed masks). */
export function allowedControlBits(shape: CallShape): U64Halves {
  const lo =
    F.callCode.inPlace |
    (shape.fastAllowed ? F.fast.inPlace : 0) |
    (shape.variableHeaderAllowed ? F.variableHeaderSize.inPlace : 0);
  const hi = shape.kind === "rep" ? F.repCount.inPlace | F.repStartIndex.inPlace : 0;
  return { lo: lo >>> 0, hi: hi >>> 0 };
}

/** One broken rule of the control value: the field and a sentence naming it and its value. */
export interface ControlViolation {
  readonly field: BitField;
  readonly value: number;
  readonly rule: string;
}

function ruleFor(field: BitField, shape: CallShape): string {
  const where = `${field.label} (${field.bits})`;
  switch (field.name) {
    case "fast":
      return `${where} must be 0: ${shape.name} takes its input from guest memory only`;
    case "variableHeaderSize":
      return `${where} must be 0: ${shape.name} has no variable header`;
    case "isNested":
      return `${where} must be 0: hvcall does not model a nested hypervisor`;
    case "repCount":
    case "repStartIndex":
      return `${where} must be 0: ${shape.name} is a simple call`;
    default:
      return `${field.label} ${field.bits} must be 0`;
  }
}

/**
 * Every rule of the control value a call breaks, in bit order (docs/hypercall-abi.md §1, §5):
 * fields the call may not set that are not zero, then for a rep call a rep count of 0 or a rep
 * start index at or past the rep count. Not on the hot path (decode, --explain).
 */
export function controlViolations(lo: number, hi: number, shape: CallShape): ControlViolation[] {
  const allowed = allowedControlBits(shape);
  const out: ControlViolation[] = [];
  for (const field of HV_HYPERCALL_CONTROL.list) {
    const inHalf = field.half === 0 ? lo : hi;
    const allowedHalf = field.half === 0 ? allowed.lo : allowed.hi;
    if ((inHalf & field.inPlace & ~allowedHalf) === 0) continue;
    const value = Number(HV_HYPERCALL_CONTROL.get(field, lo, hi));
    out.push({ field, value, rule: `${ruleFor(field, shape)} (it is ${value})` });
  }
  if (shape.kind === "rep") {
    const count = (hi >>> 0) & F.repCount.mask;
    const start = (hi >>> F.repStartIndex.shift) & F.repStartIndex.mask;
    if (count === 0) {
      out.push({
        field: F.repCount,
        value: 0,
        rule: `${F.repCount.label} (${F.repCount.bits}) must be at least 1 for the rep call ${shape.name}`,
      });
    } else if (start >= count) {
      out.push({
        field: F.repStartIndex,
        value: start,
        rule: `${F.repStartIndex.label} ${start} must be below the rep count ${count}`,
      });
    }
  }
  return out;
}

/** Every rule broken for a simple call that allows fast input (what `hvcall decode` shows). */
export function simpleCallViolations(lo: number, hi: number, name = "this call"): string[] {
  return controlViolations(lo, hi, {
    name,
    kind: "simple",
    fastAllowed: true,
    variableHeaderAllowed: false,
  }).map((v) => v.rule);
}
