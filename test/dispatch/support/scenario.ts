/**
 * Shared helpers for the dispatcher tests: scenario JSON (the CLI contract's file format), a base
 * scenario in which one HvCallSignalEvent succeeds, and call helpers that run the same call through
 * both public entry points (hypercall() and Dispatcher.dispatch) in both input forms.
 *
 * The calls go through the public API (src/index.ts); the ABI constants come from src/abi.
 */
import { expect } from "vitest";
import { encodeControlBigInt, type HypercallControl } from "../../../src/abi/hypercall-control.js";
import {
  outcomeReps,
  outcomeStatus,
  resultReservedBitsClear,
} from "../../../src/abi/hypercall-result.js";
import { EVENT_FLAGS_BYTES_PER_SINT, SIEF_PAGE_BYTES } from "../../../src/abi/sief-page.js";
import {
  encodeSignalEventInput,
  type SignalEventInput,
} from "../../../src/abi/signal-event-input.js";
import {
  SCONTROL_ENABLE_BIT,
  SINT_MASKED_BIT,
  SYNIC_PAGE_ENABLE_BIT,
  SYNIC_PAGE_GPA_SHIFT,
} from "../../../src/abi/synic-msr.js";
import { u64ToHalves } from "../../../src/abi/u64.js";
import {
  Dispatcher,
  HvCallCode,
  HvStatus,
  type HypercallRow,
  hvStatusName,
  hypercall,
  loadMachine,
  type Machine,
  type MachineSnapshot,
  parseScenario,
} from "../../../src/index.js";

// ---- scenario file JSON (cli-contract.md) ------------------------------------------------------

export interface VpJson {
  index: number;
  scontrol?: string;
  siefp?: string;
  simp?: string;
  sints?: Record<string, string>;
}

export interface PortJson {
  id: number;
  type: "event" | "message" | "monitor";
  targetVp: number | "any";
  targetSint: number;
  baseFlagNumber?: number;
  flagCount?: number;
  deleted?: boolean;
}

export interface ConnectionJson {
  id: number;
  portPartition: number;
  portId: number;
}

export interface MemoryJson {
  gpa: string;
  hex: string;
}

export interface PartitionJson {
  id: number;
  state?: "active" | "inactive";
  privileges?: string[];
  privilegeMask?: string;
  vps?: VpJson[];
  ports?: PortJson[];
  connections?: ConnectionJson[];
  memory?: MemoryJson[];
}

export interface ScenarioJson {
  partitions: PartitionJson[];
}

export function hex(value: bigint | number): string {
  return `0x${BigInt(value).toString(16)}`;
}

