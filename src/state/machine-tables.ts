import type { PairHashTableArrays } from "./pair-hash-table.js";

/**
 * Every number of the modeled machine, in typed arrays indexed by slot (struct of arrays). Slots
 * are assigned at load in scenario order; the hot path works on slots only. When the machine is
 * built `shared`, every array sits on a SharedArrayBuffer and the whole object can be posted to a
 * worker thread, which then sees (and signals into) the same machine.
 */
export interface MachineTables {
  readonly shared: boolean;

  // Partitions, by partition slot.
  /** HV_PARTITION_ID (up to 2^53 - 1, hence f64). */
  readonly partitionId: Float64Array;
  /** 1 = active, 0 = inactive. */
  readonly partitionActive: Uint8Array;
  /** HV_PARTITION_PRIVILEGE_MASK bits 31:0. */
  readonly privilegeLo: Uint32Array;
  /** HV_PARTITION_PRIVILEGE_MASK bits 63:32. */
  readonly privilegeHi: Uint32Array;
  /** The partition's VPs are the slots vpStart .. vpStart + vpCount - 1, ascending by VP index. */
  readonly partitionVpStart: Int32Array;
  readonly partitionVpCount: Int32Array;
  /** HV_ANY_VP selection cache: a VP slot, ANY_VP_NONE_ENABLED, or ANY_VP_STALE. */
  readonly anyVpCache: Int32Array;

  // Virtual processors, by VP slot.
  readonly vpPartition: Int32Array;
  /** HV_VP_INDEX. */
  readonly vpIndex: Uint32Array;
  /** SynIC register file: MSR_STRIDE u32 per VP (see synic-registers.ts). */
  readonly msrs: Uint32Array;
  /** Edge-triggered interrupts asserted, per (VP slot * 16 + SINT); wraps at 2^32. */
  readonly sintAssertions: Uint32Array;
  /** The SIEF image's backing store: 4 KiB per VP slot. */
  readonly siefBuffer: ArrayBufferLike;

  // Ports, by port slot.
  readonly portPartition: Int32Array;
  readonly portId: Uint32Array;
  /** HV_PORT_TYPE. */
  readonly portType: Uint8Array;
  readonly portDeleted: Uint8Array;
  readonly portTargetSint: Uint8Array;
  /** The VP index as the port names it (HV_ANY_VP included). */
  readonly portTargetVp: Uint32Array;
  /** The target VP resolved at load: a VP slot, TARGET_VP_ANY or TARGET_VP_MISSING. */
  readonly portTargetVpSlot: Int32Array;
  readonly portBaseFlag: Uint16Array;
  readonly portFlagCount: Uint16Array;
  /** (owning partition slot, port id) -> port slot. */
  readonly portLookup: PairHashTableArrays;

  // Connections, by connection slot.
  readonly connOwner: Int32Array;
  readonly connId: Uint32Array;
  /** The partition slot that owns the named port. */
  readonly connPortPartition: Int32Array;
  readonly connPortId: Uint32Array;
  /** The port resolved at load: a port slot or NO_PORT. */
  readonly connPortSlot: Int32Array;
  /** (owning partition slot, connection id) -> connection slot. */
  readonly connLookup: PairHashTableArrays;
}

export const ANY_VP_NONE_ENABLED = -1;
export const ANY_VP_STALE = -2;
export const TARGET_VP_MISSING = -1;
export const TARGET_VP_ANY = -2;
export const NO_PORT = -1;
