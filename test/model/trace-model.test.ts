/**
 * Pins the trace model to shared/spec (signal-event.md, synic.md, post-message.md,
 * cli-contract.md) with hand-written expectations: every byte string, status and count below was
 * worked out from the spec text, not from running any implementation.
 */
import { describe, expect, it } from "vitest";
import { type ModelFinalVp, type ModelLine, TraceModel, type TraceOp } from "./trace-model.js";

// Result values by hand (signal-event.md §2-§3): status in bits 15:0, everything else 0.
const RESULT: Record<string, string> = {
  HV_STATUS_SUCCESS: "0x0000000000000000",
  HV_STATUS_INVALID_HYPERCALL_CODE: "0x0000000000000002",
  HV_STATUS_INVALID_HYPERCALL_INPUT: "0x0000000000000003",
  HV_STATUS_INVALID_ALIGNMENT: "0x0000000000000004",
  HV_STATUS_INVALID_PARAMETER: "0x0000000000000005",
  HV_STATUS_ACCESS_DENIED: "0x0000000000000006",
  HV_STATUS_INVALID_VP_INDEX: "0x000000000000000e",
  HV_STATUS_INVALID_PORT_ID: "0x0000000000000011",
  HV_STATUS_INVALID_CONNECTION_ID: "0x0000000000000012",
  HV_STATUS_INSUFFICIENT_BUFFERS: "0x0000000000000013",
  HV_STATUS_INVALID_SYNIC_STATE: "0x0000000000000018",
};

const EOM = "0x40000084";

interface Harness {
  model: TraceModel;
  run(op: TraceOp): ModelLine;
  /** A hypercall from (partition, VP 0). */
  call(control: string, rdx: string, partition?: number): ModelLine;
  vpState(partition: number, vp: number): ModelFinalVp;
}

function harness(scenario: unknown): Harness {
  const model = new TraceModel(scenario);
  let index = 0;
  const run = (op: TraceOp): ModelLine => model.step(op, index++, { partition: 1, vp: 0 });
  return {
    model,
    run,
    call: (control, rdx, partition = 1) => run({ op: "hypercall", partition, control, rdx }),
    vpState: (partition, vp) => {
      const found = model.finalState().find((s) => s.partition === partition && s.vp === vp);
      if (found === undefined) {
        throw new Error(`no VP ${partition}/${vp}`);
      }
      return found;
    },
  };
}

function expectCall(line: ModelLine, status: string, check: string, detail?: string): void {
  expect(line.op).toBe("hypercall");
  expect(line.status).toBe(status);
  expect(line.result).toBe(RESULT[status]);
  expect(line.check).toBe(check);
  if (detail !== undefined) {
    expect(line.detail).toBe(detail);
  }
}

/** Little-endian u32 as a byte string. */
function le32(n: number): string {
  let text = "";
  for (let i = 0; i < 4; i++) {
    text += ((n >>> (8 * i)) & 0xff).toString(16).padStart(2, "0");
  }
  return text;
}

/** "00" repeated: `count` zero bytes. */
function z(count: number): string {
  return "00".repeat(count);
}

/** RDX of a fast SignalEvent: ConnectionId 31:0, FlagNumber 47:32, RsvdZ 63:48. */
function fastRdx(connectionId: number, flag: number, rsvd = 0): string {
  const value = (BigInt(rsvd) << 48n) | (BigInt(flag) << 32n) | BigInt(connectionId);
  return `0x${value.toString(16)}`;
}

// =============================================================================================
// HvCallSignalEvent
// =============================================================================================

function eventScenario(): unknown {
  return {
    partitions: [
      {
        id: 1,
        privileges: ["SignalEvents"],
        vps: [{ index: 0 }],
        memory: [{ gpa: "0x2000", hex: "00" }],
        connections: [
          { id: 20, portPartition: 2, portId: 10 },
          { id: 21, portPartition: 2, portId: 99 },
          { id: 22, portPartition: 2, portId: 11 },
          { id: 23, portPartition: 2, portId: 12 },
          { id: 24, portPartition: 2, portId: 13 },
          { id: 25, portPartition: 3, portId: 14 },
          { id: 26, portPartition: 2, portId: 15 },
          { id: 27, portPartition: 2, portId: 16 },
          { id: 28, portPartition: 2, portId: 17 },
          { id: 29, portPartition: 2, portId: 18 },
          { id: 30, portPartition: 2, portId: 19 },
          { id: 31, portPartition: 2, portId: 20 },
        ],
      },
      {
        id: 2,
        vps: [
          {
            index: 0,
            scontrol: "0x1",
            siefp: "0x10001",
            sints: { "2": "0x50", "5": "0x50050", "6": "0x40051" },
          },
          { index: 1, scontrol: "0x0", siefp: "0x11001", sints: { "2": "0x50" } },
          { index: 2, scontrol: "0x1", siefp: "0x12000", sints: { "2": "0x50" } },
        ],
        ports: [
          { id: 10, type: "event", targetVp: 0, targetSint: 2, baseFlagNumber: 0, flagCount: 64 },
          {
            id: 11,
            type: "event",
            targetVp: 0,
            targetSint: 2,
            baseFlagNumber: 0,
            flagCount: 64,
            deleted: true,
          },
          { id: 12, type: "message", targetVp: 0, targetSint: 2 },
          { id: 13, type: "event", targetVp: 5, targetSint: 2, baseFlagNumber: 0, flagCount: 8 },
          { id: 15, type: "event", targetVp: 0, targetSint: 4, baseFlagNumber: 0, flagCount: 8 },
          { id: 16, type: "event", targetVp: 0, targetSint: 2, baseFlagNumber: 100, flagCount: 8 },
          { id: 17, type: "event", targetVp: 1, targetSint: 2, baseFlagNumber: 0, flagCount: 8 },
          { id: 18, type: "event", targetVp: 2, targetSint: 2, baseFlagNumber: 0, flagCount: 8 },
          { id: 19, type: "event", targetVp: 0, targetSint: 5, baseFlagNumber: 0, flagCount: 8 },
          { id: 20, type: "monitor", targetVp: 0, targetSint: 2 },
        ],
      },
      {
        id: 3,
        vps: [],
        ports: [
          {
            id: 14,
            type: "event",
            targetVp: "any",
            targetSint: 0,
            baseFlagNumber: 0,
            flagCount: 8,
          },
        ],
      },
    ],
  };
}

