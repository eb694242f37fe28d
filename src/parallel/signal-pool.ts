/**
 * The threaded batch mode: N worker threads signal into ONE machine whose tables sit on
 * SharedArrayBuffers (loadMachine(doc, { shared: true })). A batch of 16-byte records is cut into N
 * contiguous slices, one per worker; each worker runs its slice with its own BatchRunner and writes
 * the results straight into the shared results buffer.
 *
 * Workers run HvCallSignalEvent only. Every record of another implemented call (HvCallPostMessage)
 * is run afterwards by the host thread, in record order, with the host's dispatcher: message
 * queues are the host thread's alone. The two calls touch disjoint state (flags against queues and
 * SIM slots; both only add to the interrupt counts) and neither's status depends on the other's
 * effects, so this order gives what one thread gives.
 *
 * What a threaded run gives back is what BatchRunner.run on one thread gives: the same status for
 * every record (no step of HvCallSignalEvent depends on the flags), the same flags set (Atomics.or)
 * and the same assertion counts (Atomics.add, one per 0 -> 1 transition, decided by the Atomics.or
 * result). What differs is which record made a transition, and that onSintAsserted listeners of the
 * host's Machine are not called for assertions a worker makes (listeners are per thread; the
 * counts are shared).
 */
import { Worker } from "node:worker_threads";
import { HvStatus } from "../abi/hv-status.js";
import { CONTROL_CALL_CODE_MASK } from "../abi/hypercall-control.js";
import { OUTCOME_REPS_SHIFT, RESULT_STATUS_MASK } from "../abi/hypercall-result.js";
import { BatchRunner } from "../dispatch/batch-runner.js";
import { Dispatcher } from "../dispatch/dispatcher.js";
import { signalEventRow } from "../dispatch/handlers/signal-event.js";
import {
  batchRecordCount,
  RECORD_SIZE,
  RECORD_WORDS,
  RESULT_WORDS,
} from "../dispatch/hypercall-record.js";
import { requireInteger } from "../state/host-checks.js";
import type { Machine } from "../state/machine.js";
import {
  MAX_SIGNAL_THREADS,
  READY_ID,
  type WorkerInit,
  type WorkerJob,
  type WorkerReply,
} from "./protocol.js";

export { MAX_SIGNAL_THREADS } from "./protocol.js";

export interface SignalPoolOptions {
  /** Worker threads, 1 .. MAX_SIGNAL_THREADS. */
  readonly threads: number;
  /** The calling partition's id. */
  readonly caller: number;
  /** The calling VP index of every thread (default 0). */
  readonly vp?: number;
  /** Or one calling VP index per thread (thread i uses vps[i % vps.length]); overrides `vp`. */
  readonly vps?: readonly number[];
  /** Scratch GPA for memory-form records; default as BatchRunner picks it on the host's machine. */
  readonly scratchGpa?: bigint;
  /**
   * Where the compiled worker module is. Default: signal-worker.js next to this module, which is
   * right for the compiled package (dist/parallel/).
   */
  readonly workerUrl?: URL | string;
}

interface Pending {
  resolve: (records: number) => void;
  reject: (error: Error) => void;
}

/**
 * A pool of signalling threads over one shared machine. Start it once, run batches, close it.
 * Not reentrant: await each run before the next.
 */
export class SignalPool {
  readonly threads: number;
  readonly scratchGpa: bigint;
  private readonly host: BatchRunner;
  private readonly workers: Worker[];
  private readonly counts: Uint32Array[];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private recordsCopy: Uint8Array = new Uint8Array(0);
  private resultsCopy: Uint32Array = new Uint32Array(0);
  private failure: Error | undefined;
  private closed = false;
  private busy = false;
  private readonly ready: Promise<void>;

