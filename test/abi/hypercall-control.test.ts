import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  CONTROL_RULE_NAMES,
  ControlRule,
  checkSimpleCallControl,
  decodeControl,
  decodeControlBigInt,
  encodeControl,
  encodeControlBigInt,
  simpleCallControlViolations,
} from "../../src/abi/hypercall-control.js";
import { halvesToU64, u64ToHalves } from "../../src/abi/u64.js";

const RUNS = { numRuns: 10_000 };
const u32 = fc.integer({ min: 0, max: 0xffffffff });

describe("hypercall control value", () => {
  it("decodes the Linux VMBus fast SignalEvent control 0x000000000001005D", () => {
    expect(decodeControlBigInt(0x000000000001005dn)).toEqual({
      callCode: 0x005d,
      fast: true,
      variableHeaderSize: 0,
      reserved27to30: 0,
      isNested: false,
      repCount: 0,
      reserved44to47: 0,
      repStartIndex: 0,
      reserved60to63: 0,
    });
    expect(checkSimpleCallControl(0x1005d, 0)).toBe(ControlRule.None);
  });

  it("decodes every field at its TLFS bit position (hand-computed vectors)", () => {
    // bit 17 = lowest variable-header bit, bit 26 = highest
    expect(decodeControlBigInt(1n << 17n).variableHeaderSize).toBe(1);
    expect(decodeControlBigInt(1n << 26n).variableHeaderSize).toBe(0x200);
    expect(decodeControlBigInt(1n << 27n).reserved27to30).toBe(1);
    expect(decodeControlBigInt(1n << 30n).reserved27to30).toBe(8);
    expect(decodeControlBigInt(1n << 31n).isNested).toBe(true);
    expect(decodeControlBigInt(1n << 32n).repCount).toBe(1);
    expect(decodeControlBigInt(1n << 43n).repCount).toBe(0x800);
    expect(decodeControlBigInt(1n << 44n).reserved44to47).toBe(1);
    expect(decodeControlBigInt(1n << 47n).reserved44to47).toBe(8);
    expect(decodeControlBigInt(1n << 48n).repStartIndex).toBe(1);
    expect(decodeControlBigInt(1n << 59n).repStartIndex).toBe(0x800);
    expect(decodeControlBigInt(1n << 60n).reserved60to63).toBe(1);
    expect(decodeControlBigInt(1n << 63n).reserved60to63).toBe(8);
    expect(decodeControlBigInt(0xffffn).callCode).toBe(0xffff);
    expect(decodeControlBigInt(1n << 16n).fast).toBe(true);
  });

  it("encodes a rep call as the TLFS lays it out", () => {
    const v = encodeControlBigInt({
      callCode: 0x0003,
      fast: false,
      variableHeaderSize: 2,
      reserved27to30: 0,
      isNested: false,
      repCount: 5,
      reserved44to47: 0,
      repStartIndex: 3,
      reserved60to63: 0,
    });
    expect(v).toBe(0x0003_0005_0004_0003n);
  });

  it("names the first broken rule for each single reserved or forbidden bit", () => {
    const cases: [bigint, number][] = [
      [1n << 17n, ControlRule.VariableHeaderNotZero],
      [1n << 26n, ControlRule.VariableHeaderNotZero],
      [1n << 27n, ControlRule.Reserved27to30NotZero],
      [1n << 30n, ControlRule.Reserved27to30NotZero],
      [1n << 31n, ControlRule.IsNestedSet],
      [1n << 32n, ControlRule.RepCountNotZero],
      [1n << 43n, ControlRule.RepCountNotZero],
      [1n << 44n, ControlRule.Reserved44to47NotZero],
      [1n << 47n, ControlRule.Reserved44to47NotZero],
      [1n << 48n, ControlRule.RepStartIndexNotZero],
      [1n << 59n, ControlRule.RepStartIndexNotZero],
      [1n << 60n, ControlRule.Reserved60to63NotZero],
      [1n << 63n, ControlRule.Reserved60to63NotZero],
    ];
    for (const [bit, rule] of cases) {
      const { lo, hi } = u64ToHalves(0x5dn | bit);
      expect(checkSimpleCallControl(lo, hi), `bit ${bit.toString(2).length - 1}`).toBe(rule);
      expect(simpleCallControlViolations(decodeControl(lo, hi))).toEqual([rule]);
    }
    for (let bit = 0n; bit <= 16n; bit++) {
      const { lo, hi } = u64ToHalves(1n << bit);
      expect(checkSimpleCallControl(lo, hi)).toBe(ControlRule.None);
    }
    expect(Object.keys(CONTROL_RULE_NAMES)).toHaveLength(8);
  });

  test.prop([u32, u32], RUNS)("encode(decode(x)) = x over all 64-bit values", (lo, hi) => {
    expect(encodeControl(decodeControl(lo, hi))).toEqual({ lo, hi });
  });

  test.prop([fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })], RUNS)(
    "BigInt API agrees with the halves API and round-trips",
    (v) => {
      expect(encodeControlBigInt(decodeControlBigInt(v))).toBe(v);
      const { lo, hi } = u64ToHalves(v);
      expect(halvesToU64(lo, hi)).toBe(v);
      expect(decodeControlBigInt(v)).toEqual(decodeControl(lo, hi));
    },
  );

  const controlFields = fc.record({
    callCode: fc.integer({ min: 0, max: 0xffff }),
    fast: fc.boolean(),
    variableHeaderSize: fc.integer({ min: 0, max: 0x3ff }),
    reserved27to30: fc.integer({ min: 0, max: 0xf }),
    isNested: fc.boolean(),
    repCount: fc.integer({ min: 0, max: 0xfff }),
    reserved44to47: fc.integer({ min: 0, max: 0xf }),
    repStartIndex: fc.integer({ min: 0, max: 0xfff }),
    reserved60to63: fc.integer({ min: 0, max: 0xf }),
  });

  test.prop([controlFields], RUNS)("decode(encode(fields)) = fields", (c) => {
    const { lo, hi } = encodeControl(c);
    expect(decodeControl(lo, hi)).toEqual(c);
  });

  test.prop([u32, u32], RUNS)(
    "checkSimpleCallControl agrees with the full list of violations",
    (lo, hi) => {
      const all = simpleCallControlViolations(decodeControl(lo, hi));
      expect(checkSimpleCallControl(lo, hi)).toBe(all[0] ?? ControlRule.None);
    },
  );
});
