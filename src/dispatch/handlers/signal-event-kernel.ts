/**
 * The batch kernel of HvCallSignalEvent: a specialised loop BatchRunner uses for the stock
 * SignalEvent row. See SignalEventKernel.
 */
import { CONNECTION_ID_RESERVED_MASK } from "../../abi/connection-id.js";
import { HvStatus } from "../../abi/hv-status.js";
import { CONTROL_FAST_BIT } from "../../abi/hypercall-control.js";
import { resultHi, resultLo } from "../../abi/hypercall-result.js";
import type { Machine } from "../../state/machine.js";
import { SIEF_WORDS_PER_PAGE, SIEF_WORDS_PER_SINT } from "../../state/sief-image.js";
import {
  RECORD_CONTROL_HI,
  RECORD_CONTROL_LO,
  RECORD_INPUT_HI,
  RECORD_INPUT_LO,
  RECORD_WORDS,
  RESULT_WORDS,
} from "../hypercall-record.js";
import type { RegisteredHandler } from "../registered-handler.js";
import { FLAG_NUMBER_MASK, RSVDZ_SHIFT, signalPortStatus, signalTargetVp } from "./signal-event.js";

/** Bits of a u32 word: a flag's word and bit inside its SINT's HV_SYNIC_EVENT_FLAGS. */
const WORD_SHIFT = 5;
const BIT_IN_WORD = 31;

/** What the batch kernel hands every record it does not run itself to (the generic path). */
export interface RecordFallback {
  /** Dispatches the record at word `w` of `words` through the generic dispatcher; the status. */
  dispatchRecord(words: Uint32Array, w: number): number;
}

/**
 * The kernel's route table: an open-addressing hash table over the caller's connections, keyed by
 * connection id, built once (a machine's connections never change after load). Each entry is
 * ENTRY_STRIDE Int32 on one 32-byte line: the key, the connection slot, and the connection's route
 * — what steps 7, 9 and 10 say about its port, which does not depend on the input — cached for the
 * length of one run. So a record costs one probe, one line of route and the flag's test-and-set.
 */
const ENTRY_STRIDE = 8;
/** The connection id (bits 23:0 of HV_CONNECTION_ID), or EMPTY_KEY. */
const ENTRY_KEY = 0;
/** The run generation the route was computed in; any other value means "compute again". */
const ENTRY_GEN = 1;
/** Step 7's status in bits 15:0, steps 9-10's status in bits 31:16 (SUCCESS = 0). */
const ENTRY_STATUS = 2;
/** The port's BaseFlagNumber in bits 15:0, FlagCount in bits 31:16. */
const ENTRY_FLAGS = 3;
/** The SIEF word index where the target (VP, SINT)'s HV_SYNIC_EVENT_FLAGS start. */
const ENTRY_WORD = 4;
/** The connection slot in the machine's tables. */
const ENTRY_CONNECTION = 5;
const EMPTY_KEY = -1;
/** Load factor at most 1/2; at least 8 entries (so the hash shift stays below 32). */
const MIN_ENTRIES_LOG2 = 3;
/** Fibonacci hashing: the top bits of id * 2^32 / phi. */
const HASH_MULTIPLIER = 0x9e3779b1;
/** Two u16 fields packed in one Int32: the low one, and the shift of the high one. */
const LOW_HALF = 0xffff;
const HIGH_HALF_SHIFT = 16;
/** Generations wrap before the Int32 stamps would. */
const GEN_LIMIT = 0x7fff_ffff;
/** Records per call of the kernel's inner loop. */
const KERNEL_CHUNK = 4096;

/** The kernel's inner loop: runs records [from, to), see {@link SignalEventKernel.run}. */
type RunChunk = (
  this: SignalEventKernel,
  words: Uint32Array,
  from: number,
  to: number,
  results: Uint32Array,
  statusCounts: Uint32Array | undefined,
  fallback: RecordFallback,
) => void;

/** A constant spliced into generated code: checked to be a plain integer, written as a literal. */
function literal(name: string, value: number): string {
  if (!Number.isSafeInteger(value))
    throw new Error(`kernel constant ${name} is not an integer: ${value}`);
  return value < 0 ? `(${value})` : `0x${value.toString(16)}`;
}

/**
 * The inner loop of the kernel, generated once at load with every constant (record layout, entry
 * layout, TLFS masks and status codes, each taken from its one definition) written as a literal:
 * V8 does not constant-fold module-level bindings in regular optimised code, and on this loop that
 * costs about a quarter of the time per record. The loop is the normative order of
 * {@link signalEvent}, step by step (the numbers in the comments); test/perf/batch-agreement.test.ts
 * holds it to hypercall() record by record. No input reaches the generated text.
 */
