/**
 * BitLayout (src/abi/bit-layout.ts) and the seven register-sized TLFS layouts declared with it.
 *
 * The oracle is written out by hand below from the spec tables — signal-event.md §1 (control
 * value), §2 (result value), §4 (HV_CONNECTION_ID), synic.md §1 (SCONTROL, SIEFP / SIMP, SINTx) and
 * §3 (MessageFlags) — and every field is checked against it by position, by decoding values built
 * with BigInt shifts (not with the layout's own masks), and by round trips over u32 halves.
 */
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { type BitField, type BitFieldSpec, BitLayout } from "../../src/abi/bit-layout.js";
import { HV_CONNECTION_ID } from "../../src/abi/connection-id.js";
import { HV_MESSAGE_FLAGS } from "../../src/abi/hv-message.js";
import { HV_HYPERCALL_CONTROL } from "../../src/abi/hypercall-control.js";
import { HV_HYPERCALL_RESULT } from "../../src/abi/hypercall-result.js";
import { HV_SYNIC_PAGE_MSR, HV_SYNIC_SCONTROL, HV_SYNIC_SINT } from "../../src/abi/synic-msr.js";
import { halvesToU64, u64ToHalves } from "../../src/abi/u64.js";

const RUNS = { numRuns: 2_000 };
const u32 = fc.integer({ min: 0, max: 0xffffffff });

type Kind = "value" | "flag" | "reserved-zero" | "reserved-preserve";
/** [msb, lsb, kind] per field, by hand from the spec tables. */
type Hand = Readonly<Record<string, readonly [number, number, Kind]>>;

interface AnyLayout {
  readonly name: string;
  readonly width: number;
  readonly list: readonly BitField[];
  readonly fields: Readonly<Record<string, BitField>>;
  readonly reservedZeroLo: number;
  readonly reservedZeroHi: number;
  decode(lo: number, hi?: number): Readonly<Record<string, number | bigint | boolean>>;
  encode(values: Readonly<Record<string, number | bigint | boolean>>): { lo: number; hi: number };
  reservedZeroSet(lo: number, hi?: number): BitField[];
  fieldAt(bit: number): BitField | undefined;
}

const CASES: readonly (readonly [string, AnyLayout, number, Hand])[] = [
  [
    "HV_HYPERCALL_CONTROL",
    HV_HYPERCALL_CONTROL as unknown as AnyLayout,
    64,
    {
      callCode: [15, 0, "value"],
      fast: [16, 16, "flag"],
      variableHeaderSize: [26, 17, "value"],
      reserved27to30: [30, 27, "reserved-zero"],
      isNested: [31, 31, "flag"],
      repCount: [43, 32, "value"],
      reserved44to47: [47, 44, "reserved-zero"],
      repStartIndex: [59, 48, "value"],
      reserved60to63: [63, 60, "reserved-zero"],
    },
  ],
  [
    "HV_HYPERCALL_RESULT",
    HV_HYPERCALL_RESULT as unknown as AnyLayout,
    64,
    {
      status: [15, 0, "value"],
      reserved16to31: [31, 16, "reserved-zero"],
      repsCompleted: [43, 32, "value"],
      reserved44to63: [63, 44, "reserved-zero"],
    },
  ],
  [
    "HV_CONNECTION_ID",
    HV_CONNECTION_ID as unknown as AnyLayout,
    32,
    { id: [23, 0, "value"], reserved: [31, 24, "reserved-zero"] },
  ],
  [
    "HV_SYNIC_SCONTROL",
    HV_SYNIC_SCONTROL as unknown as AnyLayout,
    64,
    { enable: [0, 0, "flag"], reserved: [63, 1, "reserved-preserve"] },
  ],
  [
    "HV_SYNIC_PAGE_MSR",
    HV_SYNIC_PAGE_MSR as unknown as AnyLayout,
    64,
    { enable: [0, 0, "flag"], reserved: [11, 1, "reserved-preserve"], gpaPage: [63, 12, "value"] },
  ],
  [
    "HV_SYNIC_SINT",
    HV_SYNIC_SINT as unknown as AnyLayout,
    64,
    {
      vector: [7, 0, "value"],
      reserved8to15: [15, 8, "reserved-preserve"],
      masked: [16, 16, "flag"],
      autoEoi: [17, 17, "flag"],
      polling: [18, 18, "flag"],
      reserved19to63: [63, 19, "reserved-preserve"],
    },
  ],
  [
    "HV_MESSAGE_FLAGS",
    HV_MESSAGE_FLAGS as unknown as AnyLayout,
    8,
    { messagePending: [0, 0, "flag"], reserved: [7, 1, "reserved-zero"] },
  ],
];

const isWide = (msb: number, lsb: number) => msb - lsb + 1 > 32 || (lsb < 32 && msb >= 32);
const fieldMask = (msb: number, lsb: number) => (1n << BigInt(msb - lsb + 1)) - 1n;

