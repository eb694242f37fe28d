import { HvCallCode } from "../../abi/call-code.js";
import { CONNECTION_ID_RESERVED_MASK } from "../../abi/connection-id.js";
import { HvStatus } from "../../abi/hv-status.js";
import { PartitionPrivilegeBit } from "../../abi/partition-privilege.js";
import { HvPortType } from "../../abi/port-type.js";
import {
  decodeSignalEventInput,
  SIGNAL_EVENT_INPUT_SIZE,
  type SignalEventInput,
} from "../../abi/signal-event-input.js";
import { SINT_MASKED_BIT } from "../../abi/synic-msr.js";
import type { Machine } from "../../state/machine.js";
import { ANY_VP_NONE_ENABLED, TARGET_VP_ANY } from "../../state/machine-tables.js";
import { MSR_SINT0, MSR_STRIDE } from "../../state/synic-registers.js";
import type { HypercallHandler } from "../hypercall-handler.js";

/** FlagNumber is bits 15:0 of the input's second u32 word, RsvdZ bits 31:16. */
const FLAG_NUMBER_MASK = 0xffff;
const RSVDZ_SHIFT = 16;

/**
 * HvCallSignalEvent after the generic checks (call code, control value, SignalEvents privilege,
 * memory input): steps 5-11 of the normative order in signal-event spec §6. Every check runs before
 * the one write, so a failure changes nothing.
 */
export function signalEvent(
  machine: Machine,
  callerSlot: number,
  connectionId: number,
  flagNumber: number,
  rsvdZ: number,
): number {
  // 5. Input RsvdZ and HV_CONNECTION_ID bits 31:24 must be zero.
  if (rsvdZ !== 0 || (connectionId & CONNECTION_ID_RESERVED_MASK) !== 0) {
    return HvStatus.INVALID_HYPERCALL_INPUT;
  }
  // 6. The connection must be one the caller owns.
  const c = machine.connLookup.get(callerSlot, connectionId);
  if (c < 0) return HvStatus.INVALID_CONNECTION_ID;

  // 7. Its port must exist, not be deleted, be an event port, in an active partition.
  const t = machine.tables;
  const q = t.connPortSlot[c]!;
  if (q < 0) return HvStatus.INVALID_PORT_ID;
  const owner = t.portPartition[q]!;
  if (t.portDeleted[q] !== 0 || t.partitionActive[owner] === 0 || t.portType[q] !== HvPortType.Event) {
    return HvStatus.INVALID_PORT_ID;
  }

  // 8. The flag number is relative to the port's base and must be below its count.
  if (flagNumber >= t.portFlagCount[q]!) return HvStatus.INVALID_PARAMETER;

  // 9. and 10. The target VP must exist, with its SynIC and SIEF page enabled.
  let v = t.portTargetVpSlot[q]!;
  if (v === TARGET_VP_ANY) {
    if (t.partitionVpCount[owner] === 0) return HvStatus.INVALID_VP_INDEX;
    v = machine.anyVp(owner);
    if (v === ANY_VP_NONE_ENABLED) return HvStatus.INVALID_SYNIC_STATE;
  } else if (v < 0) {
    return HvStatus.INVALID_VP_INDEX;
  } else if (!machine.siefReady(v)) {
    return HvStatus.INVALID_SYNIC_STATE;
  }
  const sint = t.portTargetSint[q]!;
  if ((t.msrs[v * MSR_STRIDE + MSR_SINT0 + 2 * sint]! & SINT_MASKED_BIT) !== 0) {
    return HvStatus.INVALID_SYNIC_STATE;
  }

  // 11. Set the flag; assert the SINT's interrupt only on a 0 -> 1 transition.
  if (machine.sief.testAndSet(v, sint, t.portBaseFlag[q]! + flagNumber)) {
    machine.assertSint(v, sint);
  }
  return HvStatus.SUCCESS;
}

/** The dispatcher's row for HvCallSignalEvent (call code 0x005D). */
export const signalEventHandler: HypercallHandler<SignalEventInput> = {
  callCode: HvCallCode.SignalEvent,
  name: "HvCallSignalEvent",
  kind: "simple",
  variableHeaderAllowed: false,
  fastAllowed: true,
  inputSize: SIGNAL_EVENT_INPUT_SIZE,
  requiredPrivilege: PartitionPrivilegeBit.SignalEvents,

  execute(machine, callerSlot, _vpSlot, input) {
    const w1 = input[1]!;
    return signalEvent(machine, callerSlot, input[0]!, w1 & FLAG_NUMBER_MASK, w1 >>> RSVDZ_SHIFT);
  },

  decodeInput(bytes) {
    const decoded = decodeSignalEventInput(bytes);
    return decoded.ok ? decoded.input : undefined;
  },

  executeDecoded(machine, callerSlot, _vpSlot, input) {
    return signalEvent(machine, callerSlot, input.connectionId, input.flagNumber, input.rsvdZ);
  },
};
