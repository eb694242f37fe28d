/**
 * The batch kernel of HvCallSignalEvent: a specialised loop BatchRunner uses for the stock
 * SignalEvent row. See SignalEventKernel.
 */
import { CONNECTION_ID_RESERVED_MASK } from "../../abi/connection-id.js";
import { HvStatus } from "../../abi/hv-status.js";
import { CONTROL_FAST_BIT } from "../../abi/hypercall-control.js";
import { OUTCOME_REPS_SHIFT, RESULT_STATUS_MASK } from "../../abi/hypercall-result.js";
import { HvPortType } from "../../abi/port-type.js";
import {
  SIGNAL_EVENT_CONNECTION_ID,
  SIGNAL_EVENT_FLAG_NUMBER,
  SIGNAL_EVENT_RSVDZ,
} from "../../abi/signal-event-input.js";
import type { Machine } from "../../state/machine.js";
import {
  SIEF_WORDS_PER_PAGE,
  SIEF_WORDS_PER_SINT,
  testAndSetWord,
} from "../../state/sief-image.js";
import type { Dispatcher } from "../dispatcher.js";
import {
  RECORD_CONTROL_HI,
  RECORD_CONTROL_LO,
  RECORD_INPUT_LO,
  RECORD_WORDS,
  RESULT_WORDS,
} from "../hypercall-record.js";
import { portStatus } from "./connection-port.js";
import { signalEventRow, signalTargetVp, sintPolling } from "./signal-event.js";

/** What the batch kernel hands every record it does not run itself to (the generic path). */
export interface RecordFallback {
  /** Dispatches the record at word `w` of `words` through the generic dispatcher: the outcome. */
  dispatchRecord(words: Uint32Array, w: number): number;
}

// Every constant the loop uses, bound here as module constants: V8 folds these, where it does not
// fold imported bindings (measured: imported bindings cost about a quarter of the time per record).
const CONTROL_LO = RECORD_CONTROL_LO;
const CONTROL_HI = RECORD_CONTROL_HI;
/** The input block's words sit at RECORD_INPUT_LO + (the block word) in a record. */
const CONNECTION_AT = RECORD_INPUT_LO + SIGNAL_EVENT_CONNECTION_ID.word;
const FLAG_AT = RECORD_INPUT_LO + SIGNAL_EVENT_FLAG_NUMBER.word;
const FLAG_SHIFT = SIGNAL_EVENT_FLAG_NUMBER.shift;
const FLAG_MASK = SIGNAL_EVENT_FLAG_NUMBER.mask;
const RSVDZ_AT = RECORD_INPUT_LO + SIGNAL_EVENT_RSVDZ.word;
const RSVDZ_SHIFT = SIGNAL_EVENT_RSVDZ.shift;
const RSVDZ_MASK = SIGNAL_EVENT_RSVDZ.mask;
const WORDS = RECORD_WORDS;
const RESULT = RESULT_WORDS;
const STATUS_MASK = RESULT_STATUS_MASK;
const REPS_SHIFT = OUTCOME_REPS_SHIFT;
const CONN_RESERVED = CONNECTION_ID_RESERVED_MASK;
const PAGE_WORDS = SIEF_WORDS_PER_PAGE;
const SINT_WORDS = SIEF_WORDS_PER_SINT;
const SUCCESS = HvStatus.SUCCESS;
const INVALID_INPUT = HvStatus.INVALID_HYPERCALL_INPUT;
const INVALID_CONNECTION = HvStatus.INVALID_CONNECTION_ID;
const INVALID_PARAMETER = HvStatus.INVALID_PARAMETER;
/** A flag's u32 word and its bit inside its SINT's HV_SYNIC_EVENT_FLAGS. */
const WORD_SHIFT = 5;
const BIT_IN_WORD = 31;

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
/** 1 when the target SINT is polling (no interrupt is asserted for it). */
const ENTRY_POLLING = 6;
const EMPTY_KEY = -1;
/** Load factor at most 1/2; at least 8 entries (so the hash shift stays below 32). */
const MIN_ENTRIES_LOG2 = 3;
/** Fibonacci hashing: the top bits of id * 2^32 / phi. */
const HASH_MULTIPLIER = 0x9e3779b1;
/** Two u16 fields packed in one Int32: the low one, and the shift of the high one. */
const LOW_HALF = 0xffff;
const HIGH_SHIFT = 16;
/** Generations wrap before the Int32 stamps would. */
const GEN_LIMIT = 0x7fff_ffff;
/** Records per call of the inner loop. */
const KERNEL_CHUNK = 4096;

