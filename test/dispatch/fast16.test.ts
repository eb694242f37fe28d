/**
 * The one handler contract for fast input: a simple test row with a 16-byte input
 * (support/fast16-handler.ts) sees RDX as bytes 0..7 and R8 as bytes 8..15; a rep row that allows
 * fast input (support/rep-output-handler.ts, repOutputFastRow) fits rep count 1 in 16 bytes and
 * nothing more; and a variable header is refused on every row that does not allow one. Through
 * hypercall(), Dispatcher.dispatch and BatchRunner.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { HvCallCode } from "../../src/abi/call-code.js";
import { encodeControlBigInt, type HypercallControl } from "../../src/abi/hypercall-control.js";
import { HvStatus } from "../../src/index.js";
import { CALLER, expectBoth, INPUT_GPA, runBatch, setup, wordsBytes } from "./support/contract.js";
import { FAST16_CALL_CODE, fast16Calls } from "./support/fast16-handler.js";
import { REP_CALL_CODE, REP_FAST_CALL_CODE, repCalls } from "./support/rep-output-handler.js";

const control = (callCode: number, fields: Partial<HypercallControl> = {}) =>
  encodeControlBigInt({ callCode, ...fields });
const RDX = 0x0706_0504_0302_0100n;
const R8 = 0x0f0e_0d0c_0b0a_0908n;
const BYTES_0_TO_15 = Array.from({ length: 16 }, (_, i) => i);

beforeEach(() => {
  fast16Calls.length = 0;
  repCalls.length = 0;
});

describe("the 16-byte fast handler", () => {
  it("sees RDX as bytes 0..7 and R8 as bytes 8..15 (hypercall() and dispatch)", () => {
    const r = expectBoth(
      { control: control(FAST16_CALL_CODE, { fast: true }), rdx: RDX, r8: R8 },
      HvStatus.SUCCESS,
      0,
    );
    expect(r.out.check).toBe("test-fast16.5");
    expect(fast16Calls.map((b) => [...b])).toEqual([BYTES_0_TO_15, BYTES_0_TO_15]);
    expect(r.machine.equals(r.before)).toBe(true);
  });

  it("the memory form reads the same 16 bytes at the GPA in RDX", () => {
    const write: [bigint, Uint8Array][] = [[INPUT_GPA + 0xff0n, Uint8Array.from(BYTES_0_TO_15)]];
    expectBoth(
      { control: control(FAST16_CALL_CODE), rdx: INPUT_GPA + 0xff0n, write },
      HvStatus.SUCCESS,
      0,
    );
    expect(fast16Calls.map((b) => [...b])).toEqual([BYTES_0_TO_15, BYTES_0_TO_15]);
    // 16 bytes at 0xFF8 cross into the next page.
    const r = expectBoth(
      { control: control(FAST16_CALL_CODE), rdx: INPUT_GPA + 0xff8n, write },
      HvStatus.INVALID_ALIGNMENT,
      0,
    );
    expect(r.out.why).toMatch(/the 16-byte input block at 0x10ff8 crosses/);
    expect(fast16Calls).toHaveLength(2);
  });

  it("a batch's fast record has only RDX (R8 = 0: bytes 8..15 are 0); a memory record 8 bytes then zeros", () => {
    const { machine, dispatcher } = setup();
    const before = machine.snapshot();
    expect(
      runBatch(dispatcher, [
        [control(FAST16_CALL_CODE, { fast: true }), RDX],
        [control(FAST16_CALL_CODE), RDX],
      ]),
    ).toEqual([
      [HvStatus.SUCCESS, 0],
      [HvStatus.SUCCESS, 0],
    ]);
    const low = [...BYTES_0_TO_15.slice(0, 8), 0, 0, 0, 0, 0, 0, 0, 0];
    expect(fast16Calls.map((b) => [...b])).toEqual([low, low]);
    expect(machine.equals(before)).toBe(true);
  });
});

describe("a fast rep call: its input must fit in RDX and R8 (16 bytes)", () => {
  /** RDX: the header (FailValue 0xBAD, Addend 1); R8: element 0 (value 7). */
  const rdx = (1n << 32n) | 0xbadn;
  const r8 = 7n;

  it("rep count 1: 8-byte header + one 8-byte element = 16 bytes -> SUCCESS, reps completed 1", () => {
    const r = expectBoth(
      { control: control(REP_FAST_CALL_CODE, { fast: true, repCount: 1 }), rdx, r8 },
      HvStatus.SUCCESS,
      1,
    );
    expect(r.out.check).toBe("test-rep.6");
    expect(repCalls.map((c) => c.values)).toEqual([[7], [7]]);
    expect(repCalls[0]).toMatchObject({ inputSize: 16, outputSize: 0 });
  });

  it.each([
    ["rep count 2 (24 bytes)", { repCount: 2 }, 24],
    [
      "rep count 2, rep start 1 (the list is counted from element 0)",
      { repCount: 2, repStartIndex: 1 },
      24,
    ],
    ["rep count 4095", { repCount: 4095 }, 8 + 4095 * 8],
    [
      "rep count 1 and a variable header unit (24 bytes)",
      { repCount: 1, variableHeaderSize: 1 },
      24,
    ],
  ] as const)("%s -> INVALID_HYPERCALL_INPUT, reps completed 0", (_name, fields, size) => {
    const r = expectBoth(
      { control: control(REP_FAST_CALL_CODE, { fast: true, ...fields }), rdx, r8 },
      HvStatus.INVALID_HYPERCALL_INPUT,
      0,
    );
    expect(r.out.check).toBe("generic.2");
    expect(r.out.why).toBe(
      `a fast call carries at most 16 input bytes in RDX and R8; this HvCallTestRepFast needs ${size}`,
    );
    expect(repCalls).toEqual([]);
  });

  it("the same rep counts in memory form are fine", () => {
    const block = wordsBytes([0xbad, 1, 7, 0, 8, 0]);
    expectBoth(
      {
        control: control(REP_FAST_CALL_CODE, { repCount: 2, repStartIndex: 1 }),
        rdx: INPUT_GPA,
        write: [[INPUT_GPA, block]],
      },
      HvStatus.SUCCESS,
      2,
    );
    expect(repCalls.map((c) => c.values)).toEqual([[8], [8]]);
  });

  it("through BatchRunner: fast records of rep count 1 and 2", () => {
    const { machine, dispatcher } = setup();
    const before = machine.snapshot();
    // A fast record has no R8: element 0 reads 0, the FailValue here, so it fails at element 0.
    expect(
      runBatch(dispatcher, [
        [control(REP_FAST_CALL_CODE, { fast: true, repCount: 1 }), 0n],
        [control(REP_FAST_CALL_CODE, { fast: true, repCount: 1 }), 5n],
        [control(REP_FAST_CALL_CODE, { fast: true, repCount: 2 }), 5n],
      ]),
    ).toEqual([
      [HvStatus.INVALID_PARAMETER, 0],
      [HvStatus.SUCCESS, 1],
      [HvStatus.INVALID_HYPERCALL_INPUT, 0],
    ]);
    // The row without an output list writes nothing back.
    expect(machine.equals(before)).toBe(true);
  });
});

