/**
 * `hvcall check`: another implementation's results against hvcall's, for the same records or
 * trace (docs/cli.md §7). One JSON line per disagreement, with hvcall's explanation;
 * a summary on stderr grouping disagreements by (expected status, observed status, deciding
 * check); exit 0 (all agree), 3 (some disagree), 2 (bad usage or files). Streams both inputs, so
 * a run of any length takes bounded memory.
 */
import type { Stats } from "node:fs";
import { stat } from "node:fs/promises";
import { resultHi, resultLo } from "../abi/hypercall-result.js";
import { BatchRunner } from "../dispatch/batch-runner.js";
import { Dispatcher } from "../dispatch/dispatcher.js";
import { RECORD_SIZE, RECORD_WORDS } from "../dispatch/hypercall-record.js";
import { loadMachine } from "../state/load-machine.js";
import { TRACE_MAGIC } from "../trace/trace-binary.js";
import { TraceEngine, TraceResult } from "../trace/trace-engine.js";
import { TraceError, TraceOp, TraceOpCode } from "../trace/trace-op.js";
import { callDisagrees, compareOp, resultDisagrees } from "./check-compare.js";
import { CheckSummary } from "./check-summary.js";
import { CliUsageError, ExitCode, quote } from "./cli-error.js";
import { isRegularFile, readFileHead } from "./file-head.js";
import { Observed, ObservedError, type ObservedForm, ObservedReader } from "./observed-reader.js";
import { OutputSink } from "./output-sink.js";
import { checkLength, openRecordSource, plural } from "./record-source.js";
import { checkTraceFile, traceUsageError } from "./run.js";
import { readScenarioFile, resolveCaller } from "./session.js";
import { refuseTwoStdinInputs } from "./stdin-inputs.js";
import { openTraceReader } from "./trace-reader.js";

export interface CheckOptions {
  readonly scenario: string;
  readonly caller?: number;
  readonly vp?: number;
  readonly observed: string;
  /** Force how RESULTS is read (default: JSON Lines when it starts with "{", else binary). */
  readonly observedForm?: ObservedForm;
  /** Force how the input is read (default: a trace when it is .jsonl or a binary trace). */
  readonly input?: "records" | "trace";
}

const CHUNK_RECORDS = 64 * 1024;
const FLUSH_BYTES = 1 << 16;
/** Ends a records length error: the input may be a trace that was not recognised as one. */
const TRACE_HINT = " (if the input is a guest trace, give --input trace)";
const STREAM_HINT =
  " (the input, a stream, was read as 16-byte records; if it is a guest trace, give --input trace)";
const RECORDS_HINT =
  " (the input was read as a guest trace; if it is 16-byte records, give --input records)";
/** How much of the input `inputKind` looks at (white space before a first `{` included). */
const HEAD_BYTES = 256;

/**
 * A trace or records (docs/cli.md §7): `--input` says it outright; a `.jsonl` / `.ndjson` name is a
 * trace; otherwise the content tells — the binary trace header, or a first byte `{` (after any
 * BOM and white space) for JSON Lines — and anything else (or stdin) is 16-byte records.
 */
async function inputKind(
  path: string,
  forced: CheckOptions["input"],
): Promise<"records" | "trace"> {
  if (forced !== undefined) return forced;
  if (/\.(jsonl|ndjson)$/i.test(path)) return "trace";
  const head = await readFileHead(path, HEAD_BYTES);
  if (head === undefined) return "records";
  if (head.length >= TRACE_MAGIC.length && TRACE_MAGIC.every((b, i) => head[i] === b))
    return "trace";
  const text = new TextDecoder()
    .decode(head)
    .replace(/^\uFEFF/, "")
    .trimStart();
  return text.startsWith("{") ? "trace" : "records";
}

