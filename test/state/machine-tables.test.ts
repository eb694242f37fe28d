/**
 * The machine's tables, declared once (src/state/machine-tables.ts): allocateTables sizes and
 * fills every table from the counts, on the kind of buffer asked for; STATE_TABLES is every table
 * but the derived caches; and a snapshot covers every state table (a change to any one of them is
 * seen and named, and restore undoes it), while a change to a derived cache is not state.
 */
import { describe, expect, it } from "vitest";
import {
  allocateTables,
  DERIVED_TABLES,
  type MachineCounts,
  MESSAGE_BUFFERS_PER_PORT,
  resetDerivedTables,
  STATE_TABLES,
  TABLES,
  type TableName,
} from "../../src/state/machine-tables.js";
import { type Json, load } from "./support.js";

const COUNTS: MachineCounts = {
  partitions: 2,
  vps: 3,
  ports: 5,
  connections: 7,
  messagePorts: 2,
  portCapacity: 16,
  connCapacity: 16,
};

/** Elements of each table, by hand: dimension count × elements per unit. */
const LENGTHS: Readonly<Record<string, number>> = {
  partitionId: 2,
  anyVpSief: 2,
  vpIndex: 3,
  msrs: 3 * 38, // SCONTROL, SIEFP, SIMP and 16 SINTs, each as two u32 halves
  sintAssertions: 3 * 16,
  sief: 3 * 1024,
  sim: 3 * 4096,
  queueHead: 3 * 16,
  portId: 5,
  messageBuffersUsed: 2, // one bitmask per message port
  messageNext: 2 * 16,
  messageBytes: 2 * 16 * 256,
  connId: 7,
  portLookupOwners: 16,
  connLookupValues: 16,
};

describe("allocateTables", () => {
  it.each([false, true])("sizes every table from the counts and fills it (shared %s)", (shared) => {
    const t = allocateTables(COUNTS, shared);
    expect(t.shared).toBe(shared);
    expect(t.counts).toEqual(COUNTS);
    expect(MESSAGE_BUFFERS_PER_PORT).toBe(16);
    for (const [name, length] of Object.entries(LENGTHS))
      expect(t[name as TableName].length, name).toBe(length);
    for (const name of Object.keys(TABLES) as TableName[]) {
      expect(t[name].buffer instanceof SharedArrayBuffer, name).toBe(shared);
      const spec = TABLES[name];
      const fill = "fill" in spec ? spec.fill : 0;
      expect(
        [...t[name]].every((x) => x === fill),
        name,
      ).toBe(true);
    }
    // The fills that matter, by hand: empty queues, empty lookups, no message ordinal, stale caches.
    expect(t.queueHead[0]).toBe(-1);
    expect(t.queueTail[47]).toBe(-1);
    expect(t.messageNext[31]).toBe(-1);
    expect(t.portLookupOwners[15]).toBe(-1);
    expect(t.portMessageOrdinal[4]).toBe(-1);
    expect(t.anyVpSim[1]).toBe(-2);
  });

  it("STATE_TABLES is every table but the derived caches, which resetDerivedTables refills", () => {
    expect(DERIVED_TABLES).toEqual(["anyVpSief", "anyVpSim"]);
    expect([...STATE_TABLES, ...DERIVED_TABLES].sort()).toEqual(Object.keys(TABLES).sort());
    for (const name of [
      "sief",
      "sim",
      "queueHead",
      "messageBytes",
      "messageBuffersUsed",
    ] as const) {
      expect(STATE_TABLES).toContain(name);
    }
    const t = allocateTables(COUNTS, false);
    t.anyVpSief.fill(1);
    t.anyVpSim.fill(0);
    t.msrs[0] = 5;
    resetDerivedTables(t);
    expect([...t.anyVpSief, ...t.anyVpSim]).toEqual([-2, -2, -2, -2]);
    expect(t.msrs[0]).toBe(5);
  });
});

/** A machine where every table has at least one element. */
function scenario(): Json {
  return {
    partitions: [
      {
        id: 1,
        vps: [{ index: 0 }],
        ports: [{ id: 1, type: "message", targetVp: 0, targetSint: 0 }],
        connections: [{ id: 1, portPartition: 1, portId: 1 }],
      },
    ],
  };
}

describe("snapshots cover every state table", () => {
  it.each(STATE_TABLES.map((name) => [name]))(
    "a change to %s is seen, named and undone",
    (name) => {
      const m = load(scenario());
      const snap = m.snapshot();
      const table = m.tables[name];
      expect(table.length, name).toBeGreaterThan(0);
      const bytes = new Uint8Array(table.buffer, table.byteOffset, table.byteLength);
      const last = bytes.length - 1;
      bytes[last] = bytes[last]! ^ 0x40;
      expect(m.equals(snap)).toBe(false);
      expect(snap.firstDifference(m.tables, m.memory)).toBe(name);
      m.restore(snap);
      expect(m.equals(snap)).toBe(true);
    },
  );

  it.each(DERIVED_TABLES.map((name) => [name]))("a change to the cache %s is not state", (name) => {
    const m = load(scenario());
    const snap = m.snapshot();
    m.tables[name][0] = 0;
    expect(m.equals(snap)).toBe(true);
    m.restore(snap);
    expect(m.tables[name][0]).toBe(-2);
  });
});
