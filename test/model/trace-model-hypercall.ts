/**
 * The hypercall side of the trace model: the generic layer (signal-event.md §1-§2, §6 steps 1-4;
 * post-message.md §3 steps 1-4), HvCallSignalEvent (signal-event.md §4, §6 steps 5-11) and
 * HvCallPostMessage (post-message.md §2, §3 steps 5-12). Every answer names the step that decided
 * it (`check`) and a finer reason of the model's own naming (`detail`).
 */
import {
  bit,
  CALL_POST_MESSAGE,
  CALL_SIGNAL_EVENT,
  field,
  HV_ANY_VP,
  PAGE_SIZE_BIG,
  PRIVILEGE_POST_MESSAGES,
  PRIVILEGE_SIGNAL_EVENTS,
  readLe,
  type StatusName,
  writeLe,
  zeros,
} from "./trace-model-basics.js";
import {
  guestRead,
  type Machine,
  type Partition,
  type Port,
  type Vp,
} from "./trace-model-machine.js";
import {
  deliveryAttempt,
  flagIsSet,
  setFlag,
  siefEnabled,
  simEnabled,
  sintMaskedBit,
  sintPolling,
  synicEnabled,
} from "./trace-model-synic.js";

export interface CallAnswer {
  status: StatusName;
  check: string;
  detail: string;
}

function answer(status: StatusName, check: string, reason: string): CallAnswer {
  return { status, check, detail: `${check}:${reason}` };
}

/** Buffers per message port (TLFS "Guest Message Buffers", synic.md §4). */
const MESSAGE_BUFFERS_PER_PORT = 16;
/** Largest HV_MESSAGE payload (synic.md §3). */
const MAX_PAYLOAD = 240;
const SIGNAL_EVENT_INPUT_SIZE = 8;
const POST_MESSAGE_INPUT_SIZE = 256;

type CallName = "signal-event" | "post-message";

// ---------------------------------------------------------------------------------------------
// Generic layer
// ---------------------------------------------------------------------------------------------

/** The first rule of signal-event.md §1 the control value breaks, or undefined. */
function brokenControlRule(control: bigint, fastAllowed: boolean): string | undefined {
  if (!fastAllowed && bit(control, 16)) {
    return "fast-bit";
  }
  if (field(control, 26, 17) !== 0n) {
    return "variable-header";
  }
  if (field(control, 30, 27) !== 0n) {
    return "rsvd-30-27";
  }
  if (bit(control, 31)) {
    return "nested";
  }
  if (field(control, 43, 32) !== 0n) {
    return "rep-count";
  }
  if (field(control, 47, 44) !== 0n) {
    return "rsvd-47-44";
  }
  if (field(control, 59, 48) !== 0n) {
    return "rep-start";
  }
  if (field(control, 63, 60) !== 0n) {
    return "rsvd-63-60";
  }
  return undefined;
}

/** One hypercall issued by a VP of `caller`: RCX = control, RDX = rdx (R8 is not used). */
export function hypercall(
  machine: Machine,
  caller: Partition,
  control: bigint,
  rdx: bigint,
): CallAnswer {
  // generic.1
  const code = Number(field(control, 15, 0));
  if (code !== CALL_SIGNAL_EVENT && code !== CALL_POST_MESSAGE) {
    return answer("HV_STATUS_INVALID_HYPERCALL_CODE", "generic.1", "not-implemented");
  }
  const isSignal = code === CALL_SIGNAL_EVENT;
  // generic.2
  const broken = brokenControlRule(control, isSignal);
  if (broken !== undefined) {
    return answer("HV_STATUS_INVALID_HYPERCALL_INPUT", "generic.2", broken);
  }
  // generic.3
  const privilege = isSignal ? PRIVILEGE_SIGNAL_EVENTS : PRIVILEGE_POST_MESSAGES;
  if (!bit(caller.privilegeMask, privilege)) {
    return answer("HV_STATUS_ACCESS_DENIED", "generic.3", `no-privilege-bit-${privilege}`);
  }
  // generic.4 (memory input only)
  let input: number[];
  if (bit(control, 16)) {
    input = zeros(8);
    writeLe(input, 0, 8, rdx);
  } else {
    const size = isSignal ? SIGNAL_EVENT_INPUT_SIZE : POST_MESSAGE_INPUT_SIZE;
    if (rdx % 8n !== 0n) {
      return answer("HV_STATUS_INVALID_ALIGNMENT", "generic.4", "misaligned");
    }
    if ((rdx % PAGE_SIZE_BIG) + BigInt(size) > PAGE_SIZE_BIG) {
      return answer("HV_STATUS_INVALID_ALIGNMENT", "generic.4", "crosses-page");
    }
    const bytes = guestRead(caller, rdx, size);
    if (bytes === undefined) {
      return answer("HV_STATUS_INVALID_ALIGNMENT", "generic.4", "unbacked");
    }
    input = bytes;
  }
  return isSignal ? signalEvent(machine, caller, input) : postMessage(machine, caller, input);
}

