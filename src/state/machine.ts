import { SIM_PAGE_BYTES, SIM_SLOT_BYTES, SINT_COUNT } from "../abi/sief-page.js";
import { SCONTROL_ENABLE_BIT, SINT_VECTOR_MASK, SYNIC_PAGE_ENABLE_BIT } from "../abi/synic-msr.js";
import { halvesToU64, u64ToHalves } from "../abi/u64.js";
import { GuestMemory } from "./guest-memory.js";
import { isU32, requireBoolean, requireInteger, requireU32, requireU64 } from "./host-checks.js";
import { MachineSnapshot } from "./machine-snapshot.js";
import { ANY_VP_NONE_ENABLED, ANY_VP_STALE, type MachineTables } from "./machine-tables.js";
import {
  dropPortMessages,
  queuedRecords,
  rescanMessages,
  simSlotOffset,
} from "./message-queues.js";
import { overlayPages } from "./overlay-pages.js";
import { NOT_FOUND, PairHashTable } from "./pair-hash-table.js";
import { SiefImage } from "./sief-image.js";
import {
  type ListenerErrorHandler,
  type SintAssertionListener,
  SintListeners,
  type SintSource,
} from "./sint-listeners.js";
import { guestReadMsr, guestWriteMsr, type MsrOutcome } from "./synic-msr-access.js";
import {
  checkSint,
  MSR_SCONTROL,
  MSR_SIEFP,
  MSR_SIMP,
  MSR_STRIDE,
  SynicRegisters,
  sintLoIndex,
} from "./synic-registers.js";

export type { ListenerErrorHandler, SintAssertionListener, SintSource } from "./sint-listeners.js";

/**
 * The modeled machine: partitions, their VPs with SynIC registers and pages, ports, connections,
 * message queues and guest memory. Guest-visible effects happen through the dispatcher and the
 * guest actions (`wrmsr`, `guestWrite`, `eoi`, …); the other methods are the host's (the
 * emulator's) view. Host misuse (an unknown partition id, a SINT of 16, a wrong argument type)
 * throws a TypeError or RangeError naming the argument.
 */
export class Machine {
  readonly tables: MachineTables;
  readonly sief: SiefImage;
  readonly portLookup: PairHashTable;
  readonly connLookup: PairHashTable;
  /** Guest memory per partition slot: RAM and overlay pages (not shared between threads). */
  readonly memory: readonly GuestMemory[];
  private readonly slotById = new Map<number, number>();
  /** u32 views of the SIM pages and of the message records (message-queues.ts copies words). */
  readonly simWords: Uint32Array;
  readonly messageWords: Uint32Array;
  private readonly siefPages: Uint8Array[] = [];
  private readonly simPages: Uint8Array[] = [];
  private readonly listeners = new SintListeners();

