import { BitLayout } from "./bit-layout.js";
import { BlockLayout } from "./block-layout.js";

/**
 * HV_MESSAGE (TLFS data type HV_MESSAGE; docs/synic.md §4): the 256-byte message a SIM page slot
 * holds, little-endian.
 */
export const HV_MESSAGE_SIZE = 256;
export const HV_MESSAGE_HEADER_SIZE = 16;
/** HV_MESSAGE_PAYLOAD_BYTE_COUNT: 240 bytes of payload. */
export const HV_MESSAGE_PAYLOAD_MAX = HV_MESSAGE_SIZE - HV_MESSAGE_HEADER_SIZE;
/** HvMessageTypeNone: a slot whose MessageType is 0 is empty. */
export const HV_MESSAGE_TYPE_NONE = 0;
/** Guest message buffers each port owns (TLFS "Inter-Partition Communication" > "Guest Message Buffers"). */
export const HV_MESSAGE_BUFFERS_PER_PORT = 16;
/** Message types with bit 31 set are the hypervisor's own (TLFS HV_MESSAGE_TYPE). */
export const HV_MESSAGE_TYPE_HYPERVISOR_BIT = 0x80000000;

/** HV_MESSAGE_FLAGS: bit 0 MessagePending, bits 7:1 reserved. */
export const HV_MESSAGE_FLAGS = new BitLayout("HV_MESSAGE_FLAGS", 8, {
  messagePending: { lsb: 0, width: 1, kind: "flag", label: "MessagePending" },
  reserved: { lsb: 1, width: 7, kind: "reserved-zero", label: "Reserved" },
});
export const MESSAGE_PENDING_BIT = HV_MESSAGE_FLAGS.fields.messagePending.inPlace;

export const HV_MESSAGE = new BlockLayout("HV_MESSAGE", HV_MESSAGE_SIZE, [
  { name: "messageType", label: "MessageType", offset: 0, type: "u32" },
  { name: "payloadSize", label: "PayloadSize", offset: 4, type: "u8" },
  { name: "messageFlags", label: "MessageFlags", offset: 5, type: "u8", bits: HV_MESSAGE_FLAGS },
  { name: "reserved", label: "Reserved", offset: 6, type: "u16", reservedZero: true },
  { name: "originationId", label: "OriginationId", offset: 8, type: "u64" },
  { name: "payload", label: "Payload", offset: 16, type: "bytes", length: HV_MESSAGE_PAYLOAD_MAX },
]);

export const MESSAGE_TYPE_OFFSET = HV_MESSAGE.field("messageType").offset;
export const MESSAGE_PAYLOAD_SIZE_OFFSET = HV_MESSAGE.field("payloadSize").offset;
export const MESSAGE_FLAGS_OFFSET = HV_MESSAGE.field("messageFlags").offset;
export const MESSAGE_ORIGINATION_ID_OFFSET = HV_MESSAGE.field("originationId").offset;
export const MESSAGE_PAYLOAD_OFFSET = HV_MESSAGE.field("payload").offset;
