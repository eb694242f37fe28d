/**
 * Adding a hypercall is a handler row plus a table entry: the generic layer applies that row's
 * rules (call code, rep / variable header fields, fast allowed, privilege bit, input size and
 * memory checks) without any code of its own for the call, and without touching SignalEvent.
 */
import { describe, expect, it } from "vitest";
import {
  CONTROL_REP_COUNT_MASK,
  CONTROL_REP_START_MASK,
  CONTROL_VARIABLE_HEADER_MASK,
  HV_HYPERCALL_CONTROL,
  type HypercallControl,
} from "../../src/abi/hypercall-control.js";
import { outcomeReps, outcomeStatus } from "../../src/abi/hypercall-result.js";
import { POST_MESSAGE_INPUT_SIZE } from "../../src/abi/post-message-input.js";
import { SIGNAL_EVENT_INPUT_SIZE } from "../../src/abi/signal-event-input.js";
import { u64ToHalves } from "../../src/abi/u64.js";
import { HANDLER_TABLE } from "../../src/dispatch/handler-table.js";
import { postMessageRow } from "../../src/dispatch/handlers/post-message.js";
import { signalEventRow } from "../../src/dispatch/handlers/signal-event.js";
import {
  Dispatcher,
  HvCallCode,
  HvStatus,
  type HypercallRow,
  hvStatusName,
  hypercall,
  loadMachine,
  PartitionPrivilegeBit,
  parseScenario,
} from "../../src/index.js";
import {
  CALLER,
  control,
  GOOD_INPUT,
  hex,
  inputRegister,
  partition,
  RECEIVER,
  RECV_SINT,
  RECV_VP,
  type ScenarioJson,
  scenario,
} from "./support/scenario.js";
import {
  makeTestHandler,
  TEST_CALL_CODE,
  type TestHandlerOptions,
} from "./support/test-handler.js";

const U64_MASK = (1n << 64n) - 1n;
const CONTROL_FIELDS = HV_HYPERCALL_CONTROL.fields;
const MEMORY_GPA = 0x5000n;
/** 16 bytes at MEMORY_GPA: words 0x03020100, 0x07060504, ... */
const MEMORY_BYTES = Array.from({ length: 16 }, (_, i) => i.toString(16).padStart(2, "0")).join("");
const MEMORY_WORDS = [0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c];

function setup(
  options: TestHandlerOptions = {},
  privileges: ScenarioJson["partitions"][number]["privileges"] = ["SignalEvents", "PostMessages"],
) {
  const s = scenario((x) => {
    const p = partition(x, CALLER);
    p.privileges = privileges;
    p.memory = [{ gpa: hex(MEMORY_GPA), hex: MEMORY_BYTES }];
  });
  const machine = loadMachine(parseScenario(s));
  const handler = makeTestHandler(options);
  const dispatcher = new Dispatcher(machine, [signalEventRow, handler]);
  return { machine, handler, dispatcher };
}

type Ctx = ReturnType<typeof setup>;

/**
 * Both entry points; returns the status, which they must agree on (and on the reps completed).
 * A rep row gets rep count 1 unless `fields` says otherwise: rep count 0 is a broken control value
 * for a rep call now (the generic rep rules), and these tests are about the other fields.
 */
function call(ctx: Ctx, fields: Partial<HypercallControl>, input: bigint, input2 = 0n): number {
  const reps: Partial<HypercallControl> = ctx.handler.kind === "rep" ? { repCount: 1 } : {};
  const ctl = control({ callCode: TEST_CALL_CODE, ...reps, ...fields });
  const before = ctx.machine.snapshot();
  const out = hypercall(ctx.dispatcher, { caller: CALLER, control: ctl, input, input2 });
  const c = u64ToHalves(ctl);
  const i1 = u64ToHalves(input);
  const i2 = u64ToHalves(input2);
  const callerSlot = ctx.machine.requirePartition(CALLER);
  const vpSlot = ctx.machine.requireVp(CALLER, 0);
  const outcome = ctx.dispatcher.dispatch(
    callerSlot,
    vpSlot,
    c.lo,
    c.hi,
    i1.lo,
    i1.hi,
    i2.lo,
    i2.hi,
  );
  const status = outcomeStatus(outcome);
  expect(hvStatusName(status)).toBe(hvStatusName(out.status));
  expect(outcomeReps(outcome)).toBe(out.repsCompleted);
  // The fake handler changes nothing, so no call to it may change the machine.
  expect(ctx.machine.equals(before)).toBe(true);
  return status;
}

