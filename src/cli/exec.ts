/** `hvcall exec`: one hypercall through the per-call library API, printed as one result line. */
import { CONTROL_FAST_BIT, HV_HYPERCALL_CONTROL } from "../abi/hypercall-control.js";
import { formatBigU64Hex, u64Lo } from "../abi/u64.js";
import { Dispatcher } from "../dispatch/dispatcher.js";
import { hypercall } from "../dispatch/hypercall.js";
import { loadMachine } from "../state/load-machine.js";
import { CliUsageError, ExitCode } from "./cli-error.js";
import { checkOutputTarget, inputIdentity } from "./output-file.js";
import { resultLine } from "./result-lines.js";
import { type MachineFlags, readScenarioFile, resolveCaller, writeDump } from "./session.js";
import { out } from "./stdio.js";

/** "bit 16": where the control value keeps the fast flag, as the layout names it. */
const FAST_BIT = HV_HYPERCALL_CONTROL.fields.fast.bits;

export interface ExecOptions extends MachineFlags {
  readonly control: bigint;
  readonly fast?: bigint;
  readonly inputGpa?: bigint;
  /** R8: a fast call's second input register, a memory call's output GPA. */
  readonly r8?: bigint;
  readonly explain?: boolean;
}

/**
 * The input register of the call: `--fast` for a fast call, `--input-gpa` for a memory call; the
 * one given must match the control value's fast bit (a mismatch is host misuse, exit 2).
 */
function inputRegister(options: ExecOptions): bigint {
  const control = formatBigU64Hex(options.control);
  const fast = (u64Lo(options.control) & CONTROL_FAST_BIT) !== 0;
  if (options.fast !== undefined) {
    if (!fast) {
      throw new CliUsageError(
        `--fast: --control ${control} is a memory call (fast ${FAST_BIT} clear): give --input-gpa, or set ${FAST_BIT} in --control for a fast call`,
      );
    }
    return options.fast;
  }
  if (options.inputGpa !== undefined) {
    if (fast) {
      throw new CliUsageError(
        `--input-gpa: --control ${control} is a fast call (${FAST_BIT} set): give --fast, or clear ${FAST_BIT} in --control for a memory call`,
      );
    }
    return options.inputGpa;
  }
  throw new CliUsageError(
    "missing input: give --fast HEX (the input register of a fast call) or --input-gpa HEX (the input address of a memory call)",
  );
}

export async function runExec(options: ExecOptions): Promise<number> {
  const input = inputRegister(options);
  const doc = await readScenarioFile(options.scenario);
  const { caller, vp } = resolveCaller(doc, options.caller, options.vp);
  if (options.dumpState !== undefined) {
    await checkOutputTarget(
      "--dump-state",
      options.dumpState,
      [inputIdentity(options.scenario, "scenario")],
      true,
    );
  }
  const machine = loadMachine(doc);
  const outcome = hypercall(
    new Dispatcher(machine),
    { caller, vp, control: options.control, input, input2: options.r8 ?? 0n },
    { explain: options.explain === true },
  );
  let line = resultLine(0, outcome.resultLo, outcome.resultHi);
  if (outcome.check !== undefined) {
    line = `${line.slice(0, -2)},"check":"${outcome.check}","why":${JSON.stringify(outcome.why)}}\n`;
  }
  out(line);
  if (options.dumpState !== undefined) await writeDump(options.dumpState, machine);
  return ExitCode.Success;
}
