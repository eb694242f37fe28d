/**
 * signal-event spec §6, row by row: for each row (and each of its sub-cases) the base scenario with
 * the one change that makes the call stop exactly there, through both entry points and, where the
 * row applies to both, both input forms. A failed call must leave the machine unchanged.
 */
import { describe, expect, it } from "vitest";
import { HV_CONNECTION_ID } from "../../src/abi/connection-id.js";
import { HV_PAGE_SIZE } from "../../src/abi/hv-page.js";
import {
  CONTROL_CALL_CODE_MASK,
  CONTROL_FAST_BIT,
  CONTROL_REP_COUNT_MASK,
  CONTROL_REP_START_MASK,
  CONTROL_VARIABLE_HEADER_MASK,
  HV_HYPERCALL_CONTROL,
  type HypercallControl,
} from "../../src/abi/hypercall-control.js";
import { PARTITION_PRIVILEGE_NAMES } from "../../src/abi/partition-privilege.js";
import {
  EVENT_FLAGS_BYTES_PER_SINT,
  EVENT_FLAGS_PER_SINT,
  SIEF_PAGE_BYTES,
  SINT_COUNT,
} from "../../src/abi/sief-page.js";
import { encodeSignalEventInput } from "../../src/abi/signal-event-input.js";
import {
  HvSynicMsr,
  SINT_AUTO_EOI_BIT,
  SINT_MASKED_BIT,
  SINT_POLLING_BIT,
} from "../../src/abi/synic-msr.js";
import { u64ToHalves } from "../../src/abi/u64.js";
import { signalEventRow } from "../../src/dispatch/handlers/signal-event.js";
import {
  Dispatcher,
  HvCallCode,
  HvStatus,
  hvStatusName,
  hypercall,
  loadMachine,
  PartitionPrivilegeBit,
  parseScenario,
} from "../../src/index.js";
import {
  addMemory,
  BASE_FLAG,
  CALLER,
  CONN,
  control,
  expectBothForms,
  expectCall,
  FLAG,
  FLAG_COUNT,
  GOOD_INPUT,
  hex,
  INPUT_GPA,
  inputRegister,
  PORT,
  partition,
  port,
  RECEIVER,
  RECV_SINT,
  RECV_VP,
  recvVp,
  run,
  SCONTROL_ON,
  type ScenarioJson,
  SIEF_PAGE,
  scenario,
  setFlags,
  siefp,
  sint,
  VECTOR,
} from "./support/scenario.js";
import { makeTestHandler, TEST_CALL_CODE } from "./support/test-handler.js";

const U64_MASK = (1n << 64n) - 1n;
const CONTROL_FIELDS = HV_HYPERCALL_CONTROL.fields;

/** A raw HV_CONNECTION_ID: the id in bits 23:0 and `reserved` in bits 31:24. */
function joinConnectionId(parts: { id: number; reserved: number }): number {
  return HV_CONNECTION_ID.encode(parts).lo;
}
const FAST_BIT_NUMBER = Math.log2(CONTROL_FAST_BIT);

/** The VP slot of the base scenario's receiving VP. */
function recvSlot(r: { machine: { requireVp(p: number, v: number): number } }): number {
  return r.machine.requireVp(RECEIVER, RECV_VP);
}

describe("row 1: call code not implemented -> HV_STATUS_INVALID_HYPERCALL_CODE", () => {
  // HvCallPostMessage (0x005C) used to stand here; it is implemented now (HANDLER_TABLE), so its
  // neighbour HvCallDisconnectPort (0x005B) takes its place. CreatePort is 0x0095 since the port
  // family's call codes were corrected.
  const codes = [
    0,
    HvCallCode.DisconnectPort,
    HvCallCode.CreatePort,
    HvCallCode.SignalEvent + 1,
    CONTROL_CALL_CODE_MASK,
  ];
  it.each(codes.map((c) => [hex(c), c] as const))("call code %s", (_name, callCode) => {
    expectBothForms(scenario(), { control: { callCode } }, HvStatus.INVALID_HYPERCALL_CODE);
  });

  it("SignalEvent itself is unknown to a dispatcher whose table lacks it", () => {
    const rows = [makeTestHandler()];
    expectBothForms(scenario(), { rows }, HvStatus.INVALID_HYPERCALL_CODE);
  });

  it("HvCallPostMessage is implemented: its code gets past row 1 (fast: control rule; memory: its own steps)", () => {
    const callCode = HvCallCode.PostMessage;
    expect(run(scenario(), { form: "fast", control: { callCode } }).status).toBe(
      HvStatus.INVALID_HYPERCALL_INPUT,
    );
    // The caller lacks PostMessages.
    expect(run(scenario(), { form: "memory", control: { callCode } }).status).toBe(
      HvStatus.ACCESS_DENIED,
    );
  });

  it("the base call succeeds (the starting point of every row)", () => {
    expectBothForms(scenario(), {}, HvStatus.SUCCESS);
  });
});

