/**
 * `hvcall run`: runs a guest trace — hypercalls and the guest actions between them — against one
 * scenario, one output line (or 8-byte result value) per op (docs/cli.md §5).
 */
import { RESULT_STATUS_MASK } from "../abi/hypercall-result.js";
import { Dispatcher } from "../dispatch/dispatcher.js";
import { loadMachine } from "../state/load-machine.js";
import type { Machine } from "../state/machine.js";
import { TraceEngine, TraceResult } from "../trace/trace-engine.js";
import { TraceError, TraceOp, TraceOpCode } from "../trace/trace-op.js";
import { traceResultLine } from "../trace/trace-output.js";
import { CliUsageError, ExitCode, refuseBinaryToTerminal } from "./cli-error.js";
import { isRegularFile } from "./file-head.js";
import { checkOutputTarget, inputIdentity } from "./output-file.js";
import { OutputSink } from "./output-sink.js";
import { plural } from "./record-source.js";
import { type MachineFlags, readScenarioFile, resolveCaller, writeDump } from "./session.js";
import { refuseTwoStdinInputs } from "./stdin-inputs.js";
import { summaryTable } from "./summary.js";
import { openTraceReader, type TraceReader } from "./trace-reader.js";

export interface RunOptions extends MachineFlags {
  readonly explain?: boolean;
  readonly summary?: boolean;
  /** "json" (one line per op) or "bin" (the 8-byte result value of each hypercall op). */
  readonly output: "json" | "bin";
}

/** Output is handed to stdout in pieces of about this many bytes. */
const FLUSH_BYTES = 1 << 16;

/** A TraceError as the CLI's one line, saying how many ops ran before it (a stream). */
export function traceUsageError(
  error: TraceError,
  reader: TraceReader,
  ran: number | undefined,
  nothing = "nothing was run",
): CliUsageError {
  const after = ran === undefined ? ` (${nothing})` : `; the ${plural(ran, "op")} before it ran`;
  return new CliUsageError(`trace: ${reader.name}: ${error.message}${after}`);
}

/**
 * A check pass over a trace file before anything runs: the format of every op, and every
 * partition and VP it names. A stream (stdin) cannot be read twice; it is checked as it runs.
 */
export async function checkTraceFile(path: string, engine: TraceEngine): Promise<void> {
  // Told by stat, not by opening: opening a FIFO and closing it again would cost its writer the
  // bytes it wrote meanwhile (and an EPIPE).
  if (!(await isRegularFile(path))) return;
  await readWholeTrace(path, (op, reader) => engine.resolve(op, reader));
}

/**
 * Reads a whole trace (file or "-"), handing each op to `visit` (the op object is reused); a
 * malformed op, or one `visit` refuses with a TraceError, is host misuse before anything ran.
 */
export async function readWholeTrace(
  path: string,
  visit: (op: TraceOp, reader: TraceReader) => void,
): Promise<void> {
  const reader = await openTraceReader(path);
  const op = new TraceOp();
  try {
    for (;;) {
      while (reader.take(op)) visit(op, reader);
      if (!(await reader.fill())) break;
    }
  } catch (error) {
    if (error instanceof TraceError) throw traceUsageError(error, reader, undefined);
    throw error;
  } finally {
    await reader.close();
  }
}

export async function runRun(tracePath: string, options: RunOptions): Promise<number> {
  refuseBinaryToTerminal(options.output);
  if (options.explain === true && options.output === "bin") {
    throw new CliUsageError("--explain adds check and why to JSON lines: it needs --output json");
  }
  refuseTwoStdinInputs([
    { label: "--scenario", path: options.scenario },
    { label: "trace", path: tracePath },
  ]);
  const doc = await readScenarioFile(options.scenario);
  const { caller, vp } = resolveCaller(doc, options.caller, options.vp, false);
  if (options.dumpState !== undefined) {
    const inputs = [inputIdentity(options.scenario, "scenario"), inputIdentity(tracePath, "trace")];
    await checkOutputTarget("--dump-state", options.dumpState, inputs, true);
  }
  const machine = loadMachine(doc);
  const dispatcher = new Dispatcher(machine);
  const explain = options.explain === true;
  const engine = new TraceEngine(machine, dispatcher, { partition: caller, vp }, explain);
  await checkTraceFile(tracePath, engine);

  const reader = await openTraceReader(tracePath);
  const sink = new OutputSink(process.stdout);
  const counts = options.summary === true ? new Uint32Array(RESULT_STATUS_MASK + 1) : undefined;
  const binary = options.output === "bin";
  const op = new TraceOp();
  const result = new TraceResult();
  const started = performance.now();
  let ran = 0;
  let hypercalls = 0;
  let text = "";
  const bin = new Uint8Array(FLUSH_BYTES);
  const binView = new DataView(bin.buffer);
  let binAt = 0;
  /** Hands the output to stdout; false when its reader went away (another error throws). */
  const flush = async (): Promise<boolean> => {
    let open = true;
    if (text !== "") {
      open = await sink.write(text);
      text = "";
    }
    if (binAt > 0) {
      // The sink resolves once stdout has taken the bytes: the buffer can be refilled.
      open = (await sink.write(bin.subarray(0, binAt))) && open;
      binAt = 0;
    }
    if (!open) sink.check();
    return open;
  };
  try {
    for (;;) {
      while (reader.take(op)) {
        engine.run(op, reader, result);
        if (op.code === TraceOpCode.hypercall) {
          hypercalls++;
          if (counts !== undefined) {
            const status = result.outcome & RESULT_STATUS_MASK;
            counts[status] = counts[status]! + 1;
          }
          if (binary) {
            binView.setUint32(binAt, result.resultLo, true);
            binView.setUint32(binAt + 4, result.resultHi, true);
            binAt += 8;
          }
        }
        if (!binary) text += traceResultLine(ran, result, explain);
        ran++;
        if ((text.length >= FLUSH_BYTES || binAt === FLUSH_BYTES) && !(await flush()))
          return await stoppedByReader(reader, ran, machine, options.dumpState);
      }
      // What ran so far goes out before the reader waits for more: a guest streaming its trace
      // through a pipe sees each result as its op runs.
      if (!(await flush())) return await stoppedByReader(reader, ran, machine, options.dumpState);
      if (!(await reader.fill())) break;
    }
    if (!(await flush())) return await stoppedByReader(reader, ran, machine, options.dumpState);
  } catch (error) {
    if (error instanceof TraceError) {
      await flush();
      throw traceUsageError(error, reader, ran);
    }
    throw error;
  } finally {
    await reader.close();
  }
  if (options.dumpState !== undefined) await writeDump(options.dumpState, machine);
  if (counts !== undefined) {
    process.stderr.write(
      summaryTable("run", counts, hypercalls, (performance.now() - started) / 1000, "hypercall"),
    );
  }
  return ExitCode.Success;
}

/** stdout's reader went away: exit 2 either way; the dump is still right when every op ran. */
async function stoppedByReader(
  reader: TraceReader,
  ran: number,
  machine: Machine,
  dump: string | undefined,
): Promise<number> {
  const more = reader.take(new TraceOp()) || (await reader.fill());
  if (!more && dump !== undefined) await writeDump(dump, machine);
  const dumped =
    dump === undefined
      ? ""
      : more
        ? " and --dump-state was not written"
        : "; --dump-state was written";
  throw new CliUsageError(
    more
      ? `stdout: its reader closed it after ${plural(ran, "op")}; the rest did not run${dumped}`
      : `stdout: its reader closed it before all ${plural(ran, "result")} were written (every op ran${dumped})`,
  );
}
