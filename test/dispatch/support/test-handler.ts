/**
 * A fake hypercall for the generic-layer tests: it records every call it gets and returns SUCCESS.
 * Its call code is not a TLFS call code; everything else is configurable.
 */
import {
  HvStatus,
  type HypercallHandler,
  type Machine,
  PartitionPrivilegeBit,
} from "../../../src/index.js";

/** Not a call code the TLFS defines (and not one the default table implements). */
export const TEST_CALL_CODE = 0x7e51;

export interface TestInput {
  readonly words: readonly number[];
}

export interface Received {
  readonly callerSlot: number;
  readonly vpSlot: number;
  /** The input block as u32 words (inputSize / 4 of them). */
  readonly words: readonly number[];
  readonly decoded: boolean;
}

export interface TestHandler extends HypercallHandler<TestInput> {
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

export function makeTestHandler(options: TestHandlerOptions = {}): TestHandler {
  const received: Received[] = [];
  const inputSize = options.inputSize ?? 16;
  const words = inputSize / 4;
  return {
    received,
    callCode: options.callCode ?? TEST_CALL_CODE,
    name: "HvCallTestRep",
    kind: options.kind ?? "rep",
    variableHeaderAllowed: options.variableHeaderAllowed ?? true,
    fastAllowed: options.fastAllowed ?? true,
    inputSize,
    requiredPrivilege: options.requiredPrivilege ?? PartitionPrivilegeBit.PostMessages,
    execute(machine: Machine, callerSlot: number, vpSlot: number, input: Uint32Array): number {
      received.push({ callerSlot, vpSlot, words: [...input.subarray(0, words)], decoded: false });
      options.effect?.(machine);
      return HvStatus.SUCCESS;
    },
    decodeInput(bytes: Uint8Array): TestInput | undefined {
      if (bytes.length < inputSize) return undefined;
      const view = new DataView(bytes.buffer, bytes.byteOffset, inputSize);
      return { words: Array.from({ length: words }, (_, i) => view.getUint32(4 * i, true)) };
    },
    executeDecoded(machine: Machine, callerSlot: number, vpSlot: number, input: TestInput): number {
      received.push({ callerSlot, vpSlot, words: input.words, decoded: true });
      options.effect?.(machine);
      return HvStatus.SUCCESS;
    },
  };
}
