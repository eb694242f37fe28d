import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  decodeResult,
  decodeResultBigInt,
  encodeResult,
  encodeResultBigInt,
  OUTCOME_REPS_SHIFT,
  outcomeReps,
  outcomeStatus,
  packOutcome,
  resultHi,
  resultLo,
  resultReservedBitsClear,
} from "../../src/abi/hypercall-result.js";
import { formatU64Hex } from "../../src/abi/u64.js";

const RUNS = { numRuns: 10_000 };
const u32 = fc.integer({ min: 0, max: 0xffffffff });

describe("hypercall result value", () => {
  it("places status in 15:0 and reps completed in 43:32", () => {
    expect(
      encodeResultBigInt({ status: 0x12, reserved16to31: 0, repsCompleted: 0, reserved44to63: 0 }),
    ).toBe(0x12n);
    expect(
      encodeResultBigInt({ status: 0, reserved16to31: 0, repsCompleted: 0xfff, reserved44to63: 0 }),
    ).toBe(0xfff00000000n);
    expect(decodeResultBigInt(1n << 16n).reserved16to31).toBe(1);
    expect(decodeResultBigInt(1n << 44n).reserved44to63).toBe(1);
    expect(decodeResultBigInt(1n << 63n).reserved44to63).toBe(0x80000);
    expect(resultLo(0x18)).toBe(0x18);
    expect(resultHi(0)).toBe(0);
    expect(formatU64Hex(resultLo(0x18), resultHi(0))).toBe("0x0000000000000018");
    expect(resultReservedBitsClear(0x10000, 0)).toBe(false);
    expect(resultReservedBitsClear(0xffff, 0xfff)).toBe(true);
    expect(resultReservedBitsClear(0, 0x1000)).toBe(false);
  });

  it("resultLo / resultHi take a packed outcome (status | reps << 16)", () => {
    expect(OUTCOME_REPS_SHIFT).toBe(16);
    const outcome = packOutcome(0x0004, 3);
    expect(outcome).toBe(0x0003_0004);
    expect(outcomeStatus(outcome)).toBe(4);
    expect(outcomeReps(outcome)).toBe(3);
    expect(resultLo(outcome)).toBe(0x0004);
    expect(resultHi(outcome)).toBe(3);
    expect(formatU64Hex(resultLo(outcome), resultHi(outcome))).toBe("0x0000000300000004");
    // Each field is truncated to its width: status 16 bits, reps 12 bits.
    expect(packOutcome(0x1_0018, 0x1fff)).toBe(packOutcome(0x18, 0xfff));
    expect(resultHi(packOutcome(0, 0xfff))).toBe(0xfff);
    expect(
      resultReservedBitsClear(
        resultLo(packOutcome(0xffff, 0xfff)),
        resultHi(packOutcome(0xffff, 0xfff)),
      ),
    ).toBe(true);
  });

  test.prop([fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xfff })], RUNS)(
    "an outcome's result value decodes back to its status and reps",
    (status, reps) => {
      const o = packOutcome(status, reps);
      expect(decodeResult(resultLo(o), resultHi(o))).toEqual({
        status,
        reserved16to31: 0,
        repsCompleted: reps,
        reserved44to63: 0,
      });
    },
  );

  test.prop([u32, u32], RUNS)("encode(decode(x)) = x", (lo, hi) => {
    expect(encodeResult(decodeResult(lo, hi))).toEqual({ lo, hi });
  });

  test.prop(
    [
      fc.record({
        status: fc.integer({ min: 0, max: 0xffff }),
        reserved16to31: fc.integer({ min: 0, max: 0xffff }),
        repsCompleted: fc.integer({ min: 0, max: 0xfff }),
        reserved44to63: fc.integer({ min: 0, max: 0xfffff }),
      }),
    ],
    RUNS,
  )("decode(encode(fields)) = fields", (r) => {
    const { lo, hi } = encodeResult(r);
    expect(decodeResult(lo, hi)).toEqual(r);
    expect(decodeResultBigInt(encodeResultBigInt(r))).toEqual(r);
  });
});