describe("SignalEvent: the check order, one row at a time", () => {
  it("SUCCESS sets the flag and asserts one interrupt (signal-event.11)", () => {
    const h = harness(eventScenario());
    expectCall(h.call("0x1005d", fastRdx(20, 5)), "HV_STATUS_SUCCESS", "signal-event.11");
    const vp = h.vpState(2, 0);
    expect(vp.siefFlags).toEqual({ "2": [5] });
    expect(vp.sintAssertions).toEqual({ "2": 1 });
    // SINT 2's flags start at byte 2*256 of the SIEF page at 0x10000: flag 5 = bit 5 of byte 0.
    expect(h.run({ op: "read", partition: 2, gpa: "0x10200", length: 2 })).toEqual({
      index: 1,
      op: "read",
      outcome: "ok",
      hex: "2000",
    });
  });

  it("generic.1: call codes other than 0x5C / 0x5D", () => {
    const h = harness(eventScenario());
    for (const control of ["0x5e", "0x0", "0x58", "0x1005b", "0xc0", "0x8001005e"]) {
      expectCall(h.call(control, fastRdx(20, 5)), "HV_STATUS_INVALID_HYPERCALL_CODE", "generic.1");
    }
    expect(h.vpState(2, 0).siefFlags).toEqual({});
  });

  it("generic.2: every control bit but the code and the fast bit", () => {
    const h = harness(eventScenario());
    const cases: [string, string][] = [
      ["0x2005d", "variable-header"], // bit 17
      ["0x400005d", "variable-header"], // bit 26
      ["0x800005d", "rsvd-30-27"], // bit 27
      ["0x4000005d", "rsvd-30-27"], // bit 30
      ["0x8000005d", "nested"], // bit 31
      ["0x10000005d", "rep-count"], // bit 32
      ["0x10000000005d", "rsvd-47-44"], // bit 44
      ["0x000100000000005d", "rep-start"], // bit 48
      ["0x100000000000005d", "rsvd-63-60"], // bit 60
      ["0x800000000001005d", "rsvd-63-60"], // bit 63, fast
    ];
    for (const [control, reason] of cases) {
      expectCall(
        h.call(control, fastRdx(20, 5)),
        "HV_STATUS_INVALID_HYPERCALL_INPUT",
        "generic.2",
        `generic.2:${reason}`,
      );
    }
    expect(h.vpState(2, 0).siefFlags).toEqual({});
  });

  it("generic.3: the caller lacks SignalEvents (bit 37)", () => {
    const h = harness(eventScenario());
    h.model.setPrivilegeMask(1, (1n << 36n) | (1n << 38n) | 0xffffffffn);
    expectCall(h.call("0x1005d", fastRdx(20, 5)), "HV_STATUS_ACCESS_DENIED", "generic.3");
    h.model.setPrivilegeMask(1, 1n << 37n);
    expectCall(h.call("0x1005d", fastRdx(20, 5)), "HV_STATUS_SUCCESS", "signal-event.11");
  });

  it("generic.4: memory input misaligned, unbacked; an aligned block at a page end is fine", () => {
    const h = harness(eventScenario());
    const misaligned = h.call("0x5d", "0x2004");
    expectCall(misaligned, "HV_STATUS_INVALID_ALIGNMENT", "generic.4", "generic.4:misaligned");
    expectCall(h.call("0x5d", "0x2ffc"), "HV_STATUS_INVALID_ALIGNMENT", "generic.4");
    const unbacked = h.call("0x5d", "0x9000");
    expectCall(unbacked, "HV_STATUS_INVALID_ALIGNMENT", "generic.4", "generic.4:unbacked");
    // 0x2ff8 + 8 = 0x3000: the block ends exactly at the page end, it does not cross.
    expect(h.run({ op: "write", gpa: "0x2ff8", hex: "1400000007000000" }).outcome).toBe("ok");
    expectCall(h.call("0x5d", "0x2ff8"), "HV_STATUS_SUCCESS", "signal-event.11");
    expect(h.vpState(2, 0).siefFlags).toEqual({ "2": [7] });
  });

  it("signal-event.5: RsvdZ or ConnectionId bits 31:24", () => {
    const h = harness(eventScenario());
    const rsvd = h.call("0x1005d", fastRdx(20, 5, 1));
    expectCall(rsvd, "HV_STATUS_INVALID_HYPERCALL_INPUT", "signal-event.5");
    const high = h.call("0x1005d", fastRdx(0x01000014, 5));
    expectCall(high, "HV_STATUS_INVALID_HYPERCALL_INPUT", "signal-event.5");
    // RsvdZ breaks step 5 even when the connection is unknown too.
    const both = h.call("0x1005d", fastRdx(77, 5, 0x8000));
    expectCall(both, "HV_STATUS_INVALID_HYPERCALL_INPUT", "signal-event.5");
  });

  it("signal-event.6 .. .9", () => {
    const h = harness(eventScenario());
    const rows: [number, number, string, string][] = [
      [77, 0, "HV_STATUS_INVALID_CONNECTION_ID", "signal-event.6"],
      [0xffffff, 0, "HV_STATUS_INVALID_CONNECTION_ID", "signal-event.6"],
      [21, 0, "HV_STATUS_INVALID_PORT_ID", "signal-event.7"], // port missing
      [22, 0, "HV_STATUS_INVALID_PORT_ID", "signal-event.7"], // deleted
      [23, 0, "HV_STATUS_INVALID_PORT_ID", "signal-event.7"], // message port
      [31, 0, "HV_STATUS_INVALID_PORT_ID", "signal-event.7"], // monitor port
      [20, 64, "HV_STATUS_INVALID_PARAMETER", "signal-event.8"], // flagCount 64
      [20, 0xffff, "HV_STATUS_INVALID_PARAMETER", "signal-event.8"],
      [27, 8, "HV_STATUS_INVALID_PARAMETER", "signal-event.8"], // relative to base 100
      [24, 0, "HV_STATUS_INVALID_VP_INDEX", "signal-event.9"], // targetVp 5
      [25, 0, "HV_STATUS_INVALID_VP_INDEX", "signal-event.9"], // HV_ANY_VP, no VPs
    ];
    for (const [connection, flag, status, check] of rows) {
      expectCall(h.call("0x1005d", fastRdx(connection, flag)), status, check);
    }
    for (const vp of h.model.finalState()) {
      expect(vp.siefFlags).toEqual({});
      expect(vp.sintAssertions).toEqual({});
    }
  });

  it("signal-event.7: the port's partition is not active", () => {
    const h = harness(eventScenario());
    h.model.setPartitionActive(2, false);
    expectCall(h.call("0x1005d", fastRdx(20, 0)), "HV_STATUS_INVALID_PORT_ID", "signal-event.7");
    h.model.setPartitionActive(2, true);
    expectCall(h.call("0x1005d", fastRdx(20, 0)), "HV_STATUS_SUCCESS", "signal-event.11");
  });

  it("signal-event.10: SCONTROL off, SIEFP off, SINT masked", () => {
    const h = harness(eventScenario());
    const off = h.call("0x1005d", fastRdx(28, 0));
    expectCall(off, "HV_STATUS_INVALID_SYNIC_STATE", "signal-event.10");
    const noSief = h.call("0x1005d", fastRdx(29, 0));
    expectCall(noSief, "HV_STATUS_INVALID_SYNIC_STATE", "signal-event.10");
    const masked = h.call("0x1005d", fastRdx(26, 0)); // SINT 4 not listed: 0x10000
    expectCall(
      masked,
      "HV_STATUS_INVALID_SYNIC_STATE",
      "signal-event.10",
      "signal-event.10:masked",
    );
    expect(h.vpState(2, 0).siefFlags).toEqual({});
    expect(h.vpState(2, 1).siefFlags).toEqual({});
    expect(h.vpState(2, 2).siefFlags).toEqual({});
  });

  it("base flag number: FlagNumber 7 of port 16 (base 100) is flag 107", () => {
    const h = harness(eventScenario());
    expectCall(h.call("0x1005d", fastRdx(27, 7)), "HV_STATUS_SUCCESS", "signal-event.11");
    expect(h.vpState(2, 0).siefFlags).toEqual({ "2": [107] });
    // 107 = 13*8 + 3: byte 13 of SINT 2's area, bit 3.
    const line = h.run({ op: "read", partition: 2, gpa: "0x1020d", length: 1 });
    expect(line.hex).toBe("08");
  });

  it("earlier steps win", () => {
    const h = harness(eventScenario());
    h.model.setPrivilegeMask(1, 0n);
    // unknown code with reserved bits: generic.1
    expectCall(h.call("0x8000005e", "0x0"), "HV_STATUS_INVALID_HYPERCALL_CODE", "generic.1");
    // bad control and no privilege: generic.2
    expectCall(h.call("0x10001005d", "0x0"), "HV_STATUS_INVALID_HYPERCALL_INPUT", "generic.2");
    // no privilege and misaligned: generic.3
    expectCall(h.call("0x5d", "0x3"), "HV_STATUS_ACCESS_DENIED", "generic.3");
    h.model.setPrivilegeMask(1, 1n << 37n);
    // unknown connection and a flag out of range: step 6
    const line = h.call("0x1005d", fastRdx(99, 0xffff));
    expectCall(line, "HV_STATUS_INVALID_CONNECTION_ID", "signal-event.6");
    // deleted port and a flag out of range: step 7
    expectCall(
      h.call("0x1005d", fastRdx(22, 0xffff)),
      "HV_STATUS_INVALID_PORT_ID",
      "signal-event.7",
    );
    // flag out of range and a missing VP: step 8
    expectCall(h.call("0x1005d", fastRdx(24, 8)), "HV_STATUS_INVALID_PARAMETER", "signal-event.8");
  });
});

