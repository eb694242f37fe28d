/**
 * Host misuse at the dispatcher's entry: caller and VP slots that do not name a partition and one
 * of its VPs are a RangeError from dispatch and prepare — before any step runs, for any control
 * value — and the machine is left as it was. (Guest values never throw.)
 */
import { describe, expect, it } from "vitest";
import { HvCallCode } from "../../src/abi/call-code.js";
import {
  BatchRunner,
  Dispatcher,
  dumpScenario,
  explainLastCall,
  HvStatus,
  hypercall,
  loadMachine,
  type Machine,
  parseScenario,
} from "../../src/index.js";

const FAST_SIGNAL = (HvCallCode.SignalEvent | 0x10000) >>> 0;

/** Partition 1 (slot 0) has VPs 0 and 1 (slots 0, 1); partition 2 (slot 1) has VP 0 (slot 2). */
function machine(): Machine {
  return loadMachine(
    parseScenario({
      partitions: [
        {
          id: 1,
          privileges: ["SignalEvents"],
          vps: [{ index: 0 }, { index: 1 }],
          connections: [{ id: 5, portPartition: 2, portId: 1 }],
        },
        {
          id: 2,
          vps: [{ index: 0, scontrol: "0x1", siefp: "0x5001", sints: { 0: "0x30" } }],
          ports: [{ id: 1, type: "event", targetVp: 0, targetSint: 0, flagCount: 8 }],
        },
      ],
    }),
  );
}

const BAD_SLOTS: [string, number, number][] = [
  ["caller slot = partition count", 2, 0],
  ["caller slot 99", 99, 0],
  ["caller slot -1", -1, 0],
  ["caller slot 0.5", 0.5, 0],
  ["caller slot NaN", Number.NaN, 0],
  ["caller slot 2^32 (its low 32 bits are slot 0)", 2 ** 32, 0],
  ["VP slot = VP count", 0, 3],
  ["VP slot -1", 0, -1],
  ["VP slot 1.5", 0, 1.5],
  ["VP slot of another partition (partition 2's VP as partition 1's)", 0, 2],
  ["VP slot of another partition (partition 1's VP as partition 2's)", 1, 0],
  ["VP slot of another partition (partition 1's second VP as partition 2's)", 1, 1],
];

const CONTROLS: [string, number, number][] = [
  ["a valid fast SignalEvent", FAST_SIGNAL, 0],
  ["an unimplemented call code", 0x7fff, 0],
  ["a broken control value", FAST_SIGNAL, 0xffff_ffff],
];

describe("Dispatcher.dispatch and prepare with slots that name no partition and one of its VPs", () => {
  for (const [what, lo, hi] of CONTROLS) {
    it.each(BAD_SLOTS)(
      `${what}: %s -> RangeError, nothing changes`,
      (_name, callerSlot, vpSlot) => {
        const m = machine();
        const d = new Dispatcher(m);
        const before = m.snapshot();
        expect(() => d.dispatch(callerSlot, vpSlot, lo, hi, 5, 0)).toThrow(RangeError);
        expect(() => d.dispatch(callerSlot, vpSlot, lo, hi, 5, 0)).toThrow(
          /do not name a partition and one of its VPs/,
        );
        expect(() => d.prepare(callerSlot, vpSlot, lo, hi, 5, 0, 0, 0)).toThrow(RangeError);
        expect(m.equals(before)).toBe(true);
        expect(m.sintAssertionCount(2, 0, 0)).toBe(0);
      },
    );
  }

  it("every valid pair dispatches", () => {
    const m = machine();
    const d = new Dispatcher(m);
    for (const [callerSlot, vpSlot] of [
      [0, 0],
      [0, 1],
    ] as const) {
      expect(d.dispatch(callerSlot, vpSlot, FAST_SIGNAL, 0, 5, 0)).toBe(HvStatus.SUCCESS);
    }
    // Partition 2 (slot 1, VP slot 2) has no connection 5 and no SignalEvents privilege.
    expect(d.dispatch(1, 2, FAST_SIGNAL, 0, 5, 0)).toBe(HvStatus.ACCESS_DENIED);
    expect(m.requirePartition(2)).toBe(1);
    expect(m.requireVp(2, 0)).toBe(2);
  });
});

describe("the other entry points check ids, not slots", () => {
  it("hypercall(): unknown caller or VP -> RangeError; wrong types -> TypeError; register out of range -> RangeError", () => {
    const m = machine();
    const d = new Dispatcher(m);
    const before = m.snapshot();
    const ok = { caller: 1, control: BigInt(FAST_SIGNAL), input: 5n };
    expect(hypercall(d, ok).status).toBe(HvStatus.SUCCESS);
    const after = m.snapshot();
    expect(() => hypercall(d, { ...ok, caller: 3 })).toThrow(RangeError);
    expect(() => hypercall(d, { ...ok, vp: 2 })).toThrow(RangeError);
    expect(() => hypercall(d, { ...ok, caller: 2, vp: 1 })).toThrow(RangeError);
    expect(() => hypercall(d, { ...ok, caller: "1" as unknown as number })).toThrow(TypeError);
    expect(() => hypercall(d, { ...ok, control: 0x1005d as unknown as bigint })).toThrow(TypeError);
    expect(() => hypercall(d, { ...ok, input: 1n << 64n })).toThrow(RangeError);
    expect(() => hypercall(d, { ...ok, input2: -1n })).toThrow(RangeError);
    expect(m.equals(after)).toBe(true);
    expect(m.equals(before)).toBe(false);
  });

  it("BatchRunner: unknown caller or a VP of another partition -> RangeError", () => {
    const d = new Dispatcher(machine());
    expect(() => new BatchRunner(d, { caller: 3 })).toThrow(RangeError);
    expect(() => new BatchRunner(d, { caller: 2, vp: 1 })).toThrow(RangeError);
    expect(new BatchRunner(d, { caller: 1, vp: 1 }).vpSlot).toBe(1);
  });

  // Found in review: these used to fail with "Cannot read properties of undefined", naming nothing.
  it("the constructors and helpers name a missing or wrong object", () => {
    const m = machine();
    const d = new Dispatcher(m);
    // biome-ignore lint/suspicious/noExplicitAny: calling the API as untyped JS would
    const loose = (f: (...a: any[]) => unknown) => f as (...a: unknown[]) => unknown;
    expect(() => loose(hypercall)()).toThrow(/hypercall: dispatcher must be a Dispatcher/);
    expect(() => loose(hypercall)({}, {})).toThrow(TypeError);
    expect(() => loose(hypercall)(d)).toThrow(/hypercall: expected a request object/);
    expect(() => new (BatchRunner as unknown as new (...a: unknown[]) => unknown)(d)).toThrow(
      /BatchRunner: expected options/,
    );
    expect(() => new (Dispatcher as unknown as new (...a: unknown[]) => unknown)({})).toThrow(
      /Dispatcher: expected a Machine/,
    );
    expect(() => loose(explainLastCall)()).toThrow(/explainLastCall: expected a Dispatcher/);
    expect(() => explainLastCall(new Dispatcher(m))).toThrow(
      /explainLastCall: this dispatcher has not dispatched a call yet/,
    );
    expect(() => loose(dumpScenario)({})).toThrow(/dumpScenario: expected a Machine/);
    expect(() => loose(loadMachine)({ partitions: [{ id: 0 }] })).toThrow(
      /loadMachine: doc must be what parseScenario or parseScenarioText returned/,
    );
  });
});
