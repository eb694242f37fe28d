/**
 * SynIC behaviour of the trace model: MSR reads and writes (synic.md §1), message delivery and the
 * EOM / EOI rescan (synic.md §3-§4), event flags in the SIEF page bytes (synic.md §2).
 */
import {
  bit,
  field,
  MSR_EOM,
  MSR_SCONTROL,
  MSR_SIEFP,
  MSR_SIMP,
  MSR_SINT0,
  MSR_SINT15,
  MSR_SVERSION,
  readLe,
  SINT_AREA_SIZE,
  SINT_COUNT,
  SVERSION_VALUE,
  writeLe,
} from "./trace-model-basics.js";
import type { Vp } from "./trace-model-machine.js";

// ---------------------------------------------------------------------------------------------
// Register bits (synic.md §1)
// ---------------------------------------------------------------------------------------------

export function synicEnabled(vp: Vp): boolean {
  return bit(vp.scontrol, 0);
}

export function siefEnabled(vp: Vp): boolean {
  return bit(vp.siefp, 0);
}

export function simEnabled(vp: Vp): boolean {
  return bit(vp.simp, 0);
}

export function sintMaskedBit(vp: Vp, sint: number): boolean {
  return bit(vp.sints[sint]!, 16);
}

export function sintPolling(vp: Vp, sint: number): boolean {
  return bit(vp.sints[sint]!, 18);
}

// ---------------------------------------------------------------------------------------------
// MSR access
// ---------------------------------------------------------------------------------------------

/** A guest rdmsr: the value, or undefined for #GP. */
export function readMsr(vp: Vp, msr: number): bigint | undefined {
  if (msr === MSR_SCONTROL) {
    return vp.scontrol;
  }
  if (msr === MSR_SVERSION) {
    return SVERSION_VALUE;
  }
  if (msr === MSR_SIEFP) {
    return vp.siefp;
  }
  if (msr === MSR_SIMP) {
    return vp.simp;
  }
  if (msr === MSR_EOM) {
    return 0n;
  }
  if (msr >= MSR_SINT0 && msr <= MSR_SINT15) {
    return vp.sints[msr - MSR_SINT0]!;
  }
  return undefined;
}

/** A guest wrmsr: true when it took effect, false for #GP (nothing changed). */
export function writeMsr(vp: Vp, msr: number, value: bigint): boolean {
  if (msr === MSR_SCONTROL) {
    vp.scontrol = value;
    return true;
  }
  if (msr === MSR_SIEFP) {
    vp.siefp = value;
    return true;
  }
  if (msr === MSR_SIMP) {
    vp.simp = value;
    return true;
  }
  if (msr === MSR_EOM) {
    rescan(vp);
    return true;
  }
  if (msr >= MSR_SINT0 && msr <= MSR_SINT15) {
    const unmasked = !bit(value, 16);
    const vector = field(value, 7, 0);
    if (unmasked && vector < 16n) {
      return false;
    }
    vp.sints[msr - MSR_SINT0] = value;
    return true;
  }
  // SVERSION (read only) and every MSR outside synic.md §1's table.
  return false;
}

// ---------------------------------------------------------------------------------------------
// Event flags (synic.md §2)
// ---------------------------------------------------------------------------------------------

/** Whether flag `flag` of SINT `sint` is set in the VP's SIEF page bytes. */
export function flagIsSet(vp: Vp, sint: number, flag: number): boolean {
  const byte = vp.sief[sint * SINT_AREA_SIZE + Math.floor(flag / 8)]!;
  return ((byte >> (flag % 8)) & 1) === 1;
}

export function setFlag(vp: Vp, sint: number, flag: number): void {
  const at = sint * SINT_AREA_SIZE + Math.floor(flag / 8);
  vp.sief[at] = vp.sief[at]! | (1 << (flag % 8));
}

// ---------------------------------------------------------------------------------------------
// Message delivery (synic.md §3-§4)
// ---------------------------------------------------------------------------------------------

export type DeliveryResult =
  | "synic-off" // SCONTROL.Enable or SIMP.Enable is 0: nothing happens
  | "queue-empty" // nothing to deliver
  | "delivered" // head written into the slot, interrupt asserted
  | "delivered-interrupt-lost" // head written, SINT masked or polling: no interrupt
  | "slot-busy"; // slot occupied: MessagePending set, nothing delivered

export function slotIsEmpty(vp: Vp, sint: number): boolean {
  return readLe(vp.sim, sint * SINT_AREA_SIZE, 4) === 0n;
}

/** One delivery attempt for (VP, SINT). */
export function deliveryAttempt(vp: Vp, sint: number): DeliveryResult {
  if (!synicEnabled(vp) || !simEnabled(vp)) {
    return "synic-off";
  }
  const queue = vp.queues[sint]!;
  const head = queue[0];
  if (head === undefined) {
    return "queue-empty";
  }
  const base = sint * SINT_AREA_SIZE;
  if (!slotIsEmpty(vp, sint)) {
    vp.sim[base + 5] = vp.sim[base + 5]! | 1;
    return "slot-busy";
  }
  // Dequeueing the head frees its buffer: a port's buffers in use are its queued messages.
  queue.shift();
  for (let i = 0; i < SINT_AREA_SIZE; i++) {
    vp.sim[base + i] = 0;
  }
  writeLe(vp.sim, base + 0, 4, BigInt(head.messageType));
  vp.sim[base + 4] = head.payload.length;
  vp.sim[base + 5] = queue.length > 0 ? 1 : 0;
  // bytes 6..7 reserved: zero
  writeLe(vp.sim, base + 8, 8, BigInt(head.portId));
  head.payload.forEach((b, i) => {
    vp.sim[base + 16 + i] = b;
  });
  if (sintMaskedBit(vp, sint) || sintPolling(vp, sint)) {
    return "delivered-interrupt-lost";
  }
  vp.assertions[sint] = vp.assertions[sint]! + 1;
  return "delivered";
}

/** EOM write or EOI: one delivery attempt for every SINT 0..15, in order. */
export function rescan(vp: Vp): void {
  for (let sint = 0; sint < SINT_COUNT; sint++) {
    deliveryAttempt(vp, sint);
  }
}