describe("row 2: control value breaks a rule of §1 -> HV_STATUS_INVALID_HYPERCALL_INPUT", () => {
  interface Field {
    readonly name: string;
    readonly values: readonly Partial<HypercallControl>[];
  }
  /** Lowest bit, highest bit and every bit of a field. */
  const spread = (key: keyof HypercallControl, mask: number): Partial<HypercallControl>[] => [
    { [key]: 1 },
    { [key]: (mask + 1) / 2 },
    { [key]: mask },
  ];
  const fields: readonly Field[] = [
    {
      name: "variable header size 26:17",
      values: spread("variableHeaderSize", CONTROL_VARIABLE_HEADER_MASK),
    },
    { name: "RsvdZ 30:27", values: spread("reserved27to30", CONTROL_FIELDS.reserved27to30.mask) },
    { name: "is nested (31)", values: [{ isNested: true }] },
    { name: "rep count 43:32", values: spread("repCount", CONTROL_REP_COUNT_MASK) },
    { name: "RsvdZ 47:44", values: spread("reserved44to47", CONTROL_FIELDS.reserved44to47.mask) },
    { name: "rep start index 59:48", values: spread("repStartIndex", CONTROL_REP_START_MASK) },
    { name: "RsvdZ 63:60", values: spread("reserved60to63", CONTROL_FIELDS.reserved60to63.mask) },
  ];
  for (const f of fields) {
    it.each(f.values.map((v) => [JSON.stringify(v), v] as const))(
      `${f.name}: %s`,
      (_n, fieldValue) => {
        expectBothForms(scenario(), { control: fieldValue }, HvStatus.INVALID_HYPERCALL_INPUT);
      },
    );
  }

  it("every single control bit: 15:1 -> unknown code (bit 0: PostMessage), 16 -> the other form, 63:17 -> invalid input", () => {
    for (let bit = 0; bit < 64; bit++) {
      const flipped = control() ^ (1n << BigInt(bit));
      const c = u64ToHalves(flipped);
      const s = scenario((x) =>
        addMemory(x, CALLER, INPUT_GPA, encodeSignalEventInput(GOOD_INPUT)),
      );
      const machine = loadMachine(parseScenario(s));
      const d = new Dispatcher(machine);
      // For the fast form the input register holds the block; for the memory form, its GPA.
      const fast = ((flipped >> BigInt(FAST_BIT_NUMBER)) & 1n) === 1n;
      const r = u64ToHalves(fast ? inputRegister(GOOD_INPUT) : INPUT_GPA);
      const status = d.dispatch(
        machine.requirePartition(CALLER),
        machine.requireVp(CALLER, 0),
        c.lo,
        c.hi,
        r.lo,
        r.hi,
      );
      // Bit 0 turns 0x005D into 0x005C, HvCallPostMessage, which is implemented now: it passes
      // rows 1-2 (a memory-form simple call) and stops at row 3, the caller lacking PostMessages.
      const expected =
        bit === 0
          ? HvStatus.ACCESS_DENIED
          : bit < FAST_BIT_NUMBER
            ? HvStatus.INVALID_HYPERCALL_CODE
            : bit === FAST_BIT_NUMBER
              ? HvStatus.SUCCESS
              : HvStatus.INVALID_HYPERCALL_INPUT;
      expect(hvStatusName(status), `control bit ${bit}`).toBe(hvStatusName(expected));
    }
  });
});