const signal = (ctx: Ctx, fields: Partial<HypercallControl> = {}) =>
  hypercall(ctx.dispatcher, {
    caller: CALLER,
    control: control({ fast: true, ...fields }),
    input: inputRegister(GOOD_INPUT),
  }).status;

describe("a fake rep call with variable header, registered next to SignalEvent", () => {
  it("rep count, rep start index and variable header size are allowed for its row (memory form)", () => {
    const ctx = setup();
    // The largest variable header whose input (16 + 8 per unit) still fits the page at 0x5000.
    const fitting = (4096 - 16) / 8;
    for (const fields of [
      { repCount: 1 },
      { repCount: CONTROL_REP_COUNT_MASK },
      { repCount: CONTROL_REP_COUNT_MASK, repStartIndex: CONTROL_REP_START_MASK - 1 },
      { repCount: 1, variableHeaderSize: 1 },
      {
        repCount: CONTROL_REP_COUNT_MASK,
        repStartIndex: CONTROL_REP_START_MASK - 1,
        variableHeaderSize: fitting,
      },
    ]) {
      expect(hvStatusName(call(ctx, fields, MEMORY_GPA)), JSON.stringify(fields)).toBe(
        "HV_STATUS_SUCCESS",
      );
    }
    // Each call reached the handler twice (hypercall() and dispatch) with the 16 bytes.
    expect(ctx.handler.received).toHaveLength(10);
    for (const r of ctx.handler.received) expect(r.words).toEqual(MEMORY_WORDS);
  });

  it("the generic rep rules and the variable header's size (changed on purpose with the handler contract)", () => {
    // The old generic layer let a rep row have rep count 0 or rep start >= rep count and did not
    // fetch the variable header. Now rep count 0 or start >= count is INVALID_HYPERCALL_INPUT, and
    // the variable header is part of the memory input: 1023 units cross the page (step 4).
    const ctx = setup();
    for (const fields of [
      { repCount: 0 },
      { repCount: 0, repStartIndex: CONTROL_REP_START_MASK },
      { repCount: CONTROL_REP_COUNT_MASK, repStartIndex: CONTROL_REP_START_MASK },
      { repCount: 3, repStartIndex: 3 },
    ]) {
      expect(hvStatusName(call(ctx, fields, MEMORY_GPA)), JSON.stringify(fields)).toBe(
        "HV_STATUS_INVALID_HYPERCALL_INPUT",
      );
    }
    expect(
      call(ctx, { repCount: 1, variableHeaderSize: CONTROL_VARIABLE_HEADER_MASK }, MEMORY_GPA),
    ).toBe(HvStatus.INVALID_ALIGNMENT);
    expect(ctx.handler.received).toEqual([]);
  });

  it("...while the same fields stay forbidden for SignalEvent on the same dispatcher", () => {
    const ctx = setup();
    expect(signal(ctx)).toBe(HvStatus.SUCCESS);
    expect(signal(ctx, { repCount: 1 })).toBe(HvStatus.INVALID_HYPERCALL_INPUT);
    expect(signal(ctx, { repStartIndex: 1 })).toBe(HvStatus.INVALID_HYPERCALL_INPUT);
    expect(signal(ctx, { variableHeaderSize: 1 })).toBe(HvStatus.INVALID_HYPERCALL_INPUT);
    expect(ctx.machine.sintAssertionCount(RECEIVER, RECV_VP, RECV_SINT)).toBe(1);
  });

  it("reserved bits and is-nested are still rejected for it", () => {
    const ctx = setup();
    for (const fields of [
      { reserved27to30: 1 },
      { reserved27to30: CONTROL_FIELDS.reserved27to30.mask },
      { isNested: true },
      { reserved44to47: CONTROL_FIELDS.reserved44to47.mask },
      { reserved60to63: CONTROL_FIELDS.reserved60to63.mask },
      { repCount: 1, reserved60to63: 1 },
    ]) {
      expect(hvStatusName(call(ctx, fields, MEMORY_GPA)), JSON.stringify(fields)).toBe(
        "HV_STATUS_INVALID_HYPERCALL_INPUT",
      );
    }
    expect(ctx.handler.received).toEqual([]);
  });

  it("its own privilege bit is checked, not SignalEvents", () => {
    const onlySignal = setup({}, ["SignalEvents"]);
    expect(call(onlySignal, {}, MEMORY_GPA)).toBe(HvStatus.ACCESS_DENIED);
    expect(onlySignal.handler.received).toEqual([]);
    expect(signal(onlySignal)).toBe(HvStatus.SUCCESS);

    const onlyPost = setup({}, ["PostMessages"]);
    expect(call(onlyPost, {}, MEMORY_GPA)).toBe(HvStatus.SUCCESS);
    expect(signal(onlyPost)).toBe(HvStatus.ACCESS_DENIED);
  });

  it.each([
    0,
    PartitionPrivilegeBit.AccessSynicRegs,
    31,
    32,
    PartitionPrivilegeBit.SignalEvents,
    63,
  ])("privilege bit %s: exactly that bit passes, every other bit does not", (bit) => {
    for (const [mask, status] of [
      [1n << BigInt(bit), HvStatus.SUCCESS],
      [U64_MASK & ~(1n << BigInt(bit)), HvStatus.ACCESS_DENIED],
    ] as const) {
      const ctx = setup({ requiredPrivilege: bit }, []);
      ctx.machine.setPrivilegeMask(CALLER, mask);
      expect(hvStatusName(call(ctx, {}, MEMORY_GPA)), `mask ${hex(mask)}`).toBe(
        hvStatusName(status),
      );
    }
  });

  it("a fast call carries 16 bytes in RDX and R8", () => {
    const ctx = setup();
    const rdx = 0x1111_2222_3333_4444n;
    const r8 = 0x5555_6666_7777_8888n;
    expect(call(ctx, { fast: true, repCount: 3 }, rdx, r8)).toBe(HvStatus.SUCCESS);
    const words = [0x33334444, 0x11112222, 0x77778888, 0x55556666];
    expect(ctx.handler.received.map((r) => r.words)).toEqual([words, words]);
  });

  it("a row with fastAllowed false rejects the fast bit", () => {
    const ctx = setup({ fastAllowed: false, inputSize: 24 });
    expect(call(ctx, { fast: true }, MEMORY_GPA)).toBe(HvStatus.INVALID_HYPERCALL_INPUT);
    expect(ctx.handler.received).toEqual([]);
    // 24 bytes from 0xFF0 of a backed page cross into the next one.
    expect(call(ctx, {}, MEMORY_GPA + 0xff0n)).toBe(HvStatus.INVALID_ALIGNMENT);
    expect(ctx.handler.received).toEqual([]);
    expect(call(ctx, {}, MEMORY_GPA)).toBe(HvStatus.SUCCESS);
    expect(ctx.handler.received.map((r) => r.words)).toEqual([
      [...MEMORY_WORDS, 0, 0],
      [...MEMORY_WORDS, 0, 0],
    ]);
  });

  it("memory checks use its input size: 16 bytes must not cross the page", () => {
    const ctx = setup();
    expect(call(ctx, {}, MEMORY_GPA + 8n)).toBe(HvStatus.SUCCESS);
    expect(call(ctx, {}, MEMORY_GPA + 0xff0n)).toBe(HvStatus.SUCCESS);
    expect(call(ctx, {}, MEMORY_GPA + 0xff8n)).toBe(HvStatus.INVALID_ALIGNMENT);
    expect(call(ctx, {}, MEMORY_GPA + 4n)).toBe(HvStatus.INVALID_ALIGNMENT);
    expect(call(ctx, {}, MEMORY_GPA + 0x1000n)).toBe(HvStatus.INVALID_ALIGNMENT);
    expect(ctx.handler.received).toHaveLength(4);
  });

  it("a simple row of the fake call rejects rep fields; a row without variable header rejects it", () => {
    const simple = setup({ kind: "simple", variableHeaderAllowed: false });
    expect(call(simple, { repCount: 1 }, MEMORY_GPA)).toBe(HvStatus.INVALID_HYPERCALL_INPUT);
    expect(call(simple, { repStartIndex: 1 }, MEMORY_GPA)).toBe(HvStatus.INVALID_HYPERCALL_INPUT);
    expect(call(simple, { variableHeaderSize: 1 }, MEMORY_GPA)).toBe(
      HvStatus.INVALID_HYPERCALL_INPUT,
    );
    expect(call(simple, {}, MEMORY_GPA)).toBe(HvStatus.SUCCESS);
    const repNoHeader = setup({ kind: "rep", variableHeaderAllowed: false });
    expect(call(repNoHeader, { repCount: 1, variableHeaderSize: 1 }, MEMORY_GPA)).toBe(
      HvStatus.INVALID_HYPERCALL_INPUT,
    );
    expect(call(repNoHeader, { repCount: 1 }, MEMORY_GPA)).toBe(HvStatus.SUCCESS);
  });

  it("check order for the fake row: code, control, privilege, memory", () => {
    const ctx = setup({}, ["SignalEvents"]);
    expect(call(ctx, { callCode: TEST_CALL_CODE + 1, isNested: true }, MEMORY_GPA + 4n)).toBe(
      HvStatus.INVALID_HYPERCALL_CODE,
    );
    expect(call(ctx, { isNested: true }, MEMORY_GPA + 4n)).toBe(HvStatus.INVALID_HYPERCALL_INPUT);
    expect(call(ctx, {}, MEMORY_GPA + 4n)).toBe(HvStatus.ACCESS_DENIED);
  });
});

