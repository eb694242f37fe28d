/**
 * Port and connection lookups (src/state/pair-hash-table.ts and the machine's use of it):
 * correctness with collisions, wrap-around, missing keys, extreme key values, and a machine with
 * 65,536 connections, some naming ports that do not exist.
 */
import { describe, expect, it } from "vitest";
import { HvCallCode } from "../../src/abi/call-code.js";
import { HvStatus } from "../../src/abi/hv-status.js";
import { CONTROL_FAST_BIT } from "../../src/abi/hypercall-control.js";
import { Dispatcher } from "../../src/dispatch/dispatcher.js";
import { allocateTables, NO_PORT } from "../../src/state/machine-tables.js";
import { NOT_FOUND, PairHashTable, pairHashCapacity } from "../../src/state/pair-hash-table.js";
import { type Json, load } from "./support.js";

/**
 * A table for `count` keys over fresh arrays (was PairHashTable.create): capacity from
 * pairHashCapacity, owners filled with the empty marker -1, as allocateTables fills them.
 */
function create(count: number, shared: boolean): PairHashTable {
  const capacity = pairHashCapacity(count);
  const alloc = (bytes: number) => (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  return PairHashTable.over(
    new Int32Array(alloc(capacity * 4)).fill(-1),
    new Uint32Array(alloc(capacity * 4)),
    new Int32Array(alloc(capacity * 4)),
  );
}

/** The slot an (owner, id) key lands in when it is alone in an 8-slot table: its home bucket. */
function homeBucket(owner: number, id: number): number {
  const t = create(1, false);
  expect(t.owners.length).toBe(8);
  t.insert(owner, id, 0);
  const at = [...t.owners].findIndex((o) => o !== -1);
  expect(at).toBeGreaterThanOrEqual(0);
  return at;
}

describe("PairHashTable", () => {
  it("pairHashCapacity: a power of two, at least 8 and at least twice the count", () => {
    expect([0, 1, 4, 5, 8, 9, 16, 17, 1000, 65_536].map(pairHashCapacity)).toEqual([
      8, 8, 8, 16, 16, 32, 32, 64, 2048, 131_072,
    ]);
    for (let n = 0; n <= 300; n++) {
      const c = pairHashCapacity(n);
      expect(c & (c - 1)).toBe(0);
      expect(c).toBeGreaterThanOrEqual(Math.max(8, 2 * n));
      if (c > 8) expect(c / 2).toBeLessThan(2 * n);
    }
  });

  it("allocateTables sizes and empties the lookup tables a machine's lookups run over", () => {
    const counts = {
      partitions: 1,
      vps: 0,
      ports: 5,
      connections: 9,
      messagePorts: 0,
      portCapacity: pairHashCapacity(5),
      connCapacity: pairHashCapacity(9),
    };
    for (const shared of [false, true]) {
      const t = allocateTables(counts, shared);
      expect(t.portLookupOwners.length).toBe(16);
      expect(t.connLookupOwners.length).toBe(32);
      expect([...t.portLookupOwners].every((o) => o === -1)).toBe(true);
      expect([...t.connLookupOwners].every((o) => o === -1)).toBe(true);
      expect(t.connLookupIds.buffer instanceof SharedArrayBuffer).toBe(shared);
      const lookup = PairHashTable.over(t.connLookupOwners, t.connLookupIds, t.connLookupValues);
      for (let k = 0; k < 9; k++) expect(lookup.insert(0, k * 3, k)).toBe(true);
      for (let k = 0; k < 9; k++) expect(lookup.get(0, k * 3)).toBe(k);
      expect(lookup.get(0, 1)).toBe(NOT_FOUND);
      // The table is a view: its entries are in the machine's arrays.
      expect(lookup.owners).toBe(t.connLookupOwners);
      expect([...t.connLookupOwners].filter((o) => o === 0)).toHaveLength(9);
    }
  });

  it("finds colliding keys, keys whose probe wraps around, and not keys that share their bucket", () => {
    // Sort 400 keys by home bucket (found by experiment, not by re-deriving the hash).
    const byHome = new Map<number, [number, number][]>();
    for (let owner = 0; owner < 2; owner++) {
      for (let id = 0; id < 200; id++) {
        const h = homeBucket(owner, id);
        byHome.set(h, [...(byHome.get(h) ?? []), [owner, id]]);
      }
    }
    const last = byHome.get(7) ?? [];
    const first = byHome.get(0) ?? [];
    expect(last.length).toBeGreaterThanOrEqual(4);
    expect(first.length).toBeGreaterThanOrEqual(2);

    // Three keys homed at slot 7 (two must wrap to 0 and 1), one homed at 0: seven in all would
    // fill the table, so four entries plus three absent keys from the same buckets.
    const present = [last[0]!, last[1]!, last[2]!, first[0]!];
    const absent = [last[3]!, first[1]!];
    const t = create(4, false);
    expect(t.owners.length).toBe(8);
    present.forEach(([o, i], v) => {
      expect(t.insert(o, i, 100 + v)).toBe(true);
    });
    present.forEach(([o, i], v) => {
      expect(t.get(o, i)).toBe(100 + v);
    });
    for (const [o, i] of absent) expect(t.get(o, i)).toBe(NOT_FOUND);
    // A repeated key is refused and keeps its value.
    expect(t.insert(present[1]![0], present[1]![1], 999)).toBe(false);
    expect(t.get(present[1]![0], present[1]![1])).toBe(101);
  });

  it("tells owners apart for the same id, and ids apart for the same owner", () => {
    const t = create(6, false);
    t.insert(0, 5, 1);
    t.insert(1, 5, 2);
    t.insert(5, 0, 3);
    t.insert(0, 0, 4);
    t.insert(7, 0xffff_ffff, 5);
    t.insert(0x7fff_ffff, 0x8000_0000, 6);
    expect(t.get(0, 5)).toBe(1);
    expect(t.get(1, 5)).toBe(2);
    expect(t.get(5, 0)).toBe(3);
    expect(t.get(0, 0)).toBe(4);
    expect(t.get(7, 0xffff_ffff)).toBe(5);
    expect(t.get(0x7fff_ffff, 0x8000_0000)).toBe(6);
    expect(t.get(2, 5)).toBe(NOT_FOUND);
    expect(t.get(0, 1)).toBe(NOT_FOUND);
    expect(t.get(7, 0x7fff_ffff)).toBe(NOT_FOUND);
    expect(t.get(8, 0xffff_ffff)).toBe(NOT_FOUND);
  });

  it("create(n) holds n entries for every n, and a full table refuses with a RangeError", () => {
    let wrong = 0;
    for (let n = 0; n <= 70; n++) {
      const t = create(n, false);
      for (let k = 0; k < n; k++) if (!t.insert(k % 3, k * 7919, k)) wrong++;
      for (let k = 0; k < n; k++) if (t.get(k % 3, k * 7919) !== k) wrong++;
    }
    expect(wrong).toBe(0);
    const t = create(4, false);
    for (let k = 0; k < 7; k++) t.insert(0, k, k);
    expect(() => t.insert(0, 7, 7)).toThrow(RangeError);
    expect(t.get(0, 7)).toBe(NOT_FOUND);
    for (let k = 0; k < 7; k++) expect(t.get(0, k)).toBe(k);
  });

  it.each([false, true])(
    "65,536 keys, many owners (shared %s): every one found, none invented",
    (shared) => {
      const n = 65_536;
      const t = create(n, shared);
      expect(t.owners.buffer instanceof SharedArrayBuffer).toBe(shared);
      // Keys with structure a weak hash would cluster on: ids in steps of 4096, owners 0..15.
      const key = (k: number): [number, number] => [k & 15, ((k >>> 4) * 4096) >>> 0];
      let refused = 0;
      for (let k = 0; k < n; k++) if (!t.insert(...key(k), k)) refused++;
      expect(refused).toBe(0);
      let wrong = 0;
      for (let k = 0; k < n; k++) if (t.get(...key(k)) !== k) wrong++;
      expect(wrong).toBe(0);
      let invented = 0;
      for (let k = 0; k < n; k++) {
        const [o, i] = key(k);
        if (t.get(o + 16, i) !== NOT_FOUND) invented++;
        if (t.get(o, (i + 1) >>> 0) !== NOT_FOUND) invented++;
      }
      expect(invented).toBe(0);
    },
  );
});

// ---- a machine with 65,536 connections --------------------------------------------------------

const CONNECTIONS = 65_536;
const PORTS = 1024;
/** Connection ids: i * an odd number mod 2^24 is a bijection, so ids are unique and spread. */
const connId = (i: number) => (i * 40_503) % 0x100_0000;
/** Connection i names port i mod 2048 of partition 2, which owns ports 0..1023 only. */
const connPort = (i: number) => i % (2 * PORTS);
/** And signals FlagNumber i >> 11 (0..31). */
const connFlag = (i: number) => i >>> 11;
/** Port p: a message port when p mod 4 = 3, else an event port on SINT p mod 16, base p. */
const isEvent = (p: number) => p % 4 !== 3;

function bigScenario(): Json {
  const connections = Array.from({ length: CONNECTIONS }, (_, i) => ({
    id: connId(i),
    portPartition: 2,
    portId: connPort(i),
  }));
  // Partition 3 reuses the first 4096 ids, naming ports of partition 2 and (absent) of itself.
  const connections3 = Array.from({ length: 4096 }, (_, j) => ({
    id: connId(j),
    portPartition: j % 2 === 0 ? 2 : 3,
    portId: 5,
  }));
  const ports = Array.from({ length: PORTS }, (_, p) =>
    isEvent(p)
      ? {
          id: p,
          type: "event",
          targetVp: 0,
          targetSint: p % 16,
          baseFlagNumber: p,
          flagCount: 2048 - p,
        }
      : { id: p, type: "message", targetVp: 0, targetSint: p % 16 },
  );
  const sints = Object.fromEntries(Array.from({ length: 16 }, (_, n) => [String(n), "0x40"]));
  return {
    partitions: [
      { id: 1, privileges: ["SignalEvents"], vps: [{ index: 0 }], connections },
      { id: 2, vps: [{ index: 0, scontrol: "0x1", siefp: "0x1001", sints }], ports },
      { id: 3, privileges: ["SignalEvents"], vps: [{ index: 0 }], connections: connections3 },
    ],
  };
}

describe("a machine with 65,536 connections", () => {
  const m = load(bigScenario());

  it("finds every connection by (owner, id), in file order", () => {
    expect(m.connectionCount).toBe(CONNECTIONS + 4096);
    let wrong = 0;
    for (let i = 0; i < CONNECTIONS; i++) {
      const c = m.connectionSlot(1, connId(i));
      if (c !== i || m.tables.connId[c] !== connId(i)) wrong++;
    }
    expect(wrong).toBe(0);
    for (let j = 0; j < 4096; j++) expect(m.connectionSlot(3, connId(j))).toBe(CONNECTIONS + j);
  });

  it("answers -1 for missing keys: other ids, other owners, unknown partitions", () => {
    let found = 0;
    // i >= 65,536 gives ids the bijection did not hand out.
    for (let i = CONNECTIONS; i < CONNECTIONS + 20_000; i++) {
      if (m.connectionSlot(1, connId(i)) !== -1) found++;
    }
    for (let j = 4096; j < 8192; j++) if (m.connectionSlot(3, connId(j)) !== -1) found++;
    for (let i = 0; i < 1000; i++) if (m.connectionSlot(2, connId(i)) !== -1) found++;
    expect(found).toBe(0);
    expect(m.connectionSlot(99, connId(0))).toBe(-1);
    // Ids above 24 bits are never connections.
    expect(m.connectionSlot(1, connId(1) + 0x100_0000)).toBe(-1);
  });

  it("resolves ports: present ones to their slot, absent ones (and other partitions' ids) to no port", () => {
    for (let p = 0; p < PORTS; p++) expect(m.portSlot(2, p)).toBe(p);
    for (let p = PORTS; p < 2 * PORTS; p++) expect(m.portSlot(2, p)).toBe(-1);
    expect(m.portSlot(1, 0)).toBe(-1);
    expect(m.portSlot(3, 5)).toBe(-1);
    let wrong = 0;
    for (let i = 0; i < CONNECTIONS; i++) {
      const p = connPort(i);
      if (m.tables.connPortSlot[i] !== (p < PORTS ? p : NO_PORT)) wrong++;
    }
    expect(wrong).toBe(0);
    for (let j = 0; j < 4096; j++) {
      // (2, 5) exists; (3, 5) does not, though port id 5 exists in partition 2.
      expect(m.tables.connPortSlot[CONNECTIONS + j]).toBe(j % 2 === 0 ? 5 : NO_PORT);
    }
  });

  it("routes every one of 65,536 signals to its own port, or answers why not", () => {
    const machine = m; // the last test: the only one that sets flags
    const d = new Dispatcher(machine);
    const control = HvCallCode.SignalEvent | CONTROL_FAST_BIT;
    const caller = machine.requirePartition(1);
    const vp = machine.requireVp(1, 0);
    const expectedFlags = Array.from({ length: 16 }, () => new Set<number>());
    const counts = new Map<number, number>();
    let wrong = 0;
    for (let i = 0; i < CONNECTIONS; i++) {
      const p = connPort(i);
      const status = d.dispatch(caller, vp, control, 0, connId(i), connFlag(i));
      let want: number = HvStatus.SUCCESS;
      if (p >= PORTS || !isEvent(p)) want = HvStatus.INVALID_PORT_ID;
      else expectedFlags[p % 16]!.add(p + connFlag(i));
      if (status !== want) wrong++;
      counts.set(status, (counts.get(status) ?? 0) + 1);
    }
    expect(wrong).toBe(0);
    expect(counts.get(HvStatus.SUCCESS)).toBe(CONNECTIONS / 2 - CONNECTIONS / 8);
    for (let n = 0; n < 16; n++) {
      expect(machine.siefFlags(2, 0, n)).toEqual([...expectedFlags[n]!].sort((a, b) => a - b));
    }
    // Ids nobody owns.
    for (let i = CONNECTIONS; i < CONNECTIONS + 1000; i++) {
      expect(d.dispatch(caller, vp, control, 0, connId(i), 0)).toBe(HvStatus.INVALID_CONNECTION_ID);
    }
    // Partition 3's connection to its own (absent) port 5, and the one to partition 2's port 5.
    const caller3 = machine.requirePartition(3);
    const vp3 = machine.requireVp(3, 0);
    expect(d.dispatch(caller3, vp3, control, 0, connId(1), 0)).toBe(HvStatus.INVALID_PORT_ID);
    expect(d.dispatch(caller3, vp3, control, 0, connId(0), 0)).toBe(HvStatus.SUCCESS);
  });
});
