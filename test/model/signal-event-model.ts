/**
 * A second, independent model of HvCallSignalEvent, for testing only.
 *
 * Written straight from shared/spec/signal-event.md (§1 control value, §4 input block, §5 machine,
 * §6 check order) with plain objects: no typed arrays, no bit tricks on u32 halves, 64-bit values as
 * bigints, SIEF flags as Sets of flag numbers. It shares nothing with src/dispatch or src/state; the
 * only imports from src are the TLFS constants of src/abi (every TLFS number lives there once).
 *
 * Every answer also names the check of §6 that decided it (`check`), so that campaigns can count
 * distinct (status, check) pairs.
 */
import { HvCallCode } from "../../src/abi/call-code.js";
import { CONNECTION_ID_RESERVED_MASK } from "../../src/abi/connection-id.js";
import { HV_PAGE_SHIFT, HV_PAGE_SIZE } from "../../src/abi/hv-page.js";
import { HvStatus } from "../../src/abi/hv-status.js";
import {
  CONTROL_CALL_CODE_MASK,
  CONTROL_FAST_BIT,
  CONTROL_NESTED_BIT,
  CONTROL_REP_COUNT_MASK,
  CONTROL_REP_START_MASK,
  CONTROL_REP_START_SHIFT,
  CONTROL_RSVD_27_30_MASK,
  CONTROL_RSVD_27_30_SHIFT,
  CONTROL_RSVD_44_47_MASK,
  CONTROL_RSVD_44_47_SHIFT,
  CONTROL_RSVD_60_63_MASK,
  CONTROL_RSVD_60_63_SHIFT,
  CONTROL_VARIABLE_HEADER_MASK,
  CONTROL_VARIABLE_HEADER_SHIFT,
} from "../../src/abi/hypercall-control.js";
import { HYPERCALL_INPUT_ALIGNMENT } from "../../src/abi/hypercall-input.js";
import { PartitionPrivilegeBit } from "../../src/abi/partition-privilege.js";
import { EVENT_FLAGS_PER_SINT, SINT_COUNT } from "../../src/abi/sief-page.js";
import {
  SIGNAL_EVENT_CONNECTION_ID_OFFSET,
  SIGNAL_EVENT_FLAG_NUMBER_OFFSET,
  SIGNAL_EVENT_INPUT_SIZE,
  SIGNAL_EVENT_RSVDZ_OFFSET,
} from "../../src/abi/signal-event-input.js";
import {
  HvSynicMsr,
  SCONTROL_ENABLE_BIT,
  SINT_MASKED_BIT,
  SINT_RESET_VALUE,
  SYNIC_PAGE_ENABLE_BIT,
} from "../../src/abi/synic-msr.js";
import { HV_ANY_VP } from "../../src/abi/vp-index.js";
import type { ScenarioFile } from "./scenario-file.js";

// ---------------------------------------------------------------------------------------------
// The modeled machine (spec §5)
// ---------------------------------------------------------------------------------------------

export interface ModelVp {
  index: number;
  scontrol: bigint;
  siefp: bigint;
  simp: bigint;
  /** SINT0..SINT15 MSR values. */
  sints: bigint[];
  /** Per SINT: the event flag numbers set in its HV_SYNIC_EVENT_FLAGS. */
  flags: Set<number>[];
  /** Per SINT: edge-triggered interrupts asserted since the start. */
  assertions: number[];
}

export interface ModelPort {
  id: number;
  type: "event" | "message" | "monitor";
  /** A VP index, or HV_ANY_VP. */
  targetVp: number;
  targetSint: number;
  base: number;
  count: number;
  deleted: boolean;
}

export interface ModelConnection {
  id: number;
  portPartition: number;
  portId: number;
}

export interface ModelPartition {
  id: number;
  active: boolean;
  privilegeMask: bigint;
  vps: ModelVp[];
  ports: ModelPort[];
  connections: ModelConnection[];
  /** Guest memory: bytes by GPA (a backed byte that is absent reads 0) and backed page numbers. */
  memoryBytes: Map<bigint, number>;
  backedPages: Set<bigint>;
}

