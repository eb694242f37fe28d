import { HvStatus, hvStatusName } from "../abi/hv-status.js";
import { resultHi, resultLo } from "../abi/hypercall-result.js";
import { halvesToU64, u64Hi, u64Lo } from "../abi/u64.js";
import type { Dispatcher } from "./dispatcher.js";

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
  /** R8: the second input register of a fast call (default 0). */
  readonly input2?: bigint;
}

export interface HypercallOutcome {
  /** HV_STATUS. */
  readonly status: number;
  /** "HV_STATUS_SUCCESS", ... */
  readonly statusName: string;
  /** The 64-bit result value (RAX). */
  readonly result: bigint;
  readonly resultLo: number;
  readonly resultHi: number;
  /**
   * The input block decoded by its documented layout; undefined when the call did not get as far
   * as fetching it.
   */
  readonly input: unknown;
}

/**
 * The per-call library API: one hypercall with BigInt register values. The input block is decoded
 * with the handler's binary-parser layout and the handler runs on the decoded fields. Throws
 * RangeError only for host misuse (an unknown caller partition or VP); every guest value gets a
 * status.
 */
export function hypercall(dispatcher: Dispatcher, request: HypercallRequest): HypercallOutcome {
  const machine = dispatcher.machine;
  const callerSlot = machine.requirePartition(request.caller);
  const vpSlot = machine.requireVp(request.caller, request.vp ?? 0);
  const controlLo = u64Lo(request.control);
  let status = dispatcher.checkControl(callerSlot, controlLo, u64Hi(request.control));
  let decoded: unknown;
  const row = dispatcher.lastRow;
  if (status === HvStatus.SUCCESS && row !== undefined) {
    const input2 = request.input2 ?? 0n;
    status = dispatcher.fetchInput(
      callerSlot,
      row,
      controlLo,
      u64Lo(request.input),
      u64Hi(request.input),
      u64Lo(input2),
      u64Hi(input2),
    );
    if (status === HvStatus.SUCCESS) {
      const bytes = dispatcher.inputBytes.subarray(0, row.handler.inputSize);
      decoded = row.handler.decodeInput(bytes);
      status =
        decoded === undefined
          ? row.handler.execute(machine, callerSlot, vpSlot, dispatcher.inputWords)
          : row.handler.executeDecoded(machine, callerSlot, vpSlot, decoded);
    }
  }
  const lo = resultLo(status);
  const hi = resultHi(0);
  return {
    status,
    statusName: hvStatusName(status),
    result: halvesToU64(lo, hi),
    resultLo: lo,
    resultHi: hi,
    input: decoded,
  };
}
