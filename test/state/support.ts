/**
 * Helpers for the state tests: scenario JSON in the CLI contract's file format, loading it, and
 * running HvCallSignalEvent and HvCallPostMessage through the public dispatcher API.
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

/** The control value of HvCallPostMessage: a memory call (post-message.md §1). */
export const POST_MESSAGE = BigInt(HvCallCode.PostMessage);

export interface PostedMessage {
  readonly connectionId: number;
  readonly messageType?: number;
  /** The payload bytes; PayloadSize is their length unless `payloadSize` says otherwise. */
  readonly payload?: Uint8Array;
  readonly payloadSize?: number;
  readonly rsvdZ?: number;
}

/**
 * The 256-byte HvCallPostMessage input block, laid out by hand from post-message.md §2:
 * ConnectionId at 0, RsvdZ at 4, MessageType at 8, PayloadSize at 12, the payload from 16.
 */
export function postMessageBlock(m: PostedMessage): Uint8Array {
  const block = new Uint8Array(256);
  const view = new DataView(block.buffer);
  const payload = m.payload ?? new Uint8Array(0);
  view.setUint32(0, m.connectionId >>> 0, true);
  view.setUint32(4, (m.rsvdZ ?? 0) >>> 0, true);
  view.setUint32(8, (m.messageType ?? 1) >>> 0, true);
  view.setUint32(12, (m.payloadSize ?? payload.length) >>> 0, true);
  block.set(payload.subarray(0, 240), 16);
  return block;
}

/**
 * One HvCallPostMessage: the input block is written into the caller's guest memory at `gpa` with
 * a guest write (which must succeed), then the memory call runs with RDX = gpa. Returns the status.
 */
export function post(
  dispatcher: Dispatcher,
  caller: number,
  gpa: bigint,
  message: PostedMessage,
  vp = 0,
): number {
  expect(dispatcher.machine.guestWrite(caller, gpa, postMessageBlock(message))).toBe("ok");
  return postAgain(dispatcher, caller, gpa, vp);
}

/** HvCallPostMessage of the block already at `gpa` (a snapshot may be taken in between). */
export function postAgain(dispatcher: Dispatcher, caller: number, gpa: bigint, vp = 0): number {
  return hypercall(dispatcher, { caller, vp, control: POST_MESSAGE, input: gpa }).status;
}

/** The bytes of a string, for payloads. */
export function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
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
