import type { Machine } from "../state/machine.js";

/**
 * One row of the dispatcher's table: what the generic layer must check for a call code before it
 * hands the input to the handler, and the handler itself.
 *
 * The generic layer checks, in order (signal-event spec §6): the call code is registered; the control
 * value sets only the fields this row allows; the caller holds `requiredPrivilege`; a memory input is
 * aligned, inside one page and backed. Only then does it call `execute`.
 */
export interface HypercallHandler<TInput = unknown> {
  readonly callCode: number;
  /** The TLFS name, e.g. "HvCallSignalEvent". */
  readonly name: string;
  /** A simple call has rep count and rep start index 0; a rep call may set them. */
  readonly kind: "simple" | "rep";
  readonly variableHeaderAllowed: boolean;
  readonly fastAllowed: boolean;
  /** Size in bytes of the fixed input block (a multiple of 8). */
  readonly inputSize: number;
  /** HV_PARTITION_PRIVILEGE_MASK bit number the caller must hold (PartitionPrivilegeBit). */
  readonly requiredPrivilege: number;

  /**
   * The hot path: runs the call on its input block, given as `inputSize / 4` little-endian u32
   * words at the start of `input`. Returns the HV_STATUS. Must change no state unless it returns
   * SUCCESS, must not allocate, must not throw for any input.
   */
  execute(machine: Machine, callerSlot: number, vpSlot: number, input: Uint32Array): number;

  /** Decodes the input block by its documented layout (binary-parser). Total: never throws. */
  decodeInput(bytes: Uint8Array): TInput | undefined;

  /** Runs the call on a decoded input block; must agree with `execute` on the same bytes. */
  executeDecoded(machine: Machine, callerSlot: number, vpSlot: number, input: TInput): number;
}
