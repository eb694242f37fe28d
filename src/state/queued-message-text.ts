import {
  HV_MESSAGE_HEADER_SIZE,
  HV_MESSAGE_PAYLOAD_MAX,
  HV_MESSAGE_TYPE_HYPERVISOR_BIT,
  MESSAGE_FLAGS_OFFSET,
  MESSAGE_ORIGINATION_ID_OFFSET,
  MESSAGE_PAYLOAD_SIZE_OFFSET,
  MESSAGE_TYPE_OFFSET,
} from "../abi/hv-message.js";

/**
 * How a dump writes a message that waits in a queue (docs/cli.md, dump fields `messageQueues`):
 * its HV_MESSAGE as it will be delivered, header and the PayloadSize payload bytes (the zeros after
 * them left out), as hex. The header says everything: MessageType, PayloadSize, MessageFlags 0, and
 * OriginationId = the id of the port whose buffer it holds.
 */
export interface QueuedMessageSpec {
  readonly portId: number;
  readonly messageType: number;
  readonly payload: Uint8Array;
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})+$/;

/** Reads a queued message; a string is the reason it is not one. */
export function queuedMessageOf(hex: string): QueuedMessageSpec | string {
  if (!HEX_RE.test(hex)) return "not hex bytes (two hex digits a byte)";
  const bytes = Buffer.from(hex, "hex");
  if (bytes.length < HV_MESSAGE_HEADER_SIZE) {
    return `${bytes.length} bytes: a queued message is its ${HV_MESSAGE_HEADER_SIZE}-byte HV_MESSAGE header and payload`;
  }
  const type = bytes.readUInt32LE(MESSAGE_TYPE_OFFSET);
  const size = bytes[MESSAGE_PAYLOAD_SIZE_OFFSET]!;
  if (type === 0 || (type & HV_MESSAGE_TYPE_HYPERVISOR_BIT) !== 0) {
    return `MessageType 0x${type.toString(16)} is not a type a guest can post (not 0, bit 31 clear)`;
  }
  if (size > HV_MESSAGE_PAYLOAD_MAX)
    return `PayloadSize ${size} is more than ${HV_MESSAGE_PAYLOAD_MAX}`;
  if (bytes.length !== HV_MESSAGE_HEADER_SIZE + size) {
    return `${bytes.length} bytes, but the header's PayloadSize ${size} makes it ${HV_MESSAGE_HEADER_SIZE + size}`;
  }
  // MessageFlags (byte 5), the two reserved bytes (6..7) and OriginationId bits 63:32 (12..15).
  if (
    bytes[MESSAGE_FLAGS_OFFSET] !== 0 ||
    bytes.readUInt16LE(MESSAGE_FLAGS_OFFSET + 1) !== 0 ||
    bytes.readUInt32LE(MESSAGE_ORIGINATION_ID_OFFSET + 4) !== 0
  ) {
    return "MessageFlags, the reserved bytes and OriginationId bits 63:32 of a queued message are 0";
  }
  return {
    portId: bytes.readUInt32LE(MESSAGE_ORIGINATION_ID_OFFSET),
    messageType: type,
    payload: new Uint8Array(bytes.subarray(HV_MESSAGE_HEADER_SIZE)),
  };
}

/** The dump text of a queued message record (256 bytes). */
export function queuedMessageText(record: Uint8Array): string {
  const size = record[MESSAGE_PAYLOAD_SIZE_OFFSET]!;
  return Buffer.from(record.subarray(0, HV_MESSAGE_HEADER_SIZE + size)).toString("hex");
}
