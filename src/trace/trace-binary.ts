import {
  anOp,
  NOT_GIVEN,
  READ_MAX_BYTES,
  TraceError,
  type TraceOp,
  TraceOpCode,
  traceOpName,
  WRITE_MAX_BYTES,
} from "./trace-op.js";

/**
 * The binary form of a guest trace (docs/trace-format.md): the same ops as the JSON Lines form,
 * self-describing and streamable, for fuzzers and for speed.
 *
 *   file   = header record*
 *   header = "HVTRACE\0" (8 bytes) · version u16 = 1 · header size u16 = 16 · reserved u32 = 0
 *   record = op u8 · flags u8 · reserved u16 = 0 · body size u32 · body (body size bytes)
 *   body   = [partition u64 if flags bit 0] [vp u32, 0 u32 if flags bit 1] fields of the op
 *   fields: hypercall: control u64, rdx u64, [r8 u64 if flags bit 2]
 *           write: gpa u64, length u32, 0 u32, bytes (padded with zeros to 8)
 *           read:  gpa u64, length u32, 0 u32
 *           wrmsr: msr u32, 0 u32, value u64
 *           rdmsr: msr u32, 0 u32
 *           eoi:   (nothing)
 * Little-endian; every record is a multiple of 8 bytes long, so records stay 8-byte aligned.
 */
export const TRACE_MAGIC = Uint8Array.from([0x48, 0x56, 0x54, 0x52, 0x41, 0x43, 0x45, 0x00]); // "HVTRACE\0"
export const TRACE_VERSION = 1;
export const TRACE_HEADER_SIZE = 16;
export const RECORD_HEADER_SIZE = 8;

const FLAG_PARTITION = 1;
const FLAG_VP = 2;
const FLAG_R8 = 4;
const FLAGS_KNOWN = FLAG_PARTITION | FLAG_VP | FLAG_R8;
/** The high half of the largest partition id, 2^53 - 1. */
const PARTITION_HI_MAX = 2 ** 21 - 1;

/** A record body is at most this long (a largest write plus its fields). */
export const MAX_BODY_SIZE = WRITE_MAX_BYTES + 64;

function pad8(n: number): number {
  return (n + 7) & ~7;
}

/** The body size an op with these flags has (write: for `length` bytes). */
function bodySize(code: number, flags: number, length: number): number {
  const size = (flags & FLAG_PARTITION ? 8 : 0) + (flags & FLAG_VP ? 8 : 0);
  switch (code) {
    case TraceOpCode.hypercall:
      return size + 16 + (flags & FLAG_R8 ? 8 : 0);
    case TraceOpCode.write:
      return size + 16 + pad8(length);
    case TraceOpCode.read:
    case TraceOpCode.wrmsr:
      return size + 16;
    case TraceOpCode.rdmsr:
      return size + 8;
    default:
      return size;
  }
}

/** "record 3 (byte 88)". */
export function recordPlace(index: number, offset: number): string {
  return `record ${index} (byte ${offset})`;
}

/** A malformed record's error (its place is turned into text only then, not per record). */
function bad(index: number, offset: number, field: string, reason: string): TraceError {
  return new TraceError(recordPlace(index, offset), field, reason);
}

/** The file header. */
export function traceHeader(): Uint8Array {
  const out = new Uint8Array(TRACE_HEADER_SIZE);
  out.set(TRACE_MAGIC);
  const view = new DataView(out.buffer);
  view.setUint16(8, TRACE_VERSION, true);
  view.setUint16(10, TRACE_HEADER_SIZE, true);
  return out;
}

/** Checks a file header (the first 16 bytes); throws a TraceError saying what is wrong. */
export function checkTraceHeader(bytes: Uint8Array): void {
  const where = "header";
  for (let i = 0; i < TRACE_MAGIC.length; i++) {
    if (bytes[i] !== TRACE_MAGIC[i])
      throw new TraceError(
        where,
        "",
        'not a binary hvcall trace (it does not start with "HVTRACE\\0")',
      );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, TRACE_HEADER_SIZE);
  const version = view.getUint16(8, true);
  if (version !== TRACE_VERSION) {
    throw new TraceError(
      where,
      "version",
      `binary trace version ${version}; this hvcall reads version ${TRACE_VERSION}`,
    );
  }
  if (view.getUint16(10, true) !== TRACE_HEADER_SIZE || view.getUint32(12, true) !== 0) {
    throw new TraceError(
      where,
      "",
      `a version ${TRACE_VERSION} header is ${TRACE_HEADER_SIZE} bytes with its reserved field 0`,
    );
  }
}

