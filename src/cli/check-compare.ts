/**
 * How `hvcall check` compares one observed result with hvcall's (docs/cli.md §7): a hypercall by
 * its 64-bit result value, explained when they differ; a guest action by the fields its line gives.
 */
import { hvStatusName } from "../abi/hv-status.js";
import { RESULT_STATUS_MASK } from "../abi/hypercall-result.js";
import { formatU64Hex } from "../abi/u64.js";
import type { Dispatcher } from "../dispatch/dispatcher.js";
import { explainLastCall } from "../dispatch/explain.js";
import { parseU64Hex } from "../text/hex-text.js";
import type { TraceResult } from "../trace/trace-engine.js";
import { anOp, type TraceOp, TraceOpCode } from "../trace/trace-op.js";
import { traceResultLine } from "../trace/trace-output.js";
import type { CheckSummary } from "./check-summary.js";
import { type Observed, ObservedError } from "./observed-reader.js";

function expectedPart(lo: number, hi: number): string {
  return `{"status":"${hvStatusName(lo & RESULT_STATUS_MASK)}","result":"${formatU64Hex(lo, hi)}"}`;
}

/** The observed side, its status named from the result (a line's own status agrees with it). */
function observedPart(o: Observed): string {
  return expectedPart(o.resultLo, o.resultHi);
}

/**
 * A hypercall whose observed result differs: counted, and its line — hvcall's result explained by
 * the call the dispatcher just ran. `opField` is `"op":"hypercall",` for a trace, "" for records.
 */
export async function callDisagrees(
  index: number,
  opField: string,
  lo: number,
  hi: number,
  o: Observed,
  dispatcher: Dispatcher,
  summary: CheckSummary,
  emit: (line: string) => Promise<void>,
): Promise<void> {
  const e = explainLastCall(dispatcher);
  summary.disagree(
    hvStatusName(lo & RESULT_STATUS_MASK),
    hvStatusName(o.resultLo & RESULT_STATUS_MASK),
    e.check,
    index,
  );
  await emit(
    `{"index":${index},${opField}"expected":${expectedPart(lo, hi)},"observed":${observedPart(o)},"check":"${e.check}","why":${JSON.stringify(e.why)}}\n`,
  );
}

/**
 * True when an observed result value differs from hvcall's. A line's `status` names the same
 * bits (the reader refuses one that contradicts its result), so the value decides.
 */
export function resultDisagrees(o: Observed, lo: number, hi: number): boolean {
  return o.resultLo !== lo || o.resultHi !== hi;
}

export async function compareOp(
  op: TraceOp,
  result: TraceResult,
  o: Observed,
  index: number,
  dispatcher: Dispatcher,
  summary: CheckSummary,
  emit: (line: string) => Promise<void>,
  where: string,
): Promise<void> {
  const name = op.name;
  if (o.op !== undefined && o.op !== name) {
    throw new ObservedError(
      `${where}: op: ${JSON.stringify(o.op)}, but op ${index} of the trace is ${anOp(name)} (the results follow the trace's ops one to one)`,
    );
  }
  if (op.code !== TraceOpCode.hypercall && o.resultGiven) {
    throw new ObservedError(
      `${where}: result: op ${index} is ${anOp(name)}, which has no result value (only hypercall ops do; ${anOp(name)} line gives its outcome)`,
    );
  }
  const misplaced = misplacedField(op.code, o);
  if (misplaced !== undefined) {
    throw new ObservedError(
      `${where}: ${misplaced}: op ${index} is ${anOp(name)}, whose line has no ${misplaced} (the fields follow \`run\`'s output)`,
    );
  }
  if (op.code === TraceOpCode.hypercall) {
    if (!o.resultGiven)
      throw new ObservedError(`${where}: result: missing for hypercall op ${index}`);
    const lo = result.resultLo;
    const hi = result.resultHi;
    if (!resultDisagrees(o, lo, hi)) return summary.agree();
    await callDisagrees(index, `"op":"hypercall",`, lo, hi, o, dispatcher, summary, emit);
    return;
  }
  // A guest action: compared on the fields the observed line gives.
  const line = JSON.parse(traceResultLine(index, result, false)) as Record<string, string>;
  const wrong = (["outcome", "hex", "value"] as const).filter(
    (k) => o[k] !== undefined && !sameActionField(k, o[k], line[k]),
  );
  if (wrong.length === 0) return summary.agree();
  const expected = Object.fromEntries(wrong.map((k) => [k, line[k] ?? null]));
  const observed = Object.fromEntries(wrong.map((k) => [k, o[k]]));
  summary.disagree(
    `${line.op} ${line.outcome}`,
    `${line.op} ${o.outcome ?? line.outcome}`,
    "guest-action",
    index,
  );
  await emit(`${JSON.stringify({ index, op: line.op, expected, observed })}\n`);
}

/**
 * Guest-action fields compare as what they mean: `hex` bytes in either case, an MSR `value` as a
 * number (leading zeros and case aside); `outcome` exactly.
 */
function sameActionField(
  key: "outcome" | "hex" | "value",
  observed: string,
  expected: string | undefined,
): boolean {
  if (expected === undefined) return false;
  if (key === "hex") return observed.toLowerCase() === expected.toLowerCase();
  if (key === "value") {
    const v = parseU64Hex(observed);
    return v !== undefined && v === parseU64Hex(expected);
  }
  return observed === expected;
}

/**
 * A field the op's output line never has: `outcome` on a hypercall, `hex` off a read, `value`
 * off an rdmsr. (Comparing it would report a disagreement with nothing.)
 */
function misplacedField(code: number, o: Observed): string | undefined {
  if (code === TraceOpCode.hypercall && o.outcome !== undefined) return "outcome";
  if (code !== TraceOpCode.read && o.hex !== undefined) return "hex";
  if (code !== TraceOpCode.rdmsr && o.value !== undefined) return "value";
  return undefined;
}
