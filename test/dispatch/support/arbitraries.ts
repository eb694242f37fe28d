/**
 * fast-check generators of valid scenario files (1-3 partitions, 0-4 VPs each with random SynIC
 * registers, event/message/monitor ports, connections to existing and missing ports, memory) and of
 * hypercalls against them. The generators produce "shapes" of raw random numbers; references
 * (connection -> partition and port, port -> VP, call -> connection) are resolved when the shape is
 * turned into JSON, so that they usually hit something that exists: otherwise nearly every call
 * would stop at INVALID_CONNECTION_ID.
 */
import { fc } from "@fast-check/vitest";
import { HV_CONNECTION_ID } from "../../../src/abi/connection-id.js";
import { HV_PAGE_SIZE } from "../../../src/abi/hv-page.js";
import { CONTROL_FAST_BIT } from "../../../src/abi/hypercall-control.js";
import { HYPERCALL_INPUT_ALIGNMENT } from "../../../src/abi/hypercall-input.js";
import { EVENT_FLAGS_PER_SINT, SINT_COUNT } from "../../../src/abi/sief-page.js";
import {
  encodeSignalEventInput,
  SIGNAL_EVENT_INPUT_SIZE,
} from "../../../src/abi/signal-event-input.js";
import {
  SCONTROL_ENABLE_BIT,
  SINT_AUTO_EOI_BIT,
  SINT_MASKED_BIT,
  SINT_POLLING_BIT,
  SINT_VECTOR_MASK,
  SYNIC_PAGE_ENABLE_BIT,
  SYNIC_PAGE_GPA_SHIFT,
} from "../../../src/abi/synic-msr.js";
import { HV_ANY_VP } from "../../../src/abi/vp-index.js";
import { PartitionPrivilegeBit } from "../../../src/index.js";
import {
  control,
  hex,
  hexBytes,
  type PortJson,
  type ScenarioJson,
  u64OfBytes,
} from "./scenario.js";

const U64_MAX = (1n << 64n) - 1n;

/** A raw HV_CONNECTION_ID: the id in bits 23:0 and `reserved` in bits 31:24. */
function joinConnectionId(parts: { id: number; reserved: number }): number {
  return HV_CONNECTION_ID.encode(parts).lo;
}
const u64 = fc.bigInt({ min: 0n, max: U64_MAX });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
/** Pages the generated memory entries live in; the call inputs go to INPUT_PAGE, above them. */
const MEMORY_PAGES = 16;
export const INPUT_PAGE = 0x100;
export const INPUT_PAGE_GPA = BigInt(INPUT_PAGE * HV_PAGE_SIZE);
/** At most this many calls per generated case (each gets an 8-byte slot in INPUT_PAGE). */
export const MAX_CALLS = 8;

function w<T>(weight: number, arbitrary: fc.Arbitrary<T>): fc.WeightedArbitrary<T> {
  return { weight, arbitrary };
}

// ---- scenario shapes ---------------------------------------------------------------------------

export interface VpShape {
  readonly index: number;
  readonly scontrol: bigint;
  readonly siefp: bigint;
  readonly simp: bigint;
  readonly sints: readonly (readonly [number, bigint])[];
}

export type TargetShape =
  | { readonly kind: "any" }
  | { readonly kind: "vp"; readonly pick: number }
  | { readonly kind: "raw"; readonly value: number };

export interface PortShape {
  readonly id: number;
  readonly type: PortJson["type"];
  readonly target: TargetShape;
  readonly targetSint: number;
  readonly base: number;
  readonly count: number;
  readonly deleted: boolean;
}

export interface ConnShape {
  readonly id: number;
  readonly partPick: number;
  readonly port:
    | { readonly kind: "port"; readonly pick: number }
    | { readonly kind: "raw"; readonly value: number };
}

export interface MemShape {
  readonly page: number;
  readonly offset: number;
  readonly bytes: Uint8Array;
}

