/**
 * A fake hypercall row for the generic-layer tests: it records every call it gets and returns
 * SUCCESS. Its call code is not a TLFS call code; everything else is configurable.
 */
import { BlockLayout, type ByteFieldSpec } from "../../../src/abi/block-layout.js";
import { HvStatus } from "../../../src/abi/hv-status.js";
import type { HypercallFrame } from "../../../src/dispatch/hypercall-frame.js";
import { type HypercallRow, type Machine, PartitionPrivilegeBit } from "../../../src/index.js";

/** Not a call code the TLFS defines (and not one the default table implements). */
export const TEST_CALL_CODE = 0x7e51;

export interface Received {
  readonly callerSlot: number;
  readonly vpSlot: number;
  /** The fixed input block as u32 words (input.size / 4 of them). */
  readonly words: readonly number[];
}

export interface TestHandler extends HypercallRow {
  readonly received: Received[];
}

export interface TestHandlerOptions {
  readonly callCode?: number;
  readonly kind?: "simple" | "rep";
  readonly variableHeaderAllowed?: boolean;
  readonly fastAllowed?: boolean;
  readonly inputSize?: number;
  readonly requiredPrivilege?: number;
  /** What a successful call does to the machine (a handler may change state when it succeeds). */
  readonly effect?: (machine: Machine) => void;
}

/** An input block of `size` bytes as u32 words w0, w1, ... */
export function wordsLayout(name: string, size: number): BlockLayout {
  const specs: ByteFieldSpec[] = Array.from({ length: Math.ceil(size / 4) }, (_, i) => ({
    name: `w${i}`,
    label: `word ${i}`,
    offset: 4 * i,
    type: "u32" as const,
  }));
  return new BlockLayout(name, size, specs);
}

/** The step a fake row reports: the first of a call's own steps. */
export const TEST_STEP = 5;

export function makeTestHandler(options: TestHandlerOptions = {}): TestHandler {
  const received: Received[] = [];
  const inputSize = options.inputSize ?? 16;
  const words = inputSize / 4;
  return {
    received,
    callCode: options.callCode ?? TEST_CALL_CODE,
    name: "HvCallTestRep",
    description: "a test-only call that records its input",
    kind: options.kind ?? "rep",
    variableHeaderAllowed: options.variableHeaderAllowed ?? true,
    fastAllowed: options.fastAllowed ?? true,
    requiredPrivilege: options.requiredPrivilege ?? PartitionPrivilegeBit.PostMessages,
    input: wordsLayout("HvCallTestRep input", inputSize),
    checkFamily: "test",
    successStep: TEST_STEP,
    execute(machine: Machine, frame: HypercallFrame): number {
      received.push({
        callerSlot: frame.callerSlot,
        vpSlot: frame.vpSlot,
        words: [...frame.input.subarray(0, words)],
      });
      options.effect?.(machine);
      frame.step = TEST_STEP;
      return HvStatus.SUCCESS;
    },
  };
}
