import { HvPortType } from "../../abi/port-type.js";
import { HV_SYNIC_SINT, SCONTROL_ENABLE_BIT, SYNIC_PAGE_ENABLE_BIT } from "../../abi/synic-msr.js";
import { formatU64Hex, halvesToU64 } from "../../abi/u64.js";
import type { Machine } from "../../state/machine.js";
import { ANY_VP_NONE_ENABLED, TARGET_VP_ANY } from "../../state/machine-tables.js";
import {
  MSR_SCONTROL,
  MSR_SIEFP,
  MSR_SIMP,
  MSR_STRIDE,
  sintLoIndex,
} from "../../state/synic-registers.js";

/**
 * The pieces of the `why` sentences that SignalEvent and PostMessage share (--explain; not on the
 * hot path): a connection's port, a port's target VP and its SynIC registers, with their values.
 */

const PORT_TYPE_WORD: Readonly<Record<number, string>> = {
  [HvPortType.Message]: "a message port",
  [HvPortType.Event]: "an event port",
  [HvPortType.Monitor]: "a monitor port",
};

export function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, "0")}`;
}

function msrOf(machine: Machine, v: number, off: number): bigint {
  const m = machine.tables.msrs;
  return halvesToU64(m[v * MSR_STRIDE + off]!, m[v * MSR_STRIDE + off + 1]!);
}

function msrText(machine: Machine, v: number, off: number): string {
  const value = msrOf(machine, v, off);
  return `0x${value.toString(16)}`;
}

/** Why step 7 refused the port connection slot `c` leads to. */
export function describePort(machine: Machine, c: number, wanted: number): string {
  const t = machine.tables;
  const owner = t.partitionId[t.connPortPartition[c]!]!;
  const portId = t.connPortId[c]!;
  const q = t.connPortSlot[c]!;
  const port = `port ${portId} of partition ${owner}`;
  if (q < 0) return `${port}, which does not exist`;
  if (t.portDeleted[q] !== 0) return `${port}, which is deleted`;
  if (t.partitionActive[t.portPartition[q]!] === 0)
    return `${port}, but partition ${owner} is not active`;
  return `${port}, ${PORT_TYPE_WORD[t.portType[q]!] ?? "a port"}, not ${PORT_TYPE_WORD[wanted]}`;
}

/**
 * Why steps 9-10 refused a port's target VP: the VP the port names and the registers that
 * decided (`page` is "SIEFP" for events, "SIMP" for messages).
 */
export function describeTargetVp(machine: Machine, q: number, page: "SIEFP" | "SIMP"): string {
  const t = machine.tables;
  const owner = t.portPartition[q]!;
  const ownerId = t.partitionId[owner]!;
  const port = `port ${t.portId[q]} of partition ${ownerId}`;
  const sint = t.portTargetSint[q]!;
  let v = t.portTargetVpSlot[q]!;
  if (v === TARGET_VP_ANY) {
    if (t.partitionVpCount[owner] === 0)
      return `${port} targets HV_ANY_VP, but partition ${ownerId} has no VPs`;
    v = page === "SIEFP" ? machine.anyVp(owner) : machine.anyVpForMessages(owner);
    if (v === ANY_VP_NONE_ENABLED) {
      return `${port} targets HV_ANY_VP, and no VP of partition ${ownerId} has both SCONTROL.Enable and ${page}.Enable set`;
    }
  } else if (v < 0) {
    return `${port} targets VP ${t.portTargetVp[q]}, which partition ${ownerId} does not have`;
  }
  const off = page === "SIEFP" ? MSR_SIEFP : MSR_SIMP;
  const regs =
    `SCONTROL ${msrText(machine, v, MSR_SCONTROL)}, ${page} ${msrText(machine, v, off)}, ` +
    `SINT${sint} ${formatU64Hex(t.msrs[sintLoIndex(v, sint)]!, t.msrs[sintLoIndex(v, sint) + 1]!)}`;
  return `${port} targets VP ${t.vpIndex[v]}, whose ${regs}: ${synicVerdict(machine, v, off, sint, page)}`;
}

const S = HV_SYNIC_SINT.fields;

function synicVerdict(
  machine: Machine,
  v: number,
  off: number,
  sint: number,
  page: string,
): string {
  const m = machine.tables.msrs;
  if ((m[v * MSR_STRIDE + MSR_SCONTROL]! & SCONTROL_ENABLE_BIT) === 0)
    return "the SynIC is disabled (SCONTROL.Enable 0)";
  if ((m[v * MSR_STRIDE + off]! & SYNIC_PAGE_ENABLE_BIT) === 0)
    return `the page is disabled (${page}.Enable 0)`;
  return `SINT${sint} is masked (${S.masked.bits}) and not polling (${S.polling.bits})`;
}
