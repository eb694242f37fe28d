/**
 * A test-only simple hypercall with a 16-byte input block and fast input allowed: a fast call
 * carries bytes 0..7 in RDX and bytes 8..15 in R8 (TLFS "Register Mapping for Hypercall Inputs").
 * It records the bytes it got and succeeds; it changes no state.
 */
import { BlockLayout } from "../../../src/abi/block-layout.js";
import { HvStatus } from "../../../src/abi/hv-status.js";
import { PartitionPrivilegeBit } from "../../../src/abi/partition-privilege.js";
import type { HypercallFrame } from "../../../src/dispatch/hypercall-frame.js";
import type { HypercallRow, Machine } from "../../../src/index.js";

export const FAST16_CALL_CODE = 0x7e53;

export const FAST16_INPUT = new BlockLayout("HvCallTestFast16 input", 16, [
  { name: "first", label: "First", offset: 0, type: "u64" },
  { name: "second", label: "Second", offset: 8, type: "u64" },
]);

/** The input bytes of every call the row executed, in order. */
export const fast16Calls: Uint8Array[] = [];

export const FAST16_STEP = 5;

export const fast16Row: HypercallRow = {
  callCode: FAST16_CALL_CODE,
  name: "HvCallTestFast16",
  description: "a test-only call with 16 input bytes (RDX and R8 when fast)",
  kind: "simple",
  variableHeaderAllowed: false,
  fastAllowed: true,
  requiredPrivilege: PartitionPrivilegeBit.ConnectPort,
  input: FAST16_INPUT,
  checkFamily: "test-fast16",
  successStep: FAST16_STEP,
  execute(_machine: Machine, f: HypercallFrame): number {
    fast16Calls.push(f.inputBytes.slice(0, FAST16_INPUT.size));
    f.step = FAST16_STEP;
    return HvStatus.SUCCESS;
  },
};
