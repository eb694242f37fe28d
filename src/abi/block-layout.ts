import { Parser } from "binary-parser";
import type { BitField } from "./bit-layout.js";

/**
 * Byte layouts of hypercall input and output blocks and of guest structures (HV_MESSAGE), declared
 * once as field tables by offset, exactly as the TLFS tables give them. From one table come:
 *  - the binary-parser codec (`decode`) that `hvcall decode`, `--explain` and the tests use;
 *  - the word positions (`word`) the hot path reads a field from, with a mask and a shift;
 *  - `encode`, for tests and tools.
 *
 * binary-parser compiles each parser from generated source (the Function constructor) the first
 * time it parses. Where code generation is disabled (a browser CSP, node
 * --disallow-code-generation-from-strings) `decode` falls back to reading the same table field by
 * field; the dispatch paths never call `decode`.
 */
export type ByteFieldType = "u8" | "u16" | "u32" | "u64" | "bytes";

export interface ByteFieldSpec {
  readonly name: string;
  /** The TLFS name, e.g. "ConnectionId". */
  readonly label: string;
  readonly offset: number;
  readonly type: ByteFieldType;
  /** Bytes, for type "bytes". */
  readonly length?: number;
  /** Reserved, must be zero (RsvdZ). */
  readonly reservedZero?: true;
  /** The field's own bit layout, when it has one (HV_CONNECTION_ID). */
  readonly bits?: FieldBits;
}

/** What a block needs of a field's bit layout (a BitLayout of any field table). */
export interface FieldBits {
  readonly name: string;
  reservedZeroSet(lo: number, hi?: number): BitField[];
}

export interface ByteField extends ByteFieldSpec {
  readonly size: number;
}

/** Where the hot path finds a field of at most 32 bits: u32 word index, shift and mask. */
export interface WordField {
  readonly word: number;
  readonly shift: number;
  readonly mask: number;
}

/** A decoded block: numbers for u8..u32, bigints for u64, byte arrays for "bytes". */
export type BlockValues = Readonly<Record<string, number | bigint | Uint8Array>>;

const SIZE: Readonly<Record<Exclude<ByteFieldType, "bytes">, number>> = {
  u8: 1,
  u16: 2,
  u32: 4,
  u64: 8,
};

export class BlockLayout {
  readonly name: string;
  readonly size: number;
  readonly fields: readonly ByteField[];
  private readonly parser: Parser;
  private codegen = true;

  constructor(name: string, size: number, specs: readonly ByteFieldSpec[]) {
    this.name = name;
    this.size = size;
    let next = 0;
    let parser = new Parser().endianness("little");
    const fields: ByteField[] = [];
    for (const spec of specs) {
      const fieldSize = spec.type === "bytes" ? (spec.length ?? 0) : SIZE[spec.type];
      if (spec.offset !== next || fieldSize < 1) {
        throw new RangeError(
          `${name}: ${spec.name} at offset ${spec.offset} must follow byte ${next}`,
        );
      }
      if (spec.type !== "bytes" && spec.offset % fieldSize !== 0) {
        throw new RangeError(`${name}: ${spec.name} is not naturally aligned`);
      }
      fields.push({ ...spec, size: fieldSize });
      parser =
        spec.type === "u8"
          ? parser.uint8(spec.name)
          : spec.type === "u16"
            ? parser.uint16(spec.name)
            : spec.type === "u32"
              ? parser.uint32(spec.name)
              : spec.type === "u64"
                ? parser.uint64(spec.name)
                : parser.buffer(spec.name, { length: fieldSize, clone: true });
      next += fieldSize;
    }
    if (next !== size) throw new RangeError(`${name}: fields cover ${next} of ${size} bytes`);
    this.fields = fields;
    this.parser = parser;
  }

  field(name: string): ByteField {
    const f = this.fields.find((x) => x.name === name);
    if (f === undefined) throw new RangeError(`${this.name} has no field ${name}`);
    return f;
  }

  /** The word position of a field of at most 32 bits (the hot path's reader). */
  word(name: string): WordField {
    const f = this.field(name);
    if (f.type === "u64" || f.type === "bytes") {
      throw new RangeError(`${this.name}: ${name} is not read as one u32 word`);
    }
    const bits = f.size * 8;
    return {
      word: f.offset >>> 2,
      shift: (f.offset & 3) * 8,
      mask: bits === 32 ? 0xffffffff : 2 ** bits - 1,
    };
  }

  /**
   * Decodes the first `size` bytes from `offset`; undefined when fewer are available. Total: never
   * throws for any bytes.
   */
  decode(bytes: Uint8Array, offset = 0): BlockValues | undefined {
    if (!(Number.isInteger(offset) && offset >= 0 && bytes.length - offset >= this.size)) {
      return undefined;
    }
    const block = bytes.subarray(offset, offset + this.size);
    if (this.codegen) {
      try {
        const parsed: unknown = this.parser.parse(block);
        return parsed as BlockValues;
      } catch (error) {
        if (!(error instanceof EvalError)) throw error;
        this.codegen = false;
      }
    }
    return this.decodeByTable(block);
  }

  /** The same decode, field by field from the table (no generated code). */
  decodeByTable(block: Uint8Array): BlockValues {
    const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
    const out: Record<string, number | bigint | Uint8Array> = {};
    for (const f of this.fields) {
      out[f.name] =
        f.type === "u8"
          ? view.getUint8(f.offset)
          : f.type === "u16"
            ? view.getUint16(f.offset, true)
            : f.type === "u32"
              ? view.getUint32(f.offset, true)
              : f.type === "u64"
                ? view.getBigUint64(f.offset, true)
                : block.slice(f.offset, f.offset + f.size);
    }
    return out;
  }

  /** Encodes the block; each field is truncated to its width, fields left out are zero. */
  encode(values: Readonly<Record<string, number | bigint | Uint8Array | undefined>>): Uint8Array {
    const out = new Uint8Array(this.size);
    const view = new DataView(out.buffer);
    for (const f of this.fields) {
      const v = values[f.name];
      if (v === undefined) continue;
      if (f.type === "bytes") {
        if (!(v instanceof Uint8Array)) throw new TypeError(`${this.name}: ${f.name} takes bytes`);
        out.set(v.subarray(0, f.size), f.offset);
      } else if (v instanceof Uint8Array) {
        throw new TypeError(`${this.name}: ${f.name} takes a number`);
      } else if (f.type === "u64") {
        view.setBigUint64(f.offset, BigInt.asUintN(64, BigInt(v)), true);
      } else {
        const n = Number(BigInt.asUintN(f.size * 8, BigInt(v)));
        if (f.type === "u8") view.setUint8(f.offset, n);
        else if (f.type === "u16") view.setUint16(f.offset, n, true);
        else view.setUint32(f.offset, n, true);
      }
    }
    return out;
  }

  /** The reserved-zero fields (and reserved bits of fields with a bit layout) set in a block. */
  reservedSet(values: BlockValues): string[] {
    const out: string[] = [];
    for (const f of this.fields) {
      const v = values[f.name];
      if (f.reservedZero === true && typeof v === "number" && v !== 0) {
        out.push(`${f.label} (bytes ${f.offset}..${f.offset + f.size - 1}) must be 0`);
      }
      if (f.bits !== undefined && typeof v === "number") {
        for (const b of f.bits.reservedZeroSet(v)) {
          out.push(`${f.label} ${b.label} ${b.bits} must be 0`);
        }
      }
    }
    return out;
  }
}
