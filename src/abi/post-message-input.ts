import { BlockLayout } from "./block-layout.js";
import { HV_CONNECTION_ID } from "./connection-id.js";
import { HV_MESSAGE_PAYLOAD_MAX } from "./hv-message.js";

/**
 * HvCallPostMessage input block (TLFS "HvCallPostMessage" > "Input Parameters";
 * docs/post-message.md §2): 256 bytes, little-endian, memory input only.
 */
export const POST_MESSAGE_INPUT = new BlockLayout("HvCallPostMessage input", 256, [
  { name: "connectionId", label: "ConnectionId", offset: 0, type: "u32", bits: HV_CONNECTION_ID },
  // TLFS 6.0b calls it "Padding"; hvcall requires it to be zero (docs/post-message.md §2).
  { name: "rsvdZ", label: "RsvdZ", offset: 4, type: "u32", reservedZero: true },
  { name: "messageType", label: "MessageType", offset: 8, type: "u32" },
  { name: "payloadSize", label: "PayloadSize", offset: 12, type: "u32" },
  { name: "payload", label: "Message", offset: 16, type: "bytes", length: HV_MESSAGE_PAYLOAD_MAX },
]);

export const POST_MESSAGE_INPUT_SIZE = POST_MESSAGE_INPUT.size;
export const POST_MESSAGE_CONNECTION_ID = POST_MESSAGE_INPUT.word("connectionId");
export const POST_MESSAGE_RSVDZ = POST_MESSAGE_INPUT.word("rsvdZ");
export const POST_MESSAGE_TYPE = POST_MESSAGE_INPUT.word("messageType");
export const POST_MESSAGE_PAYLOAD_SIZE = POST_MESSAGE_INPUT.word("payloadSize");
/** Byte offset of the payload in the input block. */
export const POST_MESSAGE_PAYLOAD_OFFSET = POST_MESSAGE_INPUT.field("payload").offset;

export interface PostMessageInput {
  readonly connectionId: number;
  readonly rsvdZ: number;
  readonly messageType: number;
  readonly payloadSize: number;
  readonly payload: Uint8Array;
}

export function decodePostMessageInput(
  bytes: Uint8Array,
  offset = 0,
): PostMessageInput | undefined {
  return POST_MESSAGE_INPUT.decode(bytes, offset) as PostMessageInput | undefined;
}

export function encodePostMessageInput(input: Partial<PostMessageInput>): Uint8Array {
  return POST_MESSAGE_INPUT.encode({ ...input });
}
