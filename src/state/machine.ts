import { HvPortType } from "../abi/port-type.js";
import { SINT_COUNT } from "../abi/sief-page.js";
import { SCONTROL_ENABLE_BIT, SINT_VECTOR_MASK, SYNIC_PAGE_ENABLE_BIT } from "../abi/synic-msr.js";
import { halvesToU64, u64ToHalves } from "../abi/u64.js";
import { GuestMemory } from "./guest-memory.js";
import { MachineSnapshot } from "./machine-snapshot.js";
import { ANY_VP_NONE_ENABLED, ANY_VP_STALE, type MachineTables } from "./machine-tables.js";
import { NOT_FOUND, PairHashTable } from "./pair-hash-table.js";
import { SiefImage } from "./sief-image.js";
import {
  checkSint,
  MSR_SCONTROL,
  MSR_SIEFP,
  MSR_SINT0,
  MSR_STRIDE,
  msrOffset,
  SynicRegisters,
} from "./synic-registers.js";

/** Called once per edge-triggered interrupt the machine asserts (a flag's 0 -> 1 transition). */
export type SintAssertionListener = (
  partitionId: number,
  vpIndex: number,
  sint: number,
  vector: number,
) => void;

/**
 * The modeled machine: partitions, their VPs with SynIC registers, ports, connections, the SIEF
 * image and guest memory. Guest-visible effects happen only through the dispatcher; the methods
 * here are the host's (the emulator's) view, and they throw RangeError on host misuse (an unknown
 * partition id, a SINT of 16, ...).
 */
export class Machine {
  readonly tables: MachineTables;
  readonly sief: SiefImage;
  readonly portLookup: PairHashTable;
  readonly connLookup: PairHashTable;
  /** Guest memory per partition slot (not shared between threads). */
  readonly memory: readonly GuestMemory[];
  private readonly slotById = new Map<number, number>();
  private listeners: SintAssertionListener[] = [];

  constructor(tables: MachineTables, memory?: readonly GuestMemory[]) {
    this.tables = tables;
    this.sief = new SiefImage(tables.vpIndex.length, { buffer: tables.siefBuffer });
    this.portLookup = new PairHashTable(tables.portLookup);
    this.connLookup = new PairHashTable(tables.connLookup);
    const n = tables.partitionId.length;
    this.memory = memory ?? Array.from({ length: n }, () => new GuestMemory());
    for (let p = 0; p < n; p++) this.slotById.set(tables.partitionId[p]!, p);
  }

  get partitionCount(): number {
    return this.tables.partitionId.length;
  }
  get vpCount(): number {
    return this.tables.vpIndex.length;
  }
  get portCount(): number {
    return this.tables.portId.length;
  }
  get connectionCount(): number {
    return this.tables.connId.length;
  }

  // ---- lookups -----------------------------------------------------------------------------

  /** The slot of a partition id, or -1. */
  partitionSlot(partitionId: number): number {
    return this.slotById.get(partitionId) ?? -1;
  }

  /** The slot of a partition id; throws (host misuse) when there is none. */
  requirePartition(partitionId: number): number {
    const p = this.partitionSlot(partitionId);
    if (p < 0) throw new RangeError(`no partition with id ${partitionId}`);
    return p;
  }

