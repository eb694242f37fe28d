/**
 * An independent reference model of the SynIC, HvCallSignalEvent, HvCallPostMessage and the guest
 * trace ops of `hvcall run`, for differential testing only.
 *
 * Written from shared/spec (signal-event.md, synic.md, post-message.md, cli-contract.md) alone:
 * every number is typed in by hand (trace-model-basics.ts), nothing is imported from src/. Plain
 * objects, arrays of byte values, bigints for 64-bit values. The SIEF and SIM page contents of each
 * VP are plain 4096-entry byte arrays: the event flags and the message slots live in those bytes,
 * so guest writes into an overlay page change them exactly as the spec says.
 *
 * Files: trace-model-basics.ts (numbers, hex), trace-model-machine.ts (state, scenario loading,
 * guest memory through overlays), trace-model-synic.ts (MSRs, delivery), trace-model-hypercall.ts
 * (the check orders of both calls).
 */
import {
  bytesFromHex,
  bytesToHex,
  hex64,
  parseHex64,
  readLe,
  resultValue,
  SINT_AREA_SIZE,
  SINT_COUNT,
  STATUS_VALUES,
} from "./trace-model-basics.js";
import { hypercall } from "./trace-model-hypercall.js";
import {
  guestRead,
  guestWrite,
  loadScenario,
  type Machine,
  type Partition,
  type Vp,
} from "./trace-model-machine.js";
import { flagIsSet, readMsr, rescan, writeMsr } from "./trace-model-synic.js";

export { STATUS_VALUES };

export type TraceOp =
  | { op: "hypercall"; partition?: number; vp?: number; control: string; rdx: string; r8?: string }
  | { op: "write"; partition?: number; vp?: number; gpa: string; hex: string }
  | { op: "read"; partition?: number; vp?: number; gpa: string; length: number }
  | { op: "wrmsr"; partition?: number; vp?: number; msr: string | number; value: string }
  | { op: "rdmsr"; partition?: number; vp?: number; msr: string | number }
  | { op: "eoi"; partition?: number; vp?: number };

export interface ModelLine {
  index: number;
  op: TraceOp["op"];
  status?: string;
  result?: string;
  check?: string;
  detail?: string;
  outcome?: "ok" | "unbacked" | "#GP";
  hex?: string;
  value?: string;
}

export interface ModelFinalVp {
  partition: number;
  vp: number;
  siefFlags: Record<string, number[]>;
  sintAssertions: Record<string, number>;
  simSlots: Record<string, string>;
  queuedMessages: Record<string, number>;
}

/** An MSR number from a trace: a JSON integer or a hex string. */
function msrNumber(msr: string | number): number {
  if (typeof msr === "number") {
    return msr;
  }
  return Number(parseHex64(msr, "msr"));
}

export class TraceModel {
  private readonly machine: Machine;

  /** From a scenario JSON object as the contract defines it (assumed valid). */
  constructor(scenario: unknown) {
    this.machine = loadScenario(scenario);
  }

  /** Runs one trace op; `defaults` gives the partition / vp an op does not name. */
  step(op: TraceOp, index: number, defaults: { partition: number; vp: number }): ModelLine {
    const partition = this.partition(op.partition ?? defaults.partition);
    const vpIndex = op.vp ?? defaults.vp;
    switch (op.op) {
      case "hypercall": {
        this.vp(partition, vpIndex); // the issuing VP must exist; it does not matter otherwise
        const control = parseHex64(op.control, "control");
        const rdx = parseHex64(op.rdx, "rdx");
        parseHex64(op.r8 ?? "0x0", "r8"); // neither call has an output: R8 is not used
        const a = hypercall(this.machine, partition, control, rdx);
        return {
          index,
          op: "hypercall",
          status: a.status,
          result: hex64(resultValue(a.status)),
          check: a.check,
          detail: a.detail,
        };
      }
      case "write": {
        const bytes = bytesFromHex(op.hex, "hex");
        const ok = guestWrite(partition, parseHex64(op.gpa, "gpa"), bytes);
        return { index, op: "write", outcome: ok ? "ok" : "unbacked" };
      }
      case "read": {
        const bytes = guestRead(partition, parseHex64(op.gpa, "gpa"), op.length);
        if (bytes === undefined) {
          return { index, op: "read", outcome: "unbacked" };
        }
        return { index, op: "read", outcome: "ok", hex: bytesToHex(bytes) };
      }
      case "wrmsr": {
        const vp = this.vp(partition, vpIndex);
        const ok = writeMsr(vp, msrNumber(op.msr), parseHex64(op.value, "value"));
        return { index, op: "wrmsr", outcome: ok ? "ok" : "#GP" };
      }
      case "rdmsr": {
        const value = readMsr(this.vp(partition, vpIndex), msrNumber(op.msr));
        if (value === undefined) {
          return { index, op: "rdmsr", outcome: "#GP" };
        }
        return { index, op: "rdmsr", outcome: "ok", value: hex64(value) };
      }
      case "eoi": {
        rescan(this.vp(partition, vpIndex));
        return { index, op: "eoi", outcome: "ok" };
      }
    }
  }

