import { hvCallCodeName } from "../abi/call-code.js";
import { HV_PAGE_OFFSET_MASK, HV_PAGE_SIZE } from "../abi/hv-page.js";
import { CONTROL_CALL_CODE_MASK, controlViolations } from "../abi/hypercall-control.js";
import { FAST_INPUT_MAX_BYTES, HYPERCALL_INPUT_ALIGNMENT } from "../abi/hypercall-input.js";
import { PARTITION_PRIVILEGE_NAMES, PartitionPrivilegeBit } from "../abi/partition-privilege.js";
import { formatU64Hex, halvesToU64 } from "../abi/u64.js";
import { Dispatcher, GenericStep } from "./dispatcher.js";

/**
 * Why a call got its status (`--explain`, `hypercall(…, { explain: true })`, `hvcall check`): the
 * step of the normative order that decided, as `generic.N` or `<call>.N` (docs/README.md), and one
 * sentence naming the values involved. Built from the dispatcher's frame right after the call: a
 * call that failed changed nothing, so the state it reads is the state the call saw. Off the hot
 * path; nothing here runs unless asked.
 */
export interface Explanation {
  readonly check: string;
  readonly why: string;
}

/**
 * The explanation of the call the dispatcher ran last through `dispatch` (and so `hypercall()`,
 * the trace engine and `hvcall check`). `BatchRunner.run` and `SignalPool` run their records
 * without the frame: explain one record by dispatching it alone.
 */
export function explainLastCall(dispatcher: Dispatcher): Explanation {
  if (!(dispatcher instanceof Dispatcher))
    throw new TypeError("explainLastCall: expected a Dispatcher (new Dispatcher(machine))");
  const f = dispatcher.frame;
  if (f.step === 0)
    throw new RangeError("explainLastCall: this dispatcher has not dispatched a call yet");
  const registered = dispatcher.rowAt(f.rowIndex);
  if (registered === undefined || f.step <= GenericStep.Fetch) {
    return { check: `generic.${f.step}`, why: genericWhy(dispatcher) };
  }
  const row = registered.row;
  const why =
    row.explain?.(dispatcher.machine, f, f.outcome) ?? `${row.name} decided at its step ${f.step}`;
  return { check: `${row.checkFamily}.${f.step}`, why };
}

function gpaText(lo: number, hi: number): string {
  return `0x${halvesToU64(lo, hi).toString(16)}`;
}

function genericWhy(dispatcher: Dispatcher): string {
  const f = dispatcher.frame;
  const t = dispatcher.machine.tables;
  const code = f.controlLo & CONTROL_CALL_CODE_MASK;
  const registered = dispatcher.rowAt(f.rowIndex);
  if (registered === undefined) {
    const implemented = dispatcher.registeredRows
      .map((r) => `${r.row.name} (0x${r.row.callCode.toString(16).padStart(4, "0")})`)
      .join(", ");
    const name = hvCallCodeName(code);
    return `call code 0x${code.toString(16).padStart(4, "0")}${name === undefined ? "" : ` (${name})`} is not implemented; hvcall implements ${implemented}`;
  }
  const row = registered.row;
  switch (f.step) {
    case GenericStep.ControlValue: {
      const rules = controlViolations(f.controlLo, f.controlHi, row).map((v) => v.rule);
      if (rules.length > 0)
        return `control value ${formatU64Hex(f.controlLo, f.controlHi)}: ${rules.join("; ")}`;
      return `a fast call carries at most ${FAST_INPUT_MAX_BYTES} input bytes in RDX and R8; this ${row.name} needs ${f.inputSize}`;
    }
    case GenericStep.Privilege: {
      const bit = row.requiredPrivilege;
      const name =
        PARTITION_PRIVILEGE_NAMES.find((n) => PartitionPrivilegeBit[n] === bit) ??
        `privilege bit ${bit}`;
      const mask = formatU64Hex(t.privilegeLo[f.callerSlot]!, t.privilegeHi[f.callerSlot]!);
      return `partition ${t.partitionId[f.callerSlot]} lacks ${name} (privilege mask bit ${bit}); its mask is ${mask}`;
    }
    default:
      return fetchWhy(dispatcher);
  }
}

/** Step 4: which block at which GPA could not be used, and why. */
function fetchWhy(dispatcher: Dispatcher): string {
  const f = dispatcher.frame;
  const memory = dispatcher.machine.memory[f.callerSlot]!;
  const partition = dispatcher.machine.tables.partitionId[f.callerSlot];
  const blocks: [string, number, number, number][] = [["input", f.inputSize, f.rdxLo, f.rdxHi]];
  if (f.outputSize !== 0) blocks.push(["output", f.outputSize, f.r8Lo, f.r8Hi]);
  for (const [what, size, lo, hi] of blocks) {
    const gpa = gpaText(lo, hi);
    if ((lo & (HYPERCALL_INPUT_ALIGNMENT - 1)) !== 0) {
      return `the ${what} GPA ${gpa} is not ${HYPERCALL_INPUT_ALIGNMENT}-byte aligned`;
    }
    if ((lo & HV_PAGE_OFFSET_MASK) + size > HV_PAGE_SIZE) {
      return `the ${size}-byte ${what} block at ${gpa} crosses into the next 4 KiB page`;
    }
    if (memory.pageAt(lo, hi) === undefined) {
      return `the ${what} GPA ${gpa} is not backed in partition ${partition} (neither RAM nor an overlay page)`;
    }
  }
  return "the input and output blocks were fetched";
}
