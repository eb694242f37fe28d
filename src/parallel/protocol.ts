import { availableParallelism } from "node:os";
import type { MachineTables } from "../state/machine-tables.js";

/**
 * Messages between a SignalPool and its workers. Everything large travels on SharedArrayBuffers
 * (the machine's tables, the records, the results, the status counts): a message carries views,
 * never copies of the data.
 */

/**
 * The most signalling threads a pool starts: twice the processors this process may use, at least
 * 2 and at most 64. More threads than processors only contend for the same cache lines (the
 * SIEF image is shared by all of them).
 */
export const MAX_SIGNAL_THREADS = Math.min(64, Math.max(2, 2 * availableParallelism()));

/** workerData of every worker. */
export interface WorkerInit {
  /** The machine's tables, built with loadMachine(doc, { shared: true }). */
  readonly tables: MachineTables;
  /** The calling partition's id and the VP index this worker signals from. */
  readonly caller: number;
  readonly vp: number;
  /** The scratch GPA of memory-form records (the same in every thread and in the host's runner). */
  readonly scratchGpa: bigint;
  /** This worker's status counts (65,536 u32 on a SharedArrayBuffer), filled when a job asks. */
  readonly statusCounts: Uint32Array;
}

/** One slice of a batch: records [0, records.length / 16) of the view, results into the view. */
export interface WorkerJob {
  readonly id: number;
  readonly records: Uint8Array;
  readonly results: Uint32Array;
  /** Add each record's status to the worker's statusCounts. */
  readonly countStatuses: boolean;
}

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly records: number }
  | { readonly id: number; readonly ok: false; readonly error: string };

/** The id of the reply a worker sends once its machine and runner are built. */
export const READY_ID = -1;