describe("SignalEvent: flags live in the SIEF page bytes", () => {
  it("already set: SUCCESS, no second interrupt; cleared by a guest write: a second one", () => {
    const h = harness(eventScenario());
    expectCall(h.call("0x1005d", fastRdx(20, 5)), "HV_STATUS_SUCCESS", "signal-event.11");
    const again = h.call("0x1005d", fastRdx(20, 5));
    expectCall(again, "HV_STATUS_SUCCESS", "signal-event.11", "signal-event.11:already-set");
    expect(h.vpState(2, 0).sintAssertions).toEqual({ "2": 1 });
    expect(h.run({ op: "write", partition: 2, gpa: "0x10200", hex: "00" }).outcome).toBe("ok");
    expect(h.vpState(2, 0).siefFlags).toEqual({});
    expectCall(h.call("0x1005d", fastRdx(20, 5)), "HV_STATUS_SUCCESS", "signal-event.11");
    expect(h.vpState(2, 0).siefFlags).toEqual({ "2": [5] });
    expect(h.vpState(2, 0).sintAssertions).toEqual({ "2": 2 });
  });

  it("a guest write can set flags too; signalling one then is already-set", () => {
    const h = harness(eventScenario());
    h.run({ op: "write", partition: 2, gpa: "0x10200", hex: "0180" });
    expect(h.vpState(2, 0).siefFlags).toEqual({ "2": [0, 15] });
    const line = h.call("0x1005d", fastRdx(20, 15));
    expectCall(line, "HV_STATUS_SUCCESS", "signal-event.11", "signal-event.11:already-set");
    expect(h.vpState(2, 0).sintAssertions).toEqual({});
  });

  it("SIEFP moved while flags are set: the flags move with the page", () => {
    const h = harness(eventScenario());
    h.call("0x1005d", fastRdx(20, 5));
    expect(h.run({ op: "wrmsr", partition: 2, msr: "0x40000082", value: "0x30001" }).outcome).toBe(
      "ok",
    );
    expect(h.run({ op: "read", partition: 2, gpa: "0x30200", length: 1 }).hex).toBe("20");
    expect(h.run({ op: "read", partition: 2, gpa: "0x10200", length: 1 }).outcome).toBe("unbacked");
    h.call("0x1005d", fastRdx(20, 6));
    expect(h.run({ op: "read", partition: 2, gpa: "0x30200", length: 1 }).hex).toBe("60");
    expect(h.vpState(2, 0).siefFlags).toEqual({ "2": [5, 6] });
    expect(h.vpState(2, 0).sintAssertions).toEqual({ "2": 2 });
  });

  it("SIEFP moved off RAM: the old GPA shows the RAM again", () => {
    const scenario = eventScenario() as { partitions: Record<string, unknown>[] };
    scenario.partitions[1]!.memory = [{ gpa: "0x10000", hex: "ab" }];
    const h = harness(scenario);
    expect(h.run({ op: "read", partition: 2, gpa: "0x10000", length: 1 }).hex).toBe("00");
    h.call("0x1005d", fastRdx(20, 5));
    h.run({ op: "wrmsr", partition: 2, msr: 0x40000082, value: "0x30001" });
    expect(h.run({ op: "read", partition: 2, gpa: "0x10000", length: 1 }).hex).toBe("ab");
    expect(h.run({ op: "read", partition: 2, gpa: "0x10200", length: 1 }).hex).toBe("00");
  });

  it("disabled SIEF page: INVALID_SYNIC_STATE; re-enabled it shows the old flags", () => {
    const h = harness(eventScenario());
    h.call("0x1005d", fastRdx(20, 5));
    h.run({ op: "wrmsr", partition: 2, msr: "0x40000082", value: "0x10000" });
    const line = h.call("0x1005d", fastRdx(20, 9));
    expectCall(line, "HV_STATUS_INVALID_SYNIC_STATE", "signal-event.10");
    expect(h.run({ op: "read", partition: 2, gpa: "0x10200", length: 1 }).outcome).toBe("unbacked");
    expect(h.vpState(2, 0).siefFlags).toEqual({ "2": [5] });
    h.run({ op: "wrmsr", partition: 2, msr: "0x40000082", value: "0x10001" });
    expect(h.run({ op: "read", partition: 2, gpa: "0x10200", length: 2 }).hex).toBe("2000");
    const again = h.call("0x1005d", fastRdx(20, 5));
    expectCall(again, "HV_STATUS_SUCCESS", "signal-event.11", "signal-event.11:already-set");
    expect(h.vpState(2, 0).sintAssertions).toEqual({ "2": 1 });
  });

  it("polling SINT: SUCCESS, the flag is set, no interrupt (masked bit set or not)", () => {
    const h = harness(eventScenario());
    const line = h.call("0x1005d", fastRdx(30, 3)); // SINT 5 = 0x50050: polling + masked
    expectCall(line, "HV_STATUS_SUCCESS", "signal-event.11", "signal-event.11:polling");
    expect(h.run({ op: "wrmsr", partition: 2, msr: "0x40000092", value: "0x40050" }).outcome).toBe(
      "ok",
    ); // SINT 2: polling, not masked
    const unmasked = h.call("0x1005d", fastRdx(20, 1));
    expectCall(unmasked, "HV_STATUS_SUCCESS", "signal-event.11", "signal-event.11:polling");
    expect(h.vpState(2, 0).siefFlags).toEqual({ "2": [1], "5": [3] });
    expect(h.vpState(2, 0).sintAssertions).toEqual({});
  });

  it("memory input is read through an overlay page of the caller", () => {
    const scenario = eventScenario() as { partitions: Record<string, unknown>[] };
    scenario.partitions[0]!.vps = [{ index: 0, siefp: "0x60001" }];
    const h = harness(scenario);
    // ConnectionId 20, FlagNumber 9, into the caller VP's SIEF page (no RAM at 0x60000).
    expect(h.run({ op: "write", gpa: "0x60008", hex: "1400000009000000" }).outcome).toBe("ok");
    expectCall(h.call("0x5d", "0x60008"), "HV_STATUS_SUCCESS", "signal-event.11");
    expect(h.vpState(2, 0).siefFlags).toEqual({ "2": [9] });
    // the input bytes are SINT 0 flags of the caller VP: 0x14 at byte 8, 0x09 at byte 12
    expect(h.vpState(1, 0).siefFlags).toEqual({ "0": [66, 68, 96, 99] });
    h.run({ op: "wrmsr", msr: "0x40000082", value: "0x60000" });
    const unbacked = h.call("0x5d", "0x60008");
    expectCall(unbacked, "HV_STATUS_INVALID_ALIGNMENT", "generic.4", "generic.4:unbacked");
  });

  it("fast call: R8 is ignored", () => {
    const h = harness(eventScenario());
    const line = h.run({ op: "hypercall", control: "0x1005d", rdx: fastRdx(20, 1), r8: "0x5" });
    expectCall(line, "HV_STATUS_SUCCESS", "signal-event.11");
  });
});