  private constructor(machine: Machine, options: SignalPoolOptions) {
    if (!machine.tables.shared) {
      throw new RangeError(
        "threaded mode needs a machine whose tables are shared: load it with loadMachine(doc, { shared: true })",
      );
    }
    const threads = requireInteger(options.threads, "threads");
    if (threads < 1 || threads > MAX_SIGNAL_THREADS) {
      throw new RangeError(
        `threads must be 1..${MAX_SIGNAL_THREADS} (twice this machine's processors), got ${threads}`,
      );
    }
    const vps = options.vps ?? [options.vp ?? 0];
    if (vps.length === 0) throw new RangeError("vps must name at least one VP index");
    for (const vp of vps) machine.requireVp(options.caller, vp, "vp", "caller");
    // Host checks (unknown caller or VP, bad scratch GPA) throw here, on this thread.
    this.host = new BatchRunner(new Dispatcher(machine), {
      caller: options.caller,
      vp: vps[0]!,
      ...(options.scratchGpa === undefined ? {} : { scratchGpa: options.scratchGpa }),
    });
    this.threads = threads;
    this.scratchGpa = this.host.scratchGpa;
    const url = options.workerUrl ?? new URL("./signal-worker.js", import.meta.url);
    this.workers = [];
    this.counts = [];
    const started: Promise<void>[] = [];
    for (let i = 0; i < threads; i++) {
      const statusCounts = new Uint32Array(new SharedArrayBuffer((RESULT_STATUS_MASK + 1) * 4));
      const init: WorkerInit = {
        tables: machine.tables,
        caller: options.caller,
        vp: vps[i % vps.length]!,
        scratchGpa: this.scratchGpa,
        statusCounts,
      };
      // The worker never prints: without its own stdout/stderr streams it would add listeners
      // to the process's, one per worker.
      const worker = new Worker(url, { workerData: init, stdout: true, stderr: true });
      started.push(
        new Promise<void>((resolve, reject) => {
          const onReady = (reply: WorkerReply) => {
            if (reply.id !== READY_ID) return;
            worker.off("message", onReady);
            resolve();
          };
          worker.on("message", onReady);
          worker.once("error", reject);
          worker.once("exit", (code) =>
            reject(new Error(`a signal worker exited with code ${code} while starting`)),
          );
        }),
      );
      worker.on("message", (reply: WorkerReply) => this.settle(reply));
      worker.on("error", (error: Error) => this.fail(error));
      worker.on("exit", (code) => {
        if (!this.closed) this.fail(new Error(`a signal worker exited with code ${code}`));
      });
      this.workers.push(worker);
      this.counts.push(statusCounts);
    }
    this.ready = Promise.all(started).then(() => undefined);
  }

