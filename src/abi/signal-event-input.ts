import { BlockLayout } from "./block-layout.js";
import { HV_CONNECTION_ID } from "./connection-id.js";

/**
 * HvCallSignalEvent input block (TLFS "HvCallSignalEvent" > "Input Parameters";
 * docs/signal-event.md §2): 8 bytes, little-endian. A fast call carries it in RDX: ConnectionId in
 * bits 31:0, FlagNumber in bits 47:32, RsvdZ in bits 63:48.
 */
export const SIGNAL_EVENT_INPUT = new BlockLayout("HvCallSignalEvent input", 8, [
  { name: "connectionId", label: "ConnectionId", offset: 0, type: "u32", bits: HV_CONNECTION_ID },
  { name: "flagNumber", label: "FlagNumber", offset: 4, type: "u16" },
  { name: "rsvdZ", label: "RsvdZ", offset: 6, type: "u16", reservedZero: true },
]);

export const SIGNAL_EVENT_INPUT_SIZE = SIGNAL_EVENT_INPUT.size;

/** The hot path's view of the block: u32 word, shift and mask of each field. */
export const SIGNAL_EVENT_CONNECTION_ID = SIGNAL_EVENT_INPUT.word("connectionId");
export const SIGNAL_EVENT_FLAG_NUMBER = SIGNAL_EVENT_INPUT.word("flagNumber");
export const SIGNAL_EVENT_RSVDZ = SIGNAL_EVENT_INPUT.word("rsvdZ");

export interface SignalEventInput {
  /** Raw HV_CONNECTION_ID, all 32 bits (bits 31:24 must be zero). */
  readonly connectionId: number;
  readonly flagNumber: number;
  readonly rsvdZ: number;
}

/** Decodes the block (binary-parser); undefined when fewer than 8 bytes are given. Never throws. */
export function decodeSignalEventInput(
  bytes: Uint8Array,
  offset = 0,
): SignalEventInput | undefined {
  return SIGNAL_EVENT_INPUT.decode(bytes, offset) as SignalEventInput | undefined;
}

export function encodeSignalEventInput(input: SignalEventInput): Uint8Array {
  return SIGNAL_EVENT_INPUT.encode({ ...input });
}