export interface ModelMachine {
  partitions: ModelPartition[];
}

const PAGE_SIZE = BigInt(HV_PAGE_SIZE);
const PAGE_SHIFT = BigInt(HV_PAGE_SHIFT);
const U64 = (1n << 64n) - 1n;

function privilegeMaskFromNames(names: readonly string[]): bigint {
  let mask = 0n;
  for (const name of names) {
    const bit = (PartitionPrivilegeBit as Readonly<Record<string, number>>)[name];
    if (bit === undefined) throw new Error(`model: unknown privilege ${name}`);
    mask |= 1n << BigInt(bit);
  }
  return mask;
}

/**
 * Builds the model from a scenario file that the contract accepts (the generators only make valid
 * ones; this is not a validator).
 */
export function buildModel(file: ScenarioFile): ModelMachine {
  return {
    partitions: file.partitions.map((p) => {
      const memoryBytes = new Map<bigint, number>();
      const backedPages = new Set<bigint>();
      for (const m of p.memory ?? [])
        writeBytes(memoryBytes, backedPages, BigInt(m.gpa), hexBytes(m.hex));
      return {
        id: p.id,
        active: (p.state ?? "active") === "active",
        privilegeMask:
          p.privileges !== undefined
            ? privilegeMaskFromNames(p.privileges)
            : BigInt(p.privilegeMask ?? "0x0"),
        vps: (p.vps ?? []).map((vp) => ({
          index: vp.index,
          scontrol: BigInt(vp.scontrol ?? "0x0"),
          siefp: BigInt(vp.siefp ?? "0x0"),
          simp: BigInt(vp.simp ?? "0x0"),
          sints: Array.from({ length: SINT_COUNT }, (_, s) =>
            BigInt(vp.sints?.[String(s)] ?? SINT_RESET_VALUE),
          ),
          flags: Array.from({ length: SINT_COUNT }, () => new Set<number>()),
          assertions: new Array<number>(SINT_COUNT).fill(0),
        })),
        ports: (p.ports ?? []).map((q) => ({
          id: q.id,
          type: q.type,
          targetVp: q.targetVp === "any" ? HV_ANY_VP : q.targetVp,
          targetSint: q.targetSint,
          base: q.type === "event" ? (q.baseFlagNumber ?? 0) : 0,
          count: q.type === "event" ? (q.flagCount ?? 0) : 0,
          deleted: q.deleted ?? false,
        })),
        connections: (p.connections ?? []).map((c) => ({ ...c })),
        memoryBytes,
        backedPages,
      };
    }),
  };
}

function hexBytes(hex: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < hex.length; i += 2) out.push(Number.parseInt(hex.slice(i, i + 2), 16));
  return out;
}

function writeBytes(
  bytes: Map<bigint, number>,
  pages: Set<bigint>,
  gpa: bigint,
  data: readonly number[],
): void {
  data.forEach((b, i) => {
    const at = gpa + BigInt(i);
    bytes.set(at, b);
    pages.add(at >> PAGE_SHIFT);
  });
}

/** The host backs memory and writes bytes into it (what replay does with its scratch page). */
export function modelWriteMemory(
  m: ModelMachine,
  partitionId: number,
  gpa: bigint,
  data: readonly number[],
): void {
  const p = partition(m, partitionId);
  writeBytes(p.memoryBytes, p.backedPages, gpa, data);
}

/** Backs a whole page without writing into it. */
export function modelMapPage(m: ModelMachine, partitionId: number, gpa: bigint): void {
  partition(m, partitionId).backedPages.add(gpa >> PAGE_SHIFT);
}

function partition(m: ModelMachine, id: number): ModelPartition {
  const p = m.partitions.find((x) => x.id === id);
  if (p === undefined) throw new Error(`model: no partition ${id}`);
  return p;
}