  /** The VP slot of (partition slot, VP index), or -1. Binary search over the sorted VP run. */
  vpSlot(partitionSlot: number, vpIndex: number): number {
    const t = this.tables;
    let lo = t.partitionVpStart[partitionSlot]!;
    let hi = lo + t.partitionVpCount[partitionSlot]! - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = t.vpIndex[mid]!;
      if (at === vpIndex) return mid;
      if (at < vpIndex) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  requireVp(partitionId: number, vpIndex: number): number {
    const v = this.vpSlot(this.requirePartition(partitionId), vpIndex);
    if (v < 0) throw new RangeError(`partition ${partitionId} has no VP with index ${vpIndex}`);
    return v;
  }

  /** The port slot of (partition id, port id), or -1. */
  portSlot(partitionId: number, portId: number): number {
    const p = this.partitionSlot(partitionId);
    return p < 0 || !isU32(portId) ? NOT_FOUND : this.portLookup.get(p, portId);
  }

  /** The connection slot of (owning partition id, connection id), or -1. */
  connectionSlot(partitionId: number, connectionId: number): number {
    const p = this.partitionSlot(partitionId);
    return p < 0 || !isU32(connectionId) ? NOT_FOUND : this.connLookup.get(p, connectionId);
  }

  // ---- partitions --------------------------------------------------------------------------

  isPartitionActive(partitionId: number): boolean {
    return this.tables.partitionActive[this.requirePartition(partitionId)] === 1;
  }

  setPartitionActive(partitionId: number, active: boolean): void {
    if (typeof active !== "boolean") {
      throw new TypeError(
        `setPartitionActive: active must be true or false, got ${String(active)}`,
      );
    }
    this.tables.partitionActive[this.requirePartition(partitionId)] = active ? 1 : 0;
  }

  privilegeMask(partitionId: number): bigint {
    const p = this.requirePartition(partitionId);
    return halvesToU64(this.tables.privilegeLo[p]!, this.tables.privilegeHi[p]!);
  }

  setPrivilegeMask(partitionId: number, mask: bigint): void {
    const p = this.requirePartition(partitionId);
    const { lo, hi } = u64ToHalves(requireU64(mask, "privilege mask"));
    this.tables.privilegeLo[p] = lo;
    this.tables.privilegeHi[p] = hi;
  }

  // ---- SynIC registers ---------------------------------------------------------------------

  synic(partitionId: number, vpIndex: number): SynicRegisters {
    return new SynicRegisters(this.tables.msrs, this.requireVp(partitionId, vpIndex) * MSR_STRIDE);
  }

  readMsr(partitionId: number, vpIndex: number, msr: number): bigint {
    const v = this.requireVp(partitionId, vpIndex);
    const off = requireMsr(msr);
    const base = v * MSR_STRIDE + off;
    return halvesToU64(this.tables.msrs[base]!, this.tables.msrs[base + 1]!);
  }

  /** Writes a SynIC MSR (SCONTROL, SIEFP, SIMP, SINT0..15) as the VP's guest would. */
  writeMsr(partitionId: number, vpIndex: number, msr: number, value: bigint): void {
    const v = this.requireVp(partitionId, vpIndex);
    const off = requireMsr(msr);
    const { lo, hi } = u64ToHalves(requireU64(value, `MSR 0x${msr.toString(16)} value`));
    const base = v * MSR_STRIDE + off;
    this.tables.msrs[base] = lo;
    this.tables.msrs[base + 1] = hi;
    if (off === MSR_SCONTROL || off === MSR_SIEFP) {
      this.tables.anyVpCache[this.tables.vpPartition[v]!] = ANY_VP_STALE;
    }
  }

  /** True when the VP slot's SynIC and SIEF page are both enabled. */
  siefReady(vpSlot: number): boolean {
    const m = this.tables.msrs;
    const base = vpSlot * MSR_STRIDE;
    return (
      (m[base + MSR_SCONTROL]! &
        SCONTROL_ENABLE_BIT &
        m[base + MSR_SIEFP]! &
        SYNIC_PAGE_ENABLE_BIT) !==
      0
    );
  }

  /**
   * HV_ANY_VP: the lowest-index VP of the partition slot whose SynIC and SIEF page are both enabled,
   * or ANY_VP_NONE_ENABLED. Cached per partition; MSR writes make the cache stale.
   */
  anyVp(partitionSlot: number): number {
    const t = this.tables;
    const cached = t.anyVpCache[partitionSlot]!;
    if (cached !== ANY_VP_STALE) return cached;
    const start = t.partitionVpStart[partitionSlot]!;
    const end = start + t.partitionVpCount[partitionSlot]!;
    let found = ANY_VP_NONE_ENABLED;
    for (let v = start; v < end; v++) {
      if (this.siefReady(v)) {
        found = v;
        break;
      }
    }
    t.anyVpCache[partitionSlot] = found;
    return found;
  }

  // ---- ports -------------------------------------------------------------------------------

  /** Deletes a port (it keeps answering lookups, as deleted). */
  deletePort(partitionId: number, portId: number): void {
    const q = this.portSlot(partitionId, portId);
    if (q < 0) throw new RangeError(`partition ${partitionId} owns no port ${portId}`);
    this.tables.portDeleted[q] = 1;
  }

  isEventPort(portSlot: number): boolean {
    return this.tables.portType[portSlot] === HvPortType.Event;
  }

  // ---- SIEF flags and assertions -----------------------------------------------------------

  siefFlags(partitionId: number, vpIndex: number, sint: number): number[] {
    return this.sief.setFlags(this.requireVp(partitionId, vpIndex), sint);
  }

  isSiefFlagSet(partitionId: number, vpIndex: number, sint: number, flag: number): boolean {
    return this.sief.isSet(this.requireVp(partitionId, vpIndex), sint, flag);
  }

  /** Clears a flag as the guest does after handling the event; true when it was set. */
  clearSiefFlag(partitionId: number, vpIndex: number, sint: number, flag: number): boolean {
    return this.sief.clear(this.requireVp(partitionId, vpIndex), sint, flag);
  }

  sintAssertionCount(partitionId: number, vpIndex: number, sint: number): number {
    checkSint(sint);
    const i = this.requireVp(partitionId, vpIndex) * SINT_COUNT + sint;
    return this.tables.shared
      ? Atomics.load(this.tables.sintAssertions, i)
      : this.tables.sintAssertions[i]!;
  }

  /** Subscribes to interrupt assertions; returns the unsubscribe function. */
  onSintAsserted(listener: SintAssertionListener): () => void {
    if (typeof listener !== "function") {
      throw new TypeError(
        `onSintAsserted: the listener must be a function, got ${typeof listener}`,
      );
    }
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** True while any onSintAsserted listener is subscribed (listeners are host code: they may change the machine). */
  get hasSintListeners(): boolean {
    return this.listeners.length !== 0;
  }

  /**
   * Records one edge-triggered interrupt on (VP slot, SINT) and tells the listeners. Called by the
   * dispatcher after a 0 -> 1 flag transition only.
   */
  assertSint(vpSlot: number, sint: number): void {
    const t = this.tables;
    const i = vpSlot * SINT_COUNT + sint;
    if (t.shared) Atomics.add(t.sintAssertions, i, 1);
    else t.sintAssertions[i] = (t.sintAssertions[i]! + 1) >>> 0;
    const listeners = this.listeners;
    if (listeners.length !== 0) {
      const vector = t.msrs[vpSlot * MSR_STRIDE + MSR_SINT0 + 2 * sint]! & SINT_VECTOR_MASK;
      const partitionId = t.partitionId[t.vpPartition[vpSlot]!]!;
      const vpIndex = t.vpIndex[vpSlot]!;
      for (const l of listeners) l(partitionId, vpIndex, sint, vector);
    }
  }

  // ---- snapshots ---------------------------------------------------------------------------

  /** A copy of every number of the machine's state (not of guest memory or listeners). */
  snapshot(): MachineSnapshot {
    return MachineSnapshot.of(this.tables);
  }

  /** True when the machine's state equals the snapshot bit for bit. */
  equals(snapshot: MachineSnapshot): boolean {
    return snapshot.equals(MachineSnapshot.view(this.tables));
  }

  /** Puts the state back to a snapshot taken of this machine. */
  restore(snapshot: MachineSnapshot): void {
    snapshot.copyInto(this.tables);
    this.tables.anyVpCache.fill(ANY_VP_STALE);
  }
}

function requireMsr(msr: number): number {
  const off = msrOffset(msr);
  if (off < 0) {
    throw new RangeError(
      `MSR 0x${msr.toString(16)} is not a SynIC MSR the model holds (SCONTROL, SIEFP, SIMP, SINT0..15)`,
    );
  }
  return off;
}

const U32_MAX = 2 ** 32 - 1;

function isU32(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= U32_MAX;
}

function requireU64(value: bigint, what: string): bigint {
  if (value < 0n || value > 0xffff_ffff_ffff_ffffn) {
    throw new RangeError(`${what} ${value} is not a u64 (0..2^64-1)`);
  }
  return value;
}
