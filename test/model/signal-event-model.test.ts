/**
 * Pins the test model to shared/spec/signal-event.md with hand-written vectors, so that the
 * differential fuzzing compares the implementation with the spec and not with a second copy of the
 * implementation's own choices. Every expectation here is read off the spec, not off src.
 */
import { describe, expect, it } from "vitest";
import { HvStatus } from "../../src/abi/hv-status.js";
import { HvSynicMsr } from "../../src/abi/synic-msr.js";
import type { ScenarioFile } from "./scenario-file.js";
import {
  buildModel,
  type ModelMachine,
  modelClearFlag,
  modelDeletePort,
  modelFinalState,
  modelHypercall,
  modelSetActive,
  modelWriteMsr,
} from "./signal-event-model.js";

const HOST = 1;
const GUEST = 2;

/** The contract's example: the guest (2) signals the host's (1) event port 10 through connection 20. */
function scenario(): ScenarioFile {
  return {
    partitions: [
      {
        id: HOST,
        privileges: [],
        vps: [
          { index: 0, scontrol: "0x1", siefp: "0x10001", sints: { "2": "0x50" } },
          { index: 1, scontrol: "0x1", siefp: "0x0", sints: { "2": "0x51" } },
          { index: 3, scontrol: "0x1", siefp: "0x20001", sints: { "2": "0x52", "3": "0x53" } },
        ],
        ports: [
          { id: 10, type: "event", targetVp: 0, targetSint: 2, baseFlagNumber: 0, flagCount: 64 },
          {
            id: 11,
            type: "event",
            targetVp: "any",
            targetSint: 3,
            baseFlagNumber: 100,
            flagCount: 8,
          },
          { id: 12, type: "message", targetVp: 0, targetSint: 2 },
          { id: 13, type: "event", targetVp: 9, targetSint: 2, baseFlagNumber: 0, flagCount: 8 },
          { id: 14, type: "event", targetVp: 1, targetSint: 2, baseFlagNumber: 0, flagCount: 8 },
        ],
      },
      {
        id: GUEST,
        privileges: ["SignalEvents"],
        vps: [{ index: 0, scontrol: "0x1" }],
        connections: [
          { id: 20, portPartition: HOST, portId: 10 },
          { id: 21, portPartition: HOST, portId: 11 },
          { id: 22, portPartition: HOST, portId: 12 },
          { id: 23, portPartition: HOST, portId: 13 },
          { id: 24, portPartition: HOST, portId: 14 },
          { id: 25, portPartition: HOST, portId: 99 },
          { id: 26, portPartition: 3, portId: 1 },
        ],
        memory: [{ gpa: "0x2000", hex: "1400000005000000" }],
      },
      {
        id: 3,
        privileges: [],
        ports: [
          { id: 1, type: "event", targetVp: "any", targetSint: 0, baseFlagNumber: 0, flagCount: 8 },
        ],
      },
    ],
  };
}

/** §7: RDX of a fast call — ConnectionId in bits 31:0, FlagNumber in 47:32, RsvdZ in 63:48. */
function rdx(connectionId: number, flag: number, rsvd = 0): bigint {
  return BigInt(connectionId) | (BigInt(flag) << 32n) | (BigInt(rsvd) << 48n);
}

const FAST = 0x1005dn;
const MEMORY = 0x5dn;

function call(m: ModelMachine, control: bigint, input: bigint, caller = GUEST) {
  return modelHypercall(m, caller, control, input);
}