function generateRunChunk(): RunChunk {
  const k = {
    CONTROL_LO: literal("RECORD_CONTROL_LO", RECORD_CONTROL_LO),
    CONTROL_HI: literal("RECORD_CONTROL_HI", RECORD_CONTROL_HI),
    INPUT_LO: literal("RECORD_INPUT_LO", RECORD_INPUT_LO),
    INPUT_HI: literal("RECORD_INPUT_HI", RECORD_INPUT_HI),
    RECORD_WORDS: literal("RECORD_WORDS", RECORD_WORDS),
    RESULT_WORDS: literal("RESULT_WORDS", RESULT_WORDS),
    RESULT_STATUS: literal("resultLo(0xffff)", resultLo(LOW_HALF)),
    RESULT_HI: literal("resultHi(0)", resultHi(0)),
    RSVDZ_SHIFT: literal("RSVDZ_SHIFT", RSVDZ_SHIFT),
    CONN_RESERVED: literal("CONNECTION_ID_RESERVED_MASK", CONNECTION_ID_RESERVED_MASK),
    FLAG_MASK: literal("FLAG_NUMBER_MASK", FLAG_NUMBER_MASK),
    STRIDE: literal("ENTRY_STRIDE", ENTRY_STRIDE),
    KEY: literal("ENTRY_KEY", ENTRY_KEY),
    GEN: literal("ENTRY_GEN", ENTRY_GEN),
    STATUS: literal("ENTRY_STATUS", ENTRY_STATUS),
    FLAGS: literal("ENTRY_FLAGS", ENTRY_FLAGS),
    WORD: literal("ENTRY_WORD", ENTRY_WORD),
    EMPTY: literal("EMPTY_KEY", EMPTY_KEY),
    HASH: literal("HASH_MULTIPLIER", HASH_MULTIPLIER),
    LOW: literal("LOW_HALF", LOW_HALF),
    HIGH_SHIFT: literal("HIGH_HALF_SHIFT", HIGH_HALF_SHIFT),
    WORD_SHIFT: literal("WORD_SHIFT", WORD_SHIFT),
    BIT_IN_WORD: literal("BIT_IN_WORD", BIT_IN_WORD),
    WORDS_PER_PAGE: literal("SIEF_WORDS_PER_PAGE", SIEF_WORDS_PER_PAGE),
    WORDS_PER_SINT: literal("SIEF_WORDS_PER_SINT", SIEF_WORDS_PER_SINT),
    SUCCESS: literal("SUCCESS", HvStatus.SUCCESS),
    INVALID_INPUT: literal("INVALID_HYPERCALL_INPUT", HvStatus.INVALID_HYPERCALL_INPUT),
    INVALID_CONNECTION: literal("INVALID_CONNECTION_ID", HvStatus.INVALID_CONNECTION_ID),
    INVALID_PARAMETER: literal("INVALID_PARAMETER", HvStatus.INVALID_PARAMETER),
  };
  const body = `
    const machine = this.machine;
    const caller = this.callerSlot;
    const table = this.table;
    const tableMask = table.length - 1;
    const hashShift = this.hashShift;
    const sief = machine.sief.words;
    const shared = machine.sief.shared;
    const privilegeWords = this.privilegeWords;
    const privilegeMask = this.privilegeMask;
    const fastControl = this.fastControl;
    const memoryControl = this.memoryControl;
    const scratch = this.scratch;
    const sw = this.scratchWord;
    let gen = this.gen; // changes only through this.nextGen(), which updates this.gen
    for (let i = from, w = from * ${k.RECORD_WORDS}; i < to; i++, w += ${k.RECORD_WORDS}) {
      const cLo = words[w + ${k.CONTROL_LO}];
      let status;
      if (
        (cLo === fastControl || cLo === memoryControl) &&
        words[w + ${k.CONTROL_HI}] === 0 &&
        (privilegeWords[caller] & privilegeMask) !== 0
      ) {
        const connectionId = words[w + ${k.INPUT_LO}];
        const w1 = words[w + ${k.INPUT_HI}];
        if (cLo === memoryControl) {
          // The input block goes through the caller's scratch page, as the generic path does.
          scratch[sw] = connectionId;
          scratch[sw + 1] = w1;
          this.lastMemoryWord = w;
        }
        if (w1 >>> ${k.RSVDZ_SHIFT} !== 0 || (connectionId & ${k.CONN_RESERVED}) !== 0) {
          status = ${k.INVALID_INPUT}; // 5.
        } else {
          let e = (Math.imul(connectionId, ${k.HASH}) >>> hashShift) * ${k.STRIDE};
          let key = table[e + ${k.KEY}];
          while (key !== connectionId && key !== ${k.EMPTY}) {
            e = (e + ${k.STRIDE}) & tableMask;
            key = table[e + ${k.KEY}];
          }
          if (key !== connectionId) {
            status = ${k.INVALID_CONNECTION}; // 6.
          } else {
            if (table[e + ${k.GEN}] !== gen) this.computeRoute(e, gen);
            const routeStatus = table[e + ${k.STATUS}];
            const flags = table[e + ${k.FLAGS}];
            const flagNumber = w1 & ${k.FLAG_MASK};
            if ((routeStatus & ${k.LOW}) !== 0) {
              status = routeStatus & ${k.LOW}; // 7.
            } else if (flagNumber >= flags >>> ${k.HIGH_SHIFT}) {
              status = ${k.INVALID_PARAMETER}; // 8.
            } else if (routeStatus !== 0) {
              status = routeStatus >>> ${k.HIGH_SHIFT}; // 9., 10.
            } else {
              // 11. Test first; only a flag that looked clear is set (with Atomics.or when shared).
              const base = table[e + ${k.WORD}];
              const flag = (flags & ${k.LOW}) + flagNumber;
              const at = base + (flag >>> ${k.WORD_SHIFT});
              const bit = 1 << (flag & ${k.BIT_IN_WORD});
              const old = sief[at];
              if ((old & bit) === 0) {
                let rose = true;
                if (shared) rose = (Atomics.or(sief, at, bit) & bit) === 0;
                else sief[at] = old | bit;
                if (rose) {
                  // Asked before the call: a listener may change the machine and then unsubscribe.
                  const heard = machine.hasSintListeners;
                  machine.assertSint((base / ${k.WORDS_PER_PAGE}) | 0, ((base % ${k.WORDS_PER_PAGE}) / ${k.WORDS_PER_SINT}) | 0);
                  // A listener (host code) may have changed the machine: recompute every route.
                  if (heard) gen = this.nextGen();
                }
              }
              status = ${k.SUCCESS};
            }
          }
        }
      } else {
        status = fallback.dispatchRecord(words, w);
        // Another registered call that succeeded may have changed the machine (a failed one changes
        // nothing), and so may a listener: recompute every route.
        if (status === ${k.SUCCESS} || machine.hasSintListeners) gen = this.nextGen();
      }
      results[i * ${k.RESULT_WORDS}] = status & ${k.RESULT_STATUS};
      results[i * ${k.RESULT_WORDS} + 1] = ${k.RESULT_HI};
      if (statusCounts !== undefined) statusCounts[status]++;
    }
  `;
  // Nothing follows the loop: this.gen is kept current by nextGen() itself. (Code after the loop
  // has no type feedback when V8 compiles the loop on-stack mid-call, and a store there made that
  // code deoptimise on every exit, call after call.)
  return new Function(
    "words",
    "from",
    "to",
    "results",
    "statusCounts",
    "fallback",
    body,
  ) as RunChunk;
}