function vpOf(m: ModelMachine, partitionId: number, vpIndex: number): ModelVp {
  const vp = partition(m, partitionId).vps.find((v) => v.index === vpIndex);
  if (vp === undefined) throw new Error(`model: partition ${partitionId} has no VP ${vpIndex}`);
  return vp;
}

// ---------------------------------------------------------------------------------------------
// The emulator's state changes between calls
// ---------------------------------------------------------------------------------------------

/** The guest clears an event flag; true when it was set. */
export function modelClearFlag(
  m: ModelMachine,
  partitionId: number,
  vpIndex: number,
  sint: number,
  flag: number,
): boolean {
  return vpOf(m, partitionId, vpIndex).flags[sint]!.delete(flag);
}

/** A guest MSR write: SCONTROL, SIEFP, SIMP or SINT0..15. */
export function modelWriteMsr(
  m: ModelMachine,
  partitionId: number,
  vpIndex: number,
  msr: number,
  value: bigint,
): void {
  const vp = vpOf(m, partitionId, vpIndex);
  const v = value & U64;
  if (msr === HvSynicMsr.SCONTROL) vp.scontrol = v;
  else if (msr === HvSynicMsr.SIEFP) vp.siefp = v;
  else if (msr === HvSynicMsr.SIMP) vp.simp = v;
  else if (msr >= HvSynicMsr.SINT0 && msr <= HvSynicMsr.SINT15)
    vp.sints[msr - HvSynicMsr.SINT0] = v;
  else throw new Error(`model: MSR 0x${msr.toString(16)} is not modeled`);
}

export function modelDeletePort(m: ModelMachine, partitionId: number, portId: number): void {
  const port = partition(m, partitionId).ports.find((q) => q.id === portId);
  if (port === undefined) throw new Error(`model: partition ${partitionId} has no port ${portId}`);
  port.deleted = true;
}

export function modelSetActive(m: ModelMachine, partitionId: number, active: boolean): void {
  partition(m, partitionId).active = active;
}

export function modelSetPrivilegeMask(m: ModelMachine, partitionId: number, mask: bigint): void {
  partition(m, partitionId).privilegeMask = mask & U64;
}

// ---------------------------------------------------------------------------------------------
// HvCallSignalEvent (spec §6)
// ---------------------------------------------------------------------------------------------

/** Which check of §6 decided the call (step number and sub-reason). */
export type ModelCheck =
  | "1:call-code"
  | "2:variable-header"
  | "2:rsvd-27-30"
  | "2:nested"
  | "2:rep-count"
  | "2:rsvd-44-47"
  | "2:rep-start"
  | "2:rsvd-60-63"
  | "3:privilege"
  | "4:misaligned"
  | "4:page-crossing"
  | "4:unbacked"
  | "5:rsvdz"
  | "5:connection-reserved"
  | "6:no-connection"
  | "7:no-port"
  | "7:deleted"
  | "7:inactive"
  | "7:not-event"
  | "8:flag-range"
  | "9:no-vp"
  | "9:any-no-vps"
  | "10:scontrol"
  | "10:siefp"
  | "10:any-none-ready"
  | "10:masked"
  | "11:set"
  | "11:already-set";

export const MODEL_CHECKS: readonly ModelCheck[] = [
  "1:call-code",
  "2:variable-header",
  "2:rsvd-27-30",
  "2:nested",
  "2:rep-count",
  "2:rsvd-44-47",
  "2:rep-start",
  "2:rsvd-60-63",
  "3:privilege",
  "4:misaligned",
  "4:page-crossing",
  "4:unbacked",
  "5:rsvdz",
  "5:connection-reserved",
  "6:no-connection",
  "7:no-port",
  "7:deleted",
  "7:inactive",
  "7:not-event",
  "8:flag-range",
  "9:no-vp",
  "9:any-no-vps",
  "10:scontrol",
  "10:siefp",
  "10:any-none-ready",
  "10:masked",
  "11:set",
  "11:already-set",
];

/** The flag a successful call addressed. */
export interface ModelTarget {
  readonly partitionId: number;
  readonly vpIndex: number;
  readonly sint: number;
  /** Absolute flag number in the SINT's area: BaseFlagNumber + FlagNumber. */
  readonly flag: number;
  /** True when the flag was clear before (an interrupt was asserted). */
  readonly newlySet: boolean;
}

