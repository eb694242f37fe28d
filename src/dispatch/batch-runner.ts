import { HV_PAGE_OFFSET_MASK, HV_PAGE_SIZE } from "../abi/hv-page.js";
import { CONTROL_FAST_BIT } from "../abi/hypercall-control.js";
import { HYPERCALL_INPUT_ALIGNMENT } from "../abi/hypercall-input.js";
import { OUTCOME_REPS_SHIFT, RESULT_STATUS_MASK } from "../abi/hypercall-result.js";
import { u64ToHalves } from "../abi/u64.js";
import { GuestMemory, PAGE_NUMBER_LIMIT } from "../state/guest-memory.js";
import { requireU64 } from "../state/host-checks.js";
import { Dispatcher } from "./dispatcher.js";
import { signalEventRow } from "./handlers/signal-event.js";
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
   * Where memory-form records put their input block: an 8-byte-aligned GPA. Default: the start of
   * the lowest page above page 0 that is neither RAM nor an overlay page of the caller
   * (see defaultScratchGpa).
   */
  readonly scratchGpa?: bigint;
}

/**
 * The batch API: dispatches a buffer of 16-byte records (see hypercall-record.ts) for one caller
 * and writes each 64-bit result as (lo, hi) u32 words into a caller-provided Uint32Array. Nothing
 * is allocated per record.
 *
 * A memory-form record (control bit 16 clear) has its 8 input bytes written into the runner's own
 * scratch page, and the scratch GPA is passed as the input address (R8 = 0). The scratch page is
 * mapped into the caller's guest memory only while `run` lasts — over whatever is at that GPA — and
 * the rest of it reads as zero, so a call whose input block is longer than 8 bytes (PostMessage:
 * 256) sees its first 8 bytes from the record and zeros after them. The machine is the same before
 * and after a run as a run of the same calls through Dispatcher.dispatch leaves it.
 *
 * When the dispatcher's HvCallSignalEvent row is the stock one, a specialised loop
 * ({@link SignalEventKernel}) runs the batch and hands every other record to the generic
 * dispatcher; both give the same results and the same state, record by record.
 */
export class BatchRunner implements RecordFallback {
  readonly dispatcher: Dispatcher;
  readonly callerSlot: number;
  readonly vpSlot: number;
  readonly scratchGpa: bigint;
  private readonly memory: GuestMemory;
  private readonly scratchPageNumber: number;
  private readonly scratchPage = new Uint8Array(HV_PAGE_SIZE);
  private readonly scratchWords = new Uint32Array(this.scratchPage.buffer);
  private readonly scratchWord: number;
  private readonly scratchLo: number;
  private readonly scratchHi: number;
  private aligned = new Uint32Array(0);
  private readonly kernel: SignalEventKernel | undefined;
  /** The last u32 view of a records buffer, reused while the caller passes the same bytes. */
  private view: Uint32Array = new Uint32Array(0);

  constructor(dispatcher: Dispatcher, options: BatchOptions) {
    if (!(dispatcher instanceof Dispatcher))
      throw new TypeError("BatchRunner: dispatcher must be a Dispatcher (new Dispatcher(machine))");
    if (typeof options !== "object" || options === null)
      throw new TypeError("BatchRunner: expected options { caller, vp?, scratchGpa? }");
    const machine = dispatcher.machine;
    this.dispatcher = dispatcher;
    this.callerSlot = machine.requirePartition(options.caller, "caller");
    this.vpSlot = machine.requireVp(options.caller, options.vp ?? 0, "vp", "caller");
    this.memory = machine.memory[this.callerSlot]!;
    const gpa =
      options.scratchGpa === undefined
        ? defaultScratchGpa(this.memory)
        : requireU64(options.scratchGpa, "scratchGpa");
    if (gpa % BigInt(HYPERCALL_INPUT_ALIGNMENT) !== 0n) {
      throw new RangeError(`scratchGpa 0x${gpa.toString(16)} must be 8-byte aligned`);
    }
    this.scratchGpa = gpa;
    this.scratchPageNumber = GuestMemory.pageOfGpa(gpa);
    const { lo, hi } = u64ToHalves(gpa);
    this.scratchLo = lo;
    this.scratchHi = hi;
    this.scratchWord = (lo & HV_PAGE_OFFSET_MASK) >>> 2;
    this.kernel =
      dispatcher.row(signalEventRow.callCode)?.row === signalEventRow
        ? new SignalEventKernel(
            dispatcher,
            this.callerSlot,
            this.vpSlot,
            this.scratchWords,
            this.scratchWord,
            lo,
            hi,
          )
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
    this.memory.beginScratch(this.scratchPageNumber, this.scratchPage);
    try {
      if (this.kernel !== undefined) this.kernel.run(words, n, results, statusCounts, this);
      else this.runGeneric(words, n, results, statusCounts);
    } finally {
      this.memory.endScratch();
    }
    return n;
  }

  /**
   * One record through the generic dispatcher: the record at u32 word `w` of `words`. A memory-form
   * record's input block is written to the scratch page first. Returns the outcome. Only during
   * `run` (the scratch page is mapped then).
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
    this.scratchWords[sw] = words[w + RECORD_INPUT_LO]!;
    this.scratchWords[sw + 1] = words[w + RECORD_INPUT_HI]!;
    const outcome = this.dispatcher.dispatch(
      this.callerSlot,
      this.vpSlot,
      cLo,
      cHi,
      this.scratchLo | 0,
      this.scratchHi | 0,
    );
    // A call with an output block writes it at R8 = 0: when that is the scratch page, the page must
    // read as zero again for the next record (found in review).
    if (this.dispatcher.frame.outputSize !== 0 && this.scratchPageNumber === 0)
      this.scratchPage.fill(0);
    return outcome;
  }

  /**
   * Runs `fn` with the scratch page mapped, for callers that dispatch records one at a time with
   * dispatchRecord (replay --explain, check).
   */
  withScratch<T>(fn: () => T): T {
    this.mapScratch();
    try {
      return fn();
    } finally {
      this.unmapScratch();
    }
  }

  /** Maps the scratch page until unmapScratch (for a caller whose loop awaits between records). */
  mapScratch(): void {
    this.memory.beginScratch(this.scratchPageNumber, this.scratchPage);
  }

  unmapScratch(): void {
    this.memory.endScratch();
  }

  private runGeneric(
    words: Uint32Array,
    n: number,
    results: Uint32Array,
    statusCounts: Uint32Array | undefined,
  ): void {
    for (let i = 0, w = 0; i < n; i++, w += RECORD_WORDS) {
      const outcome = this.dispatchRecord(words, w);
      const status = outcome & RESULT_STATUS_MASK;
      results[i * RESULT_WORDS] = status;
      results[i * RESULT_WORDS + 1] = outcome >>> OUTCOME_REPS_SHIFT;
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
 * page above page 0 that is neither RAM nor an overlay page, so the scratch page hides no guest
 * data.
 */
export function defaultScratchGpa(memory: GuestMemory): bigint {
  let page = 1;
  while (page < PAGE_NUMBER_LIMIT && memory.isGuestVisible(page)) page++;
  return GuestMemory.pageGpa(page);
}
