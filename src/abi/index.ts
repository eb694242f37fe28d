// hvcall/abi: the wire formats of the Hyper-V hypercall ABI as hvcall implements them — every
// TLFS number once, with its TLFS section (docs/hypercall-abi.md, docs/synic.md).

export {
  type BitField,
  type BitFieldKind,
  BitLayout,
  type LayoutValues,
  type ValuesOf,
} from "./bit-layout.js";
export { BlockLayout, type BlockValues, type ByteField } from "./block-layout.js";
export {
  HV_CALL_CODES,
  HV_EXT_CALL_CODES,
  HvCallCode,
  hvCallClass,
  hvCallCodeName,
} from "./call-code.js";
export { HV_CONNECTION_ID, splitConnectionId } from "./connection-id.js";
export {
  HV_MESSAGE,
  HV_MESSAGE_FLAGS,
  HV_MESSAGE_PAYLOAD_MAX,
  HV_MESSAGE_SIZE,
  HV_MESSAGE_TYPE_NONE,
} from "./hv-message.js";
export { HV_PAGE_SIZE } from "./hv-page.js";
export {
  HV_STATUS_NAMES,
  HvStatus,
  hvStatusFromName,
  hvStatusName,
  isKnownHvStatus,
} from "./hv-status.js";
export {
  type CallShape,
  controlViolations,
  decodeControl,
  decodeControlBigInt,
  encodeControl,
  encodeControlBigInt,
  HV_HYPERCALL_CONTROL,
  type HypercallControl,
} from "./hypercall-control.js";
export { FAST_INPUT_MAX_BYTES, HYPERCALL_INPUT_ALIGNMENT } from "./hypercall-input.js";
export {
  decodeResult,
  decodeResultBigInt,
  encodeResult,
  encodeResultBigInt,
  HV_HYPERCALL_RESULT,
  type HypercallResult,
} from "./hypercall-result.js";
export { PartitionPrivilegeBit, privilegeMaskOf, privilegeNamesOf } from "./partition-privilege.js";
export { HvPortType } from "./port-type.js";
export {
  decodePostMessageInput,
  encodePostMessageInput,
  POST_MESSAGE_INPUT,
  type PostMessageInput,
} from "./post-message-input.js";
export { EVENT_FLAGS_PER_SINT, SIEF_PAGE_BYTES, SIM_PAGE_BYTES, SINT_COUNT } from "./sief-page.js";
export {
  decodeSignalEventInput,
  encodeSignalEventInput,
  SIGNAL_EVENT_INPUT,
  type SignalEventInput,
} from "./signal-event-input.js";
export {
  HV_SYNIC_PAGE_MSR,
  HV_SYNIC_SCONTROL,
  HV_SYNIC_SINT,
  HvSynicMsr,
  type SintRegister,
  type SynicPageRegister,
  synicMsrName,
} from "./synic-msr.js";
export { formatU64Hex } from "./u64.js";
export { HV_ANY_VP } from "./vp-index.js";