export interface ModelOutcome {
  readonly status: number;
  readonly check: ModelCheck;
  readonly target?: ModelTarget;
}

/** The decoded 8-byte input block (spec §4). */
export interface ModelSignalInput {
  readonly connectionId: number;
  readonly flagNumber: number;
  readonly rsvdZ: number;
}

function fail(status: number, check: ModelCheck): ModelOutcome {
  return { status, check };
}

function field(value: bigint, shift: number, mask: number): bigint {
  return (value >> BigInt(shift)) & BigInt(mask);
}

/** §1: the first rule of a simple call's control value that `control` breaks, or undefined. */
export function modelControlRule(control: bigint): ModelCheck | undefined {
  const lo = control & 0xffff_ffffn;
  const hi = (control >> 32n) & 0xffff_ffffn;
  if (field(lo, CONTROL_VARIABLE_HEADER_SHIFT, CONTROL_VARIABLE_HEADER_MASK) !== 0n) {
    return "2:variable-header";
  }
  if (field(lo, CONTROL_RSVD_27_30_SHIFT, CONTROL_RSVD_27_30_MASK) !== 0n) return "2:rsvd-27-30";
  if ((lo & BigInt(CONTROL_NESTED_BIT)) !== 0n) return "2:nested";
  if (field(hi, 0, CONTROL_REP_COUNT_MASK) !== 0n) return "2:rep-count";
  if (field(hi, CONTROL_RSVD_44_47_SHIFT, CONTROL_RSVD_44_47_MASK) !== 0n) return "2:rsvd-44-47";
  if (field(hi, CONTROL_REP_START_SHIFT, CONTROL_REP_START_MASK) !== 0n) return "2:rep-start";
  if (field(hi, CONTROL_RSVD_60_63_SHIFT, CONTROL_RSVD_60_63_MASK) !== 0n) return "2:rsvd-60-63";
  return undefined;
}

/** The 8 input bytes of a fast call: RDX, little-endian. */
export function registerBytes(rdx: bigint): number[] {
  const out: number[] = [];
  for (let i = 0; i < SIGNAL_EVENT_INPUT_SIZE; i++)
    out.push(Number((rdx >> BigInt(8 * i)) & 0xffn));
  return out;
}

/** Field sizes of the input block, from the offsets of the TLFS layout (src/abi). */
const CONNECTION_ID_SIZE = SIGNAL_EVENT_FLAG_NUMBER_OFFSET - SIGNAL_EVENT_CONNECTION_ID_OFFSET;
const FLAG_NUMBER_SIZE = SIGNAL_EVENT_RSVDZ_OFFSET - SIGNAL_EVENT_FLAG_NUMBER_OFFSET;
const RSVDZ_SIZE = SIGNAL_EVENT_INPUT_SIZE - SIGNAL_EVENT_RSVDZ_OFFSET;

function le(bytes: readonly number[], offset: number, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + bytes[offset + i]!;
  return v;
}

/** §4: the input block's fields from its 8 bytes. */
export function decodeModelInput(bytes: readonly number[]): ModelSignalInput {
  return {
    connectionId: le(bytes, SIGNAL_EVENT_CONNECTION_ID_OFFSET, CONNECTION_ID_SIZE),
    flagNumber: le(bytes, SIGNAL_EVENT_FLAG_NUMBER_OFFSET, FLAG_NUMBER_SIZE),
    rsvdZ: le(bytes, SIGNAL_EVENT_RSVDZ_OFFSET, RSVDZ_SIZE),
  };
}

