/**
 * A test-only rep hypercall with a variable header and an output list, for the generic layer's rep
 * rules (the "one handler contract"): its row declares `kind: "rep"`, `variableHeaderAllowed`, an
 * 8-byte input header, an 8-byte rep input element and an 8-byte output element, and its execute
 * processes elements frame.repStart .. frame.repCount - 1, writing one output element per rep it
 * completes. An element whose value equals the header's FailValue fails the call with
 * INVALID_PARAMETER, reps completed = that element's index.
 *
 * Memory input at RDX: header | variable header (8 bytes per unit, ignored) | element 0 .. n-1.
 * Output at R8: element i's output at R8 + 8 i (only the completed ones are written).
 *
 * `repOutputFastRow` is the same call behind another code with fast input allowed and no output
 * (a fast call has no output block): 16 bytes at most, so rep count 1 only.
 */
import { BlockLayout } from "../../../src/abi/block-layout.js";
import { HvStatus } from "../../../src/abi/hv-status.js";
import { packOutcome } from "../../../src/abi/hypercall-result.js";
import { PartitionPrivilegeBit } from "../../../src/abi/partition-privilege.js";
import type { HypercallFrame } from "../../../src/dispatch/hypercall-frame.js";
import type { HypercallRow, Machine } from "../../../src/index.js";

/** Not TLFS call codes, and not the other test rows' (test-handler.ts: 0x7E51). */
export const REP_CALL_CODE = 0x7e52;
export const REP_FAST_CALL_CODE = 0x7e54;

export const REP_HEADER = new BlockLayout("HvCallTestRepOutput header", 8, [
  { name: "failValue", label: "FailValue", offset: 0, type: "u32" },
  { name: "addend", label: "Addend", offset: 4, type: "u32" },
]);
export const REP_ELEMENT = new BlockLayout("HvCallTestRepOutput element", 8, [
  { name: "value", label: "Value", offset: 0, type: "u32" },
  { name: "rsvdZ", label: "RsvdZ", offset: 4, type: "u32", reservedZero: true },
]);
export const REP_OUTPUT = new BlockLayout("HvCallTestRepOutput output element", 8, [
  { name: "sum", label: "Value + Addend", offset: 0, type: "u32" },
  { name: "index", label: "Rep index", offset: 4, type: "u32" },
]);

/** The call's own steps: 5 an element failed, 6 every element done. */
export const RepStep = { Element: 5, Done: 6 } as const;

/** What one call saw (for the tests), pushed by execute. */
export interface RepCall {
  readonly callCode: number;
  readonly repStart: number;
  readonly repCount: number;
  readonly variableHeaderBytes: number;
  readonly inputSize: number;
  readonly outputSize: number;
  /** The element values at the indexes the call processed, in order. */
  readonly values: readonly number[];
}

export const repCalls: RepCall[] = [];

const HEADER_WORDS = REP_HEADER.size / 4;
const ELEMENT_WORDS = REP_ELEMENT.size / 4;
const OUTPUT_WORDS = REP_OUTPUT.size / 4;
const FAIL_WORD = REP_HEADER.word("failValue").word;
const ADDEND_WORD = REP_HEADER.word("addend").word;

function execute(_machine: Machine, f: HypercallFrame): number {
  const input = f.input;
  const failValue = input[FAIL_WORD]!;
  const addend = input[ADDEND_WORD]!;
  // The list starts after the header and the variable header.
  const list = HEADER_WORDS + f.variableHeaderBytes / 4;
  const values: number[] = [];
  let outcome = packOutcome(HvStatus.SUCCESS, f.repCount);
  f.step = RepStep.Done;
  for (let i = f.repStart; i < f.repCount; i++) {
    const value = input[list + i * ELEMENT_WORDS]!;
    values.push(value);
    if (value === failValue) {
      f.step = RepStep.Element;
      f.note = i;
      outcome = packOutcome(HvStatus.INVALID_PARAMETER, i);
      break;
    }
    f.output[i * OUTPUT_WORDS] = (value + addend) >>> 0;
    f.output[i * OUTPUT_WORDS + 1] = i;
  }
  repCalls.push({
    callCode: f.controlLo & 0xffff,
    repStart: f.repStart,
    repCount: f.repCount,
    variableHeaderBytes: f.variableHeaderBytes,
    inputSize: f.inputSize,
    outputSize: f.outputSize,
    values,
  });
  return outcome;
}

function explain(_machine: Machine, f: HypercallFrame): string {
  if (f.step === RepStep.Element) {
    return `element ${f.note} has the FailValue 0x${(f.input[FAIL_WORD]! >>> 0).toString(16)}`;
  }
  return `elements ${f.repStart}..${f.repCount - 1} done`;
}

export const repOutputRow: HypercallRow = {
  callCode: REP_CALL_CODE,
  name: "HvCallTestRepOutput",
  description: "a test-only rep call with a variable header and an output list",
  kind: "rep",
  variableHeaderAllowed: true,
  fastAllowed: false,
  requiredPrivilege: PartitionPrivilegeBit.CreatePort,
  input: REP_HEADER,
  repInput: REP_ELEMENT,
  output: REP_OUTPUT,
  checkFamily: "test-rep",
  successStep: RepStep.Done,
  execute,
  explain,
};

/** The same call with fast input allowed (and so without an output list). */
export const repOutputFastRow: HypercallRow = {
  ...repOutputRow,
  callCode: REP_FAST_CALL_CODE,
  name: "HvCallTestRepFast",
  fastAllowed: true,
  output: undefined,
};
