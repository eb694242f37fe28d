/**
 * The one handler contract for a rep call with an output list (support/rep-output-handler.ts),
 * registered next to the stock rows: the generic layer's rep rules (signal-event.md §1: rep count
 * 0 or rep start >= rep count; variable header; output GPA at R8; reps completed) with exact
 * statuses and reps-completed values, through hypercall(), Dispatcher.dispatch and BatchRunner.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { encodeControlBigInt, type HypercallControl } from "../../src/abi/hypercall-control.js";
import { privilegeMaskOf } from "../../src/abi/partition-privilege.js";
import { HvStatus } from "../../src/index.js";
import {
  expectBoth,
  FILL,
  INPUT_GPA,
  OUTPUT_GPA,
  readWords,
  runBatch,
  setup,
  UNBACKED_GPA,
  wordsBytes,
} from "./support/contract.js";
import { hypercallAsRecord } from "./support/per-call.js";
import { REP_CALL_CODE, repCalls } from "./support/rep-output-handler.js";

const FAIL = 0xbad;
const ADDEND = 0x100;
const FILL_WORD = FILL * 0x01010101;

function rep(fields: Partial<HypercallControl>): bigint {
  return encodeControlBigInt({ callCode: REP_CALL_CODE, ...fields });
}

/** header (FailValue, Addend) | `units` variable-header words of FAIL | element values. */
function inputBlock(values: readonly number[], units = 0): Uint8Array {
  const varHeader = Array.from({ length: 2 * units }, () => FAIL);
  return wordsBytes([FAIL, ADDEND, ...varHeader, ...values.flatMap((v) => [v, 0])]);
}

const VALUES = [10, 11, 12, 13, 14];

/** The output list at `gpa`: [sum, index] per element, FILL where nothing was written. */
function outputs(machine: Parameters<typeof readWords>[0], gpa: bigint, n: number): number[][] {
  const w = readWords(machine, gpa, 2 * n);
  return Array.from({ length: n }, (_, i) => [w[2 * i]!, w[2 * i + 1]!]);
}

const untouched = [FILL_WORD, FILL_WORD];
const done = (i: number, value = VALUES[i]!) => [value + ADDEND, i];

beforeEach(() => {
  repCalls.length = 0;
});

describe("rep count and rep start index (generic step 2)", () => {
  it.each([
    ["rep count 0", { repCount: 0 }],
    ["rep count 0, rep start 3", { repCount: 0, repStartIndex: 3 }],
    ["rep start = rep count", { repCount: 3, repStartIndex: 3 }],
    ["rep start > rep count", { repCount: 3, repStartIndex: 4 }],
    ["rep start 4095 of 1", { repCount: 1, repStartIndex: 4095 }],
  ] as const)(
    "%s -> INVALID_HYPERCALL_INPUT, reps completed 0, handler not run",
    (_name, fields) => {
      const r = expectBoth(
        {
          control: rep(fields),
          rdx: INPUT_GPA,
          r8: OUTPUT_GPA,
          write: [[INPUT_GPA, inputBlock(VALUES)]],
        },
        HvStatus.INVALID_HYPERCALL_INPUT,
        0,
      );
      expect(r.out.check).toBe("generic.2");
      expect(r.out.why).toMatch(
        fields.repCount === 0
          ? /rep count \(bits 43:32\) must be at least 1/
          : /must be below the rep count/,
      );
      expect(r.machine.equals(r.before)).toBe(true);
      expect(repCalls).toEqual([]);
    },
  );
});