  /** Host action: delete a port; its queued messages are dropped, which frees its buffers. */
  deletePort(partitionId: number, portId: number): void {
    const owner = this.partition(partitionId);
    const port = owner.ports.get(portId);
    if (port === undefined) {
      throw new Error(`partition ${partitionId} has no port ${portId}`);
    }
    port.deleted = true;
    for (const vp of owner.vps) {
      vp.queues = vp.queues.map((queue) => queue.filter((message) => message.portId !== portId));
    }
  }

  setPartitionActive(partitionId: number, active: boolean): void {
    this.partition(partitionId).active = active;
  }

  setPrivilegeMask(partitionId: number, mask: bigint): void {
    this.partition(partitionId).privilegeMask = mask;
  }

  /** Every VP of every partition, partitions in scenario order, VPs by ascending index. */
  finalState(): ModelFinalVp[] {
    const out: ModelFinalVp[] = [];
    for (const p of this.machine.partitions) {
      for (const vp of p.vps) {
        out.push(finalVp(p, vp));
      }
    }
    return out;
  }

  /** Guest-visible bytes (through overlays), or undefined if any byte's page is unbacked. */
  readGuest(partitionId: number, gpa: bigint, length: number): Uint8Array | undefined {
    const bytes = guestRead(this.partition(partitionId), gpa, length);
    return bytes === undefined ? undefined : Uint8Array.from(bytes);
  }

  private partition(id: number): Partition {
    const p = this.machine.partitions.find((q) => q.id === id);
    if (p === undefined) {
      throw new Error(`no partition ${id}`);
    }
    return p;
  }

  private vp(p: Partition, index: number): Vp {
    const vp = p.vps.find((v) => v.index === index);
    if (vp === undefined) {
      throw new Error(`partition ${p.id} has no VP ${index}`);
    }
    return vp;
  }
}

function finalVp(p: Partition, vp: Vp): ModelFinalVp {
  const state: ModelFinalVp = {
    partition: p.id,
    vp: vp.index,
    siefFlags: {},
    sintAssertions: {},
    simSlots: {},
    queuedMessages: {},
  };
  for (let sint = 0; sint < SINT_COUNT; sint++) {
    const key = String(sint);
    const flags: number[] = [];
    for (let flag = 0; flag < SINT_AREA_SIZE * 8; flag++) {
      if (flagIsSet(vp, sint, flag)) {
        flags.push(flag);
      }
    }
    if (flags.length > 0) {
      state.siefFlags[key] = flags;
    }
    const assertions = vp.assertions[sint]!;
    if (assertions > 0) {
      state.sintAssertions[key] = assertions;
    }
    const slot = vp.sim.slice(sint * SINT_AREA_SIZE, (sint + 1) * SINT_AREA_SIZE);
    if (readLe(slot, 0, 4) !== 0n) {
      state.simSlots[key] = bytesToHex(slot);
    }
    const queued = vp.queues[sint]!.length;
    if (queued > 0) {
      state.queuedMessages[key] = queued;
    }
  }
  return state;
}
