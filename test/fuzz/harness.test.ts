/**
 * The fuzz harness itself: it must see a disagreement when there is one (a status, an output
 * line, the final state), and the safety probe must see each kind of forbidden state change.
 * Without these, a harness that compared nothing would pass every property.
 */
import { describe, expect, it } from "vitest";
import { runCase, TraceRunner } from "./harness.js";
import { SafetyProbe } from "./safety.js";
import type { ListenerMode, ScenarioFile, Step } from "./scenario-types.js";
import { Tally } from "./tally.js";

/** Partition 1 signals / posts to partition 2 (VP 0: SIEF at 0x40000, SIM at 0x41000). */
function scenario(): ScenarioFile {
  return {
    partitions: [
      {
        id: 1,
        privileges: ["SignalEvents", "PostMessages"],
        vps: [{ index: 0 }],
        memory: [{ gpa: "0x10000", hex: "00" }],
        connections: [
          { id: 20, portPartition: 2, portId: 10 },
          { id: 21, portPartition: 2, portId: 11 },
        ],
      },
      {
        id: 2,
        vps: [
          {
            index: 0,
            scontrol: "0x1",
            siefp: "0x40001",
            simp: "0x41001",
            sints: { "2": "0x50", "3": "0x51" },
          },
        ],
        ports: [
          { id: 10, type: "event", targetVp: 0, targetSint: 2, flagCount: 64 },
          { id: 11, type: "message", targetVp: 0, targetSint: 3 },
        ],
      },
    ],
  };
}

const SIGNAL_5: Step = {
  kind: "op",
  op: { op: "hypercall", control: "0x1005d", rdx: "0x500000014" },
  front: "engine",
};
/** A post of type 1, 4 bytes "ping" through connection 21: the write of the block, then the call. */
const POST: Step[] = [
  {
    kind: "op",
    op: {
      op: "write",
      gpa: "0x10000",
      hex: `15000000000000000100000004000000${Buffer.from("ping").toString("hex")}`,
    },
    front: "engine",
  },
  { kind: "op", op: { op: "hypercall", control: "0x5c", rdx: "0x10000" }, front: "engine" },
];

function runner(probe = false): TraceRunner {
  return new TraceRunner(
    { scenario: scenario(), caller: 1, vp: 0 },
    probe ? { probe: (m) => new SafetyProbe(m, true) } : {},
  );
}