describe("the table", () => {
  it("the default table is exactly PostMessage and SignalEvent", () => {
    // It was [SignalEvent] alone before HvCallPostMessage was implemented.
    expect(HANDLER_TABLE).toEqual([postMessageRow, signalEventRow]);
    expect(signalEventRow.callCode).toBe(HvCallCode.SignalEvent);
    expect(signalEventRow).toMatchObject({
      kind: "simple",
      variableHeaderAllowed: false,
      fastAllowed: true,
      requiredPrivilege: PartitionPrivilegeBit.SignalEvents,
    });
    expect(signalEventRow.input.size).toBe(SIGNAL_EVENT_INPUT_SIZE);
    expect(postMessageRow.callCode).toBe(HvCallCode.PostMessage);
    expect(postMessageRow).toMatchObject({
      kind: "simple",
      variableHeaderAllowed: false,
      fastAllowed: false,
      requiredPrivilege: PartitionPrivilegeBit.PostMessages,
    });
    expect(postMessageRow.input.size).toBe(POST_MESSAGE_INPUT_SIZE);
    for (const row of HANDLER_TABLE) {
      expect(row.output, row.name).toBeUndefined();
      expect(row.repInput, row.name).toBeUndefined();
    }
    // A dispatcher without the fake row does not know its call code.
    const machine = loadMachine(parseScenario(scenario()));
    const out = hypercall(new Dispatcher(machine), {
      caller: CALLER,
      control: control({ callCode: TEST_CALL_CODE }),
      input: 0n,
    });
    expect(out.statusName).toBe("HV_STATUS_INVALID_HYPERCALL_CODE");
  });

  it("bad rows are host misuse: duplicate code, bad input size, too big for fast", () => {
    const machine = loadMachine(parseScenario(scenario()));
    const rows: HypercallRow[][] = [
      [signalEventRow, makeTestHandler({ callCode: HvCallCode.SignalEvent })],
      [makeTestHandler(), makeTestHandler()],
      [makeTestHandler({ inputSize: 12 })],
      [makeTestHandler({ inputSize: 24, fastAllowed: true })],
      [makeTestHandler({ callCode: 0x10000 })],
    ];
    for (const table of rows) expect(() => new Dispatcher(machine, table)).toThrow(RangeError);
  });
});
