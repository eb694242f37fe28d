/**
 * A reference model of HvCallSignalEvent written straight from signal-event spec §6, over the
 * validated scenario document (not over the machine's tables), with BigInt arithmetic on the 64-bit
 * values. It shares nothing with the implementation but the ABI constants.
 */
import {
  CONNECTION_ID_RESERVED_MASK,
  CONTROL_CALL_CODE_MASK,
  CONTROL_FAST_BIT,
  HV_ANY_VP,
  HV_PAGE_SIZE,
  HvCallCode,
  HvStatus,
  HYPERCALL_INPUT_ALIGNMENT,
  PartitionPrivilegeBit,
  type PartitionSpec,
  SCONTROL_ENABLE_BIT,
  type ScenarioDocument,
  SIGNAL_EVENT_CONNECTION_ID_OFFSET,
  SIGNAL_EVENT_FLAG_NUMBER_OFFSET,
  SIGNAL_EVENT_INPUT_SIZE,
  SIGNAL_EVENT_RSVDZ_OFFSET,
  SINT_MASKED_BIT,
  SINT_VECTOR_MASK,
  SYNIC_PAGE_ENABLE_BIT,
} from "../../../src/index.js";
import { bytesOfU64 } from "./scenario.js";

export interface Edge {
  readonly partitionId: number;
  readonly vpIndex: number;
  readonly sint: number;
  /** Absolute flag number (base + FlagNumber). */
  readonly flag: number;
  readonly vector: number;
}

export interface Prediction {
  readonly status: number;
  /** On a 0 -> 1 transition: where, and the interrupt asserted. */
  readonly edge?: Edge;
}

const PAGE = BigInt(HV_PAGE_SIZE);

export class Oracle {
  private readonly flags = new Set<string>();

  constructor(private readonly doc: ScenarioDocument) {}

  private partition(id: number): PartitionSpec | undefined {
    return this.doc.partitions.find((p) => p.id === id);
  }

  /** The bytes of the caller's memory at gpa, or undefined when that page is not backed. */
  private read(p: PartitionSpec, gpa: bigint, size: number): Uint8Array | undefined {
    const page = gpa / PAGE;
    const backed = p.memory.some((m) => {
      const first = m.gpa / PAGE;
      const last = (m.gpa + BigInt(m.bytes.length) - 1n) / PAGE;
      return first <= page && page <= last;
    });
    if (!backed) return undefined;
    const out = new Uint8Array(size);
    for (let i = 0; i < size; i++) {
      const at = gpa + BigInt(i);
      for (const m of p.memory) {
        if (m.gpa <= at && at < m.gpa + BigInt(m.bytes.length))
          out[i] = m.bytes[Number(at - m.gpa)]!;
      }
    }
    return out;
  }

  call(callerId: number, controlValue: bigint, register: bigint): Prediction {
    const caller = this.partition(callerId);
    if (caller === undefined) throw new Error("oracle: unknown caller");
    // 1.
    if ((controlValue & BigInt(CONTROL_CALL_CODE_MASK)) !== BigInt(HvCallCode.SignalEvent)) {
      return { status: HvStatus.INVALID_HYPERCALL_CODE };
    }
    // 2. A simple call without variable header, not nested: only code and fast may be set.
    if ((controlValue & ~BigInt(CONTROL_CALL_CODE_MASK | CONTROL_FAST_BIT)) !== 0n) {
      return { status: HvStatus.INVALID_HYPERCALL_INPUT };
    }
    // 3.
    if (((caller.privilegeMask >> BigInt(PartitionPrivilegeBit.SignalEvents)) & 1n) === 0n) {
      return { status: HvStatus.ACCESS_DENIED };
    }
    // 4.
    let bytes: Uint8Array;
    if ((controlValue & BigInt(CONTROL_FAST_BIT)) !== 0n) {
      bytes = bytesOfU64(register);
    } else {
      if (register % BigInt(HYPERCALL_INPUT_ALIGNMENT) !== 0n)
        return { status: HvStatus.INVALID_ALIGNMENT };
      if ((register % PAGE) + BigInt(SIGNAL_EVENT_INPUT_SIZE) > PAGE) {
        return { status: HvStatus.INVALID_ALIGNMENT };
      }
      const read = this.read(caller, register, SIGNAL_EVENT_INPUT_SIZE);
      if (read === undefined) return { status: HvStatus.INVALID_ALIGNMENT };
      bytes = read;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, SIGNAL_EVENT_INPUT_SIZE);
    const connectionId = view.getUint32(SIGNAL_EVENT_CONNECTION_ID_OFFSET, true);
    const flagNumber = view.getUint16(SIGNAL_EVENT_FLAG_NUMBER_OFFSET, true);
    const rsvdZ = view.getUint16(SIGNAL_EVENT_RSVDZ_OFFSET, true);
    // 5.
    if (rsvdZ !== 0 || (connectionId & CONNECTION_ID_RESERVED_MASK) !== 0) {
      return { status: HvStatus.INVALID_HYPERCALL_INPUT };
    }
    // 6.
    const conn = caller.connections.find((c) => c.id === connectionId);
    if (conn === undefined) return { status: HvStatus.INVALID_CONNECTION_ID };
    // 7.
    const owner = this.partition(conn.portPartition);
    const port = owner?.ports.find((q) => q.id === conn.portId);
    if (
      owner === undefined ||
      port === undefined ||
      port.deleted ||
      owner.state !== "active" ||
      port.type !== "event"
    ) {
      return { status: HvStatus.INVALID_PORT_ID };
    }
    // 8.
    if (flagNumber >= port.flagCount) return { status: HvStatus.INVALID_PARAMETER };
    // 9. and 10.
    const ready = (v: PartitionSpec["vps"][number]) =>
      (v.scontrol & BigInt(SCONTROL_ENABLE_BIT)) !== 0n &&
      (v.siefp & BigInt(SYNIC_PAGE_ENABLE_BIT)) !== 0n;
    let vp: PartitionSpec["vps"][number] | undefined;
    if (port.targetVp === HV_ANY_VP) {
      if (owner.vps.length === 0) return { status: HvStatus.INVALID_VP_INDEX };
      vp = [...owner.vps].sort((a, b) => a.index - b.index).find(ready);
      if (vp === undefined) return { status: HvStatus.INVALID_SYNIC_STATE };
    } else {
      vp = owner.vps.find((v) => v.index === port.targetVp);
      if (vp === undefined) return { status: HvStatus.INVALID_VP_INDEX };
      if (!ready(vp)) return { status: HvStatus.INVALID_SYNIC_STATE };
    }
    const sintValue = vp.sints[port.targetSint]!;
    if ((sintValue & BigInt(SINT_MASKED_BIT)) !== 0n)
      return { status: HvStatus.INVALID_SYNIC_STATE };
    // 11.
    const flag = port.baseFlagNumber + flagNumber;
    const key = `${owner.id}/${vp.index}/${port.targetSint}/${flag}`;
    if (this.flags.has(key)) return { status: HvStatus.SUCCESS };
    this.flags.add(key);
    return {
      status: HvStatus.SUCCESS,
      edge: {
        partitionId: owner.id,
        vpIndex: vp.index,
        sint: port.targetSint,
        flag,
        vector: Number(sintValue & BigInt(SINT_VECTOR_MASK)),
      },
    };
  }
}