export interface PartitionShape {
  readonly id: number;
  readonly active: boolean;
  readonly mask: bigint;
  readonly vps: readonly VpShape[];
  readonly ports: readonly PortShape[];
  readonly conns: readonly ConnShape[];
  readonly mem: readonly MemShape[];
}

const small = (max: number) => fc.integer({ min: 0, max });
const pageGpa = small(0xff).map((page) => BigInt(page) << BigInt(SYNIC_PAGE_GPA_SHIFT));

const sintValue = fc.oneof(
  w(4, small(SINT_VECTOR_MASK).map(BigInt)),
  w(
    2,
    small(SINT_VECTOR_MASK).map((v) => BigInt(v | SINT_MASKED_BIT)),
  ),
  w(
    1,
    fc
      .constantFrom(SINT_AUTO_EOI_BIT, SINT_POLLING_BIT, SINT_MASKED_BIT | SINT_AUTO_EOI_BIT)
      .map(BigInt),
  ),
  w(1, u64),
);

/** All 16 SINTs unmasked, vector 0x20 + n: a receiver that is ready on every SINT. */
const OPEN_SINTS: readonly (readonly [number, bigint])[] = Array.from(
  { length: SINT_COUNT },
  (_, n) => [n, BigInt(0x20 + n)] as const,
);

const vp: fc.Arbitrary<VpShape> = fc
  .record({
    index: fc.oneof(w(8, small(5)), w(1, fc.constant(HV_ANY_VP)), w(1, u32)),
    scontrol: fc.oneof(
      w(8, fc.constant(BigInt(SCONTROL_ENABLE_BIT))),
      w(1, fc.constant(0n)),
      w(1, u64),
    ),
    siefp: fc.oneof(
      w(
        8,
        pageGpa.map((g) => g | BigInt(SYNIC_PAGE_ENABLE_BIT)),
      ),
      w(1, pageGpa),
      w(1, fc.constant(0n)),
      w(1, u64),
    ),
    simp: fc.oneof(w(3, fc.constant(0n)), w(1, u64)),
    // Most VPs start with every SINT unmasked (else nearly every signal stops at a masked SINT);
    // the listed values then override some of them.
    open: fc.oneof(w(3, fc.constant(true)), w(1, fc.constant(false))),
    sints: fc.array(fc.tuple(small(SINT_COUNT - 1), sintValue), { maxLength: 4 }),
  })
  .map(({ open, sints, ...rest }) => ({
    ...rest,
    sints: open ? [...OPEN_SINTS, ...sints] : sints,
  }));

const target: fc.Arbitrary<TargetShape> = fc.oneof(
  w(
    5,
    fc.nat().map((pick) => ({ kind: "vp" as const, pick })),
  ),
  w(3, fc.constant({ kind: "any" as const })),
  w(
    1,
    fc.oneof(small(6), u32).map((value) => ({ kind: "raw" as const, value })),
  ),
);

const port: fc.Arbitrary<PortShape> = fc.record({
  id: fc.oneof(w(6, small(6)), w(1, u32)),
  type: fc.oneof(
    w(10, fc.constant("event" as const)),
    w(1, fc.constantFrom("message" as const, "monitor" as const)),
  ),
  target,
  targetSint: small(SINT_COUNT - 1),
  base: fc.oneof(w(4, small(64)), w(1, small(EVENT_FLAGS_PER_SINT))),
  count: fc.oneof(w(4, small(80)), w(1, small(EVENT_FLAGS_PER_SINT))),
  deleted: fc.oneof(w(10, fc.constant(false)), w(1, fc.constant(true))),
});

const conn: fc.Arbitrary<ConnShape> = fc.record({
  id: fc.oneof(w(6, small(8)), w(1, small(0xffffff))),
  partPick: fc.nat(),
  port: fc.oneof(
    w(
      6,
      fc.nat().map((pick) => ({ kind: "port" as const, pick })),
    ),
    w(
      1,
      small(8).map((value) => ({ kind: "raw" as const, value })),
    ),
  ),
});

