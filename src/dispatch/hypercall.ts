import { hvStatusName } from "../abi/hv-status.js";
import { outcomeReps, outcomeStatus, resultHi, resultLo } from "../abi/hypercall-result.js";
import { halvesToU64, u64Hi, u64Lo } from "../abi/u64.js";
import { requireU64 } from "../state/host-checks.js";
import { Dispatcher } from "./dispatcher.js";
import { explainLastCall } from "./explain.js";

/** One hypercall as an emulator sees it at a VM exit. */
export interface HypercallRequest {
  /** The calling partition's HV_PARTITION_ID. */
  readonly caller: number;
  /** The calling VP's HV_VP_INDEX (default 0). */
  readonly vp?: number;
  /** The control (input) value, RCX. */
  readonly control: bigint;
  /** RDX: the input block itself for a fast call, the input GPA for a memory call. */
  readonly input: bigint;
  /** R8: the second input register of a fast call, the output GPA of a memory call (default 0). */
  readonly input2?: bigint;
}

export interface HypercallOptions {
  /** Also say which step decided and why (`check`, `why`); costs a sentence per call. */
  readonly explain?: boolean;
}

export interface HypercallOutcome {
  /** HV_STATUS. */
  readonly status: number;
  /** "HV_STATUS_SUCCESS", ... */
  readonly statusName: string;
  /** Reps completed (0 for a simple call). */
  readonly repsCompleted: number;
  /** The 64-bit result value (RAX). */
  readonly result: bigint;
  readonly resultLo: number;
  readonly resultHi: number;
  /** With `explain`: the deciding step, e.g. "signal-event.8" (docs/README.md). */
  readonly check?: string;
  /** With `explain`: one sentence naming the values involved. */
  readonly why?: string;
}

/**
 * The per-call library API: one hypercall with BigInt register values, through the same steps as
 * every other path (Dispatcher.dispatch). Throws only for host misuse — an unknown caller or VP, a
 * register value that is not a bigint in 0..2^64-1 — never for guest values.
 */
export function hypercall(
  dispatcher: Dispatcher,
  request: HypercallRequest,
  options: HypercallOptions = {},
): HypercallOutcome {
  if (!(dispatcher instanceof Dispatcher))
    throw new TypeError("hypercall: dispatcher must be a Dispatcher (new Dispatcher(machine))");
  const machine = dispatcher.machine;
  if (typeof request !== "object" || request === null)
    throw new TypeError(
      "hypercall: expected a request object { caller, vp?, control, input, input2? }",
    );
  const callerSlot = machine.requirePartition(request.caller, "caller");
  const vpSlot = machine.requireVp(request.caller, request.vp ?? 0, "vp", "caller");
  const control = requireU64(request.control, "control");
  const input = requireU64(request.input, "input");
  const input2 = request.input2 === undefined ? 0n : requireU64(request.input2, "input2");
  const outcome = dispatcher.dispatch(
    callerSlot,
    vpSlot,
    u64Lo(control),
    u64Hi(control),
    u64Lo(input),
    u64Hi(input),
    u64Lo(input2),
    u64Hi(input2),
  );
  const status = outcomeStatus(outcome);
  const lo = resultLo(outcome);
  const hi = resultHi(outcome);
  const base = {
    status,
    statusName: hvStatusName(status),
    repsCompleted: outcomeReps(outcome),
    result: halvesToU64(lo, hi),
    resultLo: lo,
    resultHi: hi,
  };
  return options.explain === true ? { ...base, ...explainLastCall(dispatcher) } : base;
}
