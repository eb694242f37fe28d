import { halvesToU64, type U64Halves, u64ToHalves } from "./u64.js";

/**
 * Bit layouts of register-sized TLFS values (the hypercall control and result values, SynIC MSRs,
 * HV_CONNECTION_ID, HV_MESSAGE flags), declared once as field tables. Decoding, encoding, the
 * hot-path masks and shifts, the names of broken rules and the CLI's field labels are all derived
 * from these tables (docs/hypercall-abi.md §1-§2, docs/synic.md §1).
 *
 * A value is handled as two u32 halves: `lo` = bits 31:0, `hi` = bits 63:32.
 */

/** What a field is: a number, a one-bit flag, or reserved (must be zero / preserved as written). */
export type BitFieldKind = "value" | "flag" | "reserved-zero" | "reserved-preserve";

export interface BitFieldSpec {
  /** The lowest bit of the field in the whole value. */
  readonly lsb: number;
  readonly width: number;
  /** Default "value"; a one-bit "flag" decodes as a boolean. */
  readonly kind?: BitFieldKind;
  /** The field's TLFS name, e.g. "RsvdZ", "rep count", "MessagePending". */
  readonly label: string;
  /** Decode as a bigint: set for fields wider than 32 bits or spanning the two halves. */
  readonly wide?: true;
}

/** A field of a layout with everything the code needs precomputed. */
export interface BitField {
  readonly name: string;
  readonly label: string;
  readonly kind: BitFieldKind;
  readonly lsb: number;
  readonly msb: number;
  readonly width: number;
  /** "bit 16" or "bits 26:17". */
  readonly bits: string;
  /** The u32 half holding the field (0: bits 31:0, 1: bits 63:32); -1 for a wide field. */
  readonly half: 0 | 1 | -1;
  /** The field's lowest bit inside its half, and its mask after shifting (u32). */
  readonly shift: number;
  readonly mask: number;
  /** The field's bits in place in its half: mask << shift, as a u32. */
  readonly inPlace: number;
  /** The field's bits in place in the whole value. */
  readonly mask64: bigint;
}

type FieldValue<S extends BitFieldSpec> = S extends { readonly wide: true }
  ? bigint
  : S extends { readonly kind: "flag" }
    ? boolean
    : number;

/** The decoded value: one member per field. */
export type LayoutValues<S extends Readonly<Record<string, BitFieldSpec>>> = {
  readonly [K in keyof S]: FieldValue<S[K]>;
};

/** The decoded value of a layout. */
export type ValuesOf<L> = L extends BitLayout<infer S> ? LayoutValues<S> : never;

const HALF_BITS = 32;

function makeField(name: string, spec: BitFieldSpec, width: number, layout: string): BitField {
  const { lsb, width: w } = spec;
  const msb = lsb + w - 1;
  if (!(Number.isInteger(lsb) && Number.isInteger(w) && lsb >= 0 && w >= 1 && msb < width)) {
    throw new RangeError(`${layout}: field ${name} (bits ${msb}:${lsb}) is outside ${width} bits`);
  }
  const spans = lsb < HALF_BITS && msb >= HALF_BITS;
  const wide = w > HALF_BITS || spans;
  if (wide !== (spec.wide === true)) {
    throw new RangeError(`${layout}: field ${name} must ${wide ? "" : "not "}be marked wide`);
  }
  const kind = spec.kind ?? "value";
  if (kind === "flag" && w !== 1) throw new RangeError(`${layout}: flag ${name} is not one bit`);
  const half: 0 | 1 | -1 = wide ? -1 : lsb >= HALF_BITS ? 1 : 0;
  const shift = wide ? 0 : lsb % HALF_BITS;
  const mask = wide ? 0 : w === HALF_BITS ? 0xffffffff : 2 ** w - 1;
  return {
    name,
    label: spec.label,
    kind,
    lsb,
    msb,
    width: w,
    bits: w === 1 ? `bit ${lsb}` : `bits ${msb}:${lsb}`,
    half,
    shift,
    mask,
    inPlace: wide ? 0 : (mask << shift) >>> 0,
    mask64: ((1n << BigInt(w)) - 1n) << BigInt(lsb),
  };
}