/**
 * The generated loop, or undefined where code generation from strings is disabled (node
 * --disallow-code-generation-from-strings): BatchRunner then runs every record through the
 * generic dispatcher, with the same results.
 */
const runChunk: RunChunk | undefined = (() => {
  try {
    return generateRunChunk();
  } catch (error) {
    if (error instanceof EvalError) return undefined;
    throw error;
  }
})();

/**
 * The specialised batch loop for the stock HvCallSignalEvent row, used by BatchRunner. It runs
 * exactly the normative order of {@link signalEvent}, with every typed array in a local and, per
 * connection, the outcome of steps 7, 9 and 10 cached for the length of one `run` (nothing the guest
 * does changes them; a listener — host code — may, so the cache is dropped whenever one has run).
 * Records it does not specialise (another call code, a control value with any other bit set, a
 * caller without the privilege) go to the generic dispatcher, in order.
 *
 * Nothing is allocated per record, and no BigInt is used. On a shared machine a flag is tested with
 * a plain read first and set with Atomics.or only when it looked clear, so a flag that is already
 * set costs no locked instruction; the Atomics.or result still decides who saw the 0 -> 1
 * transition, so across threads every transition is asserted exactly once.
 */
export class SignalEventKernel {
  /** False where the loop could not be generated (see runChunk); use the generic path then. */
  static readonly available = runChunk !== undefined;

  // Read by the generated loop (which a linter cannot see), hence not private.
  readonly machine: Machine;
  readonly callerSlot: number;
  /** The privilege half that holds SignalEvents, and its bit. */
  readonly privilegeWords: Uint32Array;
  readonly privilegeMask: number;
  /** The two control values the kernel runs itself: fast and memory-form SignalEvent. */
  readonly fastControl: number;
  readonly memoryControl: number;
  readonly scratch: Uint32Array;
  readonly scratchWord: number;
  /** The route table (see ENTRY_STRIDE) and the shift of its hash. */
  readonly table: Int32Array;
  readonly hashShift: number;
  /** The current run generation. */
  gen = 0;
  /** The record word index of the last memory-form record this kernel ran, or -1. */
  lastMemoryWord = -1;