describe("SignalEvent: HV_ANY_VP", () => {
  function anyScenario(): unknown {
    return {
      partitions: [
        {
          id: 1,
          privileges: ["SignalEvents"],
          vps: [{ index: 0 }],
          connections: [{ id: 1, portPartition: 4, portId: 1 }],
        },
        {
          id: 4,
          vps: [
            { index: 2, scontrol: "0x1", siefp: "0x40001", sints: { "1": "0x50" } },
            { index: 1, scontrol: "0x1", siefp: "0x41001" },
            { index: 0, scontrol: "0x0", siefp: "0x42001", sints: { "1": "0x50" } },
          ],
          ports: [
            {
              id: 1,
              type: "event",
              targetVp: "any",
              targetSint: 1,
              baseFlagNumber: 0,
              flagCount: 4,
            },
          ],
        },
      ],
    };
  }

  it("picks the lowest-index enabled VP and checks its SINT; it does not move on", () => {
    const h = harness(anyScenario());
    const masked = h.call("0x1005d", fastRdx(1, 2));
    expectCall(
      masked,
      "HV_STATUS_INVALID_SYNIC_STATE",
      "signal-event.10",
      "signal-event.10:masked",
    );
    h.run({ op: "wrmsr", partition: 4, vp: 1, msr: "0x40000091", value: "0x51" });
    expectCall(h.call("0x1005d", fastRdx(1, 2)), "HV_STATUS_SUCCESS", "signal-event.11");
    expect(h.vpState(4, 1).siefFlags).toEqual({ "1": [2] });
    expect(h.vpState(4, 2).siefFlags).toEqual({});
    const order = h.model.finalState().map((s) => `${s.partition}/${s.vp}`);
    expect(order).toEqual(["1/0", "4/0", "4/1", "4/2"]);
  });

  it("none enabled: INVALID_SYNIC_STATE", () => {
    const h = harness(anyScenario());
    h.run({ op: "wrmsr", partition: 4, vp: 1, msr: "0x40000080", value: "0x0" });
    h.run({ op: "wrmsr", partition: 4, vp: 2, msr: "0x40000082", value: "0x0" });
    const line = h.call("0x1005d", fastRdx(1, 0));
    expectCall(line, "HV_STATUS_INVALID_SYNIC_STATE", "signal-event.10");
    h.run({ op: "wrmsr", partition: 4, vp: 0, msr: "0x40000080", value: "0x1" });
    expectCall(h.call("0x1005d", fastRdx(1, 0)), "HV_STATUS_SUCCESS", "signal-event.11");
    expect(h.vpState(4, 0).siefFlags).toEqual({ "1": [0] });
    expect(h.vpState(4, 0).sintAssertions).toEqual({ "1": 1 });
  });
});

// =============================================================================================
// HvCallPostMessage
// =============================================================================================

/** post-message.md §4, plus ports and connections for the check-order rows. */
function messageScenario(): unknown {
  return {
    partitions: [
      {
        id: 1,
        privileges: ["PostMessages"],
        vps: [{ index: 0 }],
        memory: [{ gpa: "0x1000", hex: "00" }],
        connections: [
          { id: 0x10, portPartition: 2, portId: 7 },
          { id: 0x11, portPartition: 2, portId: 8 },
          { id: 0x12, portPartition: 2, portId: 99 },
          { id: 0x13, portPartition: 2, portId: 9 },
          { id: 0x14, portPartition: 2, portId: 10 },
          { id: 0x15, portPartition: 2, portId: 11 },
          { id: 0x16, portPartition: 3, portId: 12 },
          { id: 0x17, portPartition: 2, portId: 13 },
          { id: 0x18, portPartition: 2, portId: 14 },
          { id: 0x19, portPartition: 2, portId: 15 },
          { id: 0x1a, portPartition: 2, portId: 16 },
          { id: 0x1b, portPartition: 2, portId: 17 },
        ],
      },
      {
        id: 2,
        vps: [
          { index: 0, scontrol: "0x1", simp: "0x20001", sints: { "3": "0x51", "6": "0x40052" } },
          { index: 1, scontrol: "0x0", simp: "0x21001", sints: { "3": "0x51" } },
          { index: 2, scontrol: "0x1", simp: "0x22ffe", sints: { "3": "0x51" } },
        ],
        ports: [
          { id: 7, type: "message", targetVp: 0, targetSint: 3 },
          { id: 8, type: "message", targetVp: 0, targetSint: 3 },
          { id: 9, type: "message", targetVp: 0, targetSint: 3, deleted: true },
          { id: 10, type: "event", targetVp: 0, targetSint: 3, baseFlagNumber: 0, flagCount: 8 },
          { id: 11, type: "message", targetVp: 4, targetSint: 3 },
          { id: 13, type: "message", targetVp: 1, targetSint: 3 },
          { id: 14, type: "message", targetVp: 2, targetSint: 3 },
          { id: 15, type: "message", targetVp: 0, targetSint: 4 },
          { id: 16, type: "message", targetVp: 0, targetSint: 6 },
          { id: 17, type: "monitor", targetVp: 0, targetSint: 3 },
        ],
      },
      { id: 3, ports: [{ id: 12, type: "message", targetVp: "any", targetSint: 0 }] },
    ],
  };
}

interface PostFields {
  rsvd?: number;
  payloadSize?: number;
}

/** The 256-byte PostMessage input block (post-message.md §2). */
function postInput(
  connectionId: number,
  type: number,
  payload: string,
  f: PostFields = {},
): string {
  const size = f.payloadSize ?? payload.length / 2;
  const head = le32(connectionId) + le32(f.rsvd ?? 0) + le32(type) + le32(size);
  return head + payload + z(240 - payload.length / 2);
}

/** Writes the input at 0x1000 of partition 1 and posts it. */
function post(h: Harness, connectionId: number, type: number, payload: string, f?: PostFields) {
  expect(
    h.run({ op: "write", gpa: "0x1000", hex: postInput(connectionId, type, payload, f) }),
  ).toEqual(expect.objectContaining({ outcome: "ok" }));
  return h.call("0x5c", "0x1000");
}

/** The 256-byte slot a delivered message leaves (synic.md §3). */
function slot(type: number, payload: string, pending: boolean, origin: number): string {
  const size = (payload.length / 2).toString(16).padStart(2, "0");
  const flags = pending ? "01" : "00";
  const header = `${le32(type)}${size}${flags}0000${le32(origin)}00000000`;
  return header + payload + z(240 - payload.length / 2);
}

const PING = "70696e67";

