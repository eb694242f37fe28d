import { HvCallCode } from "../../abi/call-code.js";
import { CONNECTION_ID_RESERVED_MASK, HV_CONNECTION_ID } from "../../abi/connection-id.js";
import { HvStatus } from "../../abi/hv-status.js";
import { PartitionPrivilegeBit } from "../../abi/partition-privilege.js";
import { HvPortType } from "../../abi/port-type.js";
import {
  SIGNAL_EVENT_CONNECTION_ID,
  SIGNAL_EVENT_FLAG_NUMBER,
  SIGNAL_EVENT_INPUT,
  SIGNAL_EVENT_RSVDZ,
  type SignalEventInput,
} from "../../abi/signal-event-input.js";
import { SINT_MASKED_BIT, SINT_POLLING_BIT } from "../../abi/synic-msr.js";
import type { Machine } from "../../state/machine.js";
import {
  ANY_VP_NONE_ENABLED,
  type MachineTables,
  TARGET_VP_ANY,
} from "../../state/machine-tables.js";
import { sintLoIndex } from "../../state/synic-registers.js";
import type { HypercallFrame } from "../hypercall-frame.js";
import type { HypercallRow } from "../hypercall-row.js";
import { ConnectionStep, portStatus } from "./connection-port.js";
import { describePort, describeTargetVp, hex32 } from "./explain-text.js";

/** The call's own steps of its normative order (docs/signal-event.md §4). */
export const SignalEventStep = {
  InputReserved: 5,
  Connection: ConnectionStep.Connection,
  Port: ConnectionStep.Port,
  FlagNumber: 8,
  TargetVp: 9,
  SynicState: 10,
  SetFlag: 11,
} as const;

/** What step 11 did, for the explanation: frame.note = target VP slot * 4 + one of these. */
export const SignalNote = { Asserted: 1, AlreadySet: 2, Polling: 3 } as const;
const NOTE_KINDS = 4;

// The hot path's field positions, bound once as module constants (src/abi owns the layout).
const CONNECTION_WORD = SIGNAL_EVENT_CONNECTION_ID.word;
const FLAG_WORD = SIGNAL_EVENT_FLAG_NUMBER.word;
const FLAG_SHIFT = SIGNAL_EVENT_FLAG_NUMBER.shift;
const FLAG_MASK = SIGNAL_EVENT_FLAG_NUMBER.mask;
const RSVDZ_WORD = SIGNAL_EVENT_RSVDZ.word;
const RSVDZ_SHIFT = SIGNAL_EVENT_RSVDZ.shift;
const RSVDZ_MASK = SIGNAL_EVENT_RSVDZ.mask;
const MASKED_NOT_POLLING = SINT_MASKED_BIT | SINT_POLLING_BIT;

/**
 * Steps 9 and 10 for an event port that passed step 7: the VP slot its flags go to (>= 0), or the
 * failing status negated (INVALID_VP_INDEX, INVALID_SYNIC_STATE). A SINT that is masked counts as
 * unmasked when its polling bit is set (docs/signal-event.md §4 step 10).
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
  const sintLo = t.msrs[sintLoIndex(v, t.portTargetSint[q]!)]!;
  if ((sintLo & MASKED_NOT_POLLING) === SINT_MASKED_BIT) return -HvStatus.INVALID_SYNIC_STATE;
  return v;
}

/** True when the port's target SINT on VP slot v is polling (no interrupt is asserted for it). */
export function sintPolling(t: MachineTables, v: number, sint: number): boolean {
  return (t.msrs[sintLoIndex(v, sint)]! & SINT_POLLING_BIT) !== 0;
}

/**
 * HvCallSignalEvent after the generic steps: steps 5-11 of docs/signal-event.md §4. Every check
 * runs before the one write, so a failure changes nothing.
 */
