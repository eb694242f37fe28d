/**
 * `hvcall trace convert`: a guest trace from JSON Lines to binary or back (docs/trace-format.md),
 * streaming, losslessly: every op keeps its fields, and whether it named its partition, VP and R8.
 */
import { encodeTraceOp, traceHeader } from "../trace/trace-binary.js";
import { formatTraceOp } from "../trace/trace-jsonl.js";
import { TraceError, TraceOp } from "../trace/trace-op.js";
import { CliUsageError, ExitCode, quote } from "./cli-error.js";
import { checkOutputTarget, inputIdentity, openAtomically } from "./output-file.js";
import { OutputSink } from "./output-sink.js";
import { traceUsageError } from "./run.js";
import { openTraceReader, type TraceForm } from "./trace-reader.js";

export interface ConvertOptions {
  /** The form to write; default: the other one. */
  readonly to?: TraceForm;
}

const FLUSH_BYTES = 1 << 20;

/**
 * Where converted bytes go: stdout, or a temporary file renamed over OUT at the end
 * (output-file.ts: written in full, flushed, OUT's mode kept; docs/cli.md §12).
 */
interface Destination {
  write(bytes: Uint8Array): Promise<void>;
  commit(): Promise<void>;
  abandon(): Promise<void>;
}

function stdoutDestination(): Destination {
  const sink = new OutputSink(process.stdout);
  return {
    async write(bytes) {
      if (!(await sink.write(bytes))) {
        sink.check();
        throw new CliUsageError("stdout: its reader closed it before the conversion was complete");
      }
    },
    commit: () => Promise.resolve(),
    abandon: () => Promise.resolve(),
  };
}

export async function runTraceConvert(
  input: string,
  output: string,
  options: ConvertOptions,
): Promise<number> {
  if (output !== "-")
    await checkOutputTarget("output", output, [inputIdentity(input, "input trace")], false);
  const reader = await openTraceReader(input);
  const op = new TraceOp();
  let destination: Destination | undefined;
  const pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pendingBytes === 0 || destination === undefined) return;
    await destination.write(Buffer.concat(pending, pendingBytes));
    pending.length = 0;
    pendingBytes = 0;
  };
  const push = async (bytes: Uint8Array) => {
    pending.push(bytes);
    pendingBytes += bytes.length;
    if (pendingBytes >= FLUSH_BYTES) await flush();
  };
  try {
    let to: TraceForm | undefined;
    for (;;) {
      const more = await reader.fill();
      if (to === undefined && (reader.form !== undefined || !more)) {
        const from = reader.form ?? "jsonl";
        to = options.to ?? (from === "jsonl" ? "binary" : "jsonl");
        if (to === "binary" && output === "-" && process.stdout.isTTY === true) {
          throw new CliUsageError(
            "output -: binary trace to a terminal; give a file or redirect stdout",
          );
        }
        destination = output === "-" ? stdoutDestination() : await openAtomically("output", output);
        if (to === "binary") await push(traceHeader());
      }
      while (reader.take(op)) {
        await push(to === "binary" ? encodeTraceOp(op) : Buffer.from(`${formatTraceOp(op)}\n`));
      }
      if (!more) break;
      // To stdout, what is converted goes out before the reader waits for more (a pipe sees the
      // ops as they come); a file is renamed into place at the end anyway.
      if (output === "-") await flush();
    }
    await flush();
    await destination?.commit();
  } catch (error) {
    await destination?.abandon();
    if (error instanceof TraceError)
      throw traceUsageError(
        error,
        reader,
        undefined,
        output === "-" ? "stdout holds the ops before it" : `${quote(output)} is unchanged`,
      );
    throw error;
  } finally {
    await reader.close();
  }
  return ExitCode.Success;
}