describe("row 3: caller lacks SignalEvents -> HV_STATUS_ACCESS_DENIED", () => {
  it("no privileges", () => {
    const s = scenario((x) => {
      partition(x, CALLER).privileges = [];
    });
    expectBothForms(s, {}, HvStatus.ACCESS_DENIED);
  });

  it("every named privilege but SignalEvents", () => {
    const s = scenario((x) => {
      partition(x, CALLER).privileges = PARTITION_PRIVILEGE_NAMES.filter(
        (n) => n !== "SignalEvents",
      );
    });
    expectBothForms(s, {}, HvStatus.ACCESS_DENIED);
  });

  it("every mask bit but bit SignalEvents", () => {
    const s = scenario((x) => {
      const p = partition(x, CALLER);
      delete p.privileges;
      p.privilegeMask = hex(U64_MASK & ~(1n << BigInt(PartitionPrivilegeBit.SignalEvents)));
    });
    expectBothForms(s, {}, HvStatus.ACCESS_DENIED);
  });

  it("the same bit number in the low (MSR-access) half does not count", () => {
    const s = scenario((x) => {
      const p = partition(x, CALLER);
      delete p.privileges;
      p.privilegeMask = hex(1n << BigInt(PartitionPrivilegeBit.SignalEvents - 32));
    });
    expectBothForms(s, {}, HvStatus.ACCESS_DENIED);
  });

  it("it is the caller's privilege that counts, not the port owner's", () => {
    const s = scenario(
      (x) => {
        partition(x, CALLER).privileges = ["PostMessages"];
      },
      (x) => {
        partition(x, RECEIVER).privileges = ["SignalEvents"];
      },
    );
    expectBothForms(s, {}, HvStatus.ACCESS_DENIED);
  });

  it("exactly the SignalEvents bit, as a raw mask, is enough", () => {
    const s = scenario((x) => {
      const p = partition(x, CALLER);
      delete p.privileges;
      p.privilegeMask = hex(1n << BigInt(PartitionPrivilegeBit.SignalEvents));
    });
    expectBothForms(s, {}, HvStatus.SUCCESS);
  });
});

describe("row 4: memory input misaligned, crossing a page or unbacked -> HV_STATUS_INVALID_ALIGNMENT", () => {
  it.each([1n, 2n, 4n, 7n])("unaligned GPA (INPUT_GPA + %s), the bytes are there", (delta) => {
    expectCall(scenario(), { form: "memory", gpa: INPUT_GPA + delta }, HvStatus.INVALID_ALIGNMENT);
  });

  it("unbacked GPA", () => {
    expectCall(scenario(), { form: "memory", placeAt: null }, HvStatus.INVALID_ALIGNMENT);
  });

  it("unbacked page next to a backed one", () => {
    expectCall(
      scenario(),
      { form: "memory", gpa: INPUT_GPA + BigInt(HV_PAGE_SIZE), placeAt: INPUT_GPA },
      HvStatus.INVALID_ALIGNMENT,
    );
  });

  it("a GPA whose low 32 bits name a backed page is still unbacked (bits 63:32 count)", () => {
    expectCall(
      scenario(),
      { form: "memory", gpa: INPUT_GPA + (1n << 32n), placeAt: INPUT_GPA },
      HvStatus.INVALID_ALIGNMENT,
    );
    expectCall(
      scenario(),
      { form: "memory", gpa: INPUT_GPA, placeAt: INPUT_GPA + (1n << 32n) },
      HvStatus.INVALID_ALIGNMENT,
    );
  });

  it("another partition's memory does not back the caller's GPA", () => {
    const s = scenario((x) => {
      addMemory(x, RECEIVER, INPUT_GPA, encodeSignalEventInput(GOOD_INPUT));
    });
    expectCall(s, { form: "memory", placeAt: null }, HvStatus.INVALID_ALIGNMENT);
  });

  it("the last aligned slot of a page, and the last one of the address space, are fine", () => {
    const lastInPage = INPUT_GPA + BigInt(HV_PAGE_SIZE - 8);
    expectCall(scenario(), { form: "memory", gpa: lastInPage }, HvStatus.SUCCESS);
    expectCall(scenario(), { form: "memory", gpa: U64_MASK - 7n }, HvStatus.SUCCESS);
  });

  describe("page crossing, through a registered 16-byte handler", () => {
    const pageEnd = 0x4000n;
    const setup = () => {
      const s = scenario((x) => {
        const p = partition(x, CALLER);
        p.privileges = ["SignalEvents", "PostMessages"];
        // 32 bytes from 0x3FF0: backs both pages around 0x4000.
        const bytes = Array.from({ length: 32 }, (_, i) => (i + 1).toString(16).padStart(2, "0"));
        p.memory = [{ gpa: hex(pageEnd - 16n), hex: bytes.join("") }];
      });
      const machine = loadMachine(parseScenario(s));
      // A simple row: a rep row would also need rep count >= 1 (the generic rep rules).
      const testHandler = makeTestHandler({ inputSize: 16, kind: "simple" });
      const dispatcher = new Dispatcher(machine, [signalEventRow, testHandler]);
      return { machine, testHandler, dispatcher };
    };
    const ctl = control({ callCode: TEST_CALL_CODE });

    it("16 bytes at page offset 0xFF8 cross into the next page -> INVALID_ALIGNMENT", () => {
      const { machine, testHandler, dispatcher } = setup();
      const before = machine.snapshot();
      const out = hypercall(dispatcher, { caller: CALLER, control: ctl, input: pageEnd - 8n });
      expect(out.statusName).toBe(hvStatusName(HvStatus.INVALID_ALIGNMENT));
      expect(testHandler.received).toEqual([]);
      expect(machine.equals(before)).toBe(true);
      const g = u64ToHalves(pageEnd - 8n);
      const c = u64ToHalves(ctl);
      expect(dispatcher.dispatch(0, 0, c.lo, c.hi, g.lo, g.hi)).toBe(HvStatus.INVALID_ALIGNMENT);
      expect(testHandler.received).toEqual([]);
    });

    it("16 bytes at page offset 0xFF0 fit -> the handler gets them", () => {
      const { testHandler, dispatcher } = setup();
      const out = hypercall(dispatcher, { caller: CALLER, control: ctl, input: pageEnd - 16n });
      expect(out.statusName).toBe("HV_STATUS_SUCCESS");
      const c = u64ToHalves(ctl);
      const g = u64ToHalves(pageEnd - 16n);
      expect(dispatcher.dispatch(0, 0, c.lo, c.hi, g.lo, g.hi)).toBe(HvStatus.SUCCESS);
      const words = [0x04030201, 0x08070605, 0x0c0b0a09, 0x100f0e0d];
      // hypercall() no longer decodes the input itself: both entry points reach the same execute.
      expect(testHandler.received).toEqual([
        { callerSlot: 0, vpSlot: 0, words },
        { callerSlot: 0, vpSlot: 0, words },
      ]);
    });

    it("8-byte SignalEvent input at 0xFF8 of the same page does not cross", () => {
      const { dispatcher } = setup();
      // Bytes there are 09..10: connection 0x0c0b0a09 has reserved bits set.
      const out = hypercall(dispatcher, {
        caller: CALLER,
        control: control(),
        input: pageEnd - 8n,
      });
      expect(out.statusName).toBe("HV_STATUS_INVALID_HYPERCALL_INPUT");
    });
  });
});