/** What decode must give for a field whose raw bits are `raw`, typed as the hand table says. */
function typed(entry: readonly [number, number, Kind], raw: bigint): number | bigint | boolean {
  const [msb, lsb, kind] = entry;
  if (kind === "flag") return raw !== 0n;
  return isWide(msb, lsb) ? raw : Number(raw);
}

/** The whole decoded value of X (a bigint below 2^width), field by field, from the hand table. */
function oracle(hand: Hand, x: bigint): Record<string, number | bigint | boolean> {
  const out: Record<string, number | bigint | boolean> = {};
  for (const [name, entry] of Object.entries(hand)) {
    out[name] = typed(entry, (x >> BigInt(entry[1])) & fieldMask(entry[0], entry[1]));
  }
  return out;
}

describe.each(CASES)("%s", (_name, layout, width, hand) => {
  const all = (1n << BigInt(width)) - 1n;
  const halves = (x: bigint) => u64ToHalves(x);

  it("has exactly the spec's fields, in bit order, covering its width once", () => {
    expect(layout.width).toBe(width);
    const byLsb = Object.entries(hand).sort((a, b) => a[1][1] - b[1][1]);
    expect(layout.list.map((f) => f.name)).toEqual(byLsb.map(([n]) => n));
    let next = 0;
    for (const [, [msb, lsb]] of byLsb) {
      expect(lsb).toBe(next);
      next = msb + 1;
    }
    expect(next).toBe(width);
  });

  it.each(Object.entries(hand))("field %s sits at the spec's position", (name, entry) => {
    const [msb, lsb, kind] = entry;
    const f = layout.fields[name]!;
    const w = msb - lsb + 1;
    expect(f).toBe(layout.list.find((x) => x.name === name));
    expect([f.lsb, f.msb, f.width, f.kind]).toEqual([lsb, msb, w, kind]);
    expect(f.bits).toBe(w === 1 ? `bit ${lsb}` : `bits ${msb}:${lsb}`);
    expect(f.mask64).toBe(fieldMask(msb, lsb) << BigInt(lsb));
    if (isWide(msb, lsb)) {
      expect(f.half).toBe(-1);
    } else {
      expect(f.half).toBe(lsb >= 32 ? 1 : 0);
      expect(f.shift).toBe(lsb % 32);
      expect(f.mask).toBe(2 ** w - 1);
      const inHalf = u64ToHalves(f.mask64);
      expect(f.inPlace).toBe(lsb >= 32 ? inHalf.hi : inHalf.lo);
    }
    for (let bit = lsb; bit <= msb; bit++) expect(layout.fieldAt(bit)).toBe(f);

    // Hand vectors: the field's lowest bit, its highest bit, all its bits; nothing else moves.
    for (const raw of [1n, 1n << BigInt(w - 1), fieldMask(msb, lsb)]) {
      const { lo, hi } = halves(raw << BigInt(lsb));
      const decoded = layout.decode(lo, hi);
      expect(decoded[name]).toEqual(typed(entry, raw));
      for (const [other, e] of Object.entries(hand)) {
        if (other !== name) expect(decoded[other], other).toEqual(typed(e, 0n));
      }
      expect(layout.encode({ [name]: typed(entry, raw) })).toEqual({ lo, hi });
    }
  });

  it("reservedZeroSet and the reserved masks name exactly the RsvdZ fields", () => {
    const rsvdz = Object.entries(hand).filter(([, e]) => e[2] === "reserved-zero");
    let mask = 0n;
    for (const [, [msb, lsb]] of rsvdz) mask |= fieldMask(msb, lsb) << BigInt(lsb);
    expect({ lo: layout.reservedZeroLo, hi: layout.reservedZeroHi }).toEqual(halves(mask));
    const ones = halves(all);
    expect(layout.reservedZeroSet(ones.lo, ones.hi).map((f) => f.name)).toEqual(
      rsvdz.sort((a, b) => a[1][1] - b[1][1]).map(([n]) => n),
    );
    expect(layout.reservedZeroSet(0, 0)).toEqual([]);
    const clear = halves(all & ~mask);
    expect(layout.reservedZeroSet(clear.lo, clear.hi)).toEqual([]);
    expect(layout.fieldAt(width)).toBeUndefined();
    expect(layout.fieldAt(-1)).toBeUndefined();
  });

  test.prop([u32, u32], RUNS)(
    "decode agrees with BigInt shifts; encode(decode(x)) = x",
    (lo, hi) => {
      // A value of the layout's width: the bits above it are not the layout's.
      const x = halvesToU64(lo, hi) & all;
      const { lo: xl, hi: xh } = halves(x);
      const decoded = layout.decode(xl, xh);
      expect(decoded).toEqual(oracle(hand, x));
      expect(layout.encode(decoded)).toEqual({ lo: xl, hi: xh });
    },
  );

  const valuesArb = fc.record(
    Object.fromEntries(
      Object.entries(hand).map(([name, [msb, lsb, kind]]) => {
        const max = fieldMask(msb, lsb);
        const arb: fc.Arbitrary<number | bigint | boolean> =
          kind === "flag"
            ? fc.boolean()
            : isWide(msb, lsb)
              ? fc.bigInt({ min: 0n, max })
              : fc.integer({ min: 0, max: Number(max) });
        return [name, arb];
      }),
    ),
  );
  test.prop([valuesArb], RUNS)("decode(encode(fields)) = fields", (values) => {
    const { lo, hi } = layout.encode(values);
    expect(layout.decode(lo, hi)).toEqual(values);
    let x = 0n;
    for (const [name, [, lsb]] of Object.entries(hand)) {
      const v = values[name]!;
      x |= (typeof v === "boolean" ? (v ? 1n : 0n) : BigInt(v)) << BigInt(lsb);
    }
    expect(halvesToU64(lo, hi)).toBe(x);
  });
});

