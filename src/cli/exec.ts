/** `hvcall exec`: one hypercall through the per-call library API, printed as one result line. */
import { formatBigU64Hex } from "../abi/u64.js";
import { Dispatcher } from "../dispatch/dispatcher.js";
import { hypercall } from "../dispatch/hypercall.js";
import { loadMachine } from "../state/load-machine.js";
import { CliUsageError, ExitCode } from "./cli-error.js";
import type { ExecOptions } from "./main.js";
import { OutputSink } from "./output-sink.js";
import { resultLine } from "./result-lines.js";
import {
  checkDumpTarget,
  isFastControl,
  readScenarioFile,
  resolveCaller,
  writeDump,
} from "./session.js";

/**
 * The input register of the call: `--fast` for a fast call, `--input-gpa` for a memory call; the
 * one given must match the control value's fast bit (a mismatch is host misuse, exit 2).
 */
function inputRegister(options: ExecOptions): bigint {
  const control = formatBigU64Hex(options.control);
  const fast = isFastControl(options.control);
  if (options.fast !== undefined) {
    if (!fast) {
      throw new CliUsageError(
        `--fast: --control ${control} is a memory call (fast bit 16 clear): give --input-gpa, ` +
          `or set bit 16 in --control for a fast call`,
      );
    }
    return options.fast;
  }
  if (options.inputGpa !== undefined) {
    if (fast) {
      throw new CliUsageError(
        `--input-gpa: --control ${control} is a fast call (bit 16 set): give --fast, ` +
          `or clear bit 16 in --control for a memory call`,
      );
    }
    return options.inputGpa;
  }
  throw new CliUsageError(
    `missing input: give --fast HEX (the input register of a fast call) or --input-gpa HEX ` +
      `(the input address of a memory call)`,
  );
}

export async function runExec(options: ExecOptions): Promise<number> {
  const input = inputRegister(options);
  const doc = await readScenarioFile(options.scenario);
  const { caller, vp } = resolveCaller(doc, options.caller, options.vp);
  if (options.dumpState !== undefined) await checkDumpTarget(options.dumpState);
  const machine = loadMachine(doc);
  const outcome = hypercall(new Dispatcher(machine), {
    caller,
    vp,
    control: options.control,
    input,
  });
  await new OutputSink(process.stdout).write(resultLine(0, outcome.resultLo, outcome.resultHi));
  if (options.dumpState !== undefined) await writeDump(options.dumpState, machine);
  return ExitCode.Success;
}
