/**
 * `hvcall replay`: streams 16-byte records through the batch dispatcher in chunks, writing one
 * result per record as it goes (docs/cli.md §4). Memory stays bounded whatever the
 * input size: one chunk of records, one results buffer and two output buffers, all reused; no
 * string is built per record.
 */
import { outcomeStatus, RESULT_STATUS_MASK, resultHi, resultLo } from "../abi/hypercall-result.js";
import { BatchRunner, defaultScratchGpa } from "../dispatch/batch-runner.js";
import { Dispatcher } from "../dispatch/dispatcher.js";
import { explainLastCall } from "../dispatch/explain.js";
import { RECORD_SIZE, RECORD_WORDS, RESULT_WORDS } from "../dispatch/hypercall-record.js";
import { SignalPool, type SignalPoolOptions } from "../parallel/signal-pool.js";
import { loadMachine } from "../state/load-machine.js";
import type { Machine } from "../state/machine.js";
import { CliUsageError, ExitCode, refuseBinaryToTerminal } from "./cli-error.js";
import { checkOutputTarget, inputIdentity } from "./output-file.js";
import { OutputSink } from "./output-sink.js";
import { createProgress } from "./progress.js";
import { openRecordSource, type RecordSource } from "./record-source.js";
import { explainedLines, MAX_LINE_BYTES, ResultLineEncoder } from "./result-lines.js";
import { type MachineFlags, readScenarioFile, resolveCaller, writeDump } from "./session.js";
import { refuseTwoStdinInputs } from "./stdin-inputs.js";
import { memoryReport, summaryTable } from "./summary.js";

export interface ReplayOptions extends MachineFlags {
  readonly summary?: boolean;
  /** Signalling threads (1: the calling thread only). */
  readonly threads: number;
  readonly reportMemory?: boolean;
  readonly progress: boolean;
  readonly explain?: boolean;
  /** "json" (one line per record) or "bin" (the 8-byte result value per record). */
  readonly output: "json" | "bin";
}

/** Records dispatched per batch: 64 Ki records = 1 MiB of input, 512 KiB of results. */
export const CHUNK_RECORDS = 64 * 1024;

export async function runReplay(recordsPath: string, options: ReplayOptions): Promise<number> {
  // Everything the user gave is checked before the first call runs.
  refuseBinaryToTerminal(options.output);
  if (options.explain === true && options.output === "bin") {
    throw new CliUsageError("--explain adds check and why to JSON lines: it needs --output json");
  }
  if (options.explain === true && options.threads > 1) {
    throw new CliUsageError(
      "--explain runs the records one by one on this thread: leave out --threads",
    );
  }
  refuseTwoStdinInputs([
    { label: "--scenario", path: options.scenario },
    { label: "records", path: recordsPath },
  ]);
  const doc = await readScenarioFile(options.scenario);
  const { caller, vp } = resolveCaller(doc, options.caller, options.vp);
  const source = await openRecordSource(recordsPath);
  try {
    if (options.dumpState !== undefined) {
      const inputs = [
        inputIdentity(options.scenario, "scenario"),
        inputIdentity(recordsPath, "records"),
      ];
      await checkOutputTarget("--dump-state", options.dumpState, inputs, true);
    }
    const threaded = options.threads > 1;
    const machine = loadMachine(doc, { shared: threaded });
    // The scratch page for memory-form records is replay's, not the guest's: mapped only while a
    // batch runs, at a page that is neither RAM nor an overlay page of the caller.
    const scratchGpa = defaultScratchGpa(machine.memory[machine.requirePartition(caller)]!);
    const runner = new BatchRunner(new Dispatcher(machine), { caller, vp, scratchGpa });
    const batch: RecordBatch = threaded
      ? await startPool(machine, { threads: options.threads, caller, vp, scratchGpa })
      : options.explain === true
        ? explainingBatch(runner)
        : runner;
    const counts = options.summary === true ? new Uint32Array(RESULT_STATUS_MASK + 1) : undefined;
    const started = performance.now();
    let run: ReplayRun;
    try {
      run = await replayRecords(source, batch, counts, options, threaded);
    } finally {
      if (batch instanceof SignalPool) await batch.close();
    }
    const seconds = (performance.now() - started) / 1000;
    if (run.trailingBytes > 0) {
      throw new CliUsageError(
        `records: ${source.name} ended ${run.trailingBytes} ${run.trailingBytes === 1 ? "byte" : "bytes"} into a record, after ` +
          `${run.records} whole ${run.records === 1 ? "record" : "records"} (those ran and their results were printed); ` +
          `the input's length must be a multiple of ${RECORD_SIZE}`,
      );
    }
    if (run.stoppedByReader !== undefined) {
      // Every record that ran is in the state; when none was left out, the dump is still right.
      if (run.stoppedByReader === "all ran" && options.dumpState !== undefined)
        await writeDump(options.dumpState, machine);
      throw new CliUsageError(
        run.stoppedByReader === "all ran"
          ? `stdout: its reader closed it before all ${run.records} results were written (every record ran${options.dumpState === undefined ? "" : "; --dump-state was written"})`
          : `stdout: its reader closed it after ${run.records} records; the rest did not run` +
              (options.dumpState === undefined ? "" : " and --dump-state was not written"),
      );
    }
    if (options.dumpState !== undefined) await writeDump(options.dumpState, machine);
    if (counts !== undefined)
      process.stderr.write(summaryTable("replay", counts, run.records, seconds));
  } finally {
    await source.close();
  }
  if (options.reportMemory === true) process.stderr.write(memoryReport());
  return ExitCode.Success;
}

