import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  allowedControlBits,
  type CallShape,
  controlViolations,
  decodeControl,
  decodeControlBigInt,
  encodeControl,
  encodeControlBigInt,
  HV_HYPERCALL_CONTROL,
  simpleCallViolations,
} from "../../src/abi/hypercall-control.js";
import { halvesToU64, u64ToHalves } from "../../src/abi/u64.js";

const RUNS = { numRuns: 10_000 };
const u32 = fc.integer({ min: 0, max: 0xffffffff });

/** A simple call that allows fast input and no variable header: what the old ControlRule checked. */
const SIMPLE: CallShape = {
  name: "HvCallSignalEvent",
  kind: "simple",
  fastAllowed: true,
  variableHeaderAllowed: false,
};

/** The field names of the violations, in the order reported. */
function violatedFields(lo: number, hi: number, shape: CallShape = SIMPLE): string[] {
  return controlViolations(lo, hi, shape).map((v) => v.field.name);
}

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
    // Was: checkSimpleCallControl(0x1005d, 0) === ControlRule.None.
    expect(controlViolations(0x1005d, 0, SIMPLE)).toEqual([]);
    expect(simpleCallViolations(0x1005d, 0)).toEqual([]);
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
    // encodeControl takes a Partial now: fields left out are zero.
    expect(
      encodeControlBigInt({
        callCode: 0x0003,
        variableHeaderSize: 2,
        repCount: 5,
        repStartIndex: 3,
      }),
    ).toBe(0x0003_0005_0004_0003n);
    expect(encodeControlBigInt({})).toBe(0n);
  });

  it("names the first broken rule for each single reserved or forbidden bit", () => {
    // Was ControlRule.<name>: now the field controlViolations reports, and its rule sentence.
    const cases: [bigint, string, string][] = [
      [1n << 17n, "variableHeaderSize", "variable header size (bits 26:17) must be 0"],
      [1n << 26n, "variableHeaderSize", "variable header size (bits 26:17) must be 0"],
      [1n << 27n, "reserved27to30", "RsvdZ bits 30:27 must be 0"],
      [1n << 30n, "reserved27to30", "RsvdZ bits 30:27 must be 0"],
      [1n << 31n, "isNested", "is nested (bit 31) must be 0"],
      [1n << 32n, "repCount", "rep count (bits 43:32) must be 0"],
      [1n << 43n, "repCount", "rep count (bits 43:32) must be 0"],
      [1n << 44n, "reserved44to47", "RsvdZ bits 47:44 must be 0"],
      [1n << 47n, "reserved44to47", "RsvdZ bits 47:44 must be 0"],
      [1n << 48n, "repStartIndex", "rep start index (bits 59:48) must be 0"],
      [1n << 59n, "repStartIndex", "rep start index (bits 59:48) must be 0"],
      [1n << 60n, "reserved60to63", "RsvdZ bits 63:60 must be 0"],
      [1n << 63n, "reserved60to63", "RsvdZ bits 63:60 must be 0"],
    ];
    const seen = new Set<string>();
    for (const [bit, field, rule] of cases) {
      const { lo, hi } = u64ToHalves(0x5dn | bit);
      const where = `bit ${bit.toString(2).length - 1}`;
      const all = controlViolations(lo, hi, SIMPLE);
      expect(
        all.map((v) => v.field.name),
        where,
      ).toEqual([field]);
      expect(all[0]!.field).toBe(
        HV_HYPERCALL_CONTROL.fields[field as keyof typeof HV_HYPERCALL_CONTROL.fields],
      );
      expect(all[0]!.value).toBe(Number(HV_HYPERCALL_CONTROL.get(all[0]!.field, lo, hi)));
      expect(all[0]!.rule, where).toContain(rule);
      expect(all[0]!.rule, where).toContain(`(it is ${all[0]!.value})`);
      const strings = simpleCallViolations(lo, hi);
      expect(strings).toHaveLength(1);
      expect(strings[0]).toContain(rule);
      seen.add(field);
    }
    for (let bit = 0n; bit <= 16n; bit++) {
      const { lo, hi } = u64ToHalves(1n << bit);
      expect(controlViolations(lo, hi, SIMPLE)).toEqual([]);
    }
    // The old 8 rule names were "none" plus these 7 rules.
    expect(seen.size).toBe(7);
  });

  it("says why: a memory-only call refuses the fast bit, a call with no variable header its size", () => {
    const post: CallShape = {
      name: "HvCallPostMessage",
      kind: "simple",
      fastAllowed: false,
      variableHeaderAllowed: false,
    };
    const [fast] = controlViolations(0x1005c, 0, post);
    expect(fast!.field.name).toBe("fast");
    expect(fast!.rule).toBe(
      "fast (bit 16) must be 0: HvCallPostMessage takes its input from guest memory only (it is 1)",
    );
    expect(simpleCallViolations(1 << 17, 0, "HvCallSignalEvent")).toEqual([
      "variable header size (bits 26:17) must be 0: HvCallSignalEvent has no variable header (it is 1)",
    ]);
    expect(simpleCallViolations(0, 0x1000)).toEqual(["RsvdZ bits 47:44 must be 0 (it is 1)"]);
  });

  it("rep calls: rep count 0 and rep start >= rep count are broken rules, the rep fields are not", () => {
    const rep: CallShape = {
      name: "HvCallFlushVirtualAddressList",
      kind: "rep",
      fastAllowed: true,
      variableHeaderAllowed: true,
    };
    expect(violatedFields(0x3, 0, rep)).toEqual(["repCount"]);
    expect(violatedFields(0x3, 5, rep)).toEqual([]);
    expect(violatedFields(0x3, 5 | (4 << 16), rep)).toEqual([]);
    expect(violatedFields(0x3, 5 | (5 << 16), rep)).toEqual(["repStartIndex"]);
    expect(violatedFields(0x3 | (1 << 17), 5, rep)).toEqual([]);
    expect(allowedControlBits(rep)).toEqual({ lo: 0x07ffffff, hi: 0x0fff0fff });
    expect(allowedControlBits(SIMPLE)).toEqual({ lo: 0x1ffff, hi: 0 });
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
    "the first violation is the field of the lowest bit a simple call may not set (was checkSimpleCallControl)",
    (lo, hi) => {
      const all = controlViolations(lo, hi, SIMPLE);
      const badLo = (lo & ~0x1ffff) >>> 0;
      const badHi = hi >>> 0;
      if (badLo === 0 && badHi === 0) {
        expect(all).toEqual([]);
        return;
      }
      const lowest =
        badLo !== 0 ? 31 - Math.clz32(badLo & -badLo) : 32 + 31 - Math.clz32(badHi & -badHi);
      expect(all[0]!.field).toBe(HV_HYPERCALL_CONTROL.fieldAt(lowest));
      // Every field with a disallowed bit is reported once, in bit order (simpleCallControlViolations).
      const expected = HV_HYPERCALL_CONTROL.list
        .filter((f) => f.name !== "callCode" && f.name !== "fast")
        .filter((f) => HV_HYPERCALL_CONTROL.get(f, lo, hi) !== 0)
        .map((f) => f.name);
      expect(all.map((v) => v.field.name)).toEqual(expected);
      expect(simpleCallViolations(lo, hi, SIMPLE.name)).toEqual(all.map((v) => v.rule));
    },
  );
});
