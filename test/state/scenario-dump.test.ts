/**
 * dumpScenario against the CLI contract's `--dump-state` shape, on a hand-built machine whose
 * expected dump is written out in full below. (The scenario rejection rules are covered by
 * scenario-schema.test.ts; the reload round trip by dump-round-trip.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { HvCallCode } from "../../src/abi/call-code.js";
import { HvStatus } from "../../src/abi/hv-status.js";
import { hypercall } from "../../src/dispatch/hypercall.js";
import type { Machine } from "../../src/state/machine.js";
import { dumpScenario } from "../../src/state/scenario-dump.js";
import { parseScenario } from "../../src/state/scenario-schema.js";
import { dispatcherFor, type Json, load, signal } from "./support.js";

function scenario(): Json {
  return {
    partitions: [
      {
        id: 1,
        privileges: ["SignalEvents"],
        vps: [{ index: 0 }],
        connections: [
          { id: 0x20, portPartition: 2, portId: 10 },
          { id: 0x21, portPartition: 2, portId: 11 },
          { id: 0x22, portPartition: 2, portId: 99 },
        ],
        memory: [
          // A SignalEvent input block (connection 0x20, flag 3) at 0x2008.
          { gpa: "0x2008", hex: "2000000003000000" },
          { gpa: "0xFFFFFFFFFFFFF000", hex: "00" },
        ],
      },
      {
        id: 2,
        privilegeMask: "0x0",
        vps: [
          {
            index: 4,
            scontrol: "0x1",
            siefp: "0x10001",
            simp: "0x0000000000000000",
            sints: { "2": "0x50", "7": "0x10000", "15": "0x7005F" },
          },
          { index: 1, siefFlags: { "6": [] }, sintAssertions: { "3": 0 } },
        ],
        ports: [
          {
            id: 10,
            type: "event",
            targetVp: 4,
            targetSint: 2,
            baseFlagNumber: 100,
            flagCount: 64,
          },
          { id: 11, type: "event", targetVp: "any", targetSint: 2, flagCount: 2048 },
          { id: 12, type: "message", targetVp: 1, targetSint: 3 },
          { id: 13, type: "event", targetVp: 9, targetSint: 0, flagCount: 1, deleted: true },
        ],
      },
      {
        id: 3,
        state: "inactive",
        privilegeMask: "0x8000000000000001",
        ports: [{ id: 5, type: "monitor", targetVp: "any", targetSint: 15, deleted: true }],
        connections: [{ id: 0xffffff, portPartition: 1, portId: 0 }],
      },
    ],
  };
}

/** Runs the hand-picked calls; returns the machine. */
function run(shared: boolean): Machine {
  const m = load(scenario(), shared);
  const d = dispatcherFor(m);
  expect(signal(d, 1, 0x20, 3)).toBe(HvStatus.SUCCESS); // flag 103
  expect(signal(d, 1, 0x20, 0)).toBe(HvStatus.SUCCESS); // flag 100
  expect(signal(d, 1, 0x21, 2047)).toBe(HvStatus.SUCCESS); // "any" -> VP 4 (VP 1 is off)
  expect(signal(d, 1, 0x21, 5)).toBe(HvStatus.SUCCESS); // flag 5
  expect(signal(d, 1, 0x20, 3)).toBe(HvStatus.SUCCESS); // already set: no interrupt
  expect(signal(d, 1, 0x22, 0)).toBe(HvStatus.INVALID_PORT_ID); // port 99 does not exist
  // A memory-input call reading the block at 0x2008: connection 0x20, flag 3, already set.
  const viaMemory = hypercall(d, {
    caller: 1,
    control: BigInt(HvCallCode.SignalEvent),
    input: 0x2008n,
  });
  expect(viaMemory.status).toBe(HvStatus.SUCCESS);
  // The guest handles flag 5: cleared, but its interrupt stays counted.
  expect(m.clearSiefFlag(2, 4, 2, 5)).toBe(true);
  // The host sets a flag on SINT 0 directly (no interrupt).
  m.sief.testAndSet(m.requireVp(2, 4), 0, 9);
  return m;
}

const emptyVp = (index: number) => ({
  index,
  scontrol: "0x0",
  siefp: "0x0",
  simp: "0x0",
  sints: {},
  siefFlags: {},
  sintAssertions: {},
  // v2: every VP carries simSlots and queuedMessages, empty when there is nothing to list.
  simSlots: {},
  queuedMessages: {},
});

