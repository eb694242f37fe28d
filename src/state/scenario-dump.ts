import { HV_MESSAGE_TYPE_NONE } from "../abi/hv-message.js";
import { HV_PAGE_SIZE } from "../abi/hv-page.js";
import { HvPortType } from "../abi/port-type.js";
import { SIM_PAGE_BYTES, SIM_SLOT_BYTES, SINT_COUNT } from "../abi/sief-page.js";
import { SINT_RESET_VALUE } from "../abi/synic-msr.js";
import { formatU64Hex, halvesToU64 } from "../abi/u64.js";
import { HV_ANY_VP } from "../abi/vp-index.js";
import { GuestMemory } from "./guest-memory.js";
import { Machine } from "./machine.js";
import { MESSAGE_RECORD_BYTES } from "./machine-tables.js";
import { queuedRecords } from "./message-queues.js";
import { queuedMessageText } from "./queued-message-text.js";
import { MSR_SCONTROL, MSR_SIEFP, MSR_SIMP, MSR_SINT0, MSR_STRIDE } from "./synic-registers.js";

const PORT_TYPE_BY_VALUE: Readonly<Record<number, string>> = {
  [HvPortType.Message]: "message",
  [HvPortType.Event]: "event",
  [HvPortType.Monitor]: "monitor",
};

export interface DumpedVp {
  index: number;
  scontrol: string;
  siefp: string;
  simp: string;
  sints: Record<string, string>;
  siefFlags: Record<string, number[]>;
  sintAssertions: Record<string, number>;
  simSlots: Record<string, string>;
  queuedMessages: Record<string, number>;
  /** hvcall's additions, to reload a dump exactly: empty slots with bytes, queue contents. */
  simResidue?: Record<string, string>;
  messageQueues?: Record<string, string[]>;
}

export interface DumpedPartition {
  id: number;
  state: "active" | "inactive";
  privilegeMask: string;
  vps: DumpedVp[];
  ports: Record<string, unknown>[];
  connections: { id: number; portPartition: number; portId: number }[];
  memory: { gpa: string; hex: string }[];
}

/**
 * The machine's state in the scenario schema of the CLI contract (docs/cli.md §3), every VP
 * also carrying `siefFlags` (SINTs with a flag set), `sintAssertions` (SINTs with a count > 0),
 * `simSlots` (non-empty SIM slots) and `queuedMessages` (SINTs with messages waiting), plus what
 * reloading needs to be exact: `simResidue` (empty slots whose other bytes are not zero) and
 * `messageQueues` (the waiting messages). Loading the dump gives back the same machine.
 */
