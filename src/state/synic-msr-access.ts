import {
  HvSynicMsr,
  SINT_MASKED_BIT,
  SINT_MIN_VECTOR,
  SINT_VECTOR_MASK,
  SYNIC_VERSION,
} from "../abi/synic-msr.js";
import { halvesToU64 } from "../abi/u64.js";
import type { Machine } from "./machine.js";
import { rescanMessages } from "./message-queues.js";
import {
  MSR_SCONTROL,
  MSR_SIEFP,
  MSR_SIMP,
  MSR_SINT0,
  MSR_STRIDE,
  msrOffset,
} from "./synic-registers.js";

/**
 * A guest's RDMSR and WRMSR of the SynIC MSRs, with the rules of docs/synic.md §1: values are
 * stored as written (RsvdP bits included); SVERSION is read-only; EOM reads 0 and its write starts
 * the message rescan; an unmasked SINT with a vector below 16 is refused; any other MSR number is a
 * #GP. A refused access changes nothing.
 */
export type MsrOutcome = "ok" | "#GP";

/** The guest's WRMSR on VP slot `v`; the value as u32 halves. */
export function guestWriteMsr(
  machine: Machine,
  v: number,
  msr: number,
  lo: number,
  hi: number,
): MsrOutcome {
  if (msr === HvSynicMsr.EOM) {
    rescanMessages(machine, v);
    return "ok";
  }
  const off = msrOffset(msr);
  if (off < 0) return "#GP"; // SVERSION (read-only) and every MSR the SynIC does not have.
  if (
    off >= MSR_SINT0 &&
    (lo & SINT_MASKED_BIT) === 0 &&
    (lo & SINT_VECTOR_MASK) < SINT_MIN_VECTOR
  ) {
    return "#GP";
  }
  const t = machine.tables;
  const base = v * MSR_STRIDE + off;
  t.msrs[base] = lo;
  t.msrs[base + 1] = hi;
  if (off === MSR_SCONTROL || off === MSR_SIEFP || off === MSR_SIMP) {
    machine.synicStateChanged(t.vpPartition[v]!, off !== MSR_SCONTROL);
  }
  return "ok";
}

/** The guest's RDMSR on VP slot `v`: the value, or undefined for #GP. */
export function guestReadMsr(machine: Machine, v: number, msr: number): bigint | undefined {
  return guestReadMsrInto(machine, v, msr, msrValue)
    ? halvesToU64(msrValue.lo, msrValue.hi)
    : undefined;
}

/** The value of an RDMSR as halves (the hot path fills one of these). */
export interface MsrValue {
  lo: number;
  hi: number;
}

const msrValue: MsrValue = { lo: 0, hi: 0 };

/** guestReadMsr without BigInt: the value into `out`; false for #GP (out untouched). */
export function guestReadMsrInto(machine: Machine, v: number, msr: number, out: MsrValue): boolean {
  if (msr === HvSynicMsr.SVERSION) {
    out.lo = SYNIC_VERSION;
    out.hi = 0;
    return true;
  }
  if (msr === HvSynicMsr.EOM) {
    out.lo = out.hi = 0;
    return true;
  }
  const off = msrOffset(msr);
  if (off < 0) return false;
  const base = v * MSR_STRIDE + off;
  out.lo = machine.tables.msrs[base]!;
  out.hi = machine.tables.msrs[base + 1]!;
  return true;
}