  constructor(tables: MachineTables, memory?: readonly GuestMemory[]) {
    this.tables = tables;
    this.sief = new SiefImage(tables.sief);
    this.portLookup = PairHashTable.over(
      tables.portLookupOwners,
      tables.portLookupIds,
      tables.portLookupValues,
    );
    this.connLookup = PairHashTable.over(
      tables.connLookupOwners,
      tables.connLookupIds,
      tables.connLookupValues,
    );
    const words = (a: Uint8Array) => new Uint32Array(a.buffer, a.byteOffset, a.byteLength / 4);
    this.simWords = words(tables.sim);
    this.messageWords = words(tables.messageBytes);
    const n = tables.partitionId.length;
    this.memory = memory ?? Array.from({ length: n }, () => new GuestMemory());
    for (let p = 0; p < n; p++) this.slotById.set(tables.partitionId[p]!, p);
    for (let v = 0; v < this.vpCount; v++) {
      this.siefPages.push(this.sief.page(v));
      this.simPages.push(tables.sim.subarray(v * SIM_PAGE_BYTES, (v + 1) * SIM_PAGE_BYTES));
    }
    for (let p = 0; p < n; p++) this.rebuildOverlays(p);
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
  requirePartition(partitionId: number, what = "partition"): number {
    const p = this.partitionSlot(requireInteger(partitionId, what));
    if (p < 0) throw new RangeError(`${what}: no partition with id ${partitionId}`);
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

  requireVp(
    partitionId: number,
    vpIndex: number,
    what = "vp",
    partitionWhat = "partition",
  ): number {
    const p = this.requirePartition(partitionId, partitionWhat);
    const v = this.vpSlot(p, requireU32(vpIndex, what));
    if (v < 0)
      throw new RangeError(`${what}: partition ${partitionId} has no VP with index ${vpIndex}`);
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
    requireBoolean(active, "setPartitionActive: active");
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

  // ---- SynIC registers (docs/synic.md §1) --------------------------------------------------

  synic(partitionId: number, vpIndex: number): SynicRegisters {
    return new SynicRegisters(this.tables.msrs, this.requireVp(partitionId, vpIndex) * MSR_STRIDE);
  }

  /** The guest's WRMSR: "ok", or "#GP" with nothing changed. */
  wrmsr(partitionId: number, vpIndex: number, msr: number, value: bigint): MsrOutcome {
    const v = this.requireVp(partitionId, vpIndex);
    const { lo, hi } = u64ToHalves(requireU64(value, "wrmsr value"));
    return guestWriteMsr(this, v, requireU32(msr, "msr"), lo, hi);
  }

  /** The guest's RDMSR: the value, or undefined for #GP. */
  rdmsr(partitionId: number, vpIndex: number, msr: number): bigint | undefined {
    return guestReadMsr(this, this.requireVp(partitionId, vpIndex), requireU32(msr, "msr"));
  }

  /** The host's MSR write: the guest's rules, but a refused write throws instead of #GP. */
  writeMsr(partitionId: number, vpIndex: number, msr: number, value: bigint): void {
    if (this.wrmsr(partitionId, vpIndex, msr, value) === "#GP") {
      throw new RangeError(
        `MSR 0x${msr.toString(16)} refuses the value 0x${value.toString(16)} (a guest would get #GP; docs/synic.md §1)`,
      );
    }
  }

  /** The host's MSR read; throws for an MSR the SynIC does not have. */
  readMsr(partitionId: number, vpIndex: number, msr: number): bigint {
    const value = this.rdmsr(partitionId, vpIndex, msr);
    if (value === undefined) throw new RangeError(`MSR 0x${msr.toString(16)} is not a SynIC MSR`);
    return value;
  }

  /** Called after SCONTROL, SIEFP or SIMP of a VP of the partition slot changed. */
  synicStateChanged(partitionSlot: number, pagesMoved: boolean): void {
    this.tables.anyVpSief[partitionSlot] = ANY_VP_STALE;
    this.tables.anyVpSim[partitionSlot] = ANY_VP_STALE;
    if (pagesMoved) this.rebuildOverlays(partitionSlot);
  }

  /** The SIEF and SIM pages of the partition's VPs at their GPAs (docs/synic.md §2). */
  private rebuildOverlays(p: number): void {
    this.memory[p]!.setOverlays(overlayPages(this.tables, p, this.siefPages, this.simPages));
  }

  /** True when the VP slot's SynIC and SIEF page are both enabled. */
  siefReady(vpSlot: number): boolean {
    return this.pageReady(vpSlot, MSR_SIEFP);
  }

  /** True when the VP slot's SynIC and SIM page are both enabled. */
  simReady(vpSlot: number): boolean {
    return this.pageReady(vpSlot, MSR_SIMP);
  }

  private pageReady(vpSlot: number, off: number): boolean {
    const m = this.tables.msrs;
    const base = vpSlot * MSR_STRIDE;
    return (
      (m[base + MSR_SCONTROL]! & SCONTROL_ENABLE_BIT & m[base + off]! & SYNIC_PAGE_ENABLE_BIT) !== 0
    );
  }

  /**
   * HV_ANY_VP for events: the lowest-index VP of the partition slot whose SynIC and SIEF page are
   * enabled, or ANY_VP_NONE_ENABLED. Cached, and SynIC register writes make it stale — except on a
   * shared machine, where a worker's scan could store its answer over a host write's "stale" mark
   * (found in review), so it is computed every time (the batch kernel caches routes per run).
   */
  anyVp(partitionSlot: number): number {
    return this.anyVpOf(partitionSlot, this.tables.anyVpSief, MSR_SIEFP);
  }

  /** HV_ANY_VP for messages: the same with the SIM page. */
  anyVpForMessages(partitionSlot: number): number {
    return this.anyVpOf(partitionSlot, this.tables.anyVpSim, MSR_SIMP);
  }

  private anyVpOf(partitionSlot: number, cache: Int32Array, off: number): number {
    const t = this.tables;
    const cached = t.shared ? ANY_VP_STALE : cache[partitionSlot]!;
    if (cached !== ANY_VP_STALE) return cached;
    const start = t.partitionVpStart[partitionSlot]!;
    const end = start + t.partitionVpCount[partitionSlot]!;
    let found = ANY_VP_NONE_ENABLED;
    for (let v = start; v < end && found === ANY_VP_NONE_ENABLED; v++) {
      if (this.pageReady(v, off)) found = v;
    }
    if (!t.shared) cache[partitionSlot] = found;
    return found;
  }

  // ---- guest memory and guest actions (docs/synic.md §6) -----------------------------------

  /** A guest write, through overlay pages: "ok", or "unbacked" with nothing written. */
  guestWrite(partitionId: number, gpa: bigint, bytes: Uint8Array): "ok" | "unbacked" {
    const p = this.requirePartition(partitionId);
    if (!(bytes instanceof Uint8Array))
      throw new TypeError("guestWrite: bytes must be a Uint8Array");
    return this.memory[p]!.guestWrite(requireU64(gpa, "gpa"), bytes) ? "ok" : "unbacked";
  }

  /** A guest read, through overlay pages: a copy of the bytes, or undefined when unbacked. */
  guestRead(partitionId: number, gpa: bigint, length: number): Uint8Array | undefined {
    const p = this.requirePartition(partitionId);
    return this.memory[p]!.guestRead(requireU64(gpa, "gpa"), requireInteger(length, "length"));
  }

  /** An APIC EOI on the VP: the message rescan of every SINT (docs/synic.md §5). */
  eoi(partitionId: number, vpIndex: number): void {
    rescanMessages(this, this.requireVp(partitionId, vpIndex));
  }

  // ---- ports -------------------------------------------------------------------------------

  /** Deletes a port (it keeps answering lookups, as deleted); its queued messages are dropped. */
  deletePort(partitionId: number, portId: number): void {
    this.requirePartition(partitionId);
    const q = this.portSlot(partitionId, requireU32(portId, "port id"));
    if (q < 0) throw new RangeError(`partition ${partitionId} owns no port ${portId}`);
    this.tables.portDeleted[q] = 1;
    dropPortMessages(this, q);
  }

  // ---- SIEF flags, SIM slots and assertions -------------------------------------------------

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

  /** A copy of the 256-byte SIM slot of (VP, SINT) (an HV_MESSAGE; MessageType 0 = empty). */
  simSlot(partitionId: number, vpIndex: number, sint: number): Uint8Array {
    const v = this.requireVp(partitionId, vpIndex);
    checkSint(sint);
    const at = simSlotOffset(v, sint);
    return this.tables.sim.slice(at, at + SIM_SLOT_BYTES);
  }

  /** The messages queued behind the slot of (VP, SINT), oldest first, as the HV_MESSAGEs. */
  queuedMessages(partitionId: number, vpIndex: number, sint: number): Uint8Array[] {
    const v = this.requireVp(partitionId, vpIndex);
    checkSint(sint);
    const bytes = this.tables.messageBytes;
    return queuedRecords(this.tables, v, sint).map((r) =>
      bytes.slice(r * SIM_SLOT_BYTES, (r + 1) * SIM_SLOT_BYTES),
    );
  }

  sintAssertionCount(partitionId: number, vpIndex: number, sint: number): number {
    checkSint(sint);
    const i = this.requireVp(partitionId, vpIndex) * SINT_COUNT + sint;
    return this.tables.shared
      ? Atomics.load(this.tables.sintAssertions, i)
      : this.tables.sintAssertions[i]!;
  }

  /**
   * Subscribes to interrupt assertions; returns the unsubscribe function. A listener that throws
   * does not undo or interrupt the call it was told about: its error goes to `onError`, or, without
   * one, is rethrown from a microtask (an uncaught exception, never silently lost).
   */
  onSintAsserted(listener: SintAssertionListener, onError?: ListenerErrorHandler): () => void {
    return this.listeners.subscribe(listener, onError);
  }

  /** True while any listener is subscribed (listeners are host code: they may change the machine). */
  get hasSintListeners(): boolean {
    return this.listeners.any;
  }

  /** Records one edge-triggered interrupt on (VP slot, SINT) and tells the listeners. */
  assertSint(vpSlot: number, sint: number, source: SintSource): void {
    const t = this.tables;
    const i = vpSlot * SINT_COUNT + sint;
    if (t.shared) Atomics.add(t.sintAssertions, i, 1);
    else t.sintAssertions[i] = (t.sintAssertions[i]! + 1) >>> 0;
    if (this.listeners.any) {
      const vector = t.msrs[sintLoIndex(vpSlot, sint)]! & SINT_VECTOR_MASK;
      this.listeners.notify(
        t.partitionId[t.vpPartition[vpSlot]!]!,
        t.vpIndex[vpSlot]!,
        sint,
        vector,
        source,
      );
    }
  }

  // ---- snapshots ---------------------------------------------------------------------------

  /** A copy of the machine's whole state: every table and the RAM (not listeners). */
  snapshot(): MachineSnapshot {
    return MachineSnapshot.of(this.tables, this.memory);
  }

  /** True when the machine's state equals the snapshot bit for bit. */
  equals(snapshot: MachineSnapshot): boolean {
    return snapshot.matches(this.tables, this.memory);
  }

  /** Puts the state back to a snapshot taken of this machine (or of one loaded alike). */
  restore(snapshot: MachineSnapshot): void {
    snapshot.copyInto(this.tables, this.memory);
    for (let p = 0; p < this.partitionCount; p++) this.rebuildOverlays(p);
  }
}
