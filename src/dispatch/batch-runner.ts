import { CONTROL_FAST_BIT } from "../abi/hypercall-control.js";
import { resultHi, resultLo } from "../abi/hypercall-result.js";
import { HV_PAGE_SIZE } from "../abi/hv-page.js";
import { HYPERCALL_INPUT_ALIGNMENT } from "../abi/hypercall-input.js";
import { u64ToHalves } from "../abi/u64.js";
import { GuestMemory } from "../state/guest-memory.js";
import type { Dispatcher } from "./dispatcher.js";
import {
  RECORD_CONTROL_HI,
  RECORD_CONTROL_LO,
  RECORD_INPUT_HI,
  RECORD_INPUT_LO,
  RECORD_SIZE,
  RECORD_WORDS,
  RESULT_WORDS,
} from "./hypercall-record.js";

export interface BatchOptions {
  /** The calling partition's id. */
  readonly caller: number;
  /** The calling VP index (default 0). */
  readonly vp?: number;
  /**
   * Where memory-form records put their input block: an 8-byte-aligned GPA in a scratch page mapped
   * into the caller's memory. Default: the page after the caller's highest backed page (page 1
   * when it has none).
   */
  readonly scratchGpa?: bigint;
}

/**
 * The batch API: dispatches a buffer of 16-byte records (see hypercall-record.ts) for one caller
 * and writes each 64-bit result as (lo, hi) u32 words into a caller-provided Uint32Array. Nothing
 * is allocated per record. A memory-form record (control bit 16 clear) has its 8 input bytes
 * written into the scratch page, and the scratch GPA is passed as the input address.
 */
export class BatchRunner {
  readonly dispatcher: Dispatcher;
  readonly callerSlot: number;
  readonly vpSlot: number;
  readonly scratchGpa: bigint;
  private readonly scratchPage: Uint32Array;
  private readonly scratchWord: number;
  private readonly scratchLo: number;
  private readonly scratchHi: number;
  private aligned = new Uint32Array(0);

  constructor(dispatcher: Dispatcher, options: BatchOptions) {
    const machine = dispatcher.machine;
    this.dispatcher = dispatcher;
    this.callerSlot = machine.requirePartition(options.caller);
    this.vpSlot = machine.requireVp(options.caller, options.vp ?? 0);
    const memory = machine.memory[this.callerSlot]!;
    const gpa = options.scratchGpa ?? defaultScratchGpa(memory);
    if (gpa % BigInt(HYPERCALL_INPUT_ALIGNMENT) !== 0n || gpa < 0n || gpa >= 1n << 64n) {
      throw new RangeError(`scratch GPA 0x${gpa.toString(16)} must be an 8-byte-aligned u64`);
    }
    this.scratchGpa = gpa;
    const page = memory.mapPage(gpa);
    this.scratchPage = new Uint32Array(page.buffer, page.byteOffset, HV_PAGE_SIZE / 4);
    const { lo, hi } = u64ToHalves(gpa);
    this.scratchLo = lo;
    this.scratchHi = hi;
    this.scratchWord = (lo & (HV_PAGE_SIZE - 1)) >>> 2;
  }

  /**
   * Dispatches every record of `records` (length a multiple of 16) in order; the result of record i
   * goes to results[2i] (lo) and results[2i + 1] (hi). When `statusCounts` (65,536 entries) is
   * given, each status's count is incremented. Returns the number of records run.
   */
  run(records: Uint8Array, results: Uint32Array, statusCounts?: Uint32Array): number {
    if (records.length % RECORD_SIZE !== 0) {
      throw new RangeError(`records are ${records.length} bytes, not a multiple of ${RECORD_SIZE}`);
    }
    const n = records.length / RECORD_SIZE;
    if (results.length < n * RESULT_WORDS) {
      throw new RangeError(`results hold ${results.length} words; ${n} records need ${n * RESULT_WORDS}`);
    }
    const words = this.wordsOf(records);
    const d = this.dispatcher;
    const caller = this.callerSlot;
    const vp = this.vpSlot;
    const scratch = this.scratchPage;
    const sw = this.scratchWord;
    const sLo = this.scratchLo;
    const sHi = this.scratchHi;
    const hi = resultHi(0);
    for (let i = 0, w = 0; i < n; i++, w += RECORD_WORDS) {
      const cLo = words[w + RECORD_CONTROL_LO]!;
      const cHi = words[w + RECORD_CONTROL_HI]!;
      let status: number;
      if ((cLo & CONTROL_FAST_BIT) !== 0) {
        status = d.dispatch(caller, vp, cLo, cHi, words[w + RECORD_INPUT_LO]!, words[w + RECORD_INPUT_HI]!);
      } else {
        scratch[sw] = words[w + RECORD_INPUT_LO]!;
        scratch[sw + 1] = words[w + RECORD_INPUT_HI]!;
        status = d.dispatch(caller, vp, cLo, cHi, sLo, sHi);
      }
      results[i * RESULT_WORDS] = resultLo(status);
      results[i * RESULT_WORDS + 1] = hi;
      if (statusCounts !== undefined) statusCounts[status] = statusCounts[status]! + 1;
    }
    return n;
  }

  /** A u32 view of the records; copied once per batch into a reused buffer when misaligned. */
  private wordsOf(records: Uint8Array): Uint32Array {
    if (records.byteOffset % Uint32Array.BYTES_PER_ELEMENT === 0) {
      return new Uint32Array(records.buffer, records.byteOffset, records.length / 4);
    }
    if (this.aligned.length < records.length / 4) this.aligned = new Uint32Array(records.length / 4);
    new Uint8Array(this.aligned.buffer).set(records);
    return this.aligned;
  }
}

function defaultScratchGpa(memory: GuestMemory): bigint {
  const pages = memory.backedPages();
  const last = pages[pages.length - 1];
  return GuestMemory.pageGpa(last === undefined ? 1 : last + 1);
}