export function hexBytes(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

/** SCONTROL with the SynIC enabled. */
export const SCONTROL_ON = hex(SCONTROL_ENABLE_BIT);
/** SIEFP naming a guest page, enabled or not. */
export function siefp(page: bigint, enabled = true): string {
  return hex(
    (page << BigInt(SYNIC_PAGE_GPA_SHIFT)) | (enabled ? BigInt(SYNIC_PAGE_ENABLE_BIT) : 0n),
  );
}
/** A SINTx value: vector, masked or not. */
export function sint(vector: number, masked = false): string {
  return hex(vector | (masked ? SINT_MASKED_BIT : 0));
}

// ---- the base scenario -------------------------------------------------------------------------
// Partition CALLER (VP 0) owns connection CONN -> (RECEIVER, PORT). RECEIVER has one VP, index
// RECV_VP (VP slot 1: index and slot differ on purpose), SynIC and SIEF page on, SINT RECV_SINT
// unmasked with vector VECTOR; PORT is an event port on (RECV_VP, RECV_SINT), flags
// BASE_FLAG .. BASE_FLAG + FLAG_COUNT - 1. The call signals flag FLAG through CONN and succeeds.

export const CALLER = 1;
export const RECEIVER = 2;
export const CONN = 0x20;
export const PORT = 10;
export const RECV_VP = 2;
export const RECV_SINT = 3;
export const VECTOR = 0x5a;
export const BASE_FLAG = 19;
export const FLAG_COUNT = 64;
export const FLAG = 6;
export const SIEF_PAGE = 0x10n;
/** Where a memory-form call's input block sits in the caller's memory. */
export const INPUT_GPA = 0x2000n;

export const GOOD_INPUT: SignalEventInput = { connectionId: CONN, flagNumber: FLAG, rsvdZ: 0 };

export function baseScenario(): ScenarioJson {
  return {
    partitions: [
      {
        id: CALLER,
        privileges: ["SignalEvents"],
        vps: [{ index: 0 }],
        connections: [{ id: CONN, portPartition: RECEIVER, portId: PORT }],
      },
      {
        id: RECEIVER,
        vps: [
          {
            index: RECV_VP,
            scontrol: SCONTROL_ON,
            siefp: siefp(SIEF_PAGE),
            sints: { [RECV_SINT]: sint(VECTOR) },
          },
        ],
        ports: [
          {
            id: PORT,
            type: "event",
            targetVp: RECV_VP,
            targetSint: RECV_SINT,
            baseFlagNumber: BASE_FLAG,
            flagCount: FLAG_COUNT,
          },
        ],
      },
    ],
  };
}

export type Mutator = (s: ScenarioJson) => void;

/** The base scenario with the mutators applied in order. */
export function scenario(...mutators: Mutator[]): ScenarioJson {
  const s = baseScenario();
  for (const m of mutators) m(s);
  return s;
}

export function partition(s: ScenarioJson, id: number): PartitionJson {
  const p = s.partitions.find((q) => q.id === id);
  if (p === undefined) throw new Error(`test scenario has no partition ${id}`);
  return p;
}

/** The base scenario's event port (owned by RECEIVER). */
export function port(s: ScenarioJson): PortJson {
  const q = partition(s, RECEIVER).ports?.[0];
  if (q === undefined) throw new Error("test scenario lost its port");
  return q;
}

/** The base scenario's receiving VP. */
export function recvVp(s: ScenarioJson): VpJson {
  const v = partition(s, RECEIVER).vps?.[0];
  if (v === undefined) throw new Error("test scenario lost its VP");
  return v;
}

export function addMemory(
  s: ScenarioJson,
  partitionId: number,
  gpa: bigint,
  bytes: Uint8Array,
): void {
  const p = partition(s, partitionId);
  p.memory = [...(p.memory ?? []), { gpa: hex(gpa), hex: hexBytes(bytes) }];
}

export function clone(s: ScenarioJson): ScenarioJson {
  return structuredClone(s);
}

// ---- controls and inputs -----------------------------------------------------------------------

export const SIMPLE_CONTROL: HypercallControl = {
  callCode: HvCallCode.SignalEvent,
  fast: false,
  variableHeaderSize: 0,
  reserved27to30: 0,
  isNested: false,
  repCount: 0,
  reserved44to47: 0,
  repStartIndex: 0,
  reserved60to63: 0,
};

/** A control value: a valid memory-form SignalEvent with `fields` overridden. */
export function control(fields: Partial<HypercallControl> = {}): bigint {
  return encodeControlBigInt({ ...SIMPLE_CONTROL, ...fields });
}

export function u64OfBytes(bytes: Uint8Array): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
}

export function bytesOfU64(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
  return out;
}

/** The fast-call register (RDX) holding an input block. */
export function inputRegister(input: SignalEventInput): bigint {
  return u64OfBytes(encodeSignalEventInput(input));
}

// ---- running calls -----------------------------------------------------------------------------

/**
 * hypercall(): BigInt registers, host checks, the outcome unpacked. dispatch: the allocation-free
 * hot path with u32 halves. (Both run the same generic layer and row since the handler contract.)
 */
export type EntryPoint = "hypercall" | "dispatch";
export const ENTRY_POINTS: readonly EntryPoint[] = ["hypercall", "dispatch"];
export type Form = "fast" | "memory";

export interface CallSpec {
  readonly form: Form;
  readonly input?: Partial<SignalEventInput>;
  readonly control?: Partial<HypercallControl>;
  /** Memory form: the input GPA (default INPUT_GPA). */
  readonly gpa?: bigint;
  /** Memory form: where the input bytes are placed in the caller's memory (default: at gpa); null: nowhere. */
  readonly placeAt?: bigint | null;
  readonly caller?: number;
  readonly vp?: number;
  /** The dispatcher's table (default HANDLER_TABLE). */
  readonly rows?: readonly HypercallRow[];
}

export interface Ran {
  readonly status: number;
  readonly resultLo: number;
  readonly resultHi: number;
  readonly machine: Machine;
  readonly before: MachineSnapshot;
}