/** The 8 input bytes for the fields (each truncated to its width). */
export function encodeModelInput(input: ModelSignalInput): number[] {
  const out = new Array<number>(SIGNAL_EVENT_INPUT_SIZE).fill(0);
  const put = (offset: number, size: number, value: number) => {
    let v = value;
    for (let i = 0; i < size; i++) {
      out[offset + i] = v % 256;
      v = Math.floor(v / 256);
    }
  };
  put(SIGNAL_EVENT_CONNECTION_ID_OFFSET, CONNECTION_ID_SIZE, input.connectionId);
  put(SIGNAL_EVENT_FLAG_NUMBER_OFFSET, FLAG_NUMBER_SIZE, input.flagNumber);
  put(SIGNAL_EVENT_RSVDZ_OFFSET, RSVDZ_SIZE, input.rsvdZ);
  return out;
}

/** The same block as one u64 (RDX of a fast call). */
export function inputToRegister(input: ModelSignalInput): bigint {
  return encodeModelInput(input).reduceRight((acc, b) => (acc << 8n) | BigInt(b), 0n);
}

function synicReady(vp: ModelVp): boolean {
  return (
    (vp.scontrol & BigInt(SCONTROL_ENABLE_BIT)) !== 0n &&
    (vp.siefp & BigInt(SYNIC_PAGE_ENABLE_BIT)) !== 0n
  );
}

/**
 * One hypercall by the partition `callerId`, in the normative order of spec §6: `control` is RCX,
 * `rdx` is RDX (the input block of a fast call, the input GPA of a memory call). A call that fails
 * changes nothing; a successful one sets one flag and maybe asserts one interrupt.
 */