describe("a variable header is refused on rows that do not allow it", () => {
  const rows: [string, number, boolean][] = [
    ["HvCallTestFast16", FAST16_CALL_CODE, true],
    ["HvCallTestFast16", FAST16_CALL_CODE, false],
    ["HvCallSignalEvent", HvCallCode.SignalEvent, true],
    ["HvCallSignalEvent", HvCallCode.SignalEvent, false],
    ["HvCallPostMessage", HvCallCode.PostMessage, false],
  ];
  it.each(rows)(
    "%s (call code %i, fast %s): variable header size 1 -> INVALID_HYPERCALL_INPUT",
    (name, code, fast) => {
      const r = expectBoth(
        { control: control(code, { fast, variableHeaderSize: 1 }), rdx: INPUT_GPA },
        HvStatus.INVALID_HYPERCALL_INPUT,
        0,
      );
      expect(r.out.check).toBe("generic.2");
      expect(r.out.why).toContain(
        `variable header size (bits 26:17) must be 0: ${name} has no variable header (it is 1)`,
      );
      expect(fast16Calls).toEqual([]);
    },
  );

  it("through BatchRunner, next to the rep row that takes one", () => {
    const { machine, dispatcher } = setup({ pageZero: true });
    expect(
      runBatch(dispatcher, [
        [control(FAST16_CALL_CODE, { variableHeaderSize: 1 }), 0n],
        [control(HvCallCode.SignalEvent, { fast: true, variableHeaderSize: 1 }), 0n],
        [control(HvCallCode.PostMessage, { variableHeaderSize: 1 }), 0n],
        [control(REP_CALL_CODE, { repCount: 1, variableHeaderSize: 1 }), 1n],
      ]),
    ).toEqual([
      [HvStatus.INVALID_HYPERCALL_INPUT, 0],
      [HvStatus.INVALID_HYPERCALL_INPUT, 0],
      [HvStatus.INVALID_HYPERCALL_INPUT, 0],
      [HvStatus.SUCCESS, 1],
    ]);
    expect(machine.guestRead(CALLER, 0n, 8)).toEqual(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0]));
  });
});