/**
 * The specialised batch loop for the stock HvCallSignalEvent row, used by BatchRunner. It runs
 * exactly the normative order of the handler (docs/signal-event.md §4), with every typed array in a
 * local and, per connection, the outcome of steps 7, 9 and 10 cached for the length of one `run`
 * (nothing the guest does in a batch changes them; a listener — host code — may, so the cache is
 * dropped whenever one has run). Steps 1-4 are the dispatcher's own `prepare`, asked once per
 * generation for the two control values the kernel runs (fast and memory-form SignalEvent with
 * nothing else set). Every other record goes to the generic dispatcher, in order.
 *
 * Nothing is allocated per record, and no BigInt is used. On a shared machine a flag is tested with
 * a plain read first and set with Atomics.or only when it looked clear (testAndSetWord), so across
 * threads every 0 -> 1 transition is asserted exactly once.
 */
export class SignalEventKernel {
  private readonly machine: Machine;
  private readonly dispatcher: Dispatcher;
  private readonly callerSlot: number;
  private readonly vpSlot: number;
  private readonly fastControl: number;
  private readonly memoryControl: number;
  private readonly scratch: Uint32Array;
  private readonly scratchWord: number;
  private readonly scratchLo: number;
  private readonly scratchHi: number;
  private readonly table: Int32Array;
  private readonly hashShift: number;
  private gen = 0;
  /** Whether steps 1-4 pass for the fast and the memory control value, in this generation. */
  private fastReady = false;
  private memoryReady = false;