describe("the fuzz harness reports disagreements", () => {
  it("agrees on a good trace through every front end, a batch record included", () => {
    const steps: Step[] = [
      SIGNAL_5,
      { ...SIGNAL_5, front: "dispatch" },
      { ...SIGNAL_5, front: "hypercall" },
      { kind: "record", partition: 1, vp: 0, control: 0x5dn, input: 0x600000014n },
      { kind: "record", partition: 1, vp: 0, control: 0x1005dn, input: 0x700000014n },
      ...POST,
      { kind: "op", op: { op: "read", partition: 2, gpa: "0x41300", length: 24 }, front: "engine" },
    ];
    const r = runCase({ scenario: scenario(), caller: 1, vp: 0, steps });
    expect(r.model.finalState()[1]).toMatchObject({
      siefFlags: { "2": [5, 6, 7] },
      sintAssertions: { "2": 3, "3": 1 },
      queuedMessages: {},
    });
  });

  it("a listener that changes the machine mid-batch: the rest of the batch sees it, and so does the model", () => {
    const records: Step[] = [5, 6, 7].map((flag) => ({
      kind: "record",
      partition: 1,
      vp: 0,
      control: 0x1005dn,
      input: (BigInt(flag) << 32n) | 20n,
    }));
    const expected = {
      mask: "signal-event.10:masked",
      deactivate: "signal-event.7:partition-inactive",
      revoke: "generic.3:no-privilege-bit-37",
    } as const;
    for (const [listener, detail] of Object.entries(expected)) {
      const tally = new Tally();
      runCase(
        {
          scenario: scenario(),
          caller: 1,
          vp: 0,
          steps: records,
          listener: listener as ListenerMode,
        },
        { tally },
      );
      expect(Object.fromEntries(tally.details)).toEqual({ "signal-event.11:set": 1, [detail]: 2 });
    }
    for (const listener of ["quiet", "throw"] as const) {
      const tally = new Tally();
      runCase({ scenario: scenario(), caller: 1, vp: 0, steps: records, listener }, { tally });
      expect(Object.fromEntries(tally.details)).toEqual({ "signal-event.11:set": 3 });
    }
  });

  it("a status the model does not give", () => {
    const r = runner();
    r.model.setPrivilegeMask(1, 0n); // the model alone: it now says ACCESS_DENIED
    expect(() => r.step(SIGNAL_5)).toThrow(
      /real .*HV_STATUS_SUCCESS[\s\S]*model .*HV_STATUS_ACCESS_DENIED/,
    );
  });

  it("a batch result the model does not give", () => {
    const r = runner();
    r.model.setPartitionActive(2, false);
    expect(() =>
      r.step({ kind: "record", partition: 1, vp: 0, control: 0x1005dn, input: 0x500000014n }),
    ).toThrow(/record step 0[\s\S]*INVALID_PORT_ID/);
  });

  it("a read that differs", () => {
    const r = runner();
    r.step(SIGNAL_5);
    r.model.step({ op: "write", partition: 2, gpa: "0x40200", hex: "00" }, 99, {
      partition: 1,
      vp: 0,
    });
    expect(() =>
      r.step({
        kind: "op",
        op: { op: "read", partition: 2, gpa: "0x40200", length: 1 },
        front: "engine",
      }),
    ).toThrow(/"hex","20"[\s\S]*"hex","00"/);
  });

  it("a final state that differs", () => {
    const r = runner();
    r.step(SIGNAL_5);
    r.assertSameState("now");
    r.machine.clearSiefFlag(2, 0, 2, 5);
    expect(() => r.assertSameState("now")).toThrow(/now: state of VP #1 differs/);
  });
});

describe("the safety probe reports forbidden state changes", () => {
  const call = (status: string, code: number, detail?: string) => ({
    what: "test",
    code,
    status,
    detail,
  });

  it("a failed call that changed anything (here guest RAM)", () => {
    const r = runner(true);
    r.probe!.before(false);
    r.machine.guestWrite(1, 0x10000n, Uint8Array.of(1));
    expect(() => r.probe!.after(call("HV_STATUS_INVALID_PORT_ID", 0x5d))).toThrow(
      /a failed call changed the state/,
    );
  });

  it("a SignalEvent that set two flags, or asserted without a flag", () => {
    const r = runner(true);
    r.probe!.before(true);
    r.machine.guestWrite(2, 0x40200n, Uint8Array.of(3));
    expect(() => r.probe!.after(call("HV_STATUS_SUCCESS", 0x5d, "signal-event.11:set"))).toThrow(
      /not one bit set/,
    );
    r.probe!.before(true);
    r.machine.assertSint(r.machine.requireVp(2, 0), 2, "event");
    expect(() => r.probe!.after(call("HV_STATUS_SUCCESS", 0x5d, "signal-event.11:set"))).toThrow(
      /asserted on VP slot\/SINT 1\/2, flag changed at none/,
    );
  });

  it("a SignalEvent whose flag and interrupt disagree with the model's detail", () => {
    const r = runner(true);
    r.probe!.before(true);
    r.step(SIGNAL_5);
    r.probe!.after(call("HV_STATUS_SUCCESS", 0x5d, "signal-event.11:set"));
    r.probe!.before(true);
    r.step({ ...SIGNAL_5, op: { op: "hypercall", control: "0x1005d", rdx: "0x600000014" } });
    expect(() =>
      r.probe!.after(call("HV_STATUS_SUCCESS", 0x5d, "signal-event.11:polling")),
    ).toThrow(/flag changed: true, asserted: true/);
  });

  it("a PostMessage that touched two slots, or wrote RAM", () => {
    const r = runner(true);
    r.probe!.before(true);
    r.machine.guestWrite(2, 0x41300n, Uint8Array.of(1));
    r.machine.guestWrite(2, 0x41400n, Uint8Array.of(1));
    expect(() => r.probe!.after(call("HV_STATUS_SUCCESS", 0x5c))).toThrow(
      /2 \(VP slot, SINT\) queues or slots changed/,
    );
    r.probe!.before(true);
    r.machine.guestWrite(1, 0x10008n, Uint8Array.of(1));
    expect(() => r.probe!.after(call("HV_STATUS_SUCCESS", 0x5c))).toThrow(/guest RAM changed/);
  });

  it("an assertion the listener did not hear of, and the listener's count after any op", () => {
    const r = runner(true);
    r.probe!.invariants("start");
    r.machine.tables.sintAssertions[0] = 1;
    expect(() => r.probe!.invariants("now")).toThrow(/1 assertions counted, the listener heard/);
  });
});