describe("row 5: input RsvdZ or ConnectionId bits 31:24 -> HV_STATUS_INVALID_HYPERCALL_INPUT", () => {
  it.each([1, 0x8000, 0xffff])("RsvdZ = %s", (rsvdZ) => {
    expectBothForms(scenario(), { input: { rsvdZ } }, HvStatus.INVALID_HYPERCALL_INPUT);
  });

  it.each([1, 0x80, 0xff])(
    "ConnectionId bits 31:24 = %s (bits 23:0 name the caller's connection)",
    (reserved) => {
      const connectionId = joinConnectionId({ id: CONN, reserved });
      expectBothForms(scenario(), { input: { connectionId } }, HvStatus.INVALID_HYPERCALL_INPUT);
    },
  );
});

describe("row 6: ConnectionId not among the caller's connections -> HV_STATUS_INVALID_CONNECTION_ID", () => {
  it("unknown connection id", () => {
    expectBothForms(
      scenario(),
      { input: { connectionId: CONN + 1 } },
      HvStatus.INVALID_CONNECTION_ID,
    );
  });

  it("caller owns no connection at all", () => {
    const s = scenario((x) => {
      partition(x, CALLER).connections = [];
    });
    expectBothForms(s, {}, HvStatus.INVALID_CONNECTION_ID);
  });

  it("a connection owned by ANOTHER partition (the caller must own it)", () => {
    const other = CONN + 0x10;
    const s = scenario((x) => {
      const r = partition(x, RECEIVER);
      r.privileges = ["SignalEvents"];
      r.connections = [{ id: other, portPartition: RECEIVER, portId: PORT }];
    });
    expectBothForms(s, { input: { connectionId: other } }, HvStatus.INVALID_CONNECTION_ID);
    // The owner itself may use it.
    expectBothForms(
      s,
      { input: { connectionId: other }, caller: RECEIVER, vp: RECV_VP },
      HvStatus.SUCCESS,
    );
  });

  it("connection ids 0 and 0xFFFFFF are ordinary ids", () => {
    for (const id of [0, 0xffffff]) {
      const s = scenario((x) => {
        partition(x, CALLER).connections = [{ id, portPartition: RECEIVER, portId: PORT }];
      });
      expectBothForms(s, { input: { connectionId: id } }, HvStatus.SUCCESS);
      expectBothForms(s, { input: { connectionId: CONN } }, HvStatus.INVALID_CONNECTION_ID);
    }
  });
});

