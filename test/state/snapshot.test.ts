/**
 * Machine snapshots (snapshot / equals / restore): equal when nothing changed, unequal after any
 * single mutation of state (guest RAM, SIM slots and message queues included), and restore puts
 * every number back. A snapshot of a shared machine is a plain copy.
 */
import { describe, expect, it } from "vitest";
import { HvStatus } from "../../src/abi/hv-status.js";
import type { Machine } from "../../src/state/machine.js";
import { MachineSnapshot } from "../../src/state/machine-snapshot.js";
import { dispatcherFor, type Json, load, signal } from "./support.js";

const SCONTROL = 0x40000080;
const SIEFP = 0x40000082;
const SINT2 = 0x40000092;
const SINT15 = 0x4000009f;

/**
 * Caller 1 (VP 0) owns connection 0x20 -> (2, port 10): an event port on (VP 3, SINT 2), flags
 * 0..63. Partition 2 has VPs 0 (SynIC off) and 3 (on), and a message port 11.
 */
function scenario(): Json {
  return {
    partitions: [
      {
        id: 1,
        privileges: ["SignalEvents"],
        vps: [{ index: 0 }],
        connections: [{ id: 0x20, portPartition: 2, portId: 10 }],
      },
      {
        id: 2,
        vps: [{ index: 0 }, { index: 3, scontrol: "0x1", siefp: "0x4001", sints: { "2": "0x52" } }],
        ports: [
          { id: 10, type: "event", targetVp: 3, targetSint: 2, flagCount: 64 },
          { id: 11, type: "message", targetVp: "any", targetSint: 4 },
        ],
        memory: [{ gpa: "0x7000", hex: "0102030405060708" }],
      },
    ],
  };
}

interface Mutation {
  readonly name: string;
  readonly apply: (m: Machine) => void;
  /** Reads the mutated value, for checking that restore put it back. */
  readonly read: (m: Machine) => unknown;
}

const mutations: Mutation[] = [
  {
    name: "a flag set by a SignalEvent",
    apply: (m) => {
      expect(signal(dispatcherFor(m), 1, 0x20, 5)).toBe(HvStatus.SUCCESS);
    },
    read: (m) => [m.siefFlags(2, 3, 2), m.sintAssertionCount(2, 3, 2)],
  },
  {
    name: "a flag set directly in the image",
    apply: (m) => {
      m.sief.testAndSet(m.requireVp(2, 0), 0, 0);
    },
    read: (m) => m.siefFlags(2, 0, 0),
  },
  {
    name: "the very last flag of the image (last VP slot, SINT 15, flag 2047)",
    apply: (m) => {
      m.sief.testAndSet(m.vpCount - 1, 15, 2047);
    },
    read: (m) => m.sief.isSet(m.vpCount - 1, 15, 2047),
  },
  {
    name: "a guest write to its SIEF page",
    apply: (m) => {
      m.sief.page(m.requireVp(2, 3))[100] = 0x10;
    },
    read: (m) => m.siefFlags(2, 3, 0),
  },
  {
    name: "an SCONTROL write",
    apply: (m) => m.writeMsr(2, 0, SCONTROL, 1n),
    read: (m) => m.readMsr(2, 0, SCONTROL),
  },
  {
    name: "a write of only the high half of SIEFP",
    apply: (m) => m.writeMsr(2, 3, SIEFP, 0x4001n | (1n << 63n)),
    read: (m) => m.readMsr(2, 3, SIEFP),
  },
  {
    name: "a SINT write",
    apply: (m) => m.writeMsr(2, 3, SINT2, 0x10052n),
    read: (m) => m.readMsr(2, 3, SINT2),
  },
  {
    name: "a SINT15 write on the first VP",
    apply: (m) => m.writeMsr(1, 0, SINT15, 0x40n),
    read: (m) => m.readMsr(1, 0, SINT15),
  },
  {
    name: "a port deleted",
    apply: (m) => m.deletePort(2, 11),
    read: (m) => m.tables.portDeleted[m.portSlot(2, 11)],
  },
  {
    name: "a partition made inactive",
    apply: (m) => m.setPartitionActive(2, false),
    read: (m) => m.isPartitionActive(2),
  },
  {
    name: "a privilege added (bit 63)",
    apply: (m) => m.setPrivilegeMask(1, m.privilegeMask(1) | (1n << 63n)),
    read: (m) => m.privilegeMask(1),
  },
  {
    name: "a privilege removed (bit 37)",
    apply: (m) => m.setPrivilegeMask(1, 0n),
    read: (m) => m.privilegeMask(1),
  },
  {
    name: "an assertion count",
    apply: (m) => m.assertSint(m.requireVp(2, 0), 9, "event"),
    read: (m) => m.sintAssertionCount(2, 0, 9),
  },
  // Snapshots cover guest RAM and the SIM and message tables now.
  {
    name: "a guest write to RAM",
    apply: (m) => expect(m.guestWrite(2, 0x7004n, Uint8Array.of(0xee))).toBe("ok"),
    read: (m) => [...(m.guestRead(2, 0x7000n, 8) ?? [])],
  },
  {
    name: "a RAM page backed by the host",
    apply: (m) => m.memory[m.requirePartition(1)]!.mapPage(0x9000n),
    read: (m) => m.memory[m.requirePartition(1)]!.backedPages(),
  },
  {
    name: "a RAM page unbacked by the host",
    apply: (m) => m.memory[m.requirePartition(2)]!.unmapPage(0x7000n),
    read: (m) => m.memory[m.requirePartition(2)]!.backedPages(),
  },
  {
    name: "a byte of a SIM slot",
    apply: (m) => {
      m.tables.sim[m.requireVp(2, 3) * 4096 + 4 * 256 + 255] = 1;
    },
    read: (m) => [...m.simSlot(2, 3, 4)],
  },
  {
    name: "a SIMP write (moves the SIM page)",
    apply: (m) => m.writeMsr(2, 3, 0x40000083, 0x6001n),
    read: (m) => m.readMsr(2, 3, 0x40000083),
  },
  {
    name: "a guest message buffer taken (a queue entry)",
    apply: (m) => {
      m.tables.queueLength[m.requireVp(2, 3) * 16 + 4] = 1;
    },
    read: (m) => m.tables.queueLength[m.requireVp(2, 3) * 16 + 4],
  },
];