  /**
   * `scratch` is the caller's input page as u32 words and `scratchWord` the word a memory-form
   * record's input block goes to; the generic path would fetch it back from there successfully
   * (BatchRunner checks the GPA once).
   */
  constructor(
    machine: Machine,
    callerSlot: number,
    row: RegisteredHandler,
    scratch: Uint32Array,
    scratchWord: number,
  ) {
    const t = machine.tables;
    this.machine = machine;
    this.callerSlot = callerSlot;
    this.privilegeWords = row.privilegeHigh ? t.privilegeHi : t.privilegeLo;
    this.privilegeMask = row.privilegeMask;
    this.memoryControl = row.handler.callCode;
    this.fastControl = (row.handler.callCode | CONTROL_FAST_BIT) >>> 0;
    this.scratch = scratch;
    this.scratchWord = scratchWord;

    let owned = 0;
    for (let c = 0; c < t.connOwner.length; c++) if (t.connOwner[c] === callerSlot) owned++;
    let log2 = MIN_ENTRIES_LOG2;
    while (1 << log2 < 2 * owned) log2++;
    this.hashShift = 32 - log2;
    const table = new Int32Array((1 << log2) * ENTRY_STRIDE);
    for (let e = 0; e < table.length; e += ENTRY_STRIDE) table[e + ENTRY_KEY] = EMPTY_KEY;
    for (let c = 0; c < t.connOwner.length; c++) {
      if (t.connOwner[c] !== callerSlot) continue;
      const id = t.connId[c]!;
      let e = this.entryOf(id);
      while (table[e + ENTRY_KEY] !== EMPTY_KEY) e = (e + ENTRY_STRIDE) & (table.length - 1);
      table[e + ENTRY_KEY] = id;
      table[e + ENTRY_CONNECTION] = c;
    }
    this.table = table;
  }

  /** The first entry (Int32 index) a connection id probes. */
  private entryOf(id: number): number {
    return (Math.imul(id, HASH_MULTIPLIER) >>> this.hashShift) * ENTRY_STRIDE;
  }

  /** A new generation: every cached route is stale (the generated loop calls it too). */
  nextGen(): number {
    if (this.gen >= GEN_LIMIT) {
      for (let e = 0; e < this.table.length; e += ENTRY_STRIDE) this.table[e + ENTRY_GEN] = 0;
      this.gen = 0;
    }
    this.gen++;
    return this.gen;
  }

  /**
   * Steps 7, 9 and 10 for the connection at entry e, stored there for generation `gen`. Called by
   * the generated loop (not private for that reason).
   */
  computeRoute(e: number, gen: number): void {
    const machine = this.machine;
    const t = machine.tables;
    const table = this.table;
    const q = t.connPortSlot[table[e + ENTRY_CONNECTION]!]!;
    const portStatus = signalPortStatus(t, q);
    let targetStatus: number = HvStatus.SUCCESS;
    let flags = 0;
    let word = 0;
    if (portStatus === HvStatus.SUCCESS) {
      flags = t.portBaseFlag[q]! | (t.portFlagCount[q]! << HIGH_HALF_SHIFT);
      const v = signalTargetVp(machine, q);
      if (v < 0) targetStatus = -v;
      else word = v * SIEF_WORDS_PER_PAGE + t.portTargetSint[q]! * SIEF_WORDS_PER_SINT;
    }
    table[e + ENTRY_STATUS] = portStatus | (targetStatus << HIGH_HALF_SHIFT);
    table[e + ENTRY_FLAGS] = flags;
    table[e + ENTRY_WORD] = word;
    table[e + ENTRY_GEN] = gen;
  }

  /**
   * Runs records [0, n) of `words`; the result of record i goes to results[2i] (lo) and
   * results[2i + 1] (hi); `statusCounts[status]` is incremented per record when given.
   */
  run(
    words: Uint32Array,
    n: number,
    results: Uint32Array,
    statusCounts: Uint32Array | undefined,
    fallback: RecordFallback,
  ): void {
    const run = runChunk;
    if (run === undefined) throw new Error("the SignalEvent kernel is not available here");
    this.nextGen();
    // Chunks keep each call of the loop short, so V8 optimises it as a whole function (used from
    // the second chunk on) instead of leaving a long batch in on-stack-replacement code.
    for (let from = 0; from < n; from += KERNEL_CHUNK) {
      run.call(
        this,
        words,
        from,
        Math.min(n, from + KERNEL_CHUNK),
        results,
        statusCounts,
        fallback,
      );
    }
  }
}