describe("row 7: port missing, deleted, owner inactive, or not an event port -> HV_STATUS_INVALID_PORT_ID", () => {
  it("missing port", () => {
    const s = scenario((x) => {
      partition(x, CALLER).connections = [{ id: CONN, portPartition: RECEIVER, portId: PORT + 1 }];
    });
    expectBothForms(s, {}, HvStatus.INVALID_PORT_ID);
  });

  it("the port id exists, but in another partition than the connection names", () => {
    const s = scenario((x) => {
      partition(x, CALLER).connections = [{ id: CONN, portPartition: CALLER, portId: PORT }];
    });
    expectBothForms(s, {}, HvStatus.INVALID_PORT_ID);
  });

  it("deleted port", () => {
    const s = scenario((x) => {
      port(x).deleted = true;
    });
    expectBothForms(s, {}, HvStatus.INVALID_PORT_ID);
  });

  it("port deleted at run time (Machine.deletePort)", () => {
    const machine = loadMachine(parseScenario(scenario()));
    machine.deletePort(RECEIVER, PORT);
    const before = machine.snapshot();
    const out = hypercall(new Dispatcher(machine), {
      caller: CALLER,
      control: control({ fast: true }),
      input: inputRegister(GOOD_INPUT),
    });
    expect(out.statusName).toBe("HV_STATUS_INVALID_PORT_ID");
    expect(machine.equals(before)).toBe(true);
  });

  it("owning partition inactive", () => {
    const s = scenario((x) => {
      partition(x, RECEIVER).state = "inactive";
    });
    expectBothForms(s, {}, HvStatus.INVALID_PORT_ID);
  });

  it.each(["message", "monitor"] as const)("%s port", (type) => {
    const s = scenario((x) => {
      const q = port(x);
      q.type = type;
      delete q.baseFlagNumber;
      delete q.flagCount;
    });
    expectBothForms(s, { input: { flagNumber: 0 } }, HvStatus.INVALID_PORT_ID);
  });
});

describe("row 8: FlagNumber >= FlagCount -> HV_STATUS_INVALID_PARAMETER", () => {
  it("flag = FlagCount fails", () => {
    expectBothForms(scenario(), { input: { flagNumber: FLAG_COUNT } }, HvStatus.INVALID_PARAMETER);
  });

  it("flag = FlagCount - 1 succeeds and sets flag base + count - 1", () => {
    const [r] = expectBothForms(
      scenario(),
      { input: { flagNumber: FLAG_COUNT - 1 } },
      HvStatus.SUCCESS,
    );
    expect(setFlags(r!.machine)).toEqual([
      { vpSlot: recvSlot(r!), sint: RECV_SINT, flag: BASE_FLAG + FLAG_COUNT - 1 },
    ]);
  });

  it("flag 0xFFFF fails", () => {
    expectBothForms(scenario(), { input: { flagNumber: 0xffff } }, HvStatus.INVALID_PARAMETER);
  });

  it("a port with FlagCount 0 takes no flag", () => {
    const s = scenario((x) => {
      port(x).flagCount = 0;
    });
    expectBothForms(s, { input: { flagNumber: 0 } }, HvStatus.INVALID_PARAMETER);
  });

  it("the last flag of the last SINT (byte 4095, bit 7 of the page)", () => {
    const s = scenario(
      (x) => {
        const q = port(x);
        q.targetSint = SINT_COUNT - 1;
        q.baseFlagNumber = EVENT_FLAGS_PER_SINT - 4;
        q.flagCount = 4;
      },
      (x) => {
        recvVp(x).sints = { [SINT_COUNT - 1]: sint(VECTOR) };
      },
    );
    const [r] = expectBothForms(s, { input: { flagNumber: 3 } }, HvStatus.SUCCESS);
    const page = r!.machine.sief.page(recvSlot(r!));
    expect(page[SIEF_PAGE_BYTES - 1]).toBe(0x80);
    expect(setFlags(r!.machine)).toHaveLength(1);
    expectBothForms(s, { input: { flagNumber: 4 } }, HvStatus.INVALID_PARAMETER);
  });
});

describe("row 9: target VP missing -> HV_STATUS_INVALID_VP_INDEX", () => {
  it.each([0, RECV_VP + 1, 0xfffffffe])(
    "port names VP index %s, which its partition lacks",
    (targetVp) => {
      const s = scenario((x) => {
        port(x).targetVp = targetVp;
      });
      expectBothForms(s, {}, HvStatus.INVALID_VP_INDEX);
    },
  );

  it("HV_ANY_VP in a partition with no VPs", () => {
    const s = scenario(
      (x) => {
        port(x).targetVp = "any";
      },
      (x) => {
        partition(x, RECEIVER).vps = [];
      },
    );
    expectBothForms(s, {}, HvStatus.INVALID_VP_INDEX);
  });

  it("a specific VP in a partition with no VPs", () => {
    const s = scenario((x) => {
      partition(x, RECEIVER).vps = [];
    });
    expectBothForms(s, {}, HvStatus.INVALID_VP_INDEX);
  });
});