export async function runCheck(inputPath: string, options: CheckOptions): Promise<number> {
  refuseTwoStdinInputs([
    { label: "--scenario", path: options.scenario },
    { label: "--observed", path: options.observed },
    { label: "input", path: inputPath },
  ]);
  const doc = await readScenarioFile(options.scenario);
  const kind = await inputKind(inputPath, options.input);
  const { caller, vp } = resolveCaller(doc, options.caller, options.vp, kind === "records");
  const machine = loadMachine(doc);
  const dispatcher = new Dispatcher(machine);
  const observed = await ObservedReader.open(options.observed, options.observedForm);
  const sink = new OutputSink(process.stdout);
  const summary = new CheckSummary();
  let text = "";
  const emit = async (line: string) => {
    text += line;
    if (text.length >= FLUSH_BYTES) {
      const open = await sink.write(text);
      text = "";
      if (!open) {
        sink.check();
        throw new CliUsageError("stdout: its reader closed it before the check was complete");
      }
    }
  };
  await precheckObserved(options, kind === "records" ? await recordCount(inputPath) : undefined);
  try {
    if (kind === "records")
      await checkRecords(inputPath, caller, vp, dispatcher, observed, summary, emit);
    else
      await checkTrace(inputPath, { partition: caller, vp }, dispatcher, observed, summary, emit);
    if (text !== "" && !(await sink.write(text))) {
      sink.check();
      throw new CliUsageError("stdout: its reader closed it before the check was complete");
    }
  } catch (error) {
    const usage =
      error instanceof ObservedError
        ? new CliUsageError(`--observed ${observed.name}: ${error.message}`)
        : error;
    throw await withKindHint(usage, inputPath, kind, options.input);
  } finally {
    await observed.close();
  }
  process.stderr.write(summary.table(kind === "records" ? "record" : "op"));
  return summary.disagreements === 0 ? ExitCode.Success : ExitCode.Disagree;
}

/**
 * A failure that may come from reading the input as the wrong kind gets the flag that says the
 * kind (found in review): a stream read as records by default (a pipe cannot be looked at first),
 * or a file taken for a trace whose trace format then failed.
 */
async function withKindHint(
  error: unknown,
  path: string,
  kind: "records" | "trace",
  forced: CheckOptions["input"],
): Promise<unknown> {
  if (
    !(error instanceof CliUsageError) ||
    forced !== undefined ||
    error.message.includes("--input")
  )
    return error;
  if (kind === "records" && !(await isRegularFile(path)))
    return new CliUsageError(`${error.message}${STREAM_HINT}`);
  if (kind === "trace" && error.message.startsWith("trace: "))
    return new CliUsageError(`${error.message}${RECORDS_HINT}`);
  return error;
}

/** Records in a regular record file (undefined for a stream). */
async function recordCount(path: string): Promise<number | undefined> {
  if (path === "-") return undefined;
  let s: Stats;
  try {
    s = await stat(path);
  } catch {
    return undefined;
  }
  if (!s.isFile()) return undefined;
  checkLength(quote(path), s.size, TRACE_HINT); // before the results are looked at
  return s.size / RECORD_SIZE;
}

/**
 * Before anything is compared, when RESULTS is a file: every line well-formed, indexes ascending
 * (for records exactly 0..n-1, and n of them when the record file's length says n). So a bad
 * RESULTS file is exit 2 with no disagreement printed first.
 */
async function precheckObserved(options: CheckOptions, records: number | undefined): Promise<void> {
  // A stream is checked as it is compared; opening a FIFO twice would split what it delivers.
  if (!(await isRegularFile(options.observed))) return;
  const reader = await ObservedReader.open(options.observed, options.observedForm);
  const o = new Observed();
  let last = -1;
  try {
    for (;;) {
      while (reader.take(o)) {
        const index = reader.form === "bin" ? reader.count - 1 : o.index;
        if (records !== undefined && index !== last + 1) {
          throw new ObservedError(
            `${reader.where}: index ${index}, where record ${last + 1} comes (the results must list every record once, in order)`,
          );
        }
        if (index <= last)
          throw new ObservedError(
            `${reader.where}: index ${index} is out of order (indexes ascend, once each)`,
          );
        last = index;
      }
      if (!(await reader.fill())) break;
    }
    if (records !== undefined && last + 1 !== records) {
      throw new ObservedError(
        `has ${last + 1} results for ${records} records (the results must match the input one to one)`,
      );
    }
  } catch (error) {
    if (error instanceof ObservedError)
      throw new CliUsageError(`--observed ${reader.name}: ${error.message}`);
    throw error;
  } finally {
    await reader.close();
  }
}

/** The next observed result; an ObservedError when the file has no more. */
async function nextObserved(
  reader: ObservedReader,
  into: Observed,
  expectedIndex: number,
): Promise<void> {
  while (!reader.take(into)) {
    if (!(await reader.fill())) {
      throw new ObservedError(
        `ends after ${plural(reader.count, "result")}, but the input goes on: record ${expectedIndex} has no result (the results must match the input one to one)`,
      );
    }
  }
}