/** Loads the scenario (plus the memory input a memory-form call needs) and runs one call. */
export function run(json: ScenarioJson, call: CallSpec, via: EntryPoint = "hypercall"): Ran {
  const s = clone(json);
  const caller = call.caller ?? CALLER;
  const input: SignalEventInput = { ...GOOD_INPUT, ...call.input };
  const ctl = control({ fast: call.form === "fast", ...call.control });
  const gpa = call.gpa ?? INPUT_GPA;
  let register: bigint;
  if (call.form === "fast") {
    register = inputRegister(input);
  } else {
    register = gpa;
    const placeAt = call.placeAt === undefined ? gpa : call.placeAt;
    if (placeAt !== null) addMemory(s, caller, placeAt, encodeSignalEventInput(input));
  }
  const machine = loadMachine(parseScenario(s));
  const dispatcher =
    call.rows === undefined ? new Dispatcher(machine) : new Dispatcher(machine, call.rows);
  const before = machine.snapshot();
  if (via === "hypercall") {
    const out = hypercall(dispatcher, { caller, vp: call.vp ?? 0, control: ctl, input: register });
    expect(out.statusName).toBe(hvStatusName(out.status));
    expect(out.result).toBe(BigInt(out.resultHi) * 2n ** 32n + BigInt(out.resultLo));
    expect(out.repsCompleted).toBe(out.resultHi);
    return { status: out.status, resultLo: out.resultLo, resultHi: out.resultHi, machine, before };
  }
  const c = u64ToHalves(ctl);
  const r = u64ToHalves(register);
  const outcome = dispatcher.dispatch(
    machine.requirePartition(caller),
    machine.requireVp(caller, call.vp ?? 0),
    c.lo,
    c.hi,
    r.lo,
    r.hi,
  );
  // The outcome packs status | reps completed << 16; the result value is (status, reps).
  return {
    status: outcomeStatus(outcome),
    resultLo: outcomeStatus(outcome),
    resultHi: outcomeReps(outcome),
    machine,
    before,
  };
}

/**
 * Runs the call through both entry points (each on a fresh machine) and expects `status` from
 * both, a result value with its reserved bits clear, and no state change unless it succeeded.
 * Returns the hypercall() run.
 */
export function expectCall(json: ScenarioJson, call: CallSpec, status: number): Ran {
  const runs = ENTRY_POINTS.map((via) => run(json, call, via));
  for (const [i, r] of runs.entries()) {
    expect(
      hvStatusName(r.status),
      `${call.form} call through ${ENTRY_POINTS[i]} returned the wrong status`,
    ).toBe(hvStatusName(status));
    expect(resultReservedBitsClear(r.resultLo, r.resultHi)).toBe(true);
    expect(r.resultHi, "reps completed of a simple call").toBe(0);
    if (status !== HvStatus.SUCCESS) {
      expect(r.machine.equals(r.before), "a failed call changed the machine").toBe(true);
      expect(setFlags(r.machine)).toEqual([]);
    }
  }
  const [a, b] = runs;
  expect(a!.machine.equals(b!.machine.snapshot()), "entry points disagree on state").toBe(true);
  return a!;
}

/** The same expectation for the fast and the memory form. */
export function expectBothForms(
  json: ScenarioJson,
  call: Omit<CallSpec, "form">,
  status: number,
): Ran[] {
  return (["fast", "memory"] as const).map((form) => expectCall(json, { ...call, form }, status));
}

// ---- reading the SIEF image as guest bytes -----------------------------------------------------

export interface SetFlag {
  /** VP slot. */
  readonly vpSlot: number;
  readonly sint: number;
  /** Absolute flag number in the SINT's HV_SYNIC_EVENT_FLAGS. */
  readonly flag: number;
}

/**
 * Every flag set in every VP's SIEF page, read byte by byte by the TLFS rule (flag k of SINT n is
 * bit k mod 8 of byte n * 256 + floor(k / 8)), in page order.
 */
export function setFlags(machine: Machine): SetFlag[] {
  const out: SetFlag[] = [];
  for (let v = 0; v < machine.vpCount; v++) {
    const page = machine.sief.page(v);
    expect(page.length).toBe(SIEF_PAGE_BYTES);
    for (let byte = 0; byte < page.length; byte++) {
      const b = page[byte]!;
      for (let bit = 0; bit < 8; bit++) {
        if ((b >> bit) & 1) {
          const sintNo = Math.floor(byte / EVENT_FLAGS_BYTES_PER_SINT);
          const k = (byte % EVENT_FLAGS_BYTES_PER_SINT) * 8 + bit;
          out.push({ vpSlot: v, sint: sintNo, flag: k });
        }
      }
    }
  }
  return out;
}