describe("rep start 2 of 5", () => {
  it("completes reps 2..4: reps completed 5, output elements 2..4 written at R8, 0..1 untouched", () => {
    const r = expectBoth(
      {
        control: rep({ repCount: 5, repStartIndex: 2 }),
        rdx: INPUT_GPA,
        r8: OUTPUT_GPA,
        write: [[INPUT_GPA, inputBlock(VALUES)]],
      },
      HvStatus.SUCCESS,
      5,
    );
    expect(r.out.check).toBe("test-rep.6");
    expect(outputs(r.machine, OUTPUT_GPA, 6)).toEqual([
      untouched,
      untouched,
      done(2),
      done(3),
      done(4),
      untouched,
    ]);
    // Twice (hypercall() and dispatch), each with the elements from the start index on.
    expect(repCalls).toHaveLength(2);
    for (const c of repCalls) {
      expect(c).toMatchObject({
        repStart: 2,
        repCount: 5,
        variableHeaderBytes: 0,
        inputSize: 8 + 5 * 8,
        outputSize: 5 * 8,
      });
      expect(c.values).toEqual([12, 13, 14]);
    }
  });

  it("rep start 0 of 5 writes all five; rep start 4 of 5 only the last", () => {
    const all = expectBoth(
      {
        control: rep({ repCount: 5 }),
        rdx: INPUT_GPA,
        r8: OUTPUT_GPA,
        write: [[INPUT_GPA, inputBlock(VALUES)]],
      },
      HvStatus.SUCCESS,
      5,
    );
    expect(outputs(all.machine, OUTPUT_GPA, 5)).toEqual([0, 1, 2, 3, 4].map((i) => done(i)));
    const last = expectBoth(
      {
        control: rep({ repCount: 5, repStartIndex: 4 }),
        rdx: INPUT_GPA,
        r8: OUTPUT_GPA,
        write: [[INPUT_GPA, inputBlock(VALUES)]],
      },
      HvStatus.SUCCESS,
      5,
    );
    expect(outputs(last.machine, OUTPUT_GPA, 5)).toEqual([
      untouched,
      untouched,
      untouched,
      untouched,
      done(4),
    ]);
  });
});

describe("a failing element k returns its status with reps completed k", () => {
  it.each([
    [0, 0],
    [2, 2],
    [1, 3],
    [0, 4],
  ])("rep start %s, element %s has the FailValue", (start, k) => {
    const values = VALUES.map((v, i) => (i === k ? FAIL : v));
    const r = expectBoth(
      {
        control: rep({ repCount: 5, repStartIndex: start }),
        rdx: INPUT_GPA,
        r8: OUTPUT_GPA,
        write: [[INPUT_GPA, inputBlock(values)]],
      },
      HvStatus.INVALID_PARAMETER,
      k,
    );
    expect(r.out.check).toBe("test-rep.5");
    expect(r.out.why).toBe(`element ${k} has the FailValue 0xbad`);
    // The elements before k (from the start index) are done and written; none from k on.
    const want = [0, 1, 2, 3, 4].map((i) => (i >= start && i < k ? done(i) : untouched));
    expect(outputs(r.machine, OUTPUT_GPA, 5)).toEqual(want);
  });
});

describe("variable header size", () => {
  it.each([1, 2, 7])("%s units: the element list starts 8 bytes per unit later", (units) => {
    const r = expectBoth(
      {
        control: rep({ repCount: 5, repStartIndex: 1, variableHeaderSize: units }),
        rdx: INPUT_GPA,
        r8: OUTPUT_GPA,
        write: [[INPUT_GPA, inputBlock(VALUES, units)]],
      },
      HvStatus.SUCCESS,
      5,
    );
    for (const c of repCalls) {
      expect(c).toMatchObject({ variableHeaderBytes: 8 * units, inputSize: 8 + 8 * units + 5 * 8 });
      expect(c.values).toEqual([11, 12, 13, 14]);
    }
    expect(outputs(r.machine, OUTPUT_GPA, 5)).toEqual([
      untouched,
      done(1),
      done(2),
      done(3),
      done(4),
    ]);
  });

  it("the same bytes read without the variable header: its words are taken as element 0 (which fails)", () => {
    expectBoth(
      {
        control: rep({ repCount: 5 }),
        rdx: INPUT_GPA,
        r8: OUTPUT_GPA,
        write: [[INPUT_GPA, inputBlock(VALUES, 1)]],
      },
      HvStatus.INVALID_PARAMETER,
      0,
    );
  });

  it("the variable header counts in the page-crossing check of the input", () => {
    // 8 + 8 * 500 + 5 * 8 = 4048 bytes fit at page offset 0x30; 8 more do not.
    const write: [bigint, Uint8Array][] = [[INPUT_GPA + 0x30n, inputBlock(VALUES, 500)]];
    expectBoth(
      {
        control: rep({ repCount: 5, variableHeaderSize: 500 }),
        rdx: INPUT_GPA + 0x30n,
        r8: OUTPUT_GPA,
        write,
      },
      HvStatus.SUCCESS,
      5,
    );
    const r = expectBoth(
      {
        control: rep({ repCount: 5, repStartIndex: 3, variableHeaderSize: 500 }),
        rdx: INPUT_GPA + 0x38n,
        r8: OUTPUT_GPA,
        write,
      },
      HvStatus.INVALID_ALIGNMENT,
      3,
    );
    expect(r.out.why).toMatch(
      /the 4048-byte input block at 0x10038 crosses into the next 4 KiB page/,
    );
  });
});