export function modelHypercall(
  m: ModelMachine,
  callerId: number,
  control: bigint,
  rdx: bigint,
): ModelOutcome {
  const c = control & U64;
  const caller = partition(m, callerId);

  // 1. Call code.
  if ((c & BigInt(CONTROL_CALL_CODE_MASK)) !== BigInt(HvCallCode.SignalEvent)) {
    return fail(HvStatus.INVALID_HYPERCALL_CODE, "1:call-code");
  }
  // 2. Control value rules of §1 (the fast bit may be either).
  const rule = modelControlRule(c);
  if (rule !== undefined) return fail(HvStatus.INVALID_HYPERCALL_INPUT, rule);
  const fast = (c & BigInt(CONTROL_FAST_BIT)) !== 0n;

  // 3. SignalEvents privilege.
  if (((caller.privilegeMask >> BigInt(PartitionPrivilegeBit.SignalEvents)) & 1n) === 0n) {
    return fail(HvStatus.ACCESS_DENIED, "3:privilege");
  }

  // 4. The input block: RDX for a fast call, guest memory at the GPA otherwise.
  let bytes: number[];
  if (fast) {
    bytes = registerBytes(rdx & U64);
  } else {
    const gpa = rdx & U64;
    if (gpa % BigInt(HYPERCALL_INPUT_ALIGNMENT) !== 0n) {
      return fail(HvStatus.INVALID_ALIGNMENT, "4:misaligned");
    }
    if ((gpa % PAGE_SIZE) + BigInt(SIGNAL_EVENT_INPUT_SIZE) > PAGE_SIZE) {
      return fail(HvStatus.INVALID_ALIGNMENT, "4:page-crossing");
    }
    if (!caller.backedPages.has(gpa >> PAGE_SHIFT)) {
      return fail(HvStatus.INVALID_ALIGNMENT, "4:unbacked");
    }
    bytes = [];
    for (let i = 0; i < SIGNAL_EVENT_INPUT_SIZE; i++) {
      bytes.push(caller.memoryBytes.get(gpa + BigInt(i)) ?? 0);
    }
  }
  const { connectionId, flagNumber, rsvdZ } = decodeModelInput(bytes);

  // 5. RsvdZ and HV_CONNECTION_ID bits 31:24.
  if (rsvdZ !== 0) return fail(HvStatus.INVALID_HYPERCALL_INPUT, "5:rsvdz");
  if ((connectionId & CONNECTION_ID_RESERVED_MASK) !== 0) {
    return fail(HvStatus.INVALID_HYPERCALL_INPUT, "5:connection-reserved");
  }

  // 6. One of the caller's connections.
  const conn = caller.connections.find((x) => x.id === connectionId);
  if (conn === undefined) return fail(HvStatus.INVALID_CONNECTION_ID, "6:no-connection");

  // 7. The port: exists, not deleted, owner active, an event port.
  const owner = partition(m, conn.portPartition);
  const port = owner.ports.find((q) => q.id === conn.portId);
  if (port === undefined) return fail(HvStatus.INVALID_PORT_ID, "7:no-port");
  if (port.deleted) return fail(HvStatus.INVALID_PORT_ID, "7:deleted");
  if (!owner.active) return fail(HvStatus.INVALID_PORT_ID, "7:inactive");
  if (port.type !== "event") return fail(HvStatus.INVALID_PORT_ID, "7:not-event");

  // 8. FlagNumber below FlagCount.
  if (flagNumber >= port.count) return fail(HvStatus.INVALID_PARAMETER, "8:flag-range");

  // 9. and 10. Target VP and its SynIC state.
  let vp: ModelVp | undefined;
  if (port.targetVp === HV_ANY_VP) {
    if (owner.vps.length === 0) return fail(HvStatus.INVALID_VP_INDEX, "9:any-no-vps");
    vp = [...owner.vps].sort((a, b) => a.index - b.index).find(synicReady);
    if (vp === undefined) return fail(HvStatus.INVALID_SYNIC_STATE, "10:any-none-ready");
  } else {
    vp = owner.vps.find((x) => x.index === port.targetVp);
    if (vp === undefined) return fail(HvStatus.INVALID_VP_INDEX, "9:no-vp");
    if ((vp.scontrol & BigInt(SCONTROL_ENABLE_BIT)) === 0n) {
      return fail(HvStatus.INVALID_SYNIC_STATE, "10:scontrol");
    }
    if ((vp.siefp & BigInt(SYNIC_PAGE_ENABLE_BIT)) === 0n) {
      return fail(HvStatus.INVALID_SYNIC_STATE, "10:siefp");
    }
  }
  const sint = port.targetSint;
  if ((vp.sints[sint]! & BigInt(SINT_MASKED_BIT)) !== 0n) {
    return fail(HvStatus.INVALID_SYNIC_STATE, "10:masked");
  }

  // 11. Set the flag; an interrupt only on a 0 -> 1 transition.
  const flag = port.base + flagNumber;
  if (flag >= EVENT_FLAGS_PER_SINT) throw new Error("model: scenario broke base + count <= 2048");
  const flags = vp.flags[sint]!;
  const newlySet = !flags.has(flag);
  if (newlySet) {
    flags.add(flag);
    vp.assertions[sint] = vp.assertions[sint]! + 1;
  }
  return {
    status: HvStatus.SUCCESS,
    check: newlySet ? "11:set" : "11:already-set",
    target: { partitionId: owner.id, vpIndex: vp.index, sint, flag, newlySet },
  };
}

// ---------------------------------------------------------------------------------------------
// Final state, in the dump format of the CLI contract (--dump-state)
// ---------------------------------------------------------------------------------------------

export interface VpFinal {
  siefFlags: Record<string, number[]>;
  sintAssertions: Record<string, number>;
}

/** partition id -> VP index -> flags and assertion counts (only SINTs with something). */
export type FinalState = Record<string, Record<string, VpFinal>>;

export function modelFinalState(m: ModelMachine): FinalState {
  const out: FinalState = {};
  for (const p of m.partitions) {
    const vps: Record<string, VpFinal> = {};
    for (const vp of p.vps) {
      const siefFlags: Record<string, number[]> = {};
      const sintAssertions: Record<string, number> = {};
      for (let s = 0; s < SINT_COUNT; s++) {
        const set = vp.flags[s]!;
        if (set.size > 0) siefFlags[String(s)] = [...set].sort((a, b) => a - b);
        const n = vp.assertions[s]!;
        if (n > 0) sintAssertions[String(s)] = n;
      }
      vps[String(vp.index)] = { siefFlags, sintAssertions };
    }
    out[String(p.id)] = vps;
  }
  return out;
}
