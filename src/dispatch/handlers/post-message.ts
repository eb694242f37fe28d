import { HvCallCode } from "../../abi/call-code.js";
import { CONNECTION_ID_RESERVED_MASK, HV_CONNECTION_ID } from "../../abi/connection-id.js";
import {
  HV_MESSAGE_BUFFERS_PER_PORT,
  HV_MESSAGE_PAYLOAD_MAX,
  HV_MESSAGE_TYPE_HYPERVISOR_BIT,
  HV_MESSAGE_TYPE_NONE,
} from "../../abi/hv-message.js";
import { HvStatus } from "../../abi/hv-status.js";
import { PartitionPrivilegeBit } from "../../abi/partition-privilege.js";
import { HvPortType } from "../../abi/port-type.js";
import {
  POST_MESSAGE_CONNECTION_ID,
  POST_MESSAGE_INPUT,
  POST_MESSAGE_PAYLOAD_OFFSET,
  POST_MESSAGE_PAYLOAD_SIZE,
  POST_MESSAGE_RSVDZ,
  POST_MESSAGE_TYPE,
  type PostMessageInput,
} from "../../abi/post-message-input.js";
import { SINT_MASKED_BIT, SINT_POLLING_BIT } from "../../abi/synic-msr.js";
import type { Machine } from "../../state/machine.js";
import { ANY_VP_NONE_ENABLED, TARGET_VP_ANY } from "../../state/machine-tables.js";
import {
  attemptDelivery,
  enqueueMessage,
  freeBuffer,
  queuedRecords,
  recordOf,
  simSlotEmpty,
} from "../../state/message-queues.js";
import { sintLoIndex } from "../../state/synic-registers.js";
import type { HypercallFrame } from "../hypercall-frame.js";
import type { HypercallRow } from "../hypercall-row.js";
import { ConnectionStep, portStatus } from "./connection-port.js";
import { describePort, describeTargetVp, hex32 } from "./explain-text.js";

/** The call's own steps of its normative order (docs/post-message.md §3). */
export const PostMessageStep = {
  InputReserved: 5,
  Connection: ConnectionStep.Connection,
  Port: ConnectionStep.Port,
  Message: 8,
  TargetVp: 9,
  SynicState: 10,
  Buffers: 11,
  Queue: 12,
} as const;

// The hot path's field positions, bound once as module constants (src/abi owns the layout). Every
// field of the block is a whole u32 word.
const CONNECTION_WORD = POST_MESSAGE_CONNECTION_ID.word;
const RSVDZ_WORD = POST_MESSAGE_RSVDZ.word;
const TYPE_WORD = POST_MESSAGE_TYPE.word;
const SIZE_WORD = POST_MESSAGE_PAYLOAD_SIZE.word;
const PAYLOAD_WORD = POST_MESSAGE_PAYLOAD_OFFSET / 4;

/**
 * Steps 9 and 10 for a message port that passed step 7: the VP slot its messages queue on (>= 0),
 * or the failing status negated. Masked and polling SINTs are no error for messages.
 */
export function messageTargetVp(machine: Machine, q: number): number {
  const t = machine.tables;
  let v = t.portTargetVpSlot[q]!;
  if (v === TARGET_VP_ANY) {
    const owner = t.portPartition[q]!;
    if (t.partitionVpCount[owner] === 0) return -HvStatus.INVALID_VP_INDEX;
    v = machine.anyVpForMessages(owner);
    if (v === ANY_VP_NONE_ENABLED) return -HvStatus.INVALID_SYNIC_STATE;
  } else if (v < 0) {
    return -HvStatus.INVALID_VP_INDEX;
  } else if (!machine.simReady(v)) {
    return -HvStatus.INVALID_SYNIC_STATE;
  }
  return v;
}

/**
 * HvCallPostMessage after the generic steps: steps 5-12 of docs/post-message.md §3. Every check
 * runs before the message is queued, so a failure changes nothing.
 */
function execute(machine: Machine, f: HypercallFrame): number {
  const input = f.input;
  const connectionId = input[CONNECTION_WORD]!;

  // 5. RsvdZ (offset 4) and HV_CONNECTION_ID bits 31:24 must be zero.
  f.step = PostMessageStep.InputReserved;
  if (input[RSVDZ_WORD] !== 0 || (connectionId & CONNECTION_ID_RESERVED_MASK) !== 0) {
    return HvStatus.INVALID_HYPERCALL_INPUT;
  }
  // 6. The connection must be one the caller owns. (Steps 6 and 7 are written out in both calls,
  // not shared: a shared helper here cost a third of the per-call dispatch rate.)
  f.step = ConnectionStep.Connection;
  const c = machine.connLookup.get(f.callerSlot, connectionId);
  if (c < 0) return HvStatus.INVALID_CONNECTION_ID;

  // 7. Its port must exist, not be deleted, be a message port, in an active partition.
  f.step = ConnectionStep.Port;
  const t = machine.tables;
  const q = t.connPortSlot[c]!;
  const port = portStatus(t, q, HvPortType.Message);
  if (port !== HvStatus.SUCCESS) return port;

  // 8. A message type the guest may send (not None, not the hypervisor's) and at most 240 bytes.
  f.step = PostMessageStep.Message;
  const type = input[TYPE_WORD]!;
  const size = input[SIZE_WORD]!;
  if (
    type === HV_MESSAGE_TYPE_NONE ||
    (type & HV_MESSAGE_TYPE_HYPERVISOR_BIT) !== 0 ||
    size > HV_MESSAGE_PAYLOAD_MAX
  ) {
    return HvStatus.INVALID_PARAMETER;
  }

  // 9. and 10. The target VP must exist, with its SynIC and SIM page enabled.
  const v = messageTargetVp(machine, q);
  if (v < 0) {
    f.step =
      v === -HvStatus.INVALID_VP_INDEX ? PostMessageStep.TargetVp : PostMessageStep.SynicState;
    return -v;
  }

  // 11. The port must have a free guest message buffer.
  f.step = PostMessageStep.Buffers;
  const ordinal = t.portMessageOrdinal[q]!;
  const b = freeBuffer(t, ordinal);
  if (b < 0) return HvStatus.INSUFFICIENT_BUFFERS;

  // 12. Queue the message on (VP, TargetSint), then one delivery attempt there.
  f.step = PostMessageStep.Queue;
  const sint = t.portTargetSint[q]!;
  // For the explanation: this message's record, and whether the slot was empty before.
  f.note = recordOf(ordinal, b) * 2 + (simSlotEmpty(t.sim, v, sint) ? 1 : 0);
  enqueueMessage(machine, ordinal, b, q, v, sint, type, size, input, PAYLOAD_WORD);
  attemptDelivery(machine, v, sint);
  return HvStatus.SUCCESS;
}