/** One op as a binary record. */
export function encodeTraceOp(op: TraceOp): Uint8Array {
  const flags =
    (op.partition !== NOT_GIVEN ? FLAG_PARTITION : 0) |
    (op.vp !== NOT_GIVEN ? FLAG_VP : 0) |
    (op.code === TraceOpCode.hypercall && op.r8Given ? FLAG_R8 : 0);
  const size = bodySize(op.code, flags, op.code === TraceOpCode.write ? op.length : 0);
  const out = new Uint8Array(RECORD_HEADER_SIZE + size);
  const v = new DataView(out.buffer);
  v.setUint8(0, op.code);
  v.setUint8(1, flags);
  v.setUint32(4, size, true);
  let at = RECORD_HEADER_SIZE;
  if (flags & FLAG_PARTITION) {
    v.setBigUint64(at, BigInt(op.partition), true);
    at += 8;
  }
  if (flags & FLAG_VP) {
    v.setUint32(at, op.vp, true);
    at += 8;
  }
  const pair = (lo: number, hi: number) => {
    v.setUint32(at, lo, true);
    v.setUint32(at + 4, hi, true);
    at += 8;
  };
  switch (op.code) {
    case TraceOpCode.hypercall:
      pair(op.controlLo, op.controlHi);
      pair(op.rdxLo, op.rdxHi);
      if (flags & FLAG_R8) pair(op.r8Lo, op.r8Hi);
      break;
    case TraceOpCode.write:
      pair(op.gpaLo, op.gpaHi);
      pair(op.length, 0);
      out.set(op.bytes, at);
      break;
    case TraceOpCode.read:
      pair(op.gpaLo, op.gpaHi);
      pair(op.length, 0);
      break;
    case TraceOpCode.wrmsr:
      pair(op.msr, 0);
      pair(op.valueLo, op.valueHi);
      break;
    case TraceOpCode.rdmsr:
      pair(op.msr, 0);
      break;
  }
  return out;
}

/**
 * Decodes the record at `offset` of `view` (which holds `end` bytes) into `into`. Returns the
 * record's size, or 0 when the record is not whole yet (read more and call again). Throws a
 * TraceError for a malformed record; `index` and `fileOffset` only name it in the message.
 * `bytes` is the same memory as `view` (a reader passes its buffer, so that a write's bytes are
 * referenced, not copied — valid until the buffer is refilled); without it one view is made.
 */