async function checkRecords(
  path: string,
  caller: number,
  vp: number,
  dispatcher: Dispatcher,
  reader: ObservedReader,
  summary: CheckSummary,
  emit: (line: string) => Promise<void>,
): Promise<void> {
  const runner = new BatchRunner(dispatcher, { caller, vp });
  const source = await openRecordSource(path, TRACE_HINT);
  const buffer = new Uint8Array(CHUNK_RECORDS * RECORD_SIZE);
  const words = new Uint32Array(buffer.buffer);
  const o = new Observed();
  let index = 0;
  let filled = 0;
  runner.mapScratch();
  try {
    for (;;) {
      const n = await source.read(buffer.subarray(filled));
      if (n === 0) break;
      filled += n;
      const whole = Math.floor(filled / RECORD_SIZE);
      for (let r = 0; r < whole; r++, index++) {
        const outcome = runner.dispatchRecord(words, r * RECORD_WORDS);
        const lo = resultLo(outcome);
        const hi = resultHi(outcome);
        await nextObserved(reader, o, index);
        if (o.index !== index) {
          throw new ObservedError(
            `${reader.where}: index ${o.index}, where record ${index} comes (the results must list every record once, in order)`,
          );
        }
        if (!o.resultGiven) throw new ObservedError(`${reader.where}: result: missing`);
        if (o.op !== undefined && o.op !== "hypercall") {
          throw new ObservedError(
            `${reader.where}: op: ${JSON.stringify(o.op)}, but every record is a hypercall`,
          );
        }
        if (!resultDisagrees(o, lo, hi)) {
          summary.agree();
          continue;
        }
        await callDisagrees(index, "", lo, hi, o, dispatcher, summary, emit);
      }
      buffer.copyWithin(0, whole * RECORD_SIZE, filled);
      filled -= whole * RECORD_SIZE;
    }
  } finally {
    runner.unmapScratch();
    await source.close();
  }
  if (filled !== 0)
    throw new CliUsageError(
      `records: ${source.name} ends ${filled} bytes into a record${TRACE_HINT}`,
    );
  if (reader.take(o) || (await reader.fill())) {
    throw new ObservedError(
      `has more results than the ${index} records (the results must match the input one to one)`,
    );
  }
}

async function checkTrace(
  path: string,
  defaults: { partition: number; vp: number },
  dispatcher: Dispatcher,
  reader: ObservedReader,
  summary: CheckSummary,
  emit: (line: string) => Promise<void>,
): Promise<void> {
  const engine = new TraceEngine(dispatcher.machine, dispatcher, defaults, false);
  await checkTraceFile(path, engine);
  const trace = await openTraceReader(path);
  const op = new TraceOp();
  const result = new TraceResult();
  const o = new Observed();
  const binary = () => reader.form === "bin";
  /** An observed entry is read and not matched yet (JSON Lines name their op by index). */
  let have = false;
  const next = async () => reader.take(o) || ((await reader.fill()) && reader.take(o));
  let index = 0;
  let hypercalls = 0;
  try {
    for (;;) {
      while (trace.take(op)) {
        engine.run(op, trace, result);
        const isCall = op.code === TraceOpCode.hypercall;
        if (isCall) hypercalls++;
        if (!have && (isCall || !binary())) have = await next();
        if (have && binary()) o.index = index; // a binary file holds one value per hypercall op
        if (have && (binary() ? isCall : o.index === index)) {
          have = false;
          await compareOp(op, result, o, index, dispatcher, summary, emit, reader.where);
        } else if (have && o.index < index) {
          throw new ObservedError(
            `${reader.where}: index ${o.index} is out of order (results follow the trace's op order, once each)`,
          );
        } else if (isCall) {
          throw new ObservedError(
            have
              ? `${reader.where}: index ${o.index}, but op ${index} is a hypercall and needs a result first`
              : `has ${reader.count} results, but hypercall op ${index} has none (every hypercall op needs one)`,
          );
        }
        index++;
      }
      if (!(await trace.fill())) break;
    }
  } catch (error) {
    if (error instanceof TraceError) throw traceUsageError(error, trace, index);
    throw error;
  } finally {
    await trace.close();
  }
  if (have || (await next())) {
    throw new ObservedError(
      `${reader.where}: a result for no op of the trace (it has ${index} ops, ${hypercalls} of them hypercalls)`,
    );
  }
}