/** The sentence for the step that decided (docs/post-message.md §3). */
function explain(machine: Machine, f: HypercallFrame): string {
  const values = POST_MESSAGE_INPUT.decode(f.inputBytes);
  if (values === undefined) return "the input block could not be read";
  const input = values as unknown as PostMessageInput;
  const t = machine.tables;
  const caller = t.partitionId[f.callerSlot]!;
  const id = HV_CONNECTION_ID.decode(input.connectionId);
  switch (f.step) {
    case PostMessageStep.InputReserved:
      return `the input block breaks a format rule: ${POST_MESSAGE_INPUT.reservedSet(values).join("; ")} (ConnectionId ${hex32(input.connectionId)}, RsvdZ ${hex32(input.rsvdZ)})`;
    case PostMessageStep.Connection:
      return `partition ${caller} owns no connection with id ${id.id} (0x${id.id.toString(16)})`;
    case PostMessageStep.Message:
      return input.messageType === HV_MESSAGE_TYPE_NONE
        ? "MessageType 0 (HvMessageTypeNone) cannot be posted"
        : (input.messageType & HV_MESSAGE_TYPE_HYPERVISOR_BIT) !== 0
          ? `MessageType ${hex32(input.messageType)} has bit 31 set: types from 0x80000000 on are the hypervisor's`
          : `PayloadSize ${input.payloadSize} is more than ${HV_MESSAGE_PAYLOAD_MAX} bytes`;
  }
  const c = machine.connLookup.get(f.callerSlot, input.connectionId);
  const q = t.connPortSlot[c]!;
  const via = `connection ${id.id} of partition ${caller}`;
  if (f.step === PostMessageStep.Port)
    return `${via} leads to ${describePort(machine, c, HvPortType.Message)}`;
  if (f.step === PostMessageStep.TargetVp || f.step === PostMessageStep.SynicState) {
    return `${via}: ${describeTargetVp(machine, q, "SIMP")}`;
  }
  const port = `port ${t.portId[q]} of partition ${t.partitionId[t.portPartition[q]!]}`;
  if (f.step === PostMessageStep.Buffers) {
    return `all ${HV_MESSAGE_BUFFERS_PER_PORT} message buffers of ${port} hold messages that are not delivered yet`;
  }
  const v = messageTargetVp(machine, q);
  const sint = t.portTargetSint[q]!;
  const where = `SINT ${sint} of VP ${t.vpIndex[v]} in partition ${t.partitionId[t.vpPartition[v]!]}`;
  const waiting = queuedRecords(t, v, sint);
  if (waiting.includes(f.note >>> 1)) {
    const reason =
      (f.note & 1) === 0
        ? "the SIM slot holds a message the guest has not emptied (MessagePending is set in it)"
        : "older messages waited first: the guest had emptied the slot (without writing EOM), the oldest was delivered into it";
    return `queued on ${where} through ${port}, ${waiting.length} waiting: ${reason}`;
  }
  const sintLo = t.msrs[sintLoIndex(v, sint)]!;
  const interrupt =
    (sintLo & SINT_POLLING_BIT) !== 0
      ? "no interrupt: the SINT is polling"
      : (sintLo & SINT_MASKED_BIT) !== 0
        ? "no interrupt: the SINT is masked (the interrupt is lost)"
        : "interrupt asserted";
  return `delivered through ${port} into the SIM slot of ${where}; ${interrupt}`;
}

/** The dispatcher's row for HvCallPostMessage (call code 0x005C; docs/post-message.md). */
export const postMessageRow: HypercallRow = {
  callCode: HvCallCode.PostMessage,
  name: "HvCallPostMessage",
  description: "queue a message for the SIM page of the port's target VP through a connection",
  kind: "simple",
  variableHeaderAllowed: false,
  fastAllowed: false,
  requiredPrivilege: PartitionPrivilegeBit.PostMessages,
  input: POST_MESSAGE_INPUT,
  checkFamily: "post-message",
  successStep: PostMessageStep.Queue,
  execute,
  explain,
};