describe("PostMessage: the example flow of post-message.md §4", () => {
  it("ping, busy slot, empty + EOM", () => {
    const h = harness(messageScenario());
    const first = post(h, 0x10, 1, PING);
    expectCall(first, "HV_STATUS_SUCCESS", "post-message.12", "post-message.12:delivered");
    const expected = `01000000040000000700000000000000${PING}${z(236)}`;
    expect(slot(1, PING, false, 7)).toBe(expected);
    expect(h.run({ op: "read", partition: 2, gpa: "0x20300", length: 256 }).hex).toBe(expected);
    expect(h.vpState(2, 0)).toEqual({
      partition: 2,
      vp: 0,
      siefFlags: {},
      sintAssertions: { "3": 1 },
      simSlots: { "3": expected },
      queuedMessages: {},
    });

    const second = post(h, 0x10, 1, "706f6e67");
    expectCall(
      second,
      "HV_STATUS_SUCCESS",
      "post-message.12",
      "post-message.12:queued-behind-busy-slot",
    );
    expect(h.run({ op: "read", partition: 2, gpa: "0x20305", length: 1 }).hex).toBe("01");
    expect(h.vpState(2, 0).sintAssertions).toEqual({ "3": 1 });
    expect(h.vpState(2, 0).queuedMessages).toEqual({ "3": 1 });

    expect(h.run({ op: "write", partition: 2, gpa: "0x20300", hex: "00000000" }).outcome).toBe(
      "ok",
    );
    expect(h.vpState(2, 0).simSlots).toEqual({});
    expect(h.run({ op: "wrmsr", partition: 2, msr: EOM, value: "0x0" }).outcome).toBe("ok");
    const vp = h.vpState(2, 0);
    expect(vp.simSlots).toEqual({ "3": slot(1, "706f6e67", false, 7) });
    expect(vp.sintAssertions).toEqual({ "3": 2 });
    expect(vp.queuedMessages).toEqual({});
  });

  it("slot occupied: posts #2..#17 queue, #18 is INSUFFICIENT_BUFFERS", () => {
    const h = harness(messageScenario());
    expectCall(post(h, 0x10, 1, PING), "HV_STATUS_SUCCESS", "post-message.12");
    for (let n = 2; n <= 17; n++) {
      const line = post(h, 0x10, n, "");
      expectCall(line, "HV_STATUS_SUCCESS", "post-message.12");
    }
    expect(h.vpState(2, 0).queuedMessages).toEqual({ "3": 16 });
    const before = h.model.finalState();
    const full = post(h, 0x10, 18, "");
    expectCall(full, "HV_STATUS_INSUFFICIENT_BUFFERS", "post-message.11");
    expect(h.model.finalState()).toEqual(before);
    // Step 8 comes before step 11.
    expectCall(post(h, 0x10, 0, ""), "HV_STATUS_INVALID_PARAMETER", "post-message.8");
    // Another port's buffers are its own.
    expectCall(post(h, 0x11, 1, ""), "HV_STATUS_SUCCESS", "post-message.12");
    expect(h.vpState(2, 0).queuedMessages).toEqual({ "3": 17 });

    // Empty + EOM delivers #2 with MessagePending (more remain) and frees one buffer of port 7.
    h.run({ op: "write", partition: 2, gpa: "0x20300", hex: "00000000" });
    h.run({ op: "eoi", partition: 2 });
    expect(h.vpState(2, 0).simSlots).toEqual({ "3": slot(2, "", true, 7) });
    expect(h.vpState(2, 0).sintAssertions).toEqual({ "3": 2 });
    expectCall(post(h, 0x10, 19, ""), "HV_STATUS_SUCCESS", "post-message.12");
    expectCall(post(h, 0x10, 20, ""), "HV_STATUS_INSUFFICIENT_BUFFERS", "post-message.11");
  });

  it("the last queued message is delivered with MessagePending 0", () => {
    const h = harness(messageScenario());
    post(h, 0x10, 1, PING);
    post(h, 0x10, 2, "aa");
    post(h, 0x11, 3, "bbcc");
    const drain = (): void => {
      h.run({ op: "write", partition: 2, gpa: "0x20300", hex: "00000000" });
      h.run({ op: "wrmsr", partition: 2, msr: EOM, value: "0xffffffffffffffff" });
    };
    drain();
    expect(h.vpState(2, 0).simSlots).toEqual({ "3": slot(2, "aa", true, 7) });
    drain();
    expect(h.vpState(2, 0).simSlots).toEqual({ "3": slot(3, "bbcc", false, 8) });
    expect(h.vpState(2, 0).sintAssertions).toEqual({ "3": 3 });
    drain(); // nothing queued: the slot stays empty, no interrupt
    expect(h.vpState(2, 0).simSlots).toEqual({});
    expect(h.vpState(2, 0).sintAssertions).toEqual({ "3": 3 });
  });

  it("EOM without emptying the slot delivers nothing and sets MessagePending", () => {
    const h = harness(messageScenario());
    post(h, 0x10, 1, PING);
    h.run({ op: "write", partition: 2, gpa: "0x20300", hex: "00000000" });
    // The slot is empty but nothing is queued: a new post is delivered at once.
    const line = post(h, 0x10, 5, "01");
    expectCall(line, "HV_STATUS_SUCCESS", "post-message.12", "post-message.12:delivered");
    post(h, 0x10, 6, "02");
    h.run({ op: "write", partition: 2, gpa: "0x20305", hex: "00" }); // guest clears the flag
    h.run({ op: "eoi", partition: 2 });
    expect(h.vpState(2, 0).simSlots).toEqual({ "3": slot(5, "01", true, 7) });
    expect(h.vpState(2, 0).queuedMessages).toEqual({ "3": 1 });
    expect(h.vpState(2, 0).sintAssertions).toEqual({ "3": 2 });
  });

  it("slot emptied without EOM: the next post delivers the older message first", () => {
    const h = harness(messageScenario());
    post(h, 0x10, 1, PING);
    post(h, 0x10, 2, "22");
    h.run({ op: "write", partition: 2, gpa: "0x20300", hex: "00000000" });
    const line = post(h, 0x10, 3, "33");
    expectCall(line, "HV_STATUS_SUCCESS", "post-message.12", "post-message.12:queued-behind-older");
    expect(h.vpState(2, 0).simSlots).toEqual({ "3": slot(2, "22", true, 7) });
    expect(h.vpState(2, 0).queuedMessages).toEqual({ "3": 1 });
    expect(h.vpState(2, 0).sintAssertions).toEqual({ "3": 2 });
  });
});

describe("PostMessage: the check order, one row at a time", () => {
  it("generic.1 .. generic.4", () => {
    const h = harness(messageScenario());
    h.run({ op: "write", gpa: "0x1000", hex: postInput(0x10, 1, PING) });
    expectCall(h.call("0x5b", "0x1000"), "HV_STATUS_INVALID_HYPERCALL_CODE", "generic.1");
    const fast = h.call("0x1005c", "0x1000");
    expectCall(fast, "HV_STATUS_INVALID_HYPERCALL_INPUT", "generic.2", "generic.2:fast-bit");
    const rep = h.call("0x10000005c", "0x1000");
    expectCall(rep, "HV_STATUS_INVALID_HYPERCALL_INPUT", "generic.2", "generic.2:rep-count");
    expectCall(h.call("0x2005c", "0x1000"), "HV_STATUS_INVALID_HYPERCALL_INPUT", "generic.2");
    expectCall(h.call("0x8000005c", "0x1000"), "HV_STATUS_INVALID_HYPERCALL_INPUT", "generic.2");
    expectCall(h.call("0x5c", "0x1001"), "HV_STATUS_INVALID_ALIGNMENT", "generic.4");
    // 0xf08 + 256 = 0x1008 > 0x1000: crosses into the next page.
    const cross = h.call("0x5c", "0x1f08");
    expectCall(cross, "HV_STATUS_INVALID_ALIGNMENT", "generic.4", "generic.4:crosses-page");
    expectCall(h.call("0x5c", "0x8000"), "HV_STATUS_INVALID_ALIGNMENT", "generic.4");
    h.model.setPrivilegeMask(1, 1n << 37n); // SignalEvents only
    expectCall(h.call("0x5c", "0x1000"), "HV_STATUS_ACCESS_DENIED", "generic.3");
    expectCall(h.call("0x5c", "0x1001"), "HV_STATUS_ACCESS_DENIED", "generic.3");
    expectCall(h.call("0x1005c", "0x1000"), "HV_STATUS_INVALID_HYPERCALL_INPUT", "generic.2");
    expect(h.vpState(2, 0).simSlots).toEqual({});
    // 0xf00 + 256 = 0x1000: the block ends at the page end.
    h.model.setPrivilegeMask(1, 1n << 36n);
    h.run({ op: "write", gpa: "0x1f00", hex: postInput(0x10, 1, PING) });
    expectCall(h.call("0x5c", "0x1f00"), "HV_STATUS_SUCCESS", "post-message.12");
  });

  it("post-message.5 .. .10", () => {
    const h = harness(messageScenario());
    const rows: [number, number, string, PostFields, string, string][] = [
      [0x10, 1, PING, { rsvd: 1 }, "HV_STATUS_INVALID_HYPERCALL_INPUT", "post-message.5:rsvdz"],
      [0x12, 1, PING, { rsvd: 0x80000000 }, "HV_STATUS_INVALID_HYPERCALL_INPUT", "post-message.5"],
      [0x80000010, 1, PING, {}, "HV_STATUS_INVALID_HYPERCALL_INPUT", "post-message.5"],
      [0x01000010, 1, PING, {}, "HV_STATUS_INVALID_HYPERCALL_INPUT", "post-message.5"],
      [0x99, 1, PING, {}, "HV_STATUS_INVALID_CONNECTION_ID", "post-message.6"],
      [0x12, 0, PING, {}, "HV_STATUS_INVALID_PORT_ID", "post-message.7"], // missing
      [0x13, 1, PING, {}, "HV_STATUS_INVALID_PORT_ID", "post-message.7"], // deleted
      [0x14, 1, PING, {}, "HV_STATUS_INVALID_PORT_ID", "post-message.7"], // event port
      [0x1b, 1, PING, {}, "HV_STATUS_INVALID_PORT_ID", "post-message.7"], // monitor port
      [0x10, 0, PING, {}, "HV_STATUS_INVALID_PARAMETER", "post-message.8:type-zero"],
      [0x10, 0x80000001, PING, {}, "HV_STATUS_INVALID_PARAMETER", "post-message.8:type-hypervisor"],
      [0x10, 1, PING, { payloadSize: 241 }, "HV_STATUS_INVALID_PARAMETER", "post-message.8"],
      [0x10, 1, PING, { payloadSize: 0x100000f0 }, "HV_STATUS_INVALID_PARAMETER", "post-message.8"],
      [0x11, 0, PING, { payloadSize: 241 }, "HV_STATUS_INVALID_PARAMETER", "post-message.8"],
      [0x15, 1, PING, {}, "HV_STATUS_INVALID_VP_INDEX", "post-message.9"], // targetVp 4
      [0x16, 0, PING, {}, "HV_STATUS_INVALID_PARAMETER", "post-message.8"], // before step 9
      [0x16, 1, PING, {}, "HV_STATUS_INVALID_VP_INDEX", "post-message.9"], // any, no VPs
      [0x17, 1, PING, {}, "HV_STATUS_INVALID_SYNIC_STATE", "post-message.10"], // SCONTROL off
      [0x18, 1, PING, {}, "HV_STATUS_INVALID_SYNIC_STATE", "post-message.10"], // SIMP off
    ];
    for (const [connection, type, payload, fields, status, check] of rows) {
      const line = post(h, connection, type, payload, fields);
      const [step, reason] = check.split(":");
      expectCall(line, status, step!, reason === undefined ? undefined : check);
    }
    for (const vp of h.model.finalState()) {
      expect(vp.simSlots).toEqual({});
      expect(vp.sintAssertions).toEqual({});
      expect(vp.queuedMessages).toEqual({});
    }
  });

  it("post-message.7: the port's partition is not active", () => {
    const h = harness(messageScenario());
    h.model.setPartitionActive(2, false);
    expectCall(post(h, 0x10, 1, PING), "HV_STATUS_INVALID_PORT_ID", "post-message.7");
    h.model.setPartitionActive(2, true);
    expectCall(post(h, 0x10, 1, PING), "HV_STATUS_SUCCESS", "post-message.12");
  });

  it("payload of 240 bytes, type 0x7fffffff: SUCCESS", () => {
    const h = harness(messageScenario());
    const payload = "ee".repeat(240);
    expectCall(post(h, 0x10, 0x7fffffff, payload), "HV_STATUS_SUCCESS", "post-message.12");
    const expected = `ffffff7ff0000000${le32(7)}00000000${payload}`;
    expect(h.vpState(2, 0).simSlots).toEqual({ "3": expected });
  });

  it("only PayloadSize bytes are copied; zeros after them", () => {
    const h = harness(messageScenario());
    const input = postInput(0x10, 9, "", { payloadSize: 2 }).slice(0, 32) + "ab".repeat(240);
    h.run({ op: "write", gpa: "0x1000", hex: input });
    expectCall(h.call("0x5c", "0x1000"), "HV_STATUS_SUCCESS", "post-message.12");
    expect(h.vpState(2, 0).simSlots).toEqual({ "3": slot(9, "abab", false, 7) });
  });

  it("masked SINT: delivered, the interrupt is lost; polling SINT likewise", () => {
    const h = harness(messageScenario());
    const masked = post(h, 0x19, 4, "44");
    expectCall(
      masked,
      "HV_STATUS_SUCCESS",
      "post-message.12",
      "post-message.12:delivered-interrupt-lost",
    );
    const polling = post(h, 0x1a, 6, "66");
    expectCall(polling, "HV_STATUS_SUCCESS", "post-message.12");
    const vp = h.vpState(2, 0);
    expect(vp.simSlots).toEqual({ "4": slot(4, "44", false, 15), "6": slot(6, "66", false, 16) });
    expect(vp.sintAssertions).toEqual({});
  });
});