function execute(machine: Machine, f: HypercallFrame): number {
  const input = f.input;
  const connectionId = input[CONNECTION_WORD]!;
  const w = input[FLAG_WORD]!;
  const flagNumber = (w >>> FLAG_SHIFT) & FLAG_MASK;

  // 5. Input RsvdZ and HV_CONNECTION_ID bits 31:24 must be zero.
  f.step = SignalEventStep.InputReserved;
  if (
    ((input[RSVDZ_WORD]! >>> RSVDZ_SHIFT) & RSVDZ_MASK) !== 0 ||
    (connectionId & CONNECTION_ID_RESERVED_MASK) !== 0
  ) {
    return HvStatus.INVALID_HYPERCALL_INPUT;
  }
  // 6. The connection must be one the caller owns. (Steps 6 and 7 are written out in both calls,
  // not shared: a shared helper here cost a third of the per-call dispatch rate.)
  f.step = ConnectionStep.Connection;
  const c = machine.connLookup.get(f.callerSlot, connectionId);
  if (c < 0) return HvStatus.INVALID_CONNECTION_ID;

  // 7. Its port must exist, not be deleted, be an event port, in an active partition.
  f.step = ConnectionStep.Port;
  const t = machine.tables;
  const q = t.connPortSlot[c]!;
  const port = portStatus(t, q, HvPortType.Event);
  if (port !== HvStatus.SUCCESS) return port;

  // 8. The flag number is relative to the port's base and must be below its count.
  f.step = SignalEventStep.FlagNumber;
  if (flagNumber >= t.portFlagCount[q]!) return HvStatus.INVALID_PARAMETER;

  // 9. and 10. The target VP must exist, with its SynIC and SIEF page enabled, the SINT unmasked.
  const v = signalTargetVp(machine, q);
  if (v < 0) {
    f.step =
      v === -HvStatus.INVALID_VP_INDEX ? SignalEventStep.TargetVp : SignalEventStep.SynicState;
    return -v;
  }

  // 11. Set the flag; assert the SINT's interrupt only on a 0 -> 1 transition of a SINT that is
  // not polling.
  f.step = SignalEventStep.SetFlag;
  const sint = t.portTargetSint[q]!;
  if (!machine.sief.testAndSet(v, sint, t.portBaseFlag[q]! + flagNumber)) {
    f.note = v * NOTE_KINDS + SignalNote.AlreadySet;
  } else if (sintPolling(t, v, sint)) f.note = v * NOTE_KINDS + SignalNote.Polling;
  else {
    f.note = v * NOTE_KINDS + SignalNote.Asserted;
    machine.assertSint(v, sint, "event");
  }
  return HvStatus.SUCCESS;
}

/** The sentence for the step that decided (docs/signal-event.md §4). */
function explain(machine: Machine, f: HypercallFrame): string {
  const values = SIGNAL_EVENT_INPUT.decode(f.inputBytes);
  if (values === undefined) return "the input block could not be read";
  const input = values as unknown as SignalEventInput;
  const t = machine.tables;
  const caller = t.partitionId[f.callerSlot]!;
  const id = HV_CONNECTION_ID.decode(input.connectionId);
  switch (f.step) {
    case SignalEventStep.InputReserved: {
      const broken = SIGNAL_EVENT_INPUT.reservedSet(values);
      return `the input block breaks a format rule: ${broken.join("; ")} (ConnectionId ${hex32(input.connectionId)}, RsvdZ 0x${input.rsvdZ.toString(16)})`;
    }
    case SignalEventStep.Connection:
      return `partition ${caller} owns no connection with id ${id.id} (0x${id.id.toString(16)})`;
  }
  const c = machine.connLookup.get(f.callerSlot, input.connectionId);
  const q = t.connPortSlot[c]!;
  const via = `connection ${id.id} of partition ${caller}`;
  switch (f.step) {
    case SignalEventStep.Port:
      return `${via} leads to ${describePort(machine, c, HvPortType.Event)}`;
    case SignalEventStep.FlagNumber:
      return `FlagNumber ${input.flagNumber} is not below FlagCount ${t.portFlagCount[q]} of port ${t.portId[q]} in partition ${t.partitionId[t.portPartition[q]!]}`;
    case SignalEventStep.TargetVp:
    case SignalEventStep.SynicState:
      return `${via}: ${describeTargetVp(machine, q, "SIEFP")}`;
  }
  // The VP the flag went to, as step 11 recorded it (a listener may have changed the machine since).
  const v = Math.floor(f.note / NOTE_KINDS);
  const kind = f.note % NOTE_KINDS;
  const sint = t.portTargetSint[q]!;
  const flag = t.portBaseFlag[q]! + input.flagNumber;
  const where = `flag ${flag} (BaseFlagNumber ${t.portBaseFlag[q]} + FlagNumber ${input.flagNumber}) of SINT ${sint} on VP ${t.vpIndex[v]} of partition ${t.partitionId[t.vpPartition[v]!]}`;
  if (kind === SignalNote.AlreadySet) return `${where} was set already: no new interrupt`;
  if (kind === SignalNote.Polling)
    return `${where} is set; SINT ${sint} is polling, so no interrupt is asserted`;
  return `${where} was clear and is set: interrupt asserted on SINT ${sint}`;
}

/** The dispatcher's row for HvCallSignalEvent (call code 0x005D; docs/signal-event.md). */
export const signalEventRow: HypercallRow = {
  callCode: HvCallCode.SignalEvent,
  name: "HvCallSignalEvent",
  description: "set an event flag in the SIEF page of the port's target VP through a connection",
  kind: "simple",
  variableHeaderAllowed: false,
  fastAllowed: true,
  requiredPrivilege: PartitionPrivilegeBit.SignalEvents,
  input: SIGNAL_EVENT_INPUT,
  checkFamily: "signal-event",
  successStep: SignalEventStep.SetFlag,
  execute,
  explain,
};
