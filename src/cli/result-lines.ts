/**
 * The output line of `replay` and `exec` (docs/cli.md):
 * `{"index":0,"status":"HV_STATUS_SUCCESS","result":"0x0000000000000000"}`.
 */
import { hvStatusName } from "../abi/hv-status.js";
import { RESULT_STATUS_MASK } from "../abi/hypercall-result.js";
import { formatU64Hex } from "../abi/u64.js";
import { RESULT_WORDS } from "../dispatch/hypercall-record.js";

const HEAD = '{"index":';

/** The tail of a line after the index: status name, full 64-bit result, `}` and newline. */
export function resultLineTail(lo: number, hi: number): string {
  const status = hvStatusName(lo & RESULT_STATUS_MASK);
  return `,"status":"${status}","result":"${formatU64Hex(lo, hi)}"}\n`;
}

/** One output line, newline included. */
export function resultLine(index: number, lo: number, hi: number): string {
  return `${HEAD}${index}${resultLineTail(lo, hi)}`;
}

const HEAD_BYTES = Buffer.from(HEAD, "latin1");
const ZERO = 0x30;
/** Bytes a line can take: the head, a safe integer's digits, the longest tail. */
export const MAX_LINE_BYTES = 160;

/**
 * Encodes result lines straight into a caller-owned byte buffer, so that a replay of any length
 * builds no strings per record. Tails of plain results (reserved bits and reps completed zero, as
 * every simple call returns) are encoded once per status and cached.
 */
export class ResultLineEncoder {
  private readonly tails = new Array<Uint8Array | undefined>(RESULT_STATUS_MASK + 1).fill(
    undefined,
  );

  private tail(lo: number, hi: number): Uint8Array {
    if (hi !== 0 || lo > RESULT_STATUS_MASK) return Buffer.from(resultLineTail(lo, hi), "latin1");
    let tail = this.tails[lo];
    if (tail === undefined) {
      tail = Buffer.from(resultLineTail(lo, hi), "latin1");
      this.tails[lo] = tail;
    }
    return tail;
  }

  /**
   * Writes the lines of results[from .. to) (record numbers `firstIndex + from` on) into `out`,
   * which must hold (to - from) * MAX_LINE_BYTES bytes. Returns the number of bytes written.
   */
  encode(
    firstIndex: number,
    results: Uint32Array,
    from: number,
    to: number,
    out: Uint8Array,
  ): number {
    let at = 0;
    for (let i = from; i < to; i++) {
      out.set(HEAD_BYTES, at);
      at = writeDecimal(out, at + HEAD_BYTES.length, firstIndex + i);
      const tail = this.tail(results[i * RESULT_WORDS]!, results[i * RESULT_WORDS + 1]!);
      out.set(tail, at);
      at += tail.length;
    }
    return at;
  }
}

/**
 * The lines of results[from .. to) with record i's line also carrying extras[i] (`,"check":…`)
 * before its closing brace: the explained path, a string per line.
 */
export function explainedLines(
  firstIndex: number,
  results: Uint32Array,
  from: number,
  to: number,
  extras: readonly string[],
): string {
  let text = "";
  for (let i = from; i < to; i++) {
    const line = resultLine(
      firstIndex + i,
      results[i * RESULT_WORDS]!,
      results[i * RESULT_WORDS + 1]!,
    );
    text += `${line.slice(0, -2)}${extras[i] ?? ""}}\n`;
  }
  return text;
}

/** Writes a non-negative safe integer in decimal at `at`; returns the position after it. */
function writeDecimal(out: Uint8Array, at: number, value: number): number {
  let digits = 1;
  for (let v = value; v >= 10; v = Math.floor(v / 10)) digits++;
  let p = at + digits;
  let v = value;
  do {
    out[--p] = ZERO + (v % 10);
    v = Math.floor(v / 10);
  } while (v > 0);
  return at + digits;
}
