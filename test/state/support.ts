/**
 * Helpers for the state tests: scenario JSON in the CLI contract's file format, loading it, and
 * running HvCallSignalEvent through the public dispatcher API.
 */
import { expect } from "vitest";
import { HvCallCode } from "../../src/abi/call-code.js";
import { CONTROL_FAST_BIT } from "../../src/abi/hypercall-control.js";
import { Dispatcher } from "../../src/dispatch/dispatcher.js";
import { hypercall } from "../../src/dispatch/hypercall.js";
import { loadMachine } from "../../src/state/load-machine.js";
import type { Machine } from "../../src/state/machine.js";
import { parseScenario } from "../../src/state/scenario-schema.js";

export type Json = Record<string, unknown>;

/** Parses (validates) and loads a scenario file's JSON. */
export function load(json: unknown, shared = false): Machine {
  return loadMachine(parseScenario(json), { shared });
}

/** The control value of a fast HvCallSignalEvent, as Linux issues it. */
export const FAST_SIGNAL_EVENT = BigInt(HvCallCode.SignalEvent | CONTROL_FAST_BIT);

/** RDX of a fast SignalEvent: ConnectionId in bits 31:0, FlagNumber in bits 47:32. */
export function fastInput(connectionId: number, flagNumber: number): bigint {
  return BigInt(connectionId >>> 0) | (BigInt(flagNumber & 0xffff) << 32n);
}

/** One fast SignalEvent through hypercall(); returns the HV_STATUS. */
export function signal(
  dispatcher: Dispatcher,
  caller: number,
  connectionId: number,
  flagNumber: number,
  vp = 0,
): number {
  return hypercall(dispatcher, {
    caller,
    vp,
    control: FAST_SIGNAL_EVENT,
    input: fastInput(connectionId, flagNumber),
  }).status;
}

export function dispatcherFor(machine: Machine): Dispatcher {
  return new Dispatcher(machine);
}

/** Asserts that `fn` throws a RangeError whose one-line message contains every one of `words`. */
export function expectRangeError(fn: () => unknown, ...words: string[]): RangeError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(RangeError);
  const error = thrown as RangeError;
  expect(error.message).not.toMatch(/[\r\n]/);
  for (const word of words) expect(error.message).toContain(word);
  return error;
}

/** `0x` and minimal lowercase hex, the form a dump writes register values in. */
export function hex(value: bigint | number): string {
  return `0x${BigInt(value).toString(16)}`;
}
