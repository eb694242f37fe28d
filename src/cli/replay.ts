/**
 * `hvcall replay`: streams 16-byte records through the batch dispatcher in chunks, writing one JSON
 * line per record as it goes. Memory stays bounded whatever the input size: one chunk of records,
 * one results buffer and two output buffers, all reused; no string is built per record.
 */
import { hvStatusName } from "../abi/hv-status.js";
import { RESULT_STATUS_MASK } from "../abi/hypercall-result.js";
import { BatchRunner, defaultScratchGpa } from "../dispatch/batch-runner.js";
import { Dispatcher } from "../dispatch/dispatcher.js";
import { RECORD_SIZE, RESULT_WORDS } from "../dispatch/hypercall-record.js";
import { SignalPool, type SignalPoolOptions } from "../parallel/signal-pool.js";
import { loadMachine } from "../state/load-machine.js";
import type { Machine } from "../state/machine.js";
import { CliUsageError, ExitCode } from "./cli-error.js";
import type { ReplayOptions } from "./main.js";
import { OutputSink } from "./output-sink.js";
import { createProgress } from "./progress.js";
import { openRecordSource, type RecordSource } from "./record-source.js";
import { MAX_LINE_BYTES, ResultLineEncoder } from "./result-lines.js";
import { checkDumpTarget, readScenarioFile, resolveCaller, writeDump } from "./session.js";

/** Records dispatched per batch: 64 Ki records = 1 MiB of input, 512 KiB of results. */
export const CHUNK_RECORDS = 64 * 1024;

export async function runReplay(recordsPath: string, options: ReplayOptions): Promise<number> {
  // Everything the user gave is checked before the first call runs.
  const doc = await readScenarioFile(options.scenario);
  const { caller, vp } = resolveCaller(doc, options.caller, options.vp);
  const source = await openRecordSource(recordsPath);
  try {
    if (options.dumpState !== undefined) await checkDumpTarget(options.dumpState);
    const threaded = options.threads > 1;
    const machine = loadMachine(doc, { shared: threaded });
    // The scratch page for memory-form records is replay's, not the guest's: a page the caller's
    // memory does not back, unmapped again before the state is dumped.
    const memory = machine.memory[machine.requirePartition(caller)]!;
    const scratchGpa = defaultScratchGpa(memory);
    const batch = threaded
      ? await startPool(machine, { threads: options.threads, caller, vp, scratchGpa })
      : new BatchRunner(new Dispatcher(machine), { caller, vp, scratchGpa });
    const counts = options.summary === true ? new Uint32Array(RESULT_STATUS_MASK + 1) : undefined;
    const started = performance.now();
    let run: ReplayRun;
    try {
      run = await replayRecords(source, batch, counts, options.progress, threaded);
    } finally {
      if (batch instanceof SignalPool) await batch.close();
    }
    const seconds = (performance.now() - started) / 1000;
    if (run.stoppedByReader) {
      throw new CliUsageError(
        `stdout: its reader closed it after ${run.records} records; the rest did not run` +
          (options.dumpState === undefined ? "" : " and --dump-state was not written"),
      );
    }
    if (run.trailingBytes > 0) {
      throw new CliUsageError(
        `records: ${source.name} ended ${run.trailingBytes} bytes into a record, after ` +
          `${run.records} whole records (those ran and their results were printed); ` +
          `the input's length must be a multiple of ${RECORD_SIZE}`,
      );
    }
    memory.unmapPage(scratchGpa);
    if (options.dumpState !== undefined) await writeDump(options.dumpState, machine);
    if (counts !== undefined) process.stderr.write(summaryTable(counts, run.records, seconds));
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
  /** The reader of stdout went away; the run stopped early. */
  readonly stoppedByReader: boolean;
}

/** Output lines encoded per write: 8 Ki lines, at most 1.25 MiB. Two such buffers alternate. */
const LINES_PER_WRITE = 8 * 1024;

/**
 * The streaming loop: read what is available, dispatch every whole record of it, encode the lines
 * into one of two output buffers (the other may still be on its way to stdout), keep the unfinished
 * tail (< 16 bytes) for the next read. Memory is the input chunk, the results and the two output
 * buffers, whatever the input size.
 */
async function replayRecords(
  source: RecordSource,
  batch: RecordBatch,
  counts: Uint32Array | undefined,
  progressEnabled: boolean,
  shared: boolean,
): Promise<ReplayRun> {
  // Worker threads read the records and write the results in place when they are shared.
  const alloc = (bytes: number) => (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  const buffer = new Uint8Array(alloc(CHUNK_RECORDS * RECORD_SIZE));
  const results = new Uint32Array(
    alloc(CHUNK_RECORDS * RESULT_WORDS * Uint32Array.BYTES_PER_ELEMENT),
  );
  const sink = new OutputSink(process.stdout);
  const encoder = new ResultLineEncoder();
  const outputs = [0, 1].map(() => new Uint8Array(LINES_PER_WRITE * MAX_LINE_BYTES));
  const inFlight: (Promise<boolean> | undefined)[] = [undefined, undefined];
  let next = 0;
  const total = source.size === undefined ? undefined : source.size / RECORD_SIZE;
  const progress = createProgress(progressEnabled, total);
  let filled = 0;
  let index = 0;
  try {
    for (;;) {
      const n = await source.read(buffer.subarray(filled));
      if (n === 0) break;
      filled += n;
      const whole = filled - (filled % RECORD_SIZE);
      if (whole === 0) continue;
      const count = await batch.run(buffer.subarray(0, whole), results, counts);
      for (let from = 0; from < count; from += LINES_PER_WRITE) {
        const out = outputs[next]!;
        if (inFlight[next] !== undefined && !(await inFlight[next])) {
          return { records: index, trailingBytes: 0, stoppedByReader: true };
        }
        const bytes = encoder.encode(
          index,
          results,
          from,
          Math.min(count, from + LINES_PER_WRITE),
          out,
        );
        inFlight[next] = sink.write(out.subarray(0, bytes));
        next ^= 1;
      }
      index += count;
      await progress.update(index);
      buffer.copyWithin(0, whole, filled);
      filled -= whole;
    }
    for (const pending of inFlight) {
      if (pending !== undefined && !(await pending)) {
        return { records: index, trailingBytes: 0, stoppedByReader: true };
      }
    }
  } finally {
    progress.stop();
  }
  return { records: index, trailingBytes: filled, stoppedByReader: false };
}

/** `--summary`: records per status, most frequent first, then the total and the rate. */
export function summaryTable(counts: Uint32Array, records: number, seconds: number): string {
  const rows: [string, number][] = [];
  counts.forEach((count, status) => {
    if (count > 0) rows.push([hvStatusName(status), count]);
  });
  rows.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const width = Math.max(String(records).length, 5);
  const nameWidth = Math.max(6, ...rows.map(([name]) => name.length));
  const line = (count: string, name: string) => `  ${count.padStart(width)}  ${name}\n`;
  let text = "replay summary\n";
  text += line("count", "status");
  for (const [name, count] of rows) text += line(String(count), name);
  text += `  ${"-".repeat(width)}  ${"-".repeat(nameWidth)}\n`;
  const rate = seconds > 0 ? Math.round(records / seconds) : 0;
  text += line(String(records), `records in ${seconds.toFixed(3)} s (${rate} records/s)`);
  return text;
}

/** `--report-memory`: the process's peak resident set size so far. */
export function memoryReport(): string {
  const kib = process.resourceUsage().maxRSS;
  return `hvcall: peak RSS ${(kib / 1024).toFixed(1)} MiB (maxRSS ${kib} KiB)\n`;
}