  /**
   * Starts `threads` workers over the machine (which must be built with { shared: true }) and
   * waits until every one is running. Host mistakes (a machine that is not shared, an unknown
   * caller or VP, a bad thread count) throw a RangeError before any thread starts.
   */
  static async start(machine: Machine, options: SignalPoolOptions): Promise<SignalPool> {
    const pool = new SignalPool(machine, options);
    try {
      await pool.ready;
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  /**
   * Dispatches every record of `records` (length a multiple of 16) over the workers; the result of
   * record i goes to results[2i] (lo) and results[2i + 1] (hi), as BatchRunner.run. When
   * `statusCounts` (65,536 entries) is given, each status's count is incremented. Resolves to the
   * number of records run. Records and results on SharedArrayBuffers are used in place; others are
   * copied in (records) and out (results) once per call.
   */
  async run(
    records: Uint8Array,
    results: Uint32Array,
    statusCounts?: Uint32Array,
  ): Promise<number> {
    if (this.closed) throw new Error("the signal pool is closed");
    if (this.failure !== undefined) throw this.failure;
    const n = batchRecordCount(records, results);
    if (n === 0) return 0;
    if (this.busy) throw new Error("SignalPool.run is already running: await it before the next");
    this.busy = true;
    try {
      return await this.runSlices(records, results, statusCounts, n);
    } finally {
      this.busy = false;
    }
  }

  private async runSlices(
    records: Uint8Array,
    results: Uint32Array,
    statusCounts: Uint32Array | undefined,
    n: number,
  ): Promise<number> {
    const input = this.sharedRecords(records);
    const output = this.sharedResults(results, n);
    if (statusCounts !== undefined) for (const c of this.counts) c.fill(0);
    const jobs: Promise<number>[] = [];
    for (let t = 0; t < this.threads; t++) {
      const from = Math.floor((n * t) / this.threads);
      const to = Math.floor((n * (t + 1)) / this.threads);
      if (from === to) continue;
      jobs.push(
        this.post(this.workers[t]!, {
          id: this.nextId++,
          records: input.subarray(from * RECORD_SIZE, to * RECORD_SIZE),
          results: output.subarray(from * RESULT_WORDS, to * RESULT_WORDS),
          countStatuses: statusCounts !== undefined,
        }),
      );
    }
    let done = 0;
    for (const records of await Promise.all(jobs)) done += records;
    if (statusCounts !== undefined) {
      for (const c of this.counts) {
        for (let s = 0; s <= RESULT_STATUS_MASK; s++)
          if (c[s] !== 0) statusCounts[s] = statusCounts[s]! + c[s]!;
      }
    }
    this.runHostRecords(input, output, n, statusCounts);
    if (output !== results) results.set(output.subarray(0, n * RESULT_WORDS));
    return done;
  }

  /** The records of calls the workers do not run, on this thread, in order (see the top). */
  private runHostRecords(
    records: Uint8Array,
    results: Uint32Array,
    n: number,
    statusCounts?: Uint32Array,
  ): void {
    const host = this.host;
    const words = new Uint32Array(records.buffer, records.byteOffset, n * RECORD_WORDS);
    const signal = signalEventRow.callCode;
    let any = false;
    for (let i = 0; i < n && !any; i++) {
      const code = words[i * RECORD_WORDS]! & CONTROL_CALL_CODE_MASK;
      any = code !== signal && host.dispatcher.row(code) !== undefined;
    }
    if (!any) return;
    host.withScratch(() => {
      for (let i = 0; i < n; i++) {
        const code = words[i * RECORD_WORDS]! & CONTROL_CALL_CODE_MASK;
        if (code === signal || host.dispatcher.row(code) === undefined) continue;
        const outcome = host.dispatchRecord(words, i * RECORD_WORDS);
        const status = outcome & RESULT_STATUS_MASK;
        results[i * RESULT_WORDS] = status;
        results[i * RESULT_WORDS + 1] = outcome >>> OUTCOME_REPS_SHIFT;
        if (statusCounts !== undefined) {
          // The worker counted it as a code it does not implement.
          const code = HvStatus.INVALID_HYPERCALL_CODE;
          statusCounts[code] = statusCounts[code]! - 1;
          statusCounts[status] = statusCounts[status]! + 1;
        }
      }
    });
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.fail(new Error("the signal pool was closed"));
  }

  private post(worker: Worker, job: WorkerJob): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.pending.set(job.id, { resolve, reject });
      worker.postMessage(job);
    });
  }

  private settle(reply: WorkerReply): void {
    const p = this.pending.get(reply.id);
    if (p === undefined) return;
    this.pending.delete(reply.id);
    if (reply.ok) p.resolve(reply.records);
    else p.reject(new Error(`signal worker: ${reply.error}`));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  private sharedRecords(records: Uint8Array): Uint8Array {
    if (records.buffer instanceof SharedArrayBuffer && records.byteOffset % 4 === 0) return records;
    if (this.recordsCopy.length < records.length) {
      this.recordsCopy = new Uint8Array(new SharedArrayBuffer(records.length));
    }
    const copy = this.recordsCopy.subarray(0, records.length);
    copy.set(records);
    return copy;
  }

  private sharedResults(results: Uint32Array, n: number): Uint32Array {
    if (results.buffer instanceof SharedArrayBuffer) return results;
    const words = n * RESULT_WORDS;
    if (this.resultsCopy.length < words) {
      this.resultsCopy = new Uint32Array(
        new SharedArrayBuffer(words * Uint32Array.BYTES_PER_ELEMENT),
      );
    }
    return this.resultsCopy.subarray(0, words);
  }
}

/**
 * One batch over `threads` workers: starts a pool, runs `records`, closes the pool. For many
 * batches (a streamed replay), keep one SignalPool instead.
 */
export async function runThreaded(
  machine: Machine,
  records: Uint8Array,
  results: Uint32Array,
  options: SignalPoolOptions & { readonly statusCounts?: Uint32Array },
): Promise<number> {
  const pool = await SignalPool.start(machine, options);
  try {
    return await pool.run(records, results, options.statusCounts);
  } finally {
    await pool.close();
  }
}