describe("row 10: SynIC state -> HV_STATUS_INVALID_SYNIC_STATE", () => {
  it.each(["0x0", "0x2", "0xfffffffffffffffe"])("SCONTROL %s (enable bit clear)", (scontrol) => {
    const s = scenario((x) => {
      recvVp(x).scontrol = scontrol;
    });
    expectBothForms(s, {}, HvStatus.INVALID_SYNIC_STATE);
  });

  it.each(["0x0", siefp(SIEF_PAGE, false), "0xfffffffffffffffe"])(
    "SIEFP %s (enable bit clear)",
    (value) => {
      const s = scenario((x) => {
        recvVp(x).siefp = value;
      });
      expectBothForms(s, {}, HvStatus.INVALID_SYNIC_STATE);
    },
  );

  const anyVpReceiver = (
    vps: { index: number; on: boolean; siefOn?: boolean; masked?: boolean }[],
  ) =>
    scenario(
      (x) => {
        port(x).targetVp = "any";
      },
      (x) => {
        partition(x, RECEIVER).vps = vps.map((v) => ({
          index: v.index,
          scontrol: v.on ? SCONTROL_ON : "0x0",
          siefp: siefp(SIEF_PAGE + BigInt(v.index), v.siefOn ?? v.on),
          sints: { [RECV_SINT]: sint(VECTOR + v.index, v.masked ?? false) },
        }));
      },
    );

  it("HV_ANY_VP with no VP whose SynIC and SIEF page are both enabled", () => {
    const s = anyVpReceiver([
      { index: 0, on: true, siefOn: false },
      { index: 1, on: false, siefOn: true },
      { index: 2, on: false },
    ]);
    expectBothForms(s, {}, HvStatus.INVALID_SYNIC_STATE);
  });

  it("HV_ANY_VP picks the lowest enabled index (VP 0 disabled, VPs 1 and 3 enabled -> 1)", () => {
    // Listed out of order: the choice is by VP index, not by position in the file.
    const s = anyVpReceiver([
      { index: 3, on: true },
      { index: 0, on: false },
      { index: 1, on: true },
    ]);
    for (const r of expectBothForms(s, {}, HvStatus.SUCCESS)) {
      const vp1 = r.machine.requireVp(RECEIVER, 1);
      expect(setFlags(r.machine)).toEqual([
        { vpSlot: vp1, sint: RECV_SINT, flag: BASE_FLAG + FLAG },
      ]);
      expect(r.machine.sintAssertionCount(RECEIVER, 1, RECV_SINT)).toBe(1);
      expect(r.machine.sintAssertionCount(RECEIVER, 3, RECV_SINT)).toBe(0);
    }
  });

  it("HV_ANY_VP follows SynIC register writes made after load", () => {
    const machine = loadMachine(
      parseScenario(
        anyVpReceiver([
          { index: 0, on: false },
          { index: 1, on: true },
          { index: 3, on: true },
        ]),
      ),
    );
    const d = new Dispatcher(machine);
    const call = () =>
      hypercall(d, {
        caller: CALLER,
        control: control({ fast: true }),
        input: inputRegister(GOOD_INPUT),
      });
    expect(call().status).toBe(HvStatus.SUCCESS);
    expect(machine.isSiefFlagSet(RECEIVER, 1, RECV_SINT, BASE_FLAG + FLAG)).toBe(true);
    // The guest turns VP 1's SynIC off: the next signal goes to VP 3.
    machine.writeMsr(RECEIVER, 1, HvSynicMsr.SCONTROL, 0n);
    expect(call().status).toBe(HvStatus.SUCCESS);
    expect(machine.isSiefFlagSet(RECEIVER, 3, RECV_SINT, BASE_FLAG + FLAG)).toBe(true);
    expect(machine.sintAssertionCount(RECEIVER, 3, RECV_SINT)).toBe(1);
  });

  it("target SINT masked (reset value: not listed in the file)", () => {
    const s = scenario((x) => {
      recvVp(x).sints = {};
    });
    expectBothForms(s, {}, HvStatus.INVALID_SYNIC_STATE);
  });

  it("target SINT masked explicitly (vector set, bit 16 set)", () => {
    const s = scenario((x) => {
      recvVp(x).sints = { [RECV_SINT]: sint(VECTOR, true) };
    });
    expectBothForms(s, {}, HvStatus.INVALID_SYNIC_STATE);
  });

  it("only the target SINT's mask matters; auto-EOI and polling do not block", () => {
    const s = scenario((x) => {
      const sints: Record<string, string> = {};
      for (let n = 0; n < SINT_COUNT; n++) sints[n] = sint(VECTOR, true);
      sints[RECV_SINT] = hex(VECTOR | SINT_AUTO_EOI_BIT | SINT_POLLING_BIT);
      recvVp(x).sints = sints;
    });
    expectBothForms(s, {}, HvStatus.SUCCESS);
  });

  it("a masked SINT with Polling (bit 18) set counts as unmasked: SUCCESS, the flag is set, no interrupt", () => {
    // Premise changed on purpose (synic.md §1, signal-event.md §6 step 10): masked + polling used
    // to be INVALID_SYNIC_STATE; a polling SINT is unmasked for every check and asserts nothing.
    const s = scenario((x) => {
      recvVp(x).sints = { [RECV_SINT]: hex(VECTOR | SINT_MASKED_BIT | SINT_POLLING_BIT) };
    });
    for (const r of expectBothForms(s, {}, HvStatus.SUCCESS)) {
      expect(setFlags(r.machine)).toEqual([
        { vpSlot: recvSlot(r), sint: RECV_SINT, flag: BASE_FLAG + FLAG },
      ]);
      expect(r.machine.sintAssertionCount(RECEIVER, RECV_VP, RECV_SINT)).toBe(0);
    }
  });

  it("HV_ANY_VP: the chosen VP's SINT is masked -> fails, no fallback to a later VP", () => {
    const s = anyVpReceiver([
      { index: 1, on: true, masked: true },
      { index: 3, on: true },
    ]);
    expectBothForms(s, {}, HvStatus.INVALID_SYNIC_STATE);
  });
});