export function decodeTraceRecord(
  view: DataView,
  offset: number,
  end: number,
  into: TraceOp,
  index: number,
  fileOffset: number,
  bytes?: Uint8Array,
): number {
  if (end - offset < RECORD_HEADER_SIZE) return 0;
  const code = view.getUint8(offset);
  const flags = view.getUint8(offset + 1);
  const size = view.getUint32(offset + 4, true);
  const name = traceOpName(code);
  if (name === undefined)
    throw bad(index, fileOffset, "op", `unknown op code ${code} (1 hypercall … 6 eoi)`);
  if ((flags & ~FLAGS_KNOWN) !== 0 || (flags & FLAG_R8 && code !== TraceOpCode.hypercall)) {
    throw bad(
      index,
      fileOffset,
      "flags",
      `flags 0x${flags.toString(16)} are not valid for ${anOp(name)} record (bit 0 partition, bit 1 vp, bit 2 r8 on a hypercall)`,
    );
  }
  if (view.getUint16(offset + 2, true) !== 0)
    throw bad(index, fileOffset, "reserved", "the reserved u16 after the flags must be 0");
  if (size % 8 !== 0)
    throw bad(index, fileOffset, "size", `body size ${size} is not a multiple of 8`);
  if (size > MAX_BODY_SIZE)
    throw bad(
      index,
      fileOffset,
      "size",
      `body size ${size} is larger than any record (at most ${MAX_BODY_SIZE}: a write of ${WRITE_MAX_BYTES} bytes)`,
    );
  if (end - offset < RECORD_HEADER_SIZE + size) return 0;
  // The body must hold the fields before they are read (found by fuzzing: a short last record
  // read past the end of the input).
  const least = bodySize(code, flags, 0);
  const exact = code !== TraceOpCode.write; // only a write's body grows with its bytes
  if (size < least) {
    throw bad(
      index,
      fileOffset,
      "size",
      `body size ${size}; ${anOp(name)} record with these flags has ${exact ? "" : "at least "}${least}`,
    );
  }
  into.reset(code as TraceOp["code"]);
  let at = offset + RECORD_HEADER_SIZE;
  if (flags & FLAG_PARTITION) {
    // Two u32 halves, not a BigInt: 1..2^53-1 is a high half of at most 2^21-1.
    const lo = view.getUint32(at, true);
    const hi = view.getUint32(at + 4, true);
    if (hi > PARTITION_HI_MAX || (hi === 0 && lo === 0)) {
      const id = view.getBigUint64(at, true);
      throw bad(index, fileOffset, "partition", `partition id ${id} is not 1..2^53-1`);
    }
    into.partition = hi * 2 ** 32 + lo;
    at += 8;
  }
  if (flags & FLAG_VP) {
    into.vp = view.getUint32(at, true);
    if (view.getUint32(at + 4, true) !== 0)
      throw bad(index, fileOffset, "vp", "the padding after the VP index must be 0");
    at += 8;
  }
  let length = 0;
  switch (code) {
    case TraceOpCode.hypercall:
      into.controlLo = view.getUint32(at, true);
      into.controlHi = view.getUint32(at + 4, true);
      into.rdxLo = view.getUint32(at + 8, true);
      into.rdxHi = view.getUint32(at + 12, true);
      if (flags & FLAG_R8) {
        into.r8Lo = view.getUint32(at + 16, true);
        into.r8Hi = view.getUint32(at + 20, true);
        into.r8Given = true;
      }
      break;
    case TraceOpCode.write:
    case TraceOpCode.read:
      into.gpaLo = view.getUint32(at, true);
      into.gpaHi = view.getUint32(at + 4, true);
      length = view.getUint32(at + 8, true);
      if (view.getUint32(at + 12, true) !== 0)
        throw bad(index, fileOffset, "length", "the padding after the length must be 0");
      if (code === TraceOpCode.write && length > WRITE_MAX_BYTES)
        throw bad(
          index,
          fileOffset,
          "length",
          `a write is at most ${WRITE_MAX_BYTES} bytes, not ${length}`,
        );
      if (code === TraceOpCode.read) {
        if (length < 1 || length > READ_MAX_BYTES)
          throw bad(
            index,
            fileOffset,
            "length",
            `a read is 1..${READ_MAX_BYTES} bytes, not ${length}`,
          );
        into.length = length;
      }
      break;
    case TraceOpCode.wrmsr:
    case TraceOpCode.rdmsr:
      into.msr = view.getUint32(at, true);
      if (view.getUint32(at + 4, true) !== 0)
        throw bad(index, fileOffset, "msr", "the padding after the MSR number must be 0");
      if (code === TraceOpCode.wrmsr) {
        into.valueLo = view.getUint32(at + 8, true);
        into.valueHi = view.getUint32(at + 12, true);
      }
      break;
  }
  if (size !== bodySize(code, flags, length)) {
    throw bad(
      index,
      fileOffset,
      "size",
      `body size ${size}; ${anOp(name)} record with these fields has ${bodySize(code, flags, length)}`,
    );
  }
  if (code === TraceOpCode.write) {
    for (let i = at + 16 + length; i < at + 16 + pad8(length); i++) {
      if (view.getUint8(i) !== 0)
        throw bad(index, fileOffset, "bytes", "the padding after the written bytes must be 0");
    }
    into.data = bytes ?? new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    into.dataOffset = at + 16;
    into.length = length;
  }
  return RECORD_HEADER_SIZE + size;
}