const EXPECTED = {
  partitions: [
    {
      id: 1,
      state: "active",
      privilegeMask: "0x0000002000000000",
      vps: [emptyVp(0)],
      ports: [],
      connections: [
        { id: 0x20, portPartition: 2, portId: 10 },
        { id: 0x21, portPartition: 2, portId: 11 },
        { id: 0x22, portPartition: 2, portId: 99 },
      ],
      // Whole pages from their start, up to the last non-zero byte rounded up to 8 (at least 8).
      memory: [
        { gpa: "0x2000", hex: `${"00".repeat(8)}2000000003000000` },
        { gpa: "0xfffffffffffff000", hex: "00".repeat(8) },
      ],
    },
    {
      id: 2,
      state: "active",
      privilegeMask: "0x0000000000000000",
      vps: [
        emptyVp(1),
        {
          index: 4,
          scontrol: "0x1",
          siefp: "0x10001",
          simp: "0x0",
          // SINT 7 was given at its reset value: not listed.
          sints: { "2": "0x50", "15": "0x7005f" },
          siefFlags: { "0": [9], "2": [100, 103, 2047] },
          sintAssertions: { "2": 4 },
          simSlots: {},
          queuedMessages: {},
        },
      ],
      ports: [
        {
          id: 10,
          type: "event",
          targetVp: 4,
          targetSint: 2,
          baseFlagNumber: 100,
          flagCount: 64,
          deleted: false,
        },
        {
          id: 11,
          type: "event",
          targetVp: "any",
          targetSint: 2,
          baseFlagNumber: 0,
          flagCount: 2048,
          deleted: false,
        },
        { id: 12, type: "message", targetVp: 1, targetSint: 3, deleted: false },
        {
          id: 13,
          type: "event",
          targetVp: 9,
          targetSint: 0,
          baseFlagNumber: 0,
          flagCount: 1,
          deleted: true,
        },
      ],
      connections: [],
      memory: [],
    },
    {
      id: 3,
      state: "inactive",
      privilegeMask: "0x8000000000000001",
      vps: [],
      ports: [{ id: 5, type: "monitor", targetVp: "any", targetSint: 15, deleted: true }],
      connections: [{ id: 0xffffff, portPartition: 1, portId: 0 }],
      memory: [],
    },
  ],
};

describe.each([false, true])("dumpScenario (shared %s)", (shared) => {
  it("writes exactly the contract's shape for the hand-built machine", () => {
    expect(dumpScenario(run(shared))).toStrictEqual(EXPECTED);
  });

  it("is plain JSON: it survives stringify/parse unchanged", () => {
    const dump = dumpScenario(run(shared));
    expect(JSON.parse(JSON.stringify(dump))).toStrictEqual(dump);
  });

  it("lists siefFlags SINTs and flags ascending, and only SINTs with a flag set", () => {
    const m = load(scenario(), shared);
    const v = m.requireVp(2, 1);
    for (const [sint, flag] of [
      [15, 3],
      [3, 2047],
      [15, 0],
      [3, 64],
      [10, 31],
      [3, 32],
    ] as const) {
      m.sief.testAndSet(v, sint, flag);
    }
    const vp = dumpScenario(m).partitions[1]!.vps[0]!;
    expect(vp.index).toBe(1);
    expect(vp.siefFlags).toStrictEqual({ "3": [32, 64, 2047], "10": [31], "15": [0, 3] });
    expect(Object.keys(vp.siefFlags)).toEqual(["3", "10", "15"]);
    // Flags without interrupts: no sintAssertions.
    expect(vp.sintAssertions).toStrictEqual({});
    // Clearing every flag of a SINT removes its key.
    m.clearSiefFlag(2, 1, 10, 31);
    expect(dumpScenario(m).partitions[1]!.vps[0]!.siefFlags).toStrictEqual({
      "3": [32, 64, 2047],
      "15": [0, 3],
    });
  });

  it("reloads into a machine that dumps the same", () => {
    const dump = dumpScenario(run(shared));
    const again = load(JSON.parse(JSON.stringify(dump)), shared);
    expect(dumpScenario(again)).toStrictEqual(dump);
    // The reloaded SIEF flags and counts are state, not just text.
    expect(again.siefFlags(2, 4, 2)).toEqual([100, 103, 2047]);
    expect(again.sintAssertionCount(2, 4, 2)).toBe(4);
    // And the validator accepts the dump as a scenario.
    expect(() => parseScenario(dump)).not.toThrow();
  });
});