export class BitLayout<S extends Readonly<Record<string, BitFieldSpec>>> {
  readonly name: string;
  /** 8, 16, 32 or 64 bits. */
  readonly width: number;
  readonly fields: { readonly [K in keyof S]: BitField };
  /** The fields in bit order, lowest first. */
  readonly list: readonly BitField[];
  /** Every reserved-zero bit, per half. */
  readonly reservedZeroLo: number;
  readonly reservedZeroHi: number;

  /**
   * `specs` must cover every bit of `width` exactly once (the TLFS tables do), so that a gap or an
   * overlap in a declaration is an error at load, not a silent hole.
   */
  constructor(name: string, width: 8 | 16 | 32 | 64, specs: S) {
    this.name = name;
    this.width = width;
    const fields: Record<string, BitField> = {};
    for (const [key, spec] of Object.entries(specs))
      fields[key] = makeField(key, spec, width, name);
    this.fields = fields as { readonly [K in keyof S]: BitField };
    this.list = Object.values(fields).sort((a, b) => a.lsb - b.lsb);
    let next = 0;
    for (const f of this.list) {
      if (f.lsb !== next) throw new RangeError(`${name}: bits at ${next} are not declared once`);
      next = f.msb + 1;
    }
    if (next !== width) throw new RangeError(`${name}: bits ${width - 1}:${next} are not declared`);
    let lo = 0;
    let hi = 0;
    for (const f of this.list) {
      if (f.kind !== "reserved-zero") continue;
      const { lo: l, hi: h } = u64ToHalves(f.mask64);
      lo |= l;
      hi |= h;
    }
    this.reservedZeroLo = lo >>> 0;
    this.reservedZeroHi = hi >>> 0;
  }

  /** One field's raw value (a bigint for a wide field). */
  get(field: BitField, lo: number, hi = 0): number | bigint {
    if (field.half === -1) return (halvesToU64(lo, hi) & field.mask64) >> BigInt(field.lsb);
    // `>>> 0`: a 32-bit field's mask is 0xffffffff, and `&` alone would give it a sign.
    return (((field.half === 0 ? lo : hi) >>> field.shift) & field.mask) >>> 0;
  }

  /** Every field of the value. */
  decode(lo: number, hi = 0): LayoutValues<S> {
    const out: Record<string, number | bigint | boolean> = {};
    for (const f of this.list) {
      const raw = this.get(f, lo, hi);
      out[f.name] = f.kind === "flag" ? raw !== 0 : raw;
    }
    return out as LayoutValues<S>;
  }

  /** Encodes field values back (each truncated to its width); fields left out are zero. */
  encode(values: Partial<Readonly<Record<keyof S, number | bigint | boolean>>>): U64Halves {
    let value = 0n;
    for (const f of this.list) {
      const v = (values as Readonly<Record<string, number | bigint | boolean | undefined>>)[f.name];
      if (v === undefined) continue;
      const n = typeof v === "boolean" ? (v ? 1n : 0n) : BigInt(v);
      value |= (n << BigInt(f.lsb)) & f.mask64;
    }
    return u64ToHalves(value);
  }

  /** The reserved-zero fields whose bits are not zero, in bit order. */
  reservedZeroSet(lo: number, hi = 0): BitField[] {
    return this.list.filter((f) => f.kind === "reserved-zero" && this.get(f, lo, hi) !== 0);
  }

  /** The field holding a bit, for messages. */
  fieldAt(bit: number): BitField | undefined {
    return this.list.find((f) => f.lsb <= bit && bit <= f.msb);
  }
}

/** `0x` and the value's hex digits, for messages. */
export function hexOf(value: number | bigint): string {
  return `0x${value.toString(16)}`;
}