describe("BitLayout construction refuses a declaration that is not a partition of its width", () => {
  const make =
    (specs: Readonly<Record<string, BitFieldSpec>>, width: 8 | 16 | 32 | 64 = 8) =>
    () =>
      new BitLayout("BROKEN", width, specs);
  const rangeError = (fn: () => unknown, ...words: string[]) => {
    expect(fn).toThrow(RangeError);
    try {
      fn();
    } catch (error) {
      for (const w of words) expect((error as Error).message).toContain(w);
    }
  };

  it("accepts a complete declaration in any order, and lists it by bit", () => {
    const l = new BitLayout("OK", 8, {
      high: { lsb: 4, width: 4, label: "high" },
      low: { lsb: 0, width: 4, label: "low" },
    });
    expect(l.list.map((f) => f.name)).toEqual(["low", "high"]);
    expect(l.decode(0xa5)).toEqual({ low: 5, high: 0xa });
  });

  it("a gap", () => {
    rangeError(
      make({ a: { lsb: 0, width: 4, label: "a" }, b: { lsb: 5, width: 3, label: "b" } }),
      "BROKEN",
      "bits at 4",
    );
  });

  it("an overlap, and the same bits declared twice", () => {
    rangeError(
      make({ a: { lsb: 0, width: 4, label: "a" }, b: { lsb: 2, width: 6, label: "b" } }),
      "BROKEN",
    );
    rangeError(
      make({ a: { lsb: 0, width: 8, label: "a" }, b: { lsb: 0, width: 8, label: "b" } }),
      "BROKEN",
    );
  });

  it("the top bits left out, or no fields at all", () => {
    rangeError(make({ a: { lsb: 0, width: 4, label: "a" } }), "bits 7:4 are not declared");
    rangeError(make({}), "bits 7:0 are not declared");
    rangeError(make({ a: { lsb: 0, width: 63, label: "a", wide: true } }, 64), "bits 63:63");
  });

  it("a field outside the width, of width 0, or at a negative or fractional bit", () => {
    rangeError(make({ a: { lsb: 0, width: 9, label: "a" } }), "field a", "outside 8 bits");
    rangeError(
      make({ a: { lsb: 0, width: 0, label: "a" }, b: { lsb: 0, width: 8, label: "b" } }),
      "field a",
    );
    rangeError(make({ a: { lsb: -1, width: 9, label: "a" } }), "field a");
    rangeError(make({ a: { lsb: 0.5, width: 8, label: "a" } }), "field a");
  });

  it("a wide field not marked wide, a narrow one marked wide, a flag wider than a bit", () => {
    rangeError(
      make({ a: { lsb: 0, width: 16, label: "a" }, b: { lsb: 16, width: 48, label: "b" } }, 64),
      "field b must be marked wide",
    );
    rangeError(
      make({ a: { lsb: 0, width: 40, label: "a" }, b: { lsb: 40, width: 24, label: "b" } }, 64),
      "field a must be marked wide",
    );
    rangeError(
      make({ a: { lsb: 0, width: 8, label: "a", wide: true } }),
      "field a must not be marked wide",
    );
    rangeError(
      make({
        a: { lsb: 0, width: 2, kind: "flag", label: "a" },
        b: { lsb: 2, width: 6, label: "b" },
      }),
      "flag a",
    );
  });

  // SUSPECTED SRC BUG (reported): a non-wide field of exactly 32 bits decodes values >= 2^31 as
  // negative numbers (`(x >>> shift) & 0xffffffff` is a signed int32). None of the seven TLFS
  // layouts has such a field today, so it is latent; this fails until BitLayout.get ends with >>> 0.
  // Found in review (fixed): get() used to give a 32-bit field a sign.
  it("a 32-bit field decodes 0xffffffff as 4294967295", () => {
    const l = new BitLayout("U32", 64, {
      low: { lsb: 0, width: 32, label: "low" },
      high: { lsb: 32, width: 32, label: "high" },
    });
    expect(l.decode(0xffffffff, 0x80000000)).toEqual({ low: 0xffffffff, high: 0x80000000 });
  });
});
