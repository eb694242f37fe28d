/**
 * The 16-byte hypercall record of the CLI contract (replay files and the batch API):
 * bytes 0..7 the control value (u64 LE), bytes 8..15 the input block as the guest laid it out — the
 * first input register of a fast call, or the bytes a memory call's input GPA points at.
 */
export const RECORD_SIZE = 16;
export const RECORD_WORDS = RECORD_SIZE / Uint32Array.BYTES_PER_ELEMENT;
/** u32 word offsets inside a record. */
export const RECORD_CONTROL_LO = 0;
export const RECORD_CONTROL_HI = 1;
export const RECORD_INPUT_LO = 2;
export const RECORD_INPUT_HI = 3;
/** Byte offset of the input block. */
export const RECORD_INPUT_OFFSET = 8;
/** u32 words of result per record in a batch's result buffer: (lo, hi) of the 64-bit result. */
export const RESULT_WORDS = 2;

export interface HypercallRecord {
  readonly control: bigint;
  readonly input: Uint8Array;
}

/** Builds one record (for tests, fixtures and tools). */
export function encodeRecord(control: bigint, input: Uint8Array | bigint): Uint8Array {
  const out = new Uint8Array(RECORD_SIZE);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt.asUintN(64, control), true);
  if (typeof input === "bigint")
    view.setBigUint64(RECORD_INPUT_OFFSET, BigInt.asUintN(64, input), true);
  else out.set(input.subarray(0, RECORD_SIZE - RECORD_INPUT_OFFSET), RECORD_INPUT_OFFSET);
  return out;
}

export function decodeRecord(bytes: Uint8Array, offset = 0): HypercallRecord | undefined {
  if (offset < 0 || bytes.length - offset < RECORD_SIZE) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, RECORD_SIZE);
  return {
    control: view.getBigUint64(0, true),
    input: bytes.slice(offset + RECORD_INPUT_OFFSET, offset + RECORD_SIZE),
  };
}

/**
 * The number of records in a batch buffer, checking the host's buffers: whole records only, and a
 * results buffer with RESULT_WORDS words per record. RangeError otherwise (host misuse).
 */
export function batchRecordCount(records: Uint8Array, results: Uint32Array): number {
  if (records.length % RECORD_SIZE !== 0) {
    throw new RangeError(`records are ${records.length} bytes, not a multiple of ${RECORD_SIZE}`);
  }
  const n = records.length / RECORD_SIZE;
  if (results.length < n * RESULT_WORDS) {
    throw new RangeError(
      `results hold ${results.length} words; ${n} records need ${n * RESULT_WORDS}`,
    );
  }
  return n;
}
