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
import {
  ANY_VP_NONE_ENABLED,
  type MachineTables,
  TARGET_VP_ANY,
} from "../../state/machine-tables.js";
import { MSR_SINT0, MSR_STRIDE } from "../../state/synic-registers.js";
import type { HypercallHandler } from "../hypercall-handler.js";

/** FlagNumber is bits 15:0 of the input's second u32 word, RsvdZ bits 31:16. */
export const FLAG_NUMBER_MASK = 0xffff;
export const RSVDZ_SHIFT = 16;

/**
 * Step 7 of the normative order for the port a connection resolved to (a port slot or NO_PORT):
 * SUCCESS, or INVALID_PORT_ID when the port is missing or deleted, not an event port, or its owning
 * partition is not active.
 */
export function signalPortStatus(t: MachineTables, q: number): number {
  if (q < 0) return HvStatus.INVALID_PORT_ID;
  if (
    t.portDeleted[q] !== 0 ||
    t.partitionActive[t.portPartition[q]!] === 0 ||
    t.portType[q] !== HvPortType.Event
  ) {
    return HvStatus.INVALID_PORT_ID;
  }
  return HvStatus.SUCCESS;
}

/**
 * Steps 9 and 10 for an event port that passed step 7: the VP slot its flags go to (>= 0), or the
 * failing status negated (INVALID_VP_INDEX, INVALID_SYNIC_STATE).
 */
export function signalTargetVp(machine: Machine, q: number): number {
  const t = machine.tables;
  let v = t.portTargetVpSlot[q]!;
  if (v === TARGET_VP_ANY) {
    const owner = t.portPartition[q]!;
    if (t.partitionVpCount[owner] === 0) return -HvStatus.INVALID_VP_INDEX;
    v = machine.anyVp(owner);
    if (v === ANY_VP_NONE_ENABLED) return -HvStatus.INVALID_SYNIC_STATE;
  } else if (v < 0) {
    return -HvStatus.INVALID_VP_INDEX;
  } else if (!machine.siefReady(v)) {
    return -HvStatus.INVALID_SYNIC_STATE;
  }
  if ((t.msrs[v * MSR_STRIDE + MSR_SINT0 + 2 * t.portTargetSint[q]!]! & SINT_MASKED_BIT) !== 0) {
    return -HvStatus.INVALID_SYNIC_STATE;
  }
  return v;
}

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
  const portStatus = signalPortStatus(t, q);
  if (portStatus !== HvStatus.SUCCESS) return portStatus;

  // 8. The flag number is relative to the port's base and must be below its count.
  if (flagNumber >= t.portFlagCount[q]!) return HvStatus.INVALID_PARAMETER;

  // 9. and 10. The target VP must exist, with its SynIC and SIEF page enabled, the SINT unmasked.
  const v = signalTargetVp(machine, q);
  if (v < 0) return -v;

  // 11. Set the flag; assert the SINT's interrupt only on a 0 -> 1 transition.
  const sint = t.portTargetSint[q]!;
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