describe("PostMessage: delivery triggers and queues", () => {
  it("unmasking does not deliver; EOM does, with an interrupt now", () => {
    const h = harness(messageScenario());
    post(h, 0x19, 1, "01"); // SINT 4 masked: delivered, no interrupt
    post(h, 0x19, 2, "02"); // queued behind the busy slot
    h.run({ op: "write", partition: 2, gpa: "0x20400", hex: "00000000" });
    h.run({ op: "wrmsr", partition: 2, msr: "0x40000094", value: "0x54" });
    expect(h.vpState(2, 0).simSlots).toEqual({});
    expect(h.vpState(2, 0).queuedMessages).toEqual({ "4": 1 });
    h.run({ op: "wrmsr", partition: 2, msr: EOM, value: "0x1" });
    expect(h.vpState(2, 0).simSlots).toEqual({ "4": slot(2, "02", false, 15) });
    expect(h.vpState(2, 0).sintAssertions).toEqual({ "4": 1 });
  });

  it("SIMP disabled: messages stay queued; enabling SIMP does not deliver; EOM does", () => {
    const h = harness(messageScenario());
    post(h, 0x10, 1, PING);
    post(h, 0x10, 2, "02");
    h.run({ op: "write", partition: 2, gpa: "0x20300", hex: "00000000" });
    h.run({ op: "wrmsr", partition: 2, msr: "0x40000083", value: "0x20000" });
    h.run({ op: "eoi", partition: 2 });
    expect(h.vpState(2, 0).queuedMessages).toEqual({ "3": 1 });
    // while disabled the SIM page is gone from the GPA, and a post is refused
    expect(h.run({ op: "read", partition: 2, gpa: "0x20300", length: 4 }).outcome).toBe("unbacked");
    expectCall(post(h, 0x10, 3, ""), "HV_STATUS_INVALID_SYNIC_STATE", "post-message.10");
    h.run({ op: "wrmsr", partition: 2, msr: "0x40000083", value: "0x20001" });
    expect(h.vpState(2, 0).simSlots).toEqual({});
    h.run({ op: "wrmsr", partition: 2, msr: EOM, value: "0x0" });
    expect(h.vpState(2, 0).simSlots).toEqual({ "3": slot(2, "02", false, 7) });
    expect(h.vpState(2, 0).sintAssertions).toEqual({ "3": 2 });
  });

  it("SCONTROL disabled: EOM delivers nothing", () => {
    const h = harness(messageScenario());
    post(h, 0x10, 1, PING);
    post(h, 0x10, 2, "02");
    h.run({ op: "write", partition: 2, gpa: "0x20300", hex: "00000000" });
    h.run({ op: "wrmsr", partition: 2, msr: "0x40000080", value: "0x0" });
    h.run({ op: "wrmsr", partition: 2, msr: EOM, value: "0x0" });
    expect(h.vpState(2, 0).simSlots).toEqual({});
    expect(h.vpState(2, 0).queuedMessages).toEqual({ "3": 1 });
  });

  it("one EOM attempts every SINT, at most one message each", () => {
    const h = harness(messageScenario());
    post(h, 0x19, 1, "41"); // SINT 4
    post(h, 0x19, 2, "42");
    post(h, 0x19, 3, "43");
    post(h, 0x10, 4, "31"); // SINT 3
    post(h, 0x10, 5, "32");
    h.run({ op: "write", partition: 2, gpa: "0x20300", hex: z(256 * 2) });
    h.run({ op: "eoi", partition: 2 });
    const vp = h.vpState(2, 0);
    expect(vp.simSlots).toEqual({ "3": slot(5, "32", false, 7), "4": slot(2, "42", true, 15) });
    expect(vp.queuedMessages).toEqual({ "4": 1 });
    expect(vp.sintAssertions).toEqual({ "3": 2 });
  });

  it("deletePort drops its queued messages; others keep their order", () => {
    const h = harness(messageScenario());
    post(h, 0x10, 1, PING);
    post(h, 0x10, 2, "");
    post(h, 0x11, 3, "33");
    post(h, 0x10, 4, "");
    post(h, 0x11, 5, "55");
    expect(h.vpState(2, 0).queuedMessages).toEqual({ "3": 4 });
    h.model.deletePort(2, 7);
    expect(h.vpState(2, 0).queuedMessages).toEqual({ "3": 2 });
    // the delivered message stays in its slot (with the MessagePending it got)
    expect(h.vpState(2, 0).simSlots).toEqual({ "3": slot(1, PING, true, 7) });
    expectCall(post(h, 0x10, 6, ""), "HV_STATUS_INVALID_PORT_ID", "post-message.7");
    h.run({ op: "write", partition: 2, gpa: "0x20300", hex: "00000000" });
    h.run({ op: "eoi", partition: 2 });
    expect(h.vpState(2, 0).simSlots).toEqual({ "3": slot(3, "33", true, 8) });
    h.run({ op: "write", partition: 2, gpa: "0x20300", hex: "00000000" });
    h.run({ op: "eoi", partition: 2 });
    expect(h.vpState(2, 0).simSlots).toEqual({ "3": slot(5, "55", false, 8) });
    expect(h.vpState(2, 0).sintAssertions).toEqual({ "3": 3 });
  });

  it("deletePort frees the port's buffers", () => {
    const h = harness(messageScenario());
    post(h, 0x10, 1, PING);
    for (let n = 0; n < 16; n++) {
      post(h, 0x11, 2, "");
    }
    expectCall(post(h, 0x11, 2, ""), "HV_STATUS_INSUFFICIENT_BUFFERS", "post-message.11");
    h.model.deletePort(2, 8);
    expect(h.vpState(2, 0).queuedMessages).toEqual({});
    expectCall(post(h, 0x10, 3, ""), "HV_STATUS_SUCCESS", "post-message.12");
    expect(h.vpState(2, 0).queuedMessages).toEqual({ "3": 1 });
  });

  it("memory input read through the caller's own SIM page", () => {
    const scenario = messageScenario() as { partitions: Record<string, unknown>[] };
    scenario.partitions[0]!.vps = [{ index: 0, simp: "0x61001" }];
    const h = harness(scenario);
    h.run({ op: "write", gpa: "0x61000", hex: postInput(0x10, 1, PING) });
    expectCall(h.call("0x5c", "0x61000"), "HV_STATUS_SUCCESS", "post-message.12");
    expect(h.vpState(2, 0).simSlots).toEqual({ "3": slot(1, PING, false, 7) });
    // the caller's SIM page now holds the input bytes: slot 0 looks non-empty (type 0x10)
    expect(Object.keys(h.vpState(1, 0).simSlots)).toEqual(["0"]);
  });
});

