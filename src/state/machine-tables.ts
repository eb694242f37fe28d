import { HV_MESSAGE_BUFFERS_PER_PORT, HV_MESSAGE_SIZE } from "../abi/hv-message.js";
import { SIEF_PAGE_BYTES, SIM_PAGE_BYTES, SINT_COUNT } from "../abi/sief-page.js";
import { MSR_STRIDE } from "./synic-registers.js";

/**
 * Every number of the modeled machine, in typed arrays indexed by slot (struct of arrays). Slots
 * are assigned at load in scenario order; the hot path works on slots only. When the machine is
 * built `shared`, every array sits on a SharedArrayBuffer and the whole object can be posted to a
 * worker thread, which then sees (and signals into) the same machine.
 *
 * The tables are declared once, in TABLES: allocation, snapshots, restore and equality all walk
 * this list, so a new table cannot be left out of any of them.
 */

/** How many of each thing the machine holds; each table's length is a multiple of one of them. */
export interface MachineCounts {
  readonly partitions: number;
  readonly vps: number;
  readonly ports: number;
  readonly connections: number;
  /** Ports of type message: each owns MESSAGE_BUFFERS_PER_PORT guest message buffers. */
  readonly messagePorts: number;
  /** Capacities of the two open-addressing lookups (powers of two). */
  readonly portCapacity: number;
  readonly connCapacity: number;
}

/** Guest message buffers per port (docs/synic.md §5): one message record each. */
export const MESSAGE_BUFFERS_PER_PORT = HV_MESSAGE_BUFFERS_PER_PORT;
/** Bytes of one queued message record: the HV_MESSAGE it will be delivered as. */
export const MESSAGE_RECORD_BYTES = HV_MESSAGE_SIZE;

type Dimension = keyof MachineCounts | "messageRecords";

interface TableSpec {
  readonly type:
    | Float64ArrayConstructor
    | Uint8ArrayConstructor
    | Uint16ArrayConstructor
    | Uint32ArrayConstructor
    | Int32ArrayConstructor;
  readonly dim: Dimension;
  /** Elements per unit of the dimension. */
  readonly per?: number;
  /** The value every element starts with (default 0). */
  readonly fill?: number;
  /** A cache computed from other tables: not state, left out of snapshots. */
  readonly derived?: true;
}

export const ANY_VP_NONE_ENABLED = -1;
export const ANY_VP_STALE = -2;
export const TARGET_VP_MISSING = -1;
export const TARGET_VP_ANY = -2;
export const NO_PORT = -1;
export const NO_MESSAGE = -1;
const LOOKUP_EMPTY = -1;

export const TABLES = {
  // Partitions, by partition slot.
  /** HV_PARTITION_ID (up to 2^53 - 1, hence f64). */
  partitionId: { type: Float64Array, dim: "partitions" },
  /** 1 = active, 0 = inactive. */
  partitionActive: { type: Uint8Array, dim: "partitions" },
  /** HV_PARTITION_PRIVILEGE_MASK bits 31:0 and 63:32. */
  privilegeLo: { type: Uint32Array, dim: "partitions" },
  privilegeHi: { type: Uint32Array, dim: "partitions" },
  /** The partition's VPs are the slots vpStart .. vpStart + vpCount - 1, ascending by VP index. */
  partitionVpStart: { type: Int32Array, dim: "partitions" },
  partitionVpCount: { type: Int32Array, dim: "partitions" },
  /** HV_ANY_VP choices: a VP slot, ANY_VP_NONE_ENABLED or ANY_VP_STALE (events; messages). */
  anyVpSief: { type: Int32Array, dim: "partitions", fill: ANY_VP_STALE, derived: true },
  anyVpSim: { type: Int32Array, dim: "partitions", fill: ANY_VP_STALE, derived: true },

  // Virtual processors, by VP slot.
  vpPartition: { type: Int32Array, dim: "vps" },
  /** HV_VP_INDEX. */
  vpIndex: { type: Uint32Array, dim: "vps" },
  /** SynIC register file: MSR_STRIDE u32 per VP (see synic-registers.ts). */
  msrs: { type: Uint32Array, dim: "vps", per: MSR_STRIDE },
  /** Interrupts asserted, per (VP slot * 16 + SINT); wraps at 2^32. */
  sintAssertions: { type: Uint32Array, dim: "vps", per: SINT_COUNT },
  /** The SIEF page of every VP, 4 KiB each, as u32 words (see SiefImage). */
  sief: { type: Uint32Array, dim: "vps", per: SIEF_PAGE_BYTES / 4 },
  /** The SIM page of every VP, 4 KiB each. */
  sim: { type: Uint8Array, dim: "vps", per: SIM_PAGE_BYTES },
  /** Message queue per (VP slot * 16 + SINT): first and last record, and length. */
  queueHead: { type: Int32Array, dim: "vps", per: SINT_COUNT, fill: NO_MESSAGE },
  queueTail: { type: Int32Array, dim: "vps", per: SINT_COUNT, fill: NO_MESSAGE },
  queueLength: { type: Uint32Array, dim: "vps", per: SINT_COUNT },

  // Ports, by port slot.
  portPartition: { type: Int32Array, dim: "ports" },
  portId: { type: Uint32Array, dim: "ports" },
  /** HV_PORT_TYPE. */
  portType: { type: Uint8Array, dim: "ports" },
  portDeleted: { type: Uint8Array, dim: "ports" },
  portTargetSint: { type: Uint8Array, dim: "ports" },
  /** The VP index as the port names it (HV_ANY_VP included). */
  portTargetVp: { type: Uint32Array, dim: "ports" },
  /** The target VP resolved at load: a VP slot, TARGET_VP_ANY or TARGET_VP_MISSING. */
  portTargetVpSlot: { type: Int32Array, dim: "ports" },
  portBaseFlag: { type: Uint16Array, dim: "ports" },
  portFlagCount: { type: Uint16Array, dim: "ports" },
  /** A message port's ordinal among message ports (its buffers' index), else -1. */
  portMessageOrdinal: { type: Int32Array, dim: "ports", fill: -1 },

  // Guest message buffers: 16 per message port, record r = ordinal * 16 + buffer.
  /** Bit b set: buffer b of the port holds a queued message. */
  messageBuffersUsed: { type: Uint16Array, dim: "messagePorts" },
  /** The next record in the same queue, or NO_MESSAGE. */
  messageNext: { type: Int32Array, dim: "messageRecords", fill: NO_MESSAGE },
  /** Each record's HV_MESSAGE, as it will be written into the SIM slot. */
  messageBytes: { type: Uint8Array, dim: "messageRecords", per: MESSAGE_RECORD_BYTES },

  // Connections, by connection slot.
  connOwner: { type: Int32Array, dim: "connections" },
  connId: { type: Uint32Array, dim: "connections" },
  /** The partition slot that owns the named port. */
  connPortPartition: { type: Int32Array, dim: "connections" },
  connPortId: { type: Uint32Array, dim: "connections" },
  /** The port resolved at load: a port slot or NO_PORT. */
  connPortSlot: { type: Int32Array, dim: "connections" },

  // (owning partition slot, id) -> slot lookups (see PairHashTable).
  portLookupOwners: { type: Int32Array, dim: "portCapacity", fill: LOOKUP_EMPTY },
  portLookupIds: { type: Uint32Array, dim: "portCapacity" },
  portLookupValues: { type: Int32Array, dim: "portCapacity" },
  connLookupOwners: { type: Int32Array, dim: "connCapacity", fill: LOOKUP_EMPTY },
  connLookupIds: { type: Uint32Array, dim: "connCapacity" },
  connLookupValues: { type: Int32Array, dim: "connCapacity" },
} as const satisfies Readonly<Record<string, TableSpec>>;

