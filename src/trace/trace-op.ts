import { HV_PAGE_SIZE } from "../abi/hv-page.js";

/**
 * A guest trace operation (docs/cli.md §5, docs/synic.md §6): a hypercall, or one of the
 * guest actions a hypervisor sees besides hypercalls. Both trace forms (JSON Lines and binary)
 * decode into this one shape; 64-bit values travel as u32 halves so that the binary form runs
 * without BigInt. The object is mutable so that a reader can reuse one for every op.
 */
export const TraceOpCode = {
  hypercall: 1,
  write: 2,
  read: 3,
  wrmsr: 4,
  rdmsr: 5,
  eoi: 6,
} as const;

export type TraceOpName = keyof typeof TraceOpCode;
export type TraceOpCodeValue = (typeof TraceOpCode)[TraceOpName];

export const TRACE_OP_NAMES = Object.keys(TraceOpCode) as TraceOpName[];

const NAME_BY_CODE: readonly (TraceOpName | undefined)[] = (() => {
  const out: (TraceOpName | undefined)[] = [];
  for (const name of TRACE_OP_NAMES) out[TraceOpCode[name]] = name;
  return out;
})();

export function traceOpName(code: number): TraceOpName | undefined {
  return NAME_BY_CODE[code];
}

/** "a read", "an eoi": an op's name for a message. */
export function anOp(name: string): string {
  return `${/^[aeiou]/.test(name) ? "an" : "a"} ${name}`;
}

/** Ops that act as a VP (they use `vp`); write and read act on the partition's memory. */
export function actsAsVp(code: number): boolean {
  return code !== TraceOpCode.write && code !== TraceOpCode.read;
}

/** `partition` / `vp` not given: the op uses the defaults (--caller, --vp). */
export const NOT_GIVEN = -1;

/** The largest `read` (one page). */
export const READ_MAX_BYTES = HV_PAGE_SIZE;

/**
 * The largest `write` (1 MiB). hvcall: a bound of the trace forms, not of the guest — a longer
 * write is several writes; it keeps a hostile trace from making the reader buffer without end.
 */
export const WRITE_MAX_BYTES = 1 << 20;

/** The longest JSON line of a trace: a largest write's hex, with room for the other fields. */
export const TRACE_LINE_MAX_BYTES = 2 * WRITE_MAX_BYTES + 4096;

const NO_BYTES = new Uint8Array(0);

export class TraceOp {
  code: TraceOpCodeValue = TraceOpCode.eoi;
  /** HV_PARTITION_ID, or NOT_GIVEN. */
  partition: number = NOT_GIVEN;
  /** HV_VP_INDEX, or NOT_GIVEN. */
  vp: number = NOT_GIVEN;
  // hypercall: RCX, RDX, R8 (r8Given: the op named R8; it defaults to 0).
  controlLo = 0;
  controlHi = 0;
  rdxLo = 0;
  rdxHi = 0;
  r8Lo = 0;
  r8Hi = 0;
  r8Given = false;
  // write / read: the GPA; write's bytes; read's length.
  gpaLo = 0;
  gpaHi = 0;
  /**
   * write: the bytes are data[dataOffset, dataOffset + length) — the op's own array (JSON Lines),
   * or the binary reader's buffer, valid until the reader reads more (clone() to keep an op).
   */
  data: Uint8Array = NO_BYTES;
  dataOffset = 0;
  /** write: how many bytes; read: how many to read. */
  length = 0;
  // wrmsr / rdmsr
  msr = 0;
  valueLo = 0;
  valueHi = 0;

  /** Back to an eoi with nothing given (a reader refills it). */
  reset(code: TraceOpCodeValue): this {
    this.code = code;
    this.partition = NOT_GIVEN;
    this.vp = NOT_GIVEN;
    this.controlLo = this.controlHi = this.rdxLo = this.rdxHi = this.r8Lo = this.r8Hi = 0;
    this.r8Given = false;
    this.gpaLo = this.gpaHi = 0;
    this.length = 0;
    this.msr = this.valueLo = this.valueHi = 0;
    return this;
  }

  get name(): TraceOpName {
    return NAME_BY_CODE[this.code]!;
  }

  /** A write's bytes, as a view (not for the hot path: it makes one). */
  get bytes(): Uint8Array {
    return this.data.subarray(this.dataOffset, this.dataOffset + this.length);
  }

  /** A write's bytes: the op keeps this array. */
  setBytes(bytes: Uint8Array): void {
    this.data = bytes;
    this.dataOffset = 0;
    this.length = bytes.length;
  }

  /** A copy that owns its bytes (tests, tools). */
  clone(): TraceOp {
    const o = Object.assign(new TraceOp(), this);
    if (this.code === TraceOpCode.write) o.setBytes(this.bytes.slice());
    return o;
  }
}

/** A trace that is host input and breaks the format: where, which field, what is wrong. */
export class TraceError extends Error {
  constructor(
    /** "line 4" (JSON Lines) or "record 4 (byte 96)" (binary). */
    readonly where: string,
    /** The field, or "" for the whole op. */
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${where}: ${field === "" ? "" : `${field}: `}${reason}`);
    this.name = "TraceError";
  }
}
