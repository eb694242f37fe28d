import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  decodeResult,
  decodeResultBigInt,
  encodeResult,
  encodeResultBigInt,
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