export type TableName = keyof typeof TABLES;

/** The array a table constructor makes, on either kind of buffer. */
type ArrayOf<C> = C extends Float64ArrayConstructor
  ? Float64Array
  : C extends Uint8ArrayConstructor
    ? Uint8Array
    : C extends Uint16ArrayConstructor
      ? Uint16Array
      : C extends Uint32ArrayConstructor
        ? Uint32Array
        : Int32Array;

export type MachineTables = {
  readonly shared: boolean;
  readonly counts: MachineCounts;
} & { readonly [K in TableName]: ArrayOf<(typeof TABLES)[K]["type"]> };

/** The tables that hold state (every table but the derived caches), in declaration order. */
export const STATE_TABLES: readonly TableName[] = (Object.keys(TABLES) as TableName[]).filter(
  (name) => !("derived" in TABLES[name]),
);

/** The derived caches: reset to their fill value whenever the state is replaced. */
export const DERIVED_TABLES: readonly TableName[] = (Object.keys(TABLES) as TableName[]).filter(
  (name) => "derived" in TABLES[name],
);

function lengthOf(spec: TableSpec, counts: MachineCounts): number {
  const units =
    spec.dim === "messageRecords"
      ? counts.messagePorts * MESSAGE_BUFFERS_PER_PORT
      : counts[spec.dim];
  return units * (spec.per ?? 1);
}

/**
 * Allocates every table, zero-filled or at its fill value. Built with Object.fromEntries: an
 * object given ~50 properties one keyed store at a time drops into V8's dictionary mode, and every
 * `t.table` load on the hot path then costs a hash lookup (measured: dispatch 3x slower).
 */
export function allocateTables(counts: MachineCounts, shared: boolean): MachineTables {
  const tables = (Object.keys(TABLES) as TableName[]).map((name) => {
    const spec: TableSpec = TABLES[name];
    const length = lengthOf(spec, counts);
    const bytes = length * spec.type.BYTES_PER_ELEMENT;
    const buffer: ArrayBufferLike = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
    const array = new (spec.type as new (buffer: ArrayBufferLike) => ArrayOf<TableSpec["type"]>)(
      buffer,
    );
    if (spec.fill !== undefined && spec.fill !== 0) array.fill(spec.fill);
    return [name, array] as const;
  });
  return Object.fromEntries([["shared", shared], ["counts", counts], ...tables]) as MachineTables;
}

/** Puts every derived cache back to its starting value (after the state was replaced). */
export function resetDerivedTables(t: MachineTables): void {
  for (const name of DERIVED_TABLES) {
    const spec: TableSpec = TABLES[name];
    t[name].fill(spec.fill ?? 0);
  }
}