describe("output GPA (R8) misaligned, crossing a page or unbacked -> INVALID_ALIGNMENT, reps completed = rep start", () => {
  const cases: [string, bigint, RegExp][] = [
    ["misaligned", OUTPUT_GPA + 4n, /the output GPA 0x20004 is not 8-byte aligned/],
    ["misaligned by 1", OUTPUT_GPA + 0x101n, /not 8-byte aligned/],
    [
      "crossing a page (40 bytes at 0xFE0)",
      OUTPUT_GPA + 0xfe0n,
      /the 40-byte output block at 0x20fe0 crosses/,
    ],
    ["unbacked", UNBACKED_GPA, /the output GPA 0x30000 is not backed in partition 1/],
    ["unbacked above 4 GiB (bits 63:32 count)", OUTPUT_GPA + (1n << 32n), /not backed/],
  ];
  for (const start of [0, 2]) {
    it.each(cases)(`rep start ${start}: %s`, (_name, r8, why) => {
      const r = expectBoth(
        {
          control: rep({ repCount: 5, repStartIndex: start }),
          rdx: INPUT_GPA,
          r8,
          write: [[INPUT_GPA, inputBlock(VALUES)]],
        },
        HvStatus.INVALID_ALIGNMENT,
        start,
      );
      expect(r.out.check).toBe("generic.4");
      expect(r.out.why).toMatch(why);
      expect(r.machine.equals(r.before)).toBe(true);
      expect(repCalls).toEqual([]);
    });
  }

  it("40 bytes ending exactly at the page end fit", () => {
    const r = expectBoth(
      {
        control: rep({ repCount: 5, repStartIndex: 2 }),
        rdx: INPUT_GPA,
        r8: OUTPUT_GPA + 0xfd8n,
        write: [[INPUT_GPA, inputBlock(VALUES)]],
      },
      HvStatus.SUCCESS,
      5,
    );
    expect(outputs(r.machine, OUTPUT_GPA + 0xfd8n, 5)).toEqual([
      untouched,
      untouched,
      done(2),
      done(3),
      done(4),
    ]);
  });

  it("the input fetch fails first (misaligned RDX), also with reps completed = rep start", () => {
    const r = expectBoth(
      { control: rep({ repCount: 5, repStartIndex: 2 }), rdx: INPUT_GPA + 4n, r8: UNBACKED_GPA },
      HvStatus.INVALID_ALIGNMENT,
      2,
    );
    expect(r.out.why).toMatch(/the input GPA 0x10004 is not 8-byte aligned/);
  });

  it("a privilege failure (step 3) comes before the GPAs; its reps completed is 0, not the rep start", () => {
    const r = expectBoth(
      {
        control: rep({ repCount: 5, repStartIndex: 2 }),
        rdx: INPUT_GPA + 4n,
        r8: UNBACKED_GPA,
        options: {
          privilegeMask: privilegeMaskOf(["SignalEvents", "PostMessages", "ConnectPort"]),
        },
      },
      HvStatus.ACCESS_DENIED,
      0,
    );
    expect(r.out.check).toBe("generic.3");
    expect(r.out.why).toMatch(/partition 1 lacks CreatePort \(privilege mask bit 38\)/);
  });

  it("the fast bit on the row with an output list is a broken control value (step 2)", () => {
    const r = expectBoth(
      { control: rep({ repCount: 5, repStartIndex: 2, fast: true }), rdx: 0n },
      HvStatus.INVALID_HYPERCALL_INPUT,
      0,
    );
    expect(r.out.check).toBe("generic.2");
    expect(r.out.why).toMatch(
      /fast \(bit 16\) must be 0: HvCallTestRepOutput takes its input from guest memory only/,
    );
  });
});