export function dumpScenario(machine: Machine): { partitions: DumpedPartition[] } {
  if (!(machine instanceof Machine))
    throw new TypeError("dumpScenario: expected a Machine (from loadMachine)");
  const t = machine.tables;
  const partitions: DumpedPartition[] = [];
  const portsOf: Record<string, unknown>[][] = Array.from(
    { length: machine.partitionCount },
    () => [],
  );
  const connectionsOf: DumpedPartition["connections"][] = Array.from(
    { length: machine.partitionCount },
    () => [],
  );
  for (let q = 0; q < machine.portCount; q++)
    portsOf[t.portPartition[q]!]!.push(dumpPort(machine, q));
  for (let c = 0; c < machine.connectionCount; c++) {
    connectionsOf[t.connOwner[c]!]!.push({
      id: t.connId[c]!,
      portPartition: t.partitionId[t.connPortPartition[c]!]!,
      portId: t.connPortId[c]!,
    });
  }
  for (let p = 0; p < machine.partitionCount; p++) {
    const vps: DumpedVp[] = [];
    const start = t.partitionVpStart[p]!;
    for (let v = start; v < start + t.partitionVpCount[p]!; v++) {
      const msr = (off: number) => {
        const base = v * MSR_STRIDE + off;
        return halvesToU64(t.msrs[base]!, t.msrs[base + 1]!);
      };
      const sints: Record<string, string> = {};
      const siefFlags: Record<string, number[]> = {};
      const sintAssertions: Record<string, number> = {};
      const simSlots: Record<string, string> = {};
      const simResidue: Record<string, string> = {};
      const queuedMessages: Record<string, number> = {};
      const messageQueues: Record<string, string[]> = {};
      for (let s = 0; s < SINT_COUNT; s++) {
        const value = msr(MSR_SINT0 + 2 * s);
        if (value !== BigInt(SINT_RESET_VALUE)) sints[String(s)] = formatHex(value);
        const flags = machine.sief.setFlags(v, s);
        if (flags.length > 0) siefFlags[String(s)] = flags;
        const count = t.shared
          ? Atomics.load(t.sintAssertions, v * SINT_COUNT + s)
          : t.sintAssertions[v * SINT_COUNT + s]!;
        if (count > 0) sintAssertions[String(s)] = count;
        const at = v * SIM_PAGE_BYTES + s * SIM_SLOT_BYTES;
        const slot = t.sim.subarray(at, at + SIM_SLOT_BYTES);
        const type = slot[0]! | (slot[1]! << 8) | (slot[2]! << 16) | (slot[3]! << 24);
        if (type !== HV_MESSAGE_TYPE_NONE) simSlots[String(s)] = Buffer.from(slot).toString("hex");
        else if (slot.some((b) => b !== 0))
          simResidue[String(s)] = Buffer.from(slot).toString("hex");
        const queued = queuedRecords(t, v, s);
        if (queued.length > 0) {
          queuedMessages[String(s)] = queued.length;
          messageQueues[String(s)] = queued.map((r) =>
            queuedMessageText(
              t.messageBytes.subarray(r * MESSAGE_RECORD_BYTES, (r + 1) * MESSAGE_RECORD_BYTES),
            ),
          );
        }
      }
      vps.push({
        index: t.vpIndex[v]!,
        scontrol: formatHex(msr(MSR_SCONTROL)),
        siefp: formatHex(msr(MSR_SIEFP)),
        simp: formatHex(msr(MSR_SIMP)),
        sints,
        siefFlags,
        sintAssertions,
        simSlots,
        queuedMessages,
        ...(Object.keys(simResidue).length > 0 ? { simResidue } : {}),
        ...(Object.keys(messageQueues).length > 0 ? { messageQueues } : {}),
      });
    }

    const mem = machine.memory[p]!;
    const memory = mem.backedPages().map((n) => {
      const gpa = GuestMemory.pageGpa(n);
      const page = mem.ramPage(n)!;
      return {
        gpa: formatHex(gpa),
        hex: Buffer.from(page.subarray(0, usedLength(page))).toString("hex"),
      };
    });

    partitions.push({
      id: t.partitionId[p]!,
      state: t.partitionActive[p] === 1 ? "active" : "inactive",
      privilegeMask: formatU64Hex(t.privilegeLo[p]!, t.privilegeHi[p]!),
      vps,
      ports: portsOf[p]!,
      connections: connectionsOf[p]!,
      memory,
    });
  }
  return { partitions };
}

function dumpPort(machine: Machine, q: number): Record<string, unknown> {
  const t = machine.tables;
  const type = t.portType[q]!;
  const port: Record<string, unknown> = {
    id: t.portId[q]!,
    type: PORT_TYPE_BY_VALUE[type],
    targetVp: t.portTargetVp[q] === HV_ANY_VP ? "any" : t.portTargetVp[q]!,
    targetSint: t.portTargetSint[q]!,
  };
  if (type === HvPortType.Event) {
    port.baseFlagNumber = t.portBaseFlag[q]!;
    port.flagCount = t.portFlagCount[q]!;
  }
  port.deleted = t.portDeleted[q] === 1;
  return port;
}

/** Minimal hex, as a scenario file writes register values ("0x1", "0x10000"). */
function formatHex(value: bigint): string {
  return `0x${value.toString(16)}`;
}

/**
 * How many bytes of a backed page the dump must write: up to the last non-zero byte, rounded up to
 * 8, at least 8 (the page stays backed when the dump is loaded again; the rest reads as zero).
 */
function usedLength(page: Uint8Array): number {
  let end = page.length;
  while (end > 0 && page[end - 1] === 0) end--;
  const rounded = Math.ceil(end / MEMORY_DUMP_GRANULE) * MEMORY_DUMP_GRANULE;
  return Math.max(MEMORY_DUMP_GRANULE, Math.min(rounded, HV_PAGE_SIZE));
}

const MEMORY_DUMP_GRANULE = 8;
