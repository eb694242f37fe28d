/**
 * Baseline (c): HvCallSignalEvent the way a straightforward implementation would write it. Each
 * 16-byte record is decoded with binary-parser into an object (control value as a u64 BigInt, the
 * input block by its TLFS layout); the machine is plain objects in Maps keyed by id; register values
 * stay BigInts as the scenario document gives them; the SIEF page is a byte array per VP. Same
 * check order and same statuses as the library (run.ts checks that they agree), no tricks either
 * way: no caching, no typed-array tables, no hand inlining.
 */
import { Parser } from "binary-parser";
import { HvCallCode } from "../src/abi/call-code.js";
import { CONNECTION_ID_RESERVED_MASK } from "../src/abi/connection-id.js";
import { HV_PAGE_SIZE } from "../src/abi/hv-page.js";
import { HvStatus } from "../src/abi/hv-status.js";
import { CONTROL_CALL_CODE_MASK, CONTROL_FAST_BIT } from "../src/abi/hypercall-control.js";
import { HYPERCALL_INPUT_ALIGNMENT } from "../src/abi/hypercall-input.js";
import { PartitionPrivilegeBit } from "../src/abi/partition-privilege.js";
import { EVENT_FLAGS_BYTES_PER_SINT, SIEF_PAGE_BYTES, SINT_COUNT } from "../src/abi/sief-page.js";
import { SIGNAL_EVENT_INPUT_SIZE } from "../src/abi/signal-event-input.js";
import {
  SCONTROL_ENABLE_BIT,
  SINT_MASKED_BIT,
  SYNIC_PAGE_ENABLE_BIT,
} from "../src/abi/synic-msr.js";
import { HV_ANY_VP } from "../src/abi/vp-index.js";
import { RECORD_INPUT_OFFSET, RECORD_SIZE } from "../src/dispatch/hypercall-record.js";
import type { ScenarioDocument } from "../src/state/scenario-document.js";

interface NaiveVp {
  index: number;
  scontrol: bigint;
  siefp: bigint;
  sints: bigint[];
  sief: Uint8Array;
  assertions: number[];
}

interface NaivePort {
  id: number;
  type: string;
  targetVp: number;
  targetSint: number;
  baseFlagNumber: number;
  flagCount: number;
  deleted: boolean;
}

interface NaiveConnection {
  id: number;
  portPartition: number;
  portId: number;
}

interface NaivePartition {
  id: number;
  active: boolean;
  privilegeMask: bigint;
  vps: Map<number, NaiveVp>;
  ports: Map<number, NaivePort>;
  connections: Map<number, NaiveConnection>;
  memory: Map<bigint, Uint8Array>;
}

interface NaiveRecord {
  control: bigint;
  input: { connectionId: number; flagNumber: number; rsvdZ: number };
}

const inputParser = new Parser()
  .endianness("little")
  .uint32("connectionId")
  .uint16("flagNumber")
  .uint16("rsvdZ");
const recordParser = new Parser()
  .endianness("little")
  .uint64("control")
  .nest("input", { type: inputParser });

const PAGE = BigInt(HV_PAGE_SIZE);
const SIGNAL_EVENTS = 1n << BigInt(PartitionPrivilegeBit.SignalEvents);
const FAST = BigInt(CONTROL_FAST_BIT);
const CALL_CODE = BigInt(CONTROL_CALL_CODE_MASK);

export class NaiveMachine {
  readonly partitions = new Map<number, NaivePartition>();

  constructor(doc: ScenarioDocument) {
    for (const p of doc.partitions) {
      const vps = new Map<number, NaiveVp>();
      for (const vp of p.vps) {
        vps.set(vp.index, {
          index: vp.index,
          scontrol: vp.scontrol,
          siefp: vp.siefp,
          sints: [...vp.sints],
          sief: new Uint8Array(SIEF_PAGE_BYTES),
          assertions: new Array<number>(SINT_COUNT).fill(0),
        });
      }
      const ports = new Map<number, NaivePort>();
      for (const port of p.ports) ports.set(port.id, { ...port });
      const connections = new Map<number, NaiveConnection>();
      for (const c of p.connections) connections.set(c.id, { ...c });
      const memory = new Map<bigint, Uint8Array>();
      this.partitions.set(p.id, {
        id: p.id,
        active: p.state === "active",
        privilegeMask: p.privilegeMask,
        vps,
        ports,
        connections,
        memory,
      });
    }
  }

  readMemory(partition: NaivePartition, gpa: bigint, length: number): Uint8Array | undefined {
    const page = partition.memory.get(gpa / PAGE);
    if (page === undefined) return undefined;
    const offset = Number(gpa % PAGE);
    return page.subarray(offset, offset + length);
  }