describe("BatchRunner records with the rep call code", () => {
  // A memory-form record: the header is the record's 8 bytes (FailValue, Addend), the elements read
  // 0 (the rest of the scratch page), the output goes to R8 = 0.
  const header = (failValue: number) => (BigInt(ADDEND) << 32n) | BigInt(failValue);

  it("exact statuses and reps completed; = hypercall() per record; outputs at GPA 0", () => {
    const list: [bigint, bigint, number, number][] = [
      [rep({ repCount: 0 }), header(1), HvStatus.INVALID_HYPERCALL_INPUT, 0],
      [rep({ repCount: 2, repStartIndex: 2 }), header(1), HvStatus.INVALID_HYPERCALL_INPUT, 0],
      [rep({ repCount: 5, repStartIndex: 2 }), header(1), HvStatus.SUCCESS, 5],
      [rep({ repCount: 5, repStartIndex: 2 }), header(0), HvStatus.INVALID_PARAMETER, 2],
      [rep({ repCount: 3, variableHeaderSize: 1 }), header(1), HvStatus.SUCCESS, 3],
      [rep({ repCount: 3, fast: true }), header(1), HvStatus.INVALID_HYPERCALL_INPUT, 0],
    ];
    const a = setup({ pageZero: true });
    const results = runBatch(
      a.dispatcher,
      list.map(([c, i]) => [c, i] as const),
    );
    expect(results).toEqual(list.map(([, , status, reps]) => [status, reps]));
    // Record 4 wrote elements 0..2 last (over record 2's 2..4): (0 + Addend, i).
    expect(outputs(a.machine, 0n, 6)).toEqual([
      [ADDEND, 0],
      [ADDEND, 1],
      [ADDEND, 2],
      [ADDEND, 3],
      [ADDEND, 4],
      untouched,
    ]);

    const b = setup({ pageZero: true });
    const scratchGpa = 0x1000n;
    for (const [i, [control, input, status, reps]] of list.entries()) {
      const bytes = wordsBytes([Number(input & 0xffffffffn), Number(input >> 32n)]);
      const out = hypercallAsRecord(b.dispatcher, {
        caller: 1,
        vp: 0,
        scratchGpa,
        control,
        input: bytes,
      });
      expect([out.status, out.repsCompleted], `record ${i}`).toEqual([status, reps]);
    }
    expect(a.machine.equals(b.machine.snapshot())).toBe(true);
  });

  it("without RAM at GPA 0 the output list is unbacked: INVALID_ALIGNMENT, reps completed = rep start", () => {
    const { machine, dispatcher } = setup();
    const before = machine.snapshot();
    expect(
      runBatch(dispatcher, [
        [rep({ repCount: 5, repStartIndex: 2 }), header(1)],
        [rep({ repCount: 1 }), header(1)],
      ]),
    ).toEqual([
      [HvStatus.INVALID_ALIGNMENT, 2],
      [HvStatus.INVALID_ALIGNMENT, 0],
    ]);
    expect(machine.equals(before)).toBe(true);
  });
});