const mem: fc.Arbitrary<MemShape> = fc
  .record({
    page: small(MEMORY_PAGES - 1),
    offset: fc.oneof(
      w(
        3,
        small(HV_PAGE_SIZE / 8 - 1).map((o) => o * 8),
      ),
      w(1, small(HV_PAGE_SIZE - 1)),
    ),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 24 }),
  })
  .map((m) => ({ ...m, bytes: m.bytes.slice(0, HV_PAGE_SIZE - m.offset) }));

const signalEventsBit = 1n << BigInt(PartitionPrivilegeBit.SignalEvents);

function partitionShape(minVps: number): fc.Arbitrary<PartitionShape> {
  return fc.record({
    id: fc.oneof(
      w(8, fc.integer({ min: 1, max: 6 })),
      w(1, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
    ),
    active: fc.oneof(w(8, fc.constant(true)), w(1, fc.constant(false))),
    mask: fc.oneof(
      w(
        6,
        u64.map((m) => m | signalEventsBit),
      ),
      w(2, fc.constant(signalEventsBit)),
      w(1, u64),
      w(1, fc.constant(0n)),
    ),
    vps: fc.uniqueArray(vp, { minLength: minVps, maxLength: 4, selector: (v) => v.index }),
    ports: fc.uniqueArray(port, { maxLength: 4, selector: (p) => p.id }),
    conns: fc.uniqueArray(conn, { maxLength: 4, selector: (c) => c.id }),
    mem: fc.uniqueArray(mem, { maxLength: 3, selector: (m) => m.page }),
  });
}

/** 1-3 partitions with distinct ids; the first has at least one VP, so there is always a caller. */
export const scenarioShape: fc.Arbitrary<readonly PartitionShape[]> = fc
  .tuple(partitionShape(1), fc.array(partitionShape(0), { maxLength: 2 }))
  .map(([first, rest]) => {
    const seen = new Set<number>([first.id]);
    const out = [first];
    for (const p of rest) {
      if (!seen.has(p.id)) {
        seen.add(p.id);
        out.push(p);
      }
    }
    return out;
  });

/** The scenario file of a shape, with references resolved. */
export function scenarioJson(shape: readonly PartitionShape[]): ScenarioJson {
  return {
    partitions: shape.map((p) => ({
      id: p.id,
      state: p.active ? "active" : "inactive",
      privilegeMask: hex(p.mask),
      vps: p.vps.map((v) => ({
        index: v.index,
        scontrol: hex(v.scontrol),
        siefp: hex(v.siefp),
        simp: hex(v.simp),
        sints: Object.fromEntries(v.sints.map(([n, value]) => [String(n), hex(value)])),
      })),
      ports: p.ports.map((q): PortJson => {
        const targetVp: PortJson["targetVp"] =
          q.target.kind === "any"
            ? "any"
            : q.target.kind === "raw"
              ? q.target.value
              : (p.vps[q.target.pick % Math.max(1, p.vps.length)]?.index ?? q.target.pick % 8);
        const common = { id: q.id, targetVp, targetSint: q.targetSint, deleted: q.deleted };
        if (q.type !== "event") return { ...common, type: q.type };
        const base = Math.min(q.base, EVENT_FLAGS_PER_SINT);
        return {
          ...common,
          type: "event",
          baseFlagNumber: base,
          flagCount: Math.min(q.count, EVENT_FLAGS_PER_SINT - base),
        };
      }),
      connections: p.conns.map((c) => {
        // A connection to "a port" names a port of a partition that has ports, when there is one.
        const withPorts = shape.filter((q) => q.ports.length > 0);
        if (c.port.kind === "port" && withPorts.length > 0) {
          const owner = withPorts[c.partPick % withPorts.length]!;
          return {
            id: c.id,
            portPartition: owner.id,
            portId: owner.ports[c.port.pick % owner.ports.length]!.id,
          };
        }
        const owner = shape[c.partPick % shape.length]!;
        const portId = c.port.kind === "raw" ? c.port.value : c.port.pick % 8;
        return { id: c.id, portPartition: owner.id, portId };
      }),
      memory: p.mem.map((m) => ({
        gpa: hex(BigInt(m.page * HV_PAGE_SIZE + m.offset)),
        hex: hexBytes(m.bytes),
      })),
    })),
  };
}

// ---- call shapes -------------------------------------------------------------------------------

export type ControlShape =
  | { readonly kind: "valid" }
  | { readonly kind: "flip"; readonly bit: number }
  | { readonly kind: "code"; readonly code: number }
  | { readonly kind: "raw"; readonly value: bigint };

export type ConnPick =
  | { readonly kind: "own"; readonly pick: number }
  | { readonly kind: "anyOwner"; readonly pick: number }
  | { readonly kind: "reserved"; readonly pick: number; readonly high: number }
  | { readonly kind: "raw"; readonly value: number };

export type GpaShape =
  | { readonly kind: "slot" }
  | { readonly kind: "slotPlus"; readonly delta: number }
  | { readonly kind: "memory"; readonly pick: number; readonly offset: number }
  | { readonly kind: "raw"; readonly value: bigint };

export interface CallShape {
  /** Repeat the previous call (same caller, control and input bytes), to signal set flags again. */
  readonly again: boolean;
  readonly callerPick: number;
  readonly vpPick: number;
  readonly control: ControlShape;
  readonly fast: boolean;
  readonly conn: ConnPick;
  readonly flag: number;
  readonly rsvdZ: number;
  readonly gpa: GpaShape;
}

export const controlShape: fc.Arbitrary<ControlShape> = fc.oneof(
  w(20, fc.constant({ kind: "valid" as const })),
  w(
    3,
    small(63).map((bit) => ({ kind: "flip" as const, bit })),
  ),
  w(
    1,
    u16.map((code) => ({ kind: "code" as const, code })),
  ),
  w(
    1,
    u64.map((value) => ({ kind: "raw" as const, value })),
  ),
);

export const callShape: fc.Arbitrary<CallShape> = fc.record({
  again: fc.oneof(w(4, fc.constant(false)), w(1, fc.constant(true))),
  callerPick: fc.nat(),
  vpPick: fc.nat(),
  control: controlShape,
  fast: fc.boolean(),
  conn: fc.oneof(
    w(
      14,
      fc.nat().map((pick) => ({ kind: "own" as const, pick })),
    ),
    w(
      2,
      fc.nat().map((pick) => ({ kind: "anyOwner" as const, pick })),
    ),
    w(
      1,
      fc
        .tuple(fc.nat(), fc.integer({ min: 1, max: 0xff }))
        .map(([pick, high]) => ({ kind: "reserved" as const, pick, high })),
    ),
    w(
      1,
      u32.map((value) => ({ kind: "raw" as const, value })),
    ),
  ),
  flag: fc.oneof(w(6, small(8)), w(3, small(80)), w(1, u16)),
  rsvdZ: fc.oneof(w(20, fc.constant(0)), w(1, u16)),
  gpa: fc.oneof(
    w(10, fc.constant({ kind: "slot" as const })),
    w(
      1,
      fc
        .integer({ min: 1, max: HYPERCALL_INPUT_ALIGNMENT - 1 })
        .map((delta) => ({ kind: "slotPlus" as const, delta })),
    ),
    w(
      1,
      fc
        .tuple(fc.nat(), small(31))
        .map(([pick, offset]) => ({ kind: "memory" as const, pick, offset })),
    ),
    w(
      1,
      u64.map((value) => ({ kind: "raw" as const, value })),
    ),
  ),
});

export interface ResolvedCall {
  readonly caller: number;
  readonly vp: number;
  readonly control: bigint;
  /** RDX: the input block (fast) or its GPA (memory). */
  readonly register: bigint;
  /** The 8 input bytes (also at slotGpa in every partition's memory). */
  readonly bytes: Uint8Array;
  readonly slotGpa: bigint;
}

export function slotGpa(i: number): bigint {
  return INPUT_PAGE_GPA + BigInt(i * SIGNAL_EVENT_INPUT_SIZE);
}

function controlOf(c: ControlShape, fast: boolean): bigint {
  switch (c.kind) {
    case "valid":
      return control({ fast });
    case "flip":
      return control({ fast }) ^ (1n << BigInt(c.bit));
    case "code":
      return control({ fast, callCode: c.code });
    case "raw":
      return c.value;
  }
}

/** Resolves the i-th call of a case against the scenario file it runs on. */
export function resolveCall(json: ScenarioJson, call: CallShape, i: number): ResolvedCall {
  const callers = json.partitions.filter((p) => (p.vps ?? []).length > 0);
  const caller = callers[call.callerPick % callers.length]!;
  const vps = caller.vps!;
  const vp = vps[call.vpPick % vps.length]!.index;
  const own = (caller.connections ?? []).map((c) => c.id);
  const all = json.partitions.flatMap((p) => (p.connections ?? []).map((c) => c.id));
  const pick = (ids: readonly number[], n: number) =>
    ids.length === 0 ? n % 4 : ids[n % ids.length]!;
  const c = call.conn;
  const connectionId =
    c.kind === "own"
      ? pick(own, c.pick)
      : c.kind === "anyOwner"
        ? pick(all, c.pick)
        : c.kind === "reserved"
          ? joinConnectionId({ id: pick(own, c.pick), reserved: c.high })
          : c.value;
  const bytes = encodeSignalEventInput({ connectionId, flagNumber: call.flag, rsvdZ: call.rsvdZ });
  const ctl = controlOf(call.control, call.fast);
  const fast = (ctl & BigInt(CONTROL_FAST_BIT)) !== 0n;
  const slot = slotGpa(i);
  let gpa: bigint;
  const g = call.gpa;
  if (g.kind === "slot") gpa = slot;
  else if (g.kind === "slotPlus") gpa = slot + BigInt(g.delta);
  else if (g.kind === "raw") gpa = g.value;
  else {
    const m = caller.memory ?? [];
    const entry = m[g.pick % Math.max(1, m.length)];
    gpa = entry === undefined ? slot : BigInt(entry.gpa) + BigInt(g.offset);
  }
  return {
    caller: caller.id,
    vp,
    control: ctl,
    register: fast ? u64OfBytes(bytes) : gpa,
    bytes,
    slotGpa: slot,
  };
}

/** Resolves every call of a case; a call marked `again` repeats the one before it. */
export function resolveCalls(json: ScenarioJson, calls: readonly CallShape[]): ResolvedCall[] {
  const out: ResolvedCall[] = [];
  for (const [i, call] of calls.entries()) {
    const previous = out[i - 1];
    if (call.again && previous !== undefined) {
      const slot = slotGpa(i);
      const memory = (previous.control & BigInt(CONTROL_FAST_BIT)) === 0n;
      // A memory-form repeat reads its own slot (same bytes) unless the first read elsewhere.
      const register = memory && previous.register === previous.slotGpa ? slot : previous.register;
      out.push({ ...previous, register, slotGpa: slot });
    } else {
      out.push(resolveCall(json, call, i));
    }
  }
  return out;
}

/**
 * Adds the call inputs to the scenario: one memory entry at INPUT_PAGE in every partition, call i's
 * 8 bytes at slotGpa(i).
 */
export function withInputs(json: ScenarioJson, calls: readonly ResolvedCall[]): ScenarioJson {
  if (calls.length === 0) return json;
  const all = new Uint8Array(calls.length * SIGNAL_EVENT_INPUT_SIZE);
  for (const [i, c] of calls.entries()) all.set(c.bytes, i * SIGNAL_EVENT_INPUT_SIZE);
  return {
    partitions: json.partitions.map((p) => ({
      ...p,
      memory: [...(p.memory ?? []), { gpa: hex(INPUT_PAGE_GPA), hex: hexBytes(all) }],
    })),
  };
}

/** A generated case: a scenario and 1..MAX_CALLS calls against it. */
export const caseShape = fc.record({
  scenario: scenarioShape,
  calls: fc.array(callShape, { minLength: 1, maxLength: MAX_CALLS }),
});