describe.each([false, true])("snapshots (shared %s)", (shared) => {
  it("equal the machine when nothing changed, including after reads, lookups and failed calls", () => {
    const m = load(scenario(), shared);
    const snap = m.snapshot();
    expect(m.equals(snap)).toBe(true);
    expect(m.equals(m.snapshot())).toBe(true);
    m.readMsr(2, 3, SIEFP);
    m.siefFlags(2, 3, 2);
    m.anyVp(m.requirePartition(2)); // fills the HV_ANY_VP cache: derived, not state
    m.onSintAsserted(() => {});
    const d = dispatcherFor(m);
    expect(signal(d, 1, 0x20, 64)).toBe(HvStatus.INVALID_PARAMETER);
    expect(signal(d, 1, 0x21, 0)).toBe(HvStatus.INVALID_CONNECTION_ID);
    m.clearSiefFlag(2, 3, 2, 0); // clearing a clear flag changes nothing
    expect(m.equals(snap)).toBe(true);
  });

  it.each(mutations)("differ after $name, and restore puts it back", ({ apply, read }) => {
    const m = load(scenario(), shared);
    const before = read(m);
    const snap = m.snapshot();
    apply(m);
    expect(read(m)).not.toEqual(before);
    expect(m.equals(snap)).toBe(false);
    m.restore(snap);
    expect(m.equals(snap)).toBe(true);
    expect(read(m)).toEqual(before);
    // The snapshot itself did not move with the machine: the same mutation shows again.
    apply(m);
    expect(m.equals(snap)).toBe(false);
  });

  it("restore undoes many mutations at once, and the machine works on from there", () => {
    const m = load(scenario(), shared);
    const snap = m.snapshot();
    for (const { apply } of mutations) apply(m);
    expect(m.equals(snap)).toBe(false);
    m.restore(snap);
    expect(m.equals(snap)).toBe(true);
    const d = dispatcherFor(m);
    expect(signal(d, 1, 0x20, 5)).toBe(HvStatus.SUCCESS);
    expect(m.siefFlags(2, 3, 2)).toEqual([5]);
    expect(m.sintAssertionCount(2, 3, 2)).toBe(1);
  });

  it("restore also resets the HV_ANY_VP choice it does not store", () => {
    const json = scenario() as { partitions: Json[] };
    json.partitions[0]!.connections = [{ id: 0x30, portPartition: 2, portId: 12 }];
    json.partitions[1]!.ports = [
      { id: 12, type: "event", targetVp: "any", targetSint: 2, flagCount: 8 },
    ];
    const m = load(json, shared);
    const p2 = m.requirePartition(2);
    expect(m.anyVp(p2)).toBe(m.requireVp(2, 3));
    const snap = m.snapshot();
    m.writeMsr(2, 0, SCONTROL, 1n);
    m.writeMsr(2, 0, SIEFP, 0x5001n);
    m.writeMsr(2, 0, SINT2, 0x52n);
    expect(m.anyVp(p2)).toBe(m.requireVp(2, 0)); // cached now
    m.restore(snap);
    expect(m.anyVp(p2)).toBe(m.requireVp(2, 3));
    expect(signal(dispatcherFor(m), 1, 0x30, 1)).toBe(HvStatus.SUCCESS);
    expect(m.siefFlags(2, 3, 2)).toEqual([1]);
    expect(m.siefFlags(2, 0, 2)).toEqual([]);
  });

  it("refuses to restore a snapshot of a machine of another shape", () => {
    const m = load(scenario(), shared);
    const other = load({ partitions: [{ id: 1, vps: [{ index: 0 }] }] });
    expect(() => m.restore(other.snapshot())).toThrow(RangeError);
    expect(other.equals(m.snapshot())).toBe(false);
  });
});