describe("row 11: set the flag; assert the SINT on a 0 -> 1 transition only; SUCCESS", () => {
  it("sets bit (base+flag) mod 8 of byte (base+flag)/8 at page offset sint*256, nothing else", () => {
    for (const r of expectBothForms(scenario(), {}, HvStatus.SUCCESS)) {
      expect(r.resultLo).toBe(0);
      const k = BASE_FLAG + FLAG;
      const expected = new Uint8Array(SIEF_PAGE_BYTES);
      expected[RECV_SINT * EVENT_FLAGS_BYTES_PER_SINT + Math.floor(k / 8)] = 1 << (k % 8);
      const slot = recvSlot(r);
      expect(Buffer.from(r.machine.sief.page(slot)).equals(Buffer.from(expected))).toBe(true);
      for (let v = 0; v < r.machine.vpCount; v++) {
        if (v !== slot) expect(r.machine.sief.page(v).every((b) => b === 0)).toBe(true);
      }
      expect(r.machine.isSiefFlagSet(RECEIVER, RECV_VP, RECV_SINT, k)).toBe(true);
      expect(r.machine.siefFlags(RECEIVER, RECV_VP, RECV_SINT)).toEqual([k]);
      for (let n = 0; n < SINT_COUNT; n++) {
        expect(r.machine.sintAssertionCount(RECEIVER, RECV_VP, n)).toBe(n === RECV_SINT ? 1 : 0);
        expect(r.machine.sintAssertionCount(CALLER, 0, n)).toBe(0);
      }
    }
  });

  it("repeated signal -> SUCCESS, one assertion only, no state change; after the guest clears it, a new edge", () => {
    const machine = loadMachine(parseScenario(scenario()));
    const d = new Dispatcher(machine);
    const seen: (number | string)[][] = [];
    machine.onSintAsserted((...args) => seen.push(args));
    const signal = () =>
      hypercall(d, {
        caller: CALLER,
        control: control({ fast: true }),
        input: inputRegister(GOOD_INPUT),
      });
    expect(signal().status).toBe(HvStatus.SUCCESS);
    const afterFirst = machine.snapshot();
    for (let i = 0; i < 3; i++) {
      expect(signal().status).toBe(HvStatus.SUCCESS);
      expect(machine.equals(afterFirst)).toBe(true);
    }
    expect(machine.sintAssertionCount(RECEIVER, RECV_VP, RECV_SINT)).toBe(1);
    expect(seen).toHaveLength(1);
    expect(machine.clearSiefFlag(RECEIVER, RECV_VP, RECV_SINT, BASE_FLAG + FLAG)).toBe(true);
    expect(signal().status).toBe(HvStatus.SUCCESS);
    expect(machine.sintAssertionCount(RECEIVER, RECV_VP, RECV_SINT)).toBe(2);
    expect(seen).toHaveLength(2);
  });

  it("a polling SINT: the flag is set, but no interrupt is counted and no listener is called", () => {
    const s = scenario((x) => {
      recvVp(x).sints = { [RECV_SINT]: hex(VECTOR | SINT_POLLING_BIT) };
    });
    const machine = loadMachine(parseScenario(s));
    const heard: unknown[] = [];
    machine.onSintAsserted((...args) => heard.push(args));
    const d = new Dispatcher(machine);
    for (let i = 0; i < 2; i++) {
      const out = hypercall(d, {
        caller: CALLER,
        control: control({ fast: true }),
        input: inputRegister(GOOD_INPUT),
      });
      expect(out.statusName).toBe("HV_STATUS_SUCCESS");
    }
    expect(machine.siefFlags(RECEIVER, RECV_VP, RECV_SINT)).toEqual([BASE_FLAG + FLAG]);
    expect(machine.sintAssertionCount(RECEIVER, RECV_VP, RECV_SINT)).toBe(0);
    expect(heard).toEqual([]);
  });

  it("two flags of the same word: two edges", () => {
    const machine = loadMachine(parseScenario(scenario()));
    const d = new Dispatcher(machine);
    for (const flagNumber of [FLAG, FLAG + 1]) {
      const out = hypercall(d, {
        caller: CALLER,
        control: control({ fast: true }),
        input: inputRegister({ ...GOOD_INPUT, flagNumber }),
      });
      expect(out.status).toBe(HvStatus.SUCCESS);
    }
    expect(machine.siefFlags(RECEIVER, RECV_VP, RECV_SINT)).toEqual([
      BASE_FLAG + FLAG,
      BASE_FLAG + FLAG + 1,
    ]);
    expect(machine.sintAssertionCount(RECEIVER, RECV_VP, RECV_SINT)).toBe(2);
  });

  it("the listener gets (partitionId, vpIndex, sint, vector) once per edge; unsubscribing stops it", () => {
    const bigId = Number.MAX_SAFE_INTEGER;
    const vpIndex = 0xfffffffe;
    const lastSint = SINT_COUNT - 1;
    const vector = 0xff;
    const s: ScenarioJson = scenario(
      (x) => {
        partition(x, RECEIVER).id = bigId;
        partition(x, CALLER).connections = [{ id: CONN, portPartition: bigId, portId: PORT }];
      },
      (x) => {
        const q = partition(x, bigId).ports![0]!;
        q.targetVp = vpIndex;
        q.targetSint = lastSint;
        const v = partition(x, bigId).vps![0]!;
        v.index = vpIndex;
        v.sints = { [lastSint]: sint(vector) };
      },
    );
    const machine = loadMachine(parseScenario(s));
    const d = new Dispatcher(machine);
    const calls: [number, number, number, number, string][] = [];
    const stop = machine.onSintAsserted((p, v, n, vec, source) =>
      calls.push([p, v, n, vec, source]),
    );
    const signal = (flagNumber: number) =>
      hypercall(d, {
        caller: CALLER,
        control: control({ fast: true }),
        input: inputRegister({ ...GOOD_INPUT, flagNumber }),
      }).status;
    expect(signal(0)).toBe(HvStatus.SUCCESS);
    expect(signal(0)).toBe(HvStatus.SUCCESS);
    expect(calls).toEqual([[bigId, vpIndex, lastSint, vector, "event"]]);
    // A failing call asserts nothing.
    expect(signal(FLAG_COUNT)).toBe(HvStatus.INVALID_PARAMETER);
    expect(calls).toHaveLength(1);
    stop();
    expect(signal(1)).toBe(HvStatus.SUCCESS);
    expect(calls).toHaveLength(1);
    expect(machine.sintAssertionCount(bigId, vpIndex, lastSint)).toBe(2);
  });

  it("the caller's VP does not matter, and a partition may signal its own port", () => {
    const s = scenario((x) => {
      const r = partition(x, RECEIVER);
      r.privileges = ["SignalEvents"];
      r.connections = [{ id: CONN, portPartition: RECEIVER, portId: PORT }];
      r.vps!.push({ index: 7 });
    });
    for (const vp of [RECV_VP, 7]) {
      const [r] = expectBothForms(s, { caller: RECEIVER, vp }, HvStatus.SUCCESS);
      expect(setFlags(r!.machine)).toEqual([
        { vpSlot: recvSlot(r!), sint: RECV_SINT, flag: BASE_FLAG + FLAG },
      ]);
    }
  });
});