  writeMemory(partition: NaivePartition, gpa: bigint, bytes: Uint8Array): void {
    let page = partition.memory.get(gpa / PAGE);
    if (page === undefined) {
      page = new Uint8Array(HV_PAGE_SIZE);
      partition.memory.set(gpa / PAGE, page);
    }
    page.set(bytes, Number(gpa % PAGE));
  }

  /** One record for a caller: decode, validate, signal. Returns the HV_STATUS. */
  run(callerId: number, record: Uint8Array, scratchGpa: bigint): number {
    const decoded = recordParser.parse(record) as NaiveRecord;
    const caller = this.partitions.get(callerId)!;
    const control = decoded.control;
    const callCode = Number(control & CALL_CODE);
    if (callCode !== HvCallCode.SignalEvent) return HvStatus.INVALID_HYPERCALL_CODE;
    const fast = (control & FAST) !== 0n;
    if ((control & ~(CALL_CODE | FAST)) !== 0n) return HvStatus.INVALID_HYPERCALL_INPUT;
    if ((caller.privilegeMask & SIGNAL_EVENTS) === 0n) return HvStatus.ACCESS_DENIED;

    let input = decoded.input;
    if (!fast) {
      // A memory call: the replay writes the input block at the scratch GPA and passes the GPA.
      const bytes = record.subarray(RECORD_INPUT_OFFSET, RECORD_SIZE);
      this.writeMemory(caller, scratchGpa, bytes);
      if (scratchGpa % BigInt(HYPERCALL_INPUT_ALIGNMENT) !== 0n) return HvStatus.INVALID_ALIGNMENT;
      const block = this.readMemory(caller, scratchGpa, SIGNAL_EVENT_INPUT_SIZE);
      if (block === undefined) return HvStatus.INVALID_ALIGNMENT;
      input = inputParser.parse(block) as NaiveRecord["input"];
    }
    return this.signalEvent(caller, input.connectionId, input.flagNumber, input.rsvdZ);
  }

  signalEvent(
    caller: NaivePartition,
    connectionId: number,
    flagNumber: number,
    rsvdZ: number,
  ): number {
    if (rsvdZ !== 0 || (connectionId & CONNECTION_ID_RESERVED_MASK) !== 0) {
      return HvStatus.INVALID_HYPERCALL_INPUT;
    }
    const connection = caller.connections.get(connectionId);
    if (connection === undefined) return HvStatus.INVALID_CONNECTION_ID;
    const owner = this.partitions.get(connection.portPartition);
    const port = owner?.ports.get(connection.portId);
    if (
      owner === undefined ||
      port === undefined ||
      port.deleted ||
      !owner.active ||
      port.type !== "event"
    ) {
      return HvStatus.INVALID_PORT_ID;
    }
    if (flagNumber >= port.flagCount) return HvStatus.INVALID_PARAMETER;

    let vp: NaiveVp | undefined;
    if (port.targetVp === HV_ANY_VP) {
      if (owner.vps.size === 0) return HvStatus.INVALID_VP_INDEX;
      const sorted = [...owner.vps.values()].sort((a, b) => a.index - b.index);
      vp = sorted.find((v) => this.siefReady(v));
      if (vp === undefined) return HvStatus.INVALID_SYNIC_STATE;
    } else {
      vp = owner.vps.get(port.targetVp);
      if (vp === undefined) return HvStatus.INVALID_VP_INDEX;
      if (!this.siefReady(vp)) return HvStatus.INVALID_SYNIC_STATE;
    }
    const sint = port.targetSint;
    if ((vp.sints[sint]! & BigInt(SINT_MASKED_BIT)) !== 0n) return HvStatus.INVALID_SYNIC_STATE;

    const flag = port.baseFlagNumber + flagNumber;
    const byte = sint * EVENT_FLAGS_BYTES_PER_SINT + Math.floor(flag / 8);
    const bit = 1 << (flag % 8);
    if ((vp.sief[byte]! & bit) === 0) {
      vp.sief[byte] = vp.sief[byte]! | bit;
      vp.assertions[sint] = vp.assertions[sint]! + 1;
    }
    return HvStatus.SUCCESS;
  }

  siefReady(vp: NaiveVp): boolean {
    return (
      (vp.scontrol & BigInt(SCONTROL_ENABLE_BIT)) !== 0n &&
      (vp.siefp & BigInt(SYNIC_PAGE_ENABLE_BIT)) !== 0n
    );
  }
}

/** Runs every record of a buffer; the statuses go to `statuses` (one per record). */
export function runNaive(
  machine: NaiveMachine,
  callerId: number,
  records: Uint8Array,
  scratchGpa: bigint,
  statuses: Uint16Array,
): void {
  const n = records.length / RECORD_SIZE;
  for (let i = 0; i < n; i++) {
    const at = i * RECORD_SIZE;
    statuses[i] = machine.run(callerId, records.subarray(at, at + RECORD_SIZE), scratchGpa);
  }
}