describe("PostMessage: HV_ANY_VP", () => {
  function anyScenario(simp0: string, simp1: string, simp2: string): unknown {
    return {
      partitions: [
        {
          id: 1,
          privileges: ["PostMessages", "SignalEvents"],
          vps: [{ index: 0 }],
          memory: [{ gpa: "0x1000", hex: "00" }],
          connections: [{ id: 0x10, portPartition: 2, portId: 7 }],
        },
        {
          id: 2,
          vps: [
            { index: 2, scontrol: "0x1", simp: simp2 },
            { index: 0, scontrol: "0x1", simp: simp0 },
            { index: 1, scontrol: "0x1", simp: simp1, siefp: "0x30001" },
          ],
          ports: [{ id: 7, type: "message", targetVp: "any", targetSint: 3 }],
        },
      ],
    };
  }

  it("the lowest-index VP with SCONTROL and SIMP enabled, busy slot or not", () => {
    const h = harness(anyScenario("0x20000", "0x21001", "0x22001"));
    expectCall(post(h, 0x10, 1, PING), "HV_STATUS_SUCCESS", "post-message.12");
    expect(h.vpState(2, 1).simSlots).toEqual({ "3": slot(1, PING, false, 7) });
    expect(h.run({ op: "read", partition: 2, gpa: "0x21300", length: 4 }).hex).toBe("01000000");
    // SINT 3 is masked on VP 1 (not listed): no interrupt, and that is not an error
    expect(h.vpState(2, 1).sintAssertions).toEqual({});
    const second = post(h, 0x10, 2, "");
    expectCall(
      second,
      "HV_STATUS_SUCCESS",
      "post-message.12",
      "post-message.12:queued-behind-busy-slot",
    );
    expect(h.vpState(2, 1).queuedMessages).toEqual({ "3": 1 });
    expect(h.vpState(2, 2).simSlots).toEqual({});
  });

  it("none enabled: INVALID_SYNIC_STATE; no VPs: INVALID_VP_INDEX", () => {
    const h = harness(anyScenario("0x20000", "0x21000", "0x22000"));
    const line = post(h, 0x10, 1, PING);
    expectCall(line, "HV_STATUS_INVALID_SYNIC_STATE", "post-message.10");
    expect(line.detail).toBe("post-message.10:any-vp-none-enabled");
    const scenario = anyScenario("0x20001", "0x21001", "0x22001") as {
      partitions: Record<string, unknown>[];
    };
    scenario.partitions[1]!.vps = [];
    const empty = harness(scenario);
    expectCall(post(empty, 0x10, 1, PING), "HV_STATUS_INVALID_VP_INDEX", "post-message.9");
  });
});

// =============================================================================================
// MSRs, guest memory, overlays
// =============================================================================================

describe("MSRs", () => {
  it("reads: reset values, SVERSION 1, EOM 0; values as written", () => {
    const h = harness(messageScenario());
    const rd = (msr: string | number, partition = 2, vp = 0) =>
      h.run({ op: "rdmsr", partition, vp, msr });
    expect(rd(0x40000081)).toEqual({
      index: 0,
      op: "rdmsr",
      outcome: "ok",
      value: "0x0000000000000001",
    });
    expect(rd("0x40000084").value).toBe("0x0000000000000000");
    expect(rd("0x40000080").value).toBe("0x0000000000000001");
    expect(rd("0x40000083", 2, 2).value).toBe("0x0000000000022ffe");
    expect(rd("0x40000082").value).toBe("0x0000000000000000");
    expect(rd("0x40000090").value).toBe("0x0000000000010000");
    expect(rd("0x40000093").value).toBe("0x0000000000000051");
    expect(rd("0x4000009F").value).toBe("0x0000000000010000");
    const w = h.run({ op: "wrmsr", partition: 2, msr: "0x40000080", value: "0xFFFF0000FFFF0001" });
    expect(w).toEqual({ index: 8, op: "wrmsr", outcome: "ok" });
    expect(rd("0x40000080").value).toBe("0xffff0000ffff0001");
    h.run({ op: "wrmsr", partition: 2, msr: "0x4000009f", value: "0xffffffffffffffff" });
    expect(rd(0x4000009f).value).toBe("0xffffffffffffffff");
  });

  it("#GP cases change nothing", () => {
    const h = harness(messageScenario());
    const wr = (msr: string | number, value: string) =>
      h.run({ op: "wrmsr", partition: 2, msr, value }).outcome;
    const rd = (msr: string | number) => h.run({ op: "rdmsr", partition: 2, msr });
    const before = h.model.finalState();
    expect(wr("0x40000081", "0x1")).toBe("#GP");
    expect(rd("0x40000081").value).toBe("0x0000000000000001");
    expect(wr("0x40000093", "0xf")).toBe("#GP"); // unmasked, vector 15
    expect(wr("0x40000093", "0x40000")).toBe("#GP"); // polling, unmasked, vector 0
    expect(rd("0x40000093").value).toBe("0x0000000000000051");
    for (const msr of [0x40000085, 0x4000008f, 0x400000a0, 0x40000000, 0x40000001, 0x10]) {
      expect(wr(msr, "0x0")).toBe("#GP");
      expect(rd(msr)).toEqual(expect.objectContaining({ outcome: "#GP" }));
      expect(rd(msr).value).toBeUndefined();
    }
    expect(h.model.finalState()).toEqual(before);
    // a masked SINT may hold any vector; an unmasked one from 16 up
    expect(wr("0x40000093", "0x1000f")).toBe("ok");
    expect(wr("0x40000093", "0x10")).toBe("ok");
    expect(rd("0x40000093").value).toBe("0x0000000000000010");
  });

  it("ops default to the given partition and VP", () => {
    const model = new TraceModel(messageScenario());
    const line = model.step({ op: "rdmsr", msr: "0x40000083" }, 4, { partition: 2, vp: 2 });
    expect(line).toEqual({ index: 4, op: "rdmsr", outcome: "ok", value: "0x0000000000022ffe" });
    const other = model.step({ op: "rdmsr", vp: 1, msr: "0x40000083" }, 5, { partition: 2, vp: 2 });
    expect(other.value).toBe("0x0000000000021001");
  });
});