describe("a snapshot of a shared machine", () => {
  it("is a plain copy: not shared memory, not moved by later writes, equal to a private twin", () => {
    const shared = load(scenario(), true);
    const plain = load(scenario(), false);
    expect(shared.tables.shared).toBe(true);
    expect(shared.sief.words.buffer instanceof SharedArrayBuffer).toBe(true);
    const snap = shared.snapshot();

    // Whatever typed arrays the snapshot holds, none is on a SharedArrayBuffer.
    const held = Object.values(snap as object).flatMap((v: unknown) =>
      Array.isArray(v) ? v : [v],
    );
    const views = held.filter((v): v is Uint8Array => ArrayBuffer.isView(v));
    expect(views.length).toBeGreaterThan(0);
    for (const v of views) expect(v.buffer instanceof SharedArrayBuffer).toBe(false);
    // And the RAM copies (one map of pages per partition) are plain copies as well.
    const ram = held.filter((v): v is Map<number, Uint8Array> => v instanceof Map);
    expect(ram).toHaveLength(shared.partitionCount);
    const pages = ram.flatMap((r) => [...r.values()]);
    expect(pages).toHaveLength(1);
    for (const page of pages) {
      expect(page.buffer instanceof SharedArrayBuffer).toBe(false);
      expect(page).not.toBe(shared.memory[shared.requirePartition(2)]!.ramPage(7));
    }

    // The same state loaded privately compares equal both ways.
    expect(plain.equals(snap)).toBe(true);
    expect(shared.equals(plain.snapshot())).toBe(true);

    // Writes to the shared machine (as another thread would make) do not reach the copy.
    expect(signal(dispatcherFor(shared), 1, 0x20, 3)).toBe(HvStatus.SUCCESS);
    shared.writeMsr(2, 0, SCONTROL, 1n);
    expect(shared.equals(snap)).toBe(false);
    expect(plain.equals(snap)).toBe(true);

    // It restores into the private twin as well as into the shared original.
    signal(dispatcherFor(plain), 1, 0x20, 7);
    plain.restore(snap);
    expect(plain.siefFlags(2, 3, 2)).toEqual([]);
    shared.restore(snap);
    expect(shared.siefFlags(2, 3, 2)).toEqual([]);
    expect(shared.readMsr(2, 0, SCONTROL)).toBe(0n);
    expect(shared.sief.words.buffer instanceof SharedArrayBuffer).toBe(true);
  });

  it("MachineSnapshot.of copies the live tables and RAM; firstDifference names what moved", () => {
    // MachineSnapshot.view (an aliasing snapshot) is gone; matches/firstDifference compare a copy
    // with the live tables and memory directly, which is what view was for.
    const m = load(scenario(), true);
    const copy = MachineSnapshot.of(m.tables, m.memory);
    expect(copy.matches(m.tables, m.memory)).toBe(true);
    expect(copy.firstDifference(m.tables, m.memory)).toBeUndefined();
    m.writeMsr(2, 0, SCONTROL, 1n);
    expect(copy.matches(m.tables, m.memory)).toBe(false);
    expect(copy.firstDifference(m.tables, m.memory)).toBe("msrs");
    // A fresh copy matches again: nothing aliases the old one.
    expect(
      MachineSnapshot.of(m.tables, m.memory).firstDifference(m.tables, m.memory),
    ).toBeUndefined();
    m.writeMsr(2, 0, SCONTROL, 0n);
    expect(copy.firstDifference(m.tables, m.memory)).toBeUndefined();
    // Guest RAM is named by partition slot.
    expect(m.guestWrite(2, 0x7000n, Uint8Array.of(9))).toBe("ok");
    expect(copy.firstDifference(m.tables, m.memory)).toBe(
      `memory of partition slot ${m.requirePartition(2)}`,
    );
    // The snapshot's RAM is a copy too.
    m.restore(copy);
    expect(m.guestRead(2, 0x7000n, 1)).toEqual(Uint8Array.of(1));
    expect(copy.firstDifference(m.tables, m.memory)).toBeUndefined();
  });
});