  /**
   * `scratch` is the caller's scratch input page as u32 words and `scratchWord` the word a
   * memory-form record's input block goes to (the page is at scratchLo/Hi while a run lasts).
   */
  constructor(
    dispatcher: Dispatcher,
    callerSlot: number,
    vpSlot: number,
    scratch: Uint32Array,
    scratchWord: number,
    scratchLo: number,
    scratchHi: number,
  ) {
    const machine = dispatcher.machine;
    const t = machine.tables;
    this.machine = machine;
    this.dispatcher = dispatcher;
    this.callerSlot = callerSlot;
    this.vpSlot = vpSlot;
    this.memoryControl = signalEventRow.callCode;
    this.fastControl = (signalEventRow.callCode | CONTROL_FAST_BIT) >>> 0;
    this.scratch = scratch;
    this.scratchWord = scratchWord;
    this.scratchLo = scratchLo;
    this.scratchHi = scratchHi;

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
      let e = (Math.imul(id, HASH_MULTIPLIER) >>> this.hashShift) * ENTRY_STRIDE;
      while (table[e + ENTRY_KEY] !== EMPTY_KEY) e = (e + ENTRY_STRIDE) & (table.length - 1);
      table[e + ENTRY_KEY] = id;
      table[e + ENTRY_CONNECTION] = c;
    }
    this.table = table;
  }

  /** A new generation: every cached route and the steps 1-4 answers are stale. */
  private nextGen(): number {
    if (this.gen >= GEN_LIMIT) {
      for (let e = 0; e < this.table.length; e += ENTRY_STRIDE) this.table[e + ENTRY_GEN] = 0;
      this.gen = 0;
    }
    this.gen++;
    const d = this.dispatcher;
    this.fastReady = d.prepare(this.callerSlot, this.vpSlot, this.fastControl, 0, 0, 0, 0, 0) > 0;
    this.memoryReady =
      d.prepare(
        this.callerSlot,
        this.vpSlot,
        this.memoryControl,
        0,
        this.scratchLo,
        this.scratchHi,
        0,
        0,
      ) > 0;
    return this.gen;
  }

  /** Steps 7, 9 and 10 for the connection at entry e, stored there for generation `gen`. */
  private computeRoute(e: number, gen: number): void {
    const machine = this.machine;
    const t = machine.tables;
    const table = this.table;
    const q = t.connPortSlot[table[e + ENTRY_CONNECTION]!]!;
    const port = portStatus(t, q, HvPortType.Event);
    let target: number = HvStatus.SUCCESS;
    let flags = 0;
    let word = 0;
    let polling = 0;
    if (port === HvStatus.SUCCESS) {
      flags = t.portBaseFlag[q]! | (t.portFlagCount[q]! << HIGH_SHIFT);
      const v = signalTargetVp(machine, q);
      if (v < 0) target = -v;
      else {
        word = v * PAGE_WORDS + t.portTargetSint[q]! * SINT_WORDS;
        polling = sintPolling(t, v, t.portTargetSint[q]!) ? 1 : 0;
      }
    }
    table[e + ENTRY_STATUS] = port | (target << HIGH_SHIFT);
    table[e + ENTRY_FLAGS] = flags;
    table[e + ENTRY_WORD] = word;
    table[e + ENTRY_POLLING] = polling;
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
    this.nextGen();
    // Chunks keep each call of the loop short, so V8 optimises it as a whole function (used from
    // the second chunk on) instead of leaving a long batch in on-stack-replacement code.
    for (let from = 0; from < n; from += KERNEL_CHUNK) {
      this.runChunk(words, from, Math.min(n, from + KERNEL_CHUNK), results, statusCounts, fallback);
    }
  }

  /** The inner loop: records [from, to), step by step as the handler runs them (the numbers). */
  private runChunk(
    words: Uint32Array,
    from: number,
    to: number,
    results: Uint32Array,
    statusCounts: Uint32Array | undefined,
    fallback: RecordFallback,
  ): void {
    const machine = this.machine;
    const table = this.table;
    const tableMask = table.length - 1;
    const hashShift = this.hashShift;
    const sief = machine.sief.words;
    const shared = machine.sief.shared;
    const fastControl = this.fastControl;
    const memoryControl = this.memoryControl;
    const scratch = this.scratch;
    const sw = this.scratchWord;
    let fastReady = this.fastReady;
    let memoryReady = this.memoryReady;
    let gen = this.gen;
    for (let i = from, w = from * WORDS; i < to; i++, w += WORDS) {
      const cLo = words[w + CONTROL_LO]!;
      let outcome: number;
      let hi = 0; // reps completed: 0 for every record the kernel runs itself
      if (
        words[w + CONTROL_HI] === 0 &&
        ((cLo === fastControl && fastReady) || (cLo === memoryControl && memoryReady))
      ) {
        const connectionId = words[w + CONNECTION_AT]!;
        const w1 = words[w + FLAG_AT]!;
        if (cLo === memoryControl) {
          // The input block goes through the caller's scratch page, as the generic path does.
          scratch[sw] = connectionId;
          scratch[sw + 1] = w1;
        }
        if (
          ((words[w + RSVDZ_AT]! >>> RSVDZ_SHIFT) & RSVDZ_MASK) !== 0 ||
          (connectionId & CONN_RESERVED) !== 0
        ) {
          outcome = INVALID_INPUT; // 5.
        } else {
          let e = (Math.imul(connectionId, HASH_MULTIPLIER) >>> hashShift) * ENTRY_STRIDE;
          let key = table[e + ENTRY_KEY]!;
          while (key !== connectionId && key !== EMPTY_KEY) {
            e = (e + ENTRY_STRIDE) & tableMask;
            key = table[e + ENTRY_KEY]!;
          }
          if (key !== connectionId) {
            outcome = INVALID_CONNECTION; // 6.
          } else {
            if (table[e + ENTRY_GEN] !== gen) this.computeRoute(e, gen);
            const route = table[e + ENTRY_STATUS]!;
            const flags = table[e + ENTRY_FLAGS]!;
            const flagNumber = (w1 >>> FLAG_SHIFT) & FLAG_MASK;
            if ((route & LOW_HALF) !== 0) {
              outcome = route & LOW_HALF; // 7.
            } else if (flagNumber >= flags >>> HIGH_SHIFT) {
              outcome = INVALID_PARAMETER; // 8.
            } else if (route !== 0) {
              outcome = route >>> HIGH_SHIFT; // 9., 10.
            } else {
              // 11. Set the flag; a 0 -> 1 transition of a SINT that is not polling interrupts.
              const base = table[e + ENTRY_WORD]!;
              const flag = (flags & LOW_HALF) + flagNumber;
              if (
                testAndSetWord(
                  sief,
                  base + (flag >>> WORD_SHIFT),
                  1 << (flag & BIT_IN_WORD),
                  shared,
                ) &&
                table[e + ENTRY_POLLING] === 0
              ) {
                // Asked before the call: a listener may change the machine and then unsubscribe.
                const heard = machine.hasSintListeners;
                machine.assertSint(
                  (base / PAGE_WORDS) | 0,
                  ((base % PAGE_WORDS) / SINT_WORDS) | 0,
                  "event",
                );
                // A listener (host code) may have changed the machine: recompute every route.
                if (heard) {
                  gen = this.nextGen();
                  fastReady = this.fastReady;
                  memoryReady = this.memoryReady;
                }
              }
              outcome = SUCCESS;
            }
          }
        }
      } else {
        outcome = fallback.dispatchRecord(words, w);
        hi = outcome >>> REPS_SHIFT;
        // Another call that succeeded may have changed the machine (a failed one changes nothing),
        // and so may a listener: recompute every route.
        if ((outcome & STATUS_MASK) === SUCCESS || machine.hasSintListeners) {
          gen = this.nextGen();
          fastReady = this.fastReady;
          memoryReady = this.memoryReady;
        }
      }
      const status = outcome & STATUS_MASK;
      results[i * RESULT] = status;
      results[i * RESULT + 1] = hi;
      if (statusCounts !== undefined) statusCounts[status] = statusCounts[status]! + 1;
    }
  }
}