// ---------------------------------------------------------------------------------------------
// Steps shared by both calls
// ---------------------------------------------------------------------------------------------

type PortLookup = { owner: Partition; port: Port } | { fail: CallAnswer };

/** Steps 6 and 7: connection, then port (missing / deleted, owner inactive, wrong type). */
function lookUpPort(
  machine: Machine,
  caller: Partition,
  connectionId: number,
  call: CallName,
): PortLookup {
  const connection = caller.connections.get(connectionId);
  if (connection === undefined) {
    return { fail: answer("HV_STATUS_INVALID_CONNECTION_ID", `${call}.6`, "unknown-connection") };
  }
  const step7 = `${call}.7`;
  const owner = machine.partitions.find((p) => p.id === connection.portPartition);
  const port = owner?.ports.get(connection.portId);
  if (owner === undefined || port === undefined) {
    return { fail: answer("HV_STATUS_INVALID_PORT_ID", step7, "port-missing") };
  }
  if (port.deleted) {
    return { fail: answer("HV_STATUS_INVALID_PORT_ID", step7, "port-deleted") };
  }
  if (!owner.active) {
    return { fail: answer("HV_STATUS_INVALID_PORT_ID", step7, "partition-inactive") };
  }
  const wanted = call === "signal-event" ? "event" : "message";
  if (port.type !== wanted) {
    return { fail: answer("HV_STATUS_INVALID_PORT_ID", step7, `not-${wanted}-port`) };
  }
  return { owner, port };
}

type TargetChoice = { vp: Vp } | { fail: CallAnswer };

/** Steps 9 and 10 (without SignalEvent's masked-SINT part): the target VP. */
function chooseTarget(owner: Partition, port: Port, call: CallName): TargetChoice {
  const pageEnabled = call === "signal-event" ? siefEnabled : simEnabled;
  const pageName = call === "signal-event" ? "siefp" : "simp";
  const step9 = `${call}.9`;
  const step10 = `${call}.10`;
  if (port.targetVp === HV_ANY_VP) {
    if (owner.vps.length === 0) {
      return { fail: answer("HV_STATUS_INVALID_VP_INDEX", step9, "any-vp-no-vps") };
    }
    // owner.vps is in ascending index order: the first that qualifies is the lowest.
    const vp = owner.vps.find((v) => synicEnabled(v) && pageEnabled(v));
    if (vp === undefined) {
      return { fail: answer("HV_STATUS_INVALID_SYNIC_STATE", step10, "any-vp-none-enabled") };
    }
    return { vp };
  }
  const vp = owner.vps.find((v) => v.index === port.targetVp);
  if (vp === undefined) {
    return { fail: answer("HV_STATUS_INVALID_VP_INDEX", step9, "no-such-vp") };
  }
  if (!synicEnabled(vp)) {
    return { fail: answer("HV_STATUS_INVALID_SYNIC_STATE", step10, "scontrol-disabled") };
  }
  if (!pageEnabled(vp)) {
    return { fail: answer("HV_STATUS_INVALID_SYNIC_STATE", step10, `${pageName}-disabled`) };
  }
  return { vp };
}

// ---------------------------------------------------------------------------------------------
// HvCallSignalEvent, steps 5-11
// ---------------------------------------------------------------------------------------------