describe("guest memory", () => {
  function memoryScenario(): unknown {
    return {
      partitions: [
        {
          id: 1,
          vps: [{ index: 0 }],
          memory: [
            { gpa: "0x1ffe", hex: "01020304" },
            { gpa: "0x10000", hex: "cc" },
          ],
        },
        {
          id: 2,
          vps: [
            { index: 1, scontrol: "0x1", siefp: "0x50001" },
            { index: 0, siefp: "0x50001", simp: "0x50001" },
            { index: 2, siefp: "0x10001" },
          ],
          memory: [{ gpa: "0x50000", hex: "aa" }],
        },
      ],
    };
  }

  it("an entry backs every page its bytes touch; other bytes read 0", () => {
    const h = harness(memoryScenario());
    expect(h.run({ op: "read", gpa: "0x1ffe", length: 4 }).hex).toBe("01020304");
    expect(h.run({ op: "read", gpa: "0x1000", length: 2 }).hex).toBe("0000");
    expect(h.run({ op: "read", gpa: "0x2fff", length: 1 }).hex).toBe("00");
    expect(h.run({ op: "read", gpa: "0x1000", length: 4096 }).hex).toBe(`${z(4094)}0102`);
    expect(h.run({ op: "read", gpa: "0x3000", length: 1 })).toEqual({
      index: 4,
      op: "read",
      outcome: "unbacked",
    });
    expect(h.run({ op: "read", gpa: "0xfff", length: 2 }).outcome).toBe("unbacked");
    expect(h.run({ op: "read", gpa: "0xffffffffffffffff", length: 2 }).outcome).toBe("unbacked");
  });

  it("writes are whole or nothing, and a write of 0 bytes is ok anywhere", () => {
    const h = harness(memoryScenario());
    expect(h.run({ op: "write", gpa: "0x2ffe", hex: "AABBCCDD" })).toEqual({
      index: 0,
      op: "write",
      outcome: "unbacked",
    });
    expect(h.run({ op: "read", gpa: "0x2ffe", length: 2 }).hex).toBe("0000");
    expect(h.run({ op: "write", gpa: "0x1fff", hex: "AABB" }).outcome).toBe("ok");
    expect(h.run({ op: "read", gpa: "0x1ffe", length: 4 }).hex).toBe("01aabb04");
    expect(h.run({ op: "write", gpa: "0x9000", hex: "" }).outcome).toBe("ok");
    expect(h.model.readGuest(1, 0x1ffen, 3)).toEqual(Uint8Array.from([1, 0xaa, 0xbb]));
    expect(h.model.readGuest(1, 0x2fffn, 2)).toBeUndefined();
  });

  it("overlay precedence: lowest VP index, then SIEF before SIM; per partition", () => {
    const h = harness(memoryScenario());
    // VP 0's SIEF page wins over its SIM page and over VP 1's SIEF page, and hides the RAM.
    expect(h.run({ op: "read", partition: 2, gpa: "0x50000", length: 1 }).hex).toBe("00");
    h.run({ op: "write", partition: 2, gpa: "0x50200", hex: "01" });
    expect(h.vpState(2, 0).siefFlags).toEqual({ "2": [0] });
    expect(h.vpState(2, 0).simSlots).toEqual({});
    expect(h.vpState(2, 1).siefFlags).toEqual({});
    // VP 0's SIEF off: VP 0's SIM page is next.
    h.run({ op: "wrmsr", partition: 2, vp: 0, msr: "0x40000082", value: "0x50000" });
    h.run({ op: "write", partition: 2, gpa: "0x50000", hex: "05000000" });
    expect(h.vpState(2, 0).simSlots).toEqual({ "0": `05${z(255)}` });
    expect(h.vpState(2, 1).siefFlags).toEqual({});
    // VP 0's SIM off: VP 1's SIEF page.
    h.run({ op: "wrmsr", partition: 2, vp: 0, msr: "0x40000083", value: "0x0" });
    expect(h.run({ op: "read", partition: 2, gpa: "0x50200", length: 1 }).hex).toBe("00");
    h.run({ op: "write", partition: 2, gpa: "0x50200", hex: "02" });
    expect(h.vpState(2, 1).siefFlags).toEqual({ "2": [1] });
    // VP 1's SIEF off: the RAM again, unchanged.
    h.run({ op: "wrmsr", partition: 2, vp: 1, msr: "0x40000082", value: "0x0" });
    expect(h.run({ op: "read", partition: 2, gpa: "0x50000", length: 1 }).hex).toBe("aa");
    // Partition 2's overlay at 0x10000 does not reach partition 1's RAM there.
    expect(h.run({ op: "read", partition: 1, gpa: "0x10000", length: 1 }).hex).toBe("cc");
    expect(h.run({ op: "read", partition: 2, gpa: "0x10000", length: 1 }).hex).toBe("00");
    // Overlay pages start zeroed, whatever RAM they hide.
    expect(h.vpState(2, 2)).toEqual({
      partition: 2,
      vp: 2,
      siefFlags: {},
      sintAssertions: {},
      simSlots: {},
      queuedMessages: {},
    });
  });

  it("a write spanning RAM and an overlay page writes both", () => {
    const scenario = {
      partitions: [
        {
          id: 1,
          vps: [{ index: 0, siefp: "0x3001" }],
          memory: [{ gpa: "0x2000", hex: "00" }],
        },
      ],
    };
    const h = harness(scenario);
    expect(h.run({ op: "write", gpa: "0x2fff", hex: "ff03" }).outcome).toBe("ok");
    expect(h.vpState(1, 0).siefFlags).toEqual({ "0": [0, 1] });
    expect(h.run({ op: "read", gpa: "0x2fff", length: 2 }).hex).toBe("ff03");
  });
});

describe("scenario loading", () => {
  it("privilege names and privilegeMask", () => {
    const scenario = (privileges: unknown): unknown => ({
      partitions: [
        {
          id: 1,
          ...(typeof privileges === "string" ? { privilegeMask: privileges } : { privileges }),
          vps: [{ index: 0 }],
          connections: [{ id: 1, portPartition: 1, portId: 1 }],
          ports: [{ id: 1, type: "event", targetVp: 0, targetSint: 0, flagCount: 1 }],
        },
      ],
    });
    const denied = (privileges: unknown): boolean =>
      new TraceModel(scenario(privileges)).step(
        { op: "hypercall", control: "0x1005d", rdx: "0x1" },
        0,
        { partition: 1, vp: 0 },
      ).status === "HV_STATUS_ACCESS_DENIED";
    expect(denied(["SignalEvents"])).toBe(false);
    expect(denied(["PostMessages", "CreatePort", "ConnectPort", "AccessSynicRegs"])).toBe(true);
    expect(denied("0x0000002000000000")).toBe(false);
    expect(denied("0x0000001000000000")).toBe(true);
    expect(denied([])).toBe(true);
    expect(() => new TraceModel(scenario(["NoSuchPrivilege"]))).toThrow(/NoSuchPrivilege/);
  });
});

describe("speed", () => {
  it("a few thousand mixed ops per second", () => {
    const h = harness(messageScenario());
    const start = performance.now();
    let ops = 0;
    for (let i = 0; i < 800; i++) {
      post(h, 0x10, 1 + (i % 100), PING); // write + hypercall
      h.run({ op: "read", partition: 2, gpa: "0x20300", length: 256 });
      h.run({ op: "write", partition: 2, gpa: "0x20300", hex: "00000000" });
      h.run({ op: "eoi", partition: 2 });
      ops += 5;
    }
    h.model.finalState();
    const seconds = (performance.now() - start) / 1000;
    expect(ops / seconds).toBeGreaterThan(2000);
  });
});
