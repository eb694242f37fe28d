import type { BlockLayout } from "../abi/block-layout.js";
import type { Machine } from "../state/machine.js";
import type { HypercallFrame } from "./hypercall-frame.js";

/**
 * The contract of one hypercall: everything the generic layer, the CLI and the tests need to know
 * about it, declared once in the call's handler file (docs/hypercall-abi.md §6). Adding a hypercall
 * is that file plus one row in handler-table.ts.
 *
 * The generic layer runs steps 1-4 for every row — call code, control value (the fields this row
 * allows; for a rep call rep count ≥ 1 and rep start < rep count; a fast call's input within 16
 * bytes), the caller's privilege, input and output fetch — and only then calls `execute`.
 */
export interface HypercallRow {
  readonly callCode: number;
  /** The TLFS name, e.g. "HvCallSignalEvent". */
  readonly name: string;
  /** One line for the CLI (`hvcall decode`, help texts). */
  readonly description: string;
  /** A simple call has rep count and rep start index 0; a rep call processes a list. */
  readonly kind: "simple" | "rep";
  readonly variableHeaderAllowed: boolean;
  readonly fastAllowed: boolean;
  /** HV_PARTITION_PRIVILEGE_MASK bit the caller must hold (PartitionPrivilegeBit). */
  readonly requiredPrivilege: number;
  /** The fixed input block (a rep call's header). */
  readonly input: BlockLayout;
  /** A rep call's input list element. */
  readonly repInput?: BlockLayout;
  /** The output block: for a simple call the whole block, for a rep call one list element. */
  readonly output?: BlockLayout;
  /**
   * The name of the call's own steps in explanations (`signal-event` -> "signal-event.7"); steps
   * 1-4 are always "generic.N".
   */
  readonly checkFamily: string;
  /** The step a SUCCESS reports (the last of the call's order). */
  readonly successStep: number;

  /**
   * The hot path: runs the call on the fetched input in `frame` (header, variable header, rep
   * list, as u32 words from frame.input[0]), writes any output into frame.output, sets
   * `frame.step` to the step that decided and returns the outcome: status | reps completed << 16
   * (packOutcome; for a simple call the status itself). Must change no state unless it succeeds
   * (a rep call: beyond the elements it completed), must not allocate, must not throw.
   */
  execute(machine: Machine, frame: HypercallFrame): number;

  /**
   * One sentence naming the values behind the call's own step `frame.step` (steps 5 and on),
   * right after the call ran. Not on the hot path.
   */
  explain?(machine: Machine, frame: HypercallFrame, outcome: number): string;
}