/** What runs a chunk of records: a BatchRunner on this thread, or a SignalPool of workers. */
interface RecordBatch {
  run(
    records: Uint8Array,
    results: Uint32Array,
    statusCounts?: Uint32Array,
  ): number | Promise<number>;
  /** With --explain: the check and why of each record of the last run. */
  readonly explanations?: string[];
}

/** Records one at a time through the generic path, each explained right after it ran. */
function explainingBatch(runner: BatchRunner): RecordBatch {
  const explanations: string[] = [];
  return {
    explanations,
    run(records, results, statusCounts) {
      const words = new Uint32Array(records.buffer, records.byteOffset, records.length / 4);
      const n = records.length / RECORD_SIZE;
      explanations.length = 0;
      runner.withScratch(() => {
        for (let i = 0; i < n; i++) {
          const outcome = runner.dispatchRecord(words, i * RECORD_WORDS);
          const status = outcomeStatus(outcome);
          results[i * RESULT_WORDS] = resultLo(outcome);
          results[i * RESULT_WORDS + 1] = resultHi(outcome);
          if (statusCounts !== undefined) statusCounts[status] = statusCounts[status]! + 1;
          const e = explainLastCall(runner.dispatcher);
          explanations.push(`,"check":"${e.check}","why":${JSON.stringify(e.why)}`);
        }
      });
      return n;
    },
  };
}

async function startPool(machine: Machine, options: SignalPoolOptions): Promise<SignalPool> {
  try {
    return await SignalPool.start(machine, options);
  } catch (error) {
    // The caller and VP are checked already; what is left is the host's, e.g. too many threads.
    if (error instanceof RangeError) throw new CliUsageError(`--threads: ${error.message}`);
    throw error;
  }
}

interface ReplayRun {
  /** Whole records dispatched. */
  readonly records: number;
  /** Bytes of an unfinished record at the end of a stream (0 for a well-formed input). */
  readonly trailingBytes: number;
  /** The reader of stdout went away: after every record ran, or with records left over. */
  readonly stoppedByReader: "all ran" | "records left" | undefined;
}

/** Output lines encoded per write: 8 Ki lines, at most 1.25 MiB. Two such buffers alternate. */
const LINES_PER_WRITE = 8 * 1024;

/**
 * The streaming loop: read what is available, dispatch every whole record of it, encode the
 * results into one of two output buffers (the other may still be on its way to stdout), keep the
 * unfinished tail (< 16 bytes) for the next read.
 */
async function replayRecords(
  source: RecordSource,
  batch: RecordBatch,
  counts: Uint32Array | undefined,
  options: ReplayOptions,
  shared: boolean,
): Promise<ReplayRun> {
  // Worker threads read the records and write the results in place when they are shared.
  const alloc = (bytes: number) => (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  const buffer = new Uint8Array(alloc(CHUNK_RECORDS * RECORD_SIZE));
  const results = new Uint32Array(
    alloc(CHUNK_RECORDS * RESULT_WORDS * Uint32Array.BYTES_PER_ELEMENT),
  );
  const binary = options.output === "bin";
  const sink = new OutputSink(process.stdout);
  const encoder = new ResultLineEncoder();
  const outputs = [0, 1].map(
    () => new Uint8Array(binary ? CHUNK_RECORDS * 8 : LINES_PER_WRITE * MAX_LINE_BYTES),
  );
  const inFlight: (Promise<boolean> | undefined)[] = [undefined, undefined];
  let next = 0;
  const total = source.size === undefined ? undefined : source.size / RECORD_SIZE;
  const progress = createProgress(options.progress, total);
  let filled = 0;
  let index = 0;
  const stopped = async (): Promise<ReplayRun> => ({
    records: index,
    trailingBytes: 0,
    stoppedByReader: (await source.hasMore(filled)) ? "records left" : "all ran",
  });
  try {
    for (;;) {
      const n = await source.read(buffer.subarray(filled));
      if (n === 0) break;
      filled += n;
      const whole = filled - (filled % RECORD_SIZE);
      if (whole === 0) continue;
      const count = await batch.run(buffer.subarray(0, whole), results, counts);
      const perWrite = binary ? count : LINES_PER_WRITE;
      for (let from = 0; from < count; from += perWrite) {
        const to = Math.min(count, from + perWrite);
        const out = outputs[next]!;
        if (inFlight[next] !== undefined && !(await inFlight[next])) {
          sink.check(); // a write error other than a closed pipe is its own one-line error
          index += count; // the whole chunk ran; its later results are not written
          buffer.copyWithin(0, whole, filled);
          filled -= whole;
          return await stopped();
        }
        if (batch.explanations !== undefined) {
          inFlight[next] = sink.write(explainedLines(index, results, from, to, batch.explanations));
        } else if (binary) {
          // The results buffer holds each result value as (lo, hi): its 8 little-endian bytes.
          out.set(new Uint8Array(results.buffer, results.byteOffset + from * 8, (to - from) * 8));
          inFlight[next] = sink.write(out.subarray(0, (to - from) * 8));
        } else {
          const bytes = encoder.encode(index, results, from, to, out);
          inFlight[next] = sink.write(out.subarray(0, bytes));
        }
        next ^= 1;
      }
      index += count;
      await progress.update(index);
      buffer.copyWithin(0, whole, filled);
      filled -= whole;
    }
    for (const pending of inFlight) {
      if (pending !== undefined && !(await pending)) {
        sink.check();
        return await stopped();
      }
    }
  } finally {
    progress.stop();
  }
  return { records: index, trailingBytes: filled, stoppedByReader: undefined };
}
