import { Parser } from "binary-parser";

/**
 * HvCallSignalEvent input block (TLFS "HvCallSignalEvent" > "Input Parameters"), 8 bytes,
 * little-endian:
 *
 * | offset | size | field        |
 * |--------|------|--------------|
 * | 0      | 4    | ConnectionId |
 * | 4      | 2    | FlagNumber   |
 * | 6      | 2    | RsvdZ        |
 */
export const SIGNAL_EVENT_INPUT_SIZE = 8;
export const SIGNAL_EVENT_CONNECTION_ID_OFFSET = 0;
export const SIGNAL_EVENT_FLAG_NUMBER_OFFSET = 4;
export const SIGNAL_EVENT_RSVDZ_OFFSET = 6;

export interface SignalEventInput {
  /** Raw HV_CONNECTION_ID, all 32 bits (bits 31:24 must be zero). */
  readonly connectionId: number;
  readonly flagNumber: number;
  readonly rsvdZ: number;
}

export type SignalEventInputDecode =
  | { readonly ok: true; readonly input: SignalEventInput }
  | { readonly ok: false; readonly error: "short-input"; readonly length: number };

/** The layout, by offset, exactly as the TLFS table gives it. */
const signalEventInputParser = new Parser()
  .endianness("little")
  .uint32("connectionId")
  .uint16("flagNumber")
  .uint16("rsvdZ");

if (signalEventInputParser.sizeOf() !== SIGNAL_EVENT_INPUT_SIZE) {
  throw new Error("SignalEvent input parser does not describe 8 bytes");
}

/**
 * Decodes the first 8 bytes of `bytes` (from `offset`). Total: any byte array of any length gives
 * a result; fewer than 8 bytes gives `short-input`, never an exception. Bytes after the block are
 * ignored.
 */
export function decodeSignalEventInput(bytes: Uint8Array, offset = 0): SignalEventInputDecode {
  const available = bytes.length - offset;
  if (!(offset >= 0 && available >= SIGNAL_EVENT_INPUT_SIZE)) {
    return { ok: false, error: "short-input", length: Math.max(0, available) };
  }
  // The parser reads the first 8 bytes of what it is given: a view is needed only at an offset.
  const block = offset === 0 ? bytes : bytes.subarray(offset, offset + SIGNAL_EVENT_INPUT_SIZE);
  const parsed: unknown = signalEventInputParser.parse(block);
  return { ok: true, input: parsed as SignalEventInput };
}

/** Encodes the block; each field is truncated to its width. */
export function encodeSignalEventInput(input: SignalEventInput): Uint8Array {
  const out = new Uint8Array(SIGNAL_EVENT_INPUT_SIZE);
  const view = new DataView(out.buffer);
  view.setUint32(SIGNAL_EVENT_CONNECTION_ID_OFFSET, input.connectionId >>> 0, true);
  view.setUint16(SIGNAL_EVENT_FLAG_NUMBER_OFFSET, input.flagNumber & 0xffff, true);
  view.setUint16(SIGNAL_EVENT_RSVDZ_OFFSET, input.rsvdZ & 0xffff, true);
  return out;
}

/**
 * The same block read from the two u32 halves of a fast-call input register (RDX on x64): the
 * ConnectionId is the low half, FlagNumber bits 47:32, RsvdZ bits 63:48.
 */
export function signalEventInputFromRegister(lo: number, hi: number): SignalEventInput {
  return { connectionId: lo >>> 0, flagNumber: hi & 0xffff, rsvdZ: hi >>> 16 };
}