function signalEvent(machine: Machine, caller: Partition, input: number[]): CallAnswer {
  const connectionId = readLe(input, 0, 4);
  const flagNumber = Number(readLe(input, 4, 2));
  const rsvdZ = readLe(input, 6, 2);
  if (rsvdZ !== 0n) {
    return answer("HV_STATUS_INVALID_HYPERCALL_INPUT", "signal-event.5", "rsvdz");
  }
  if (field(connectionId, 31, 24) !== 0n) {
    return answer("HV_STATUS_INVALID_HYPERCALL_INPUT", "signal-event.5", "connection-id-reserved");
  }
  const lookup = lookUpPort(machine, caller, Number(connectionId), "signal-event");
  if ("fail" in lookup) {
    return lookup.fail;
  }
  const { owner, port } = lookup;
  if (flagNumber >= port.flagCount) {
    return answer("HV_STATUS_INVALID_PARAMETER", "signal-event.8", "flag-number");
  }
  const target = chooseTarget(owner, port, "signal-event");
  if ("fail" in target) {
    return target.fail;
  }
  const { vp } = target;
  const sint = port.targetSint;
  const polling = sintPolling(vp, sint);
  if (sintMaskedBit(vp, sint) && !polling) {
    return answer("HV_STATUS_INVALID_SYNIC_STATE", "signal-event.10", "masked");
  }
  const flag = port.baseFlagNumber + flagNumber;
  if (flagIsSet(vp, sint, flag)) {
    return answer("HV_STATUS_SUCCESS", "signal-event.11", "already-set");
  }
  setFlag(vp, sint, flag);
  if (polling) {
    return answer("HV_STATUS_SUCCESS", "signal-event.11", "polling");
  }
  vp.assertions[sint] = vp.assertions[sint]! + 1;
  return answer("HV_STATUS_SUCCESS", "signal-event.11", "set");
}

// ---------------------------------------------------------------------------------------------
// HvCallPostMessage, steps 5-12
// ---------------------------------------------------------------------------------------------

/** The buffers of a message port in use: its messages still queued (synic.md §4). */
export function buffersInUse(owner: Partition, portId: number): number {
  let count = 0;
  for (const vp of owner.vps) {
    for (const queue of vp.queues) {
      count += queue.filter((message) => message.portId === portId).length;
    }
  }
  return count;
}

function postMessage(machine: Machine, caller: Partition, input: number[]): CallAnswer {
  const connectionId = readLe(input, 0, 4);
  const rsvdZ = readLe(input, 4, 4);
  const messageType = readLe(input, 8, 4);
  const payloadSize = readLe(input, 12, 4);
  if (rsvdZ !== 0n) {
    return answer("HV_STATUS_INVALID_HYPERCALL_INPUT", "post-message.5", "rsvdz");
  }
  if (field(connectionId, 31, 24) !== 0n) {
    return answer("HV_STATUS_INVALID_HYPERCALL_INPUT", "post-message.5", "connection-id-reserved");
  }
  const lookup = lookUpPort(machine, caller, Number(connectionId), "post-message");
  if ("fail" in lookup) {
    return lookup.fail;
  }
  const { owner, port } = lookup;
  if (messageType === 0n) {
    return answer("HV_STATUS_INVALID_PARAMETER", "post-message.8", "type-zero");
  }
  if (bit(messageType, 31)) {
    return answer("HV_STATUS_INVALID_PARAMETER", "post-message.8", "type-hypervisor");
  }
  if (payloadSize > BigInt(MAX_PAYLOAD)) {
    return answer("HV_STATUS_INVALID_PARAMETER", "post-message.8", "payload-size");
  }
  const target = chooseTarget(owner, port, "post-message");
  if ("fail" in target) {
    return target.fail;
  }
  const { vp } = target;
  if (buffersInUse(owner, port.id) >= MESSAGE_BUFFERS_PER_PORT) {
    return answer("HV_STATUS_INSUFFICIENT_BUFFERS", "post-message.11", "no-free-buffer");
  }
  const sint = port.targetSint;
  const queue = vp.queues[sint]!;
  const olderQueued = queue.length > 0;
  queue.push({
    portId: port.id,
    messageType: Number(messageType),
    payload: input.slice(16, 16 + Number(payloadSize)),
  });
  const delivery = deliveryAttempt(vp, sint);
  let reason: string;
  if (delivery === "slot-busy") {
    reason = "queued-behind-busy-slot";
  } else if (olderQueued) {
    reason = "queued-behind-older";
  } else {
    reason = delivery; // "delivered" or "delivered-interrupt-lost"
  }
  return answer("HV_STATUS_SUCCESS", "post-message.12", reason);
}
