import type { MachineTables } from "./machine-tables.js";

type TypedArray = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;

/** Every array of the tables, in a fixed order, as byte views. */
function byteViews(t: MachineTables): Uint8Array[] {
  const arrays: TypedArray[] = [
    t.partitionId,
    t.partitionActive,
    t.privilegeLo,
    t.privilegeHi,
    t.partitionVpStart,
    t.partitionVpCount,
    t.vpPartition,
    t.vpIndex,
    t.msrs,
    t.sintAssertions,
    new Uint8Array(t.siefBuffer),
    t.portPartition,
    t.portId,
    t.portType,
    t.portDeleted,
    t.portTargetSint,
    t.portTargetVp,
    t.portTargetVpSlot,
    t.portBaseFlag,
    t.portFlagCount,
    t.portLookup.owners,
    t.portLookup.ids,
    t.portLookup.values,
    t.connOwner,
    t.connId,
    t.connPortPartition,
    t.connPortId,
    t.connPortSlot,
    t.connLookup.owners,
    t.connLookup.ids,
    t.connLookup.values,
  ];
  // anyVpCache is derived (a cache of the registers), so it is not state: leave it out.
  return arrays.map((a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

/**
 * A bit-for-bit copy of a machine's state. Cheap: one memcpy per table (the SIEF image of 1,024 VPs
 * is 4 MiB). Used by the dispatcher's "no change on failure" tests and by fuzzing campaigns.
 */
export class MachineSnapshot {
  private constructor(private readonly views: readonly Uint8Array[]) {}

  static of(tables: MachineTables): MachineSnapshot {
    return new MachineSnapshot(byteViews(tables).map((v) => v.slice()));
  }

  /** A snapshot that aliases the live tables (for comparing without copying). */
  static view(tables: MachineTables): MachineSnapshot {
    return new MachineSnapshot(byteViews(tables));
  }

  equals(other: MachineSnapshot): boolean {
    if (other.views.length !== this.views.length) return false;
    for (let i = 0; i < this.views.length; i++) {
      if (Buffer.compare(this.views[i]!, other.views[i]!) !== 0) return false;
    }
    return true;
  }

  /** Index of the first table that differs, or -1 (for test failure messages). */
  firstDifference(other: MachineSnapshot): number {
    for (let i = 0; i < this.views.length; i++) {
      const a = this.views[i];
      const b = other.views[i];
      if (a === undefined || b === undefined || Buffer.compare(a, b) !== 0) return i;
    }
    return -1;
  }

  copyInto(tables: MachineTables): void {
    const live = byteViews(tables);
    if (live.length !== this.views.length) throw new RangeError("snapshot of another machine");
    for (let i = 0; i < live.length; i++) {
      const src = this.views[i]!;
      if (src.length !== live[i]!.length) throw new RangeError("snapshot of another machine");
      live[i]!.set(src);
    }
  }
}