describe("test model, against the spec's text", () => {
  it("§7: the Linux VMBus fast call sets flag 5 of SINT 2 on VP 0 and asserts once", () => {
    const m = buildModel(scenario());
    const first = call(m, FAST, rdx(20, 5));
    expect(first).toMatchObject({ status: HvStatus.SUCCESS, check: "11:set" });
    expect(first.target).toEqual({
      partitionId: HOST,
      vpIndex: 0,
      sint: 2,
      flag: 5,
      newlySet: true,
    });
    // §6.11: already set -> SUCCESS, nothing more.
    expect(call(m, FAST, rdx(20, 5))).toMatchObject({
      status: HvStatus.SUCCESS,
      check: "11:already-set",
    });
    expect(modelFinalState(m)[String(HOST)]!["0"]).toEqual({
      siefFlags: { "2": [5] },
      sintAssertions: { "2": 1 },
    });
    // The guest clears the flag: the next signal is a new edge.
    expect(modelClearFlag(m, HOST, 0, 2, 5)).toBe(true);
    expect(call(m, FAST, rdx(20, 5)).check).toBe("11:set");
    expect(modelFinalState(m)[String(HOST)]!["0"]!.sintAssertions).toEqual({ "2": 2 });
  });

  it("§4: a memory call reads the block at an aligned, backed GPA", () => {
    const m = buildModel(scenario());
    expect(call(m, MEMORY, 0x2000n).target).toMatchObject({ flag: 5, sint: 2, vpIndex: 0 });
    expect(call(m, MEMORY, 0x2004n).check).toBe("4:misaligned");
    expect(call(m, MEMORY, 0x3000n).check).toBe("4:unbacked");
    // The rest of a backed page reads as zeros: connection 0 is not the guest's.
    expect(call(m, MEMORY, 0x2ff8n).check).toBe("6:no-connection");
  });

  it("§6 steps 1-3: call code, then control rules, then the privilege", () => {
    const m = buildModel(scenario());
    expect(call(m, 0x1005cn | (1n << 40n), rdx(20, 0), HOST).check).toBe("1:call-code");
    expect(call(m, FAST | (1n << 17n), rdx(20, 0), HOST).check).toBe("2:variable-header");
    expect(call(m, FAST | (1n << 27n), rdx(20, 0)).check).toBe("2:rsvd-27-30");
    expect(call(m, FAST | (1n << 31n), rdx(20, 0)).check).toBe("2:nested");
    expect(call(m, FAST | (1n << 32n), rdx(20, 0)).check).toBe("2:rep-count");
    expect(call(m, FAST | (1n << 44n), rdx(20, 0)).check).toBe("2:rsvd-44-47");
    expect(call(m, FAST | (1n << 48n), rdx(20, 0)).check).toBe("2:rep-start");
    expect(call(m, FAST | (1n << 60n), rdx(20, 0)).check).toBe("2:rsvd-60-63");
    // The host partition has no SignalEvents privilege; the privilege comes before the input.
    expect(call(m, MEMORY, 0x2001n, HOST)).toMatchObject({
      status: HvStatus.ACCESS_DENIED,
      check: "3:privilege",
    });
  });

  it("§6 steps 5-8, in order", () => {
    const m = buildModel(scenario());
    expect(call(m, FAST, rdx(99, 0, 1)).check).toBe("5:rsvdz");
    expect(call(m, FAST, rdx(0x0100_0014, 0))).toMatchObject({
      status: HvStatus.INVALID_HYPERCALL_INPUT,
      check: "5:connection-reserved",
    });
    expect(call(m, FAST, rdx(99, 0)).status).toBe(HvStatus.INVALID_CONNECTION_ID);
    expect(call(m, FAST, rdx(25, 1000)).check).toBe("7:no-port");
    expect(call(m, FAST, rdx(22, 1000)).check).toBe("7:not-event");
    expect(call(m, FAST, rdx(20, 64))).toMatchObject({
      status: HvStatus.INVALID_PARAMETER,
      check: "8:flag-range",
    });
    expect(call(m, FAST, rdx(20, 63)).status).toBe(HvStatus.SUCCESS);
    modelDeletePort(m, HOST, 10);
    expect(call(m, FAST, rdx(20, 64)).check).toBe("7:deleted");
    modelSetActive(m, HOST, false);
    expect(call(m, FAST, rdx(21, 0)).check).toBe("7:inactive");
  });

  it("§6 steps 9-10: target VP, HV_ANY_VP, SynIC state, masked SINT", () => {
    const m = buildModel(scenario());
    expect(call(m, FAST, rdx(23, 8)).check).toBe("8:flag-range");
    expect(call(m, FAST, rdx(23, 0))).toMatchObject({
      status: HvStatus.INVALID_VP_INDEX,
      check: "9:no-vp",
    });
    expect(call(m, FAST, rdx(26, 0))).toMatchObject({
      status: HvStatus.INVALID_VP_INDEX,
      check: "9:any-no-vps",
    });
    expect(call(m, FAST, rdx(24, 0))).toMatchObject({
      status: HvStatus.INVALID_SYNIC_STATE,
      check: "10:siefp",
    });
    // HV_ANY_VP: VP 0 is ready but SINT 3 is masked there (reset value); the lowest ready VP is
    // chosen first and the mask checked on it.
    expect(call(m, FAST, rdx(21, 1)).check).toBe("10:masked");
    modelWriteMsr(m, HOST, 0, HvSynicMsr.SCONTROL, 0n); // VP 0: SynIC off
    expect(call(m, FAST, rdx(20, 0)).check).toBe("10:scontrol");
    // Now VP 3 is the lowest ready VP; its SINT 3 is unmasked. Flag = base 100 + 1.
    expect(call(m, FAST, rdx(21, 1)).target).toEqual({
      partitionId: HOST,
      vpIndex: 3,
      sint: 3,
      flag: 101,
      newlySet: true,
    });
    modelWriteMsr(m, HOST, 3, HvSynicMsr.SIEFP, 0x20000n); // VP 3: SIEF page off
    expect(call(m, FAST, rdx(21, 1)).check).toBe("10:any-none-ready");
  });
});
