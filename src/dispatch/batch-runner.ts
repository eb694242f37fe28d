import { HvCallCode } from "../abi/call-code.js";
import { HV_PAGE_SIZE } from "../abi/hv-page.js";
import { CONTROL_FAST_BIT } from "../abi/hypercall-control.js";
import { HYPERCALL_INPUT_ALIGNMENT } from "../abi/hypercall-input.js";
import { resultHi, resultLo } from "../abi/hypercall-result.js";
import { u64ToHalves } from "../abi/u64.js";
import { GuestMemory } from "../state/guest-memory.js";
import type { Dispatcher } from "./dispatcher.js";
import { signalEventHandler } from "./handlers/signal-event.js";
import { type RecordFallback, SignalEventKernel } from "./handlers/signal-event-kernel.js";
import {
  batchRecordCount,
  RECORD_CONTROL_HI,
  RECORD_CONTROL_LO,
  RECORD_INPUT_HI,
  RECORD_INPUT_LO,
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
   * into the caller's memory. Default: the lowest page above page 0 that the caller's memory does
   * not back (see defaultScratchGpa).
   */
  readonly scratchGpa?: bigint;
}

/**
 * The batch API: dispatches a buffer of 16-byte records (see hypercall-record.ts) for one caller
 * and writes each 64-bit result as (lo, hi) u32 words into a caller-provided Uint32Array. Nothing
 * is allocated per record. A memory-form record (control bit 16 clear) has its 8 input bytes
 * written into the scratch page, and the scratch GPA is passed as the input address.
 *
 * When the dispatcher's HvCallSignalEvent row is the stock handler, a specialised loop
 * ({@link SignalEventKernel}) runs the batch and hands every other record to the generic
 * dispatcher; otherwise every record goes through Dispatcher.dispatch. Both give the same results
 * and the same state, record by record.
 */
export class BatchRunner implements RecordFallback {
  readonly dispatcher: Dispatcher;
  readonly callerSlot: number;
  readonly vpSlot: number;
  readonly scratchGpa: bigint;
  private readonly scratchPage: Uint32Array;
  private readonly scratchWord: number;
  private readonly scratchLo: number;
  private readonly scratchHi: number;
  private aligned = new Uint32Array(0);
  private readonly kernel: SignalEventKernel | undefined;
  /** The record word index of the last memory-form record dispatched generically, or -1. */
  private lastMemoryWord = -1;
  /** The last u32 view of a records buffer, reused while the caller passes the same bytes. */
  private view: Uint32Array = new Uint32Array(0);

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
    const row = dispatcher.row(HvCallCode.SignalEvent);
    this.kernel =
      row !== undefined && row.handler === signalEventHandler && SignalEventKernel.available
        ? new SignalEventKernel(machine, this.callerSlot, row, this.scratchPage, this.scratchWord)
        : undefined;
  }

  /**
   * Dispatches every record of `records` (length a multiple of 16) in order; the result of record i
   * goes to results[2i] (lo) and results[2i + 1] (hi). When `statusCounts` (65,536 entries) is
   * given, each status's count is incremented. Returns the number of records run.
   */
  run(records: Uint8Array, results: Uint32Array, statusCounts?: Uint32Array): number {
    const n = batchRecordCount(records, results);
    const words = this.wordsOf(records);
    this.lastMemoryWord = -1;
    if (this.kernel !== undefined) {
      this.kernel.lastMemoryWord = -1;
      this.kernel.run(words, n, results, statusCounts, this);
    } else {
      this.runGeneric(words, n, results, statusCounts);
    }
    return n;
  }

  /**
   * The index of the last memory-form record (control bit 16 clear) of the last run — the one whose
   * input block the scratch page now holds — or -1 when the run had none.
   */
  get lastMemoryRecord(): number {
    const kernel = this.kernel === undefined ? -1 : this.kernel.lastMemoryWord;
    const last = Math.max(kernel, this.lastMemoryWord);
    return last < 0 ? -1 : last / RECORD_WORDS;
  }

  /**
   * One record through the generic dispatcher: the record at u32 word `w` of `words`. A
   * memory-form record's input block is written to the scratch page first.
   */
  dispatchRecord(words: Uint32Array, w: number): number {
    // The halves go to dispatch() as int32 (`| 0`, same bits): a u32 of 2^31 or more passed to a
    // call that is not inlined would be boxed, one small allocation per record.
    const cLo = words[w + RECORD_CONTROL_LO]! | 0;
    const cHi = words[w + RECORD_CONTROL_HI]! | 0;
    if ((cLo & CONTROL_FAST_BIT) !== 0) {
      return this.dispatcher.dispatch(
        this.callerSlot,
        this.vpSlot,
        cLo,
        cHi,
        words[w + RECORD_INPUT_LO]! | 0,
        words[w + RECORD_INPUT_HI]! | 0,
      );
    }
    const sw = this.scratchWord;
    this.scratchPage[sw] = words[w + RECORD_INPUT_LO]!;
    this.scratchPage[sw + 1] = words[w + RECORD_INPUT_HI]!;
    this.lastMemoryWord = w;
    return this.dispatcher.dispatch(
      this.callerSlot,
      this.vpSlot,
      cLo,
      cHi,
      this.scratchLo | 0,
      this.scratchHi | 0,
    );
  }

  private runGeneric(
    words: Uint32Array,
    n: number,
    results: Uint32Array,
    statusCounts: Uint32Array | undefined,
  ): void {
    const hi = resultHi(0);
    for (let i = 0, w = 0; i < n; i++, w += RECORD_WORDS) {
      const status = this.dispatchRecord(words, w);
      results[i * RESULT_WORDS] = resultLo(status);
      results[i * RESULT_WORDS + 1] = hi;
      if (statusCounts !== undefined) statusCounts[status] = statusCounts[status]! + 1;
    }
  }

  /** A u32 view of the records; copied once per batch into a reused buffer when misaligned. */
  private wordsOf(records: Uint8Array): Uint32Array {
    if (records.byteOffset % Uint32Array.BYTES_PER_ELEMENT === 0) {
      const v = this.view;
      if (
        v.buffer === records.buffer &&
        v.byteOffset === records.byteOffset &&
        v.length === records.length / 4
      ) {
        return v;
      }
      this.view = new Uint32Array(records.buffer, records.byteOffset, records.length / 4);
      return this.view;
    }
    if (this.aligned.length < records.length / 4)
      this.aligned = new Uint32Array(records.length / 4);
    new Uint8Array(this.aligned.buffer).set(records);
    return this.aligned;
  }
}

/**
 * Where a batch puts memory-form input blocks when the host names no GPA: the start of the lowest
 * page above page 0 that the caller's memory does not back, so the scratch page never overlays
 * guest data.
 */
export function defaultScratchGpa(memory: GuestMemory): bigint {
  let page = 1;
  for (const backed of memory.backedPages()) {
    if (backed < page) continue;
    if (backed > page) break;
    page++;
  }
  return GuestMemory.pageGpa(page);
}
