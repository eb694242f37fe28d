import type { GuestMemory } from "./guest-memory.js";
import {
  type MachineTables,
  resetDerivedTables,
  STATE_TABLES,
  type TableName,
} from "./machine-tables.js";

/** Every state table (STATE_TABLES, declared once) as a byte view, in declaration order. */
function byteViews(t: MachineTables): Uint8Array[] {
  return STATE_TABLES.map((name) => {
    const a = t[name];
    return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  });
}

/**
 * A bit-for-bit copy of a machine's state: every state table (SIEF and SIM pages, message queues
 * and buffers included) and the RAM of every partition. Derived caches (the HV_ANY_VP choices, the
 * overlay map) are not state and are recomputed on restore. Listeners are not state either.
 */
export class MachineSnapshot {
  private constructor(
    private readonly views: readonly Uint8Array[],
    private readonly ram: readonly ReadonlyMap<number, Uint8Array>[] | undefined,
  ) {}

  static of(tables: MachineTables, memory: readonly GuestMemory[]): MachineSnapshot {
    return new MachineSnapshot(
      byteViews(tables).map((v) => v.slice()),
      memory.map((m) => m.snapshotRam()),
    );
  }

  /** Equal tables and equal RAM. */
  matches(tables: MachineTables, memory: readonly GuestMemory[]): boolean {
    return this.firstDifference(tables, memory) === undefined;
  }

  /** The name of the first table (or "memory of partition slot N") that differs, for messages. */
  firstDifference(tables: MachineTables, memory: readonly GuestMemory[]): string | undefined {
    const live = byteViews(tables);
    if (live.length !== this.views.length) return "the table list";
    for (let i = 0; i < live.length; i++) {
      if (Buffer.compare(live[i]!, this.views[i]!) !== 0) return STATE_TABLES[i] as TableName;
    }
    const ram = this.ram ?? [];
    if (ram.length !== memory.length) return "the partition count";
    for (let p = 0; p < memory.length; p++) {
      if (!memory[p]!.ramEquals(ram[p]!)) return `memory of partition slot ${p}`;
    }
    return undefined;
  }

  copyInto(tables: MachineTables, memory: readonly GuestMemory[]): void {
    const live = byteViews(tables);
    const ram = this.ram ?? [];
    if (live.length !== this.views.length || ram.length !== memory.length) {
      throw new RangeError("snapshot of another machine");
    }
    for (let i = 0; i < live.length; i++) {
      if (live[i]!.length !== this.views[i]!.length)
        throw new RangeError("snapshot of another machine");
    }
    for (let i = 0; i < live.length; i++) live[i]!.set(this.views[i]!);
    for (let p = 0; p < memory.length; p++) memory[p]!.restoreRam(ram[p]!);
    resetDerivedTables(tables);
  }
}
