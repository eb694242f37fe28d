/**
 * Generators for the fuzz properties: scenarios (in the scenario-file format of the CLI contract)
 * and SignalEvent calls. They are biased, not uniform: every check of the spec's order (§6) — and
 * so every status of the seed's table — comes up with a useful probability, including the edges
 * (FlagNumber = FlagCount - 1 / FlagCount, HV_ANY_VP, a partition with no VPs, a deleted port,
 * a masked SINT, each reserved field of the control value, misaligned and unbacked GPAs).
 *
 * Calls are generated as "picks" (an index into the caller's connections, a fraction of the port's
 * flag count, ...) and resolved against the scenario in cases.ts, so that the scenario and the calls
 * shrink independently.
 */
import fc from "fast-check";
import { HvCallCode } from "../../src/abi/call-code.js";
import { CONNECTION_ID_BITS, CONNECTION_ID_MAX } from "../../src/abi/connection-id.js";
import { HV_PAGE_SHIFT } from "../../src/abi/hv-page.js";
import {
  CONTROL_CALL_CODE_MASK,
  CONTROL_VARIABLE_HEADER_SHIFT,
} from "../../src/abi/hypercall-control.js";
import { HYPERCALL_INPUT_ALIGNMENT } from "../../src/abi/hypercall-input.js";
import {
  PARTITION_PRIVILEGE_NAMES,
  PartitionPrivilegeBit,
} from "../../src/abi/partition-privilege.js";
import { EVENT_FLAGS_PER_SINT, SINT_COUNT } from "../../src/abi/sief-page.js";
import {
  SCONTROL_ENABLE_BIT,
  SINT_AUTO_EOI_BIT,
  SINT_MASKED_BIT,
  SINT_POLLING_BIT,
  SINT_VECTOR_MASK,
  SYNIC_PAGE_ENABLE_BIT,
} from "../../src/abi/synic-msr.js";
import { HV_ANY_VP, HV_VP_INDEX_MAX } from "../../src/abi/vp-index.js";
import type {
  ScenarioConnection,
  ScenarioFile,
  ScenarioPartition,
  ScenarioPort,
  ScenarioVp,
} from "../model/scenario-file.js";

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

export const U64_MAX = (1n << 64n) - 1n;
const U32_MAX = 0xffff_ffff;
const U16_MAX = 0xffff;

export function hex(value: bigint | number): string {
  return `0x${BigInt(value).toString(16)}`;
}

function weighted<T>(...entries: [number, fc.Arbitrary<T>][]): fc.Arbitrary<T> {
  return fc.oneof(...entries.map(([weight, arbitrary]) => ({ weight, arbitrary })));
}

const u64 = fc.bigInt({ min: 0n, max: U64_MAX });
const u32 = fc.integer({ min: 0, max: U32_MAX });
const u16 = fc.integer({ min: 0, max: U16_MAX });
/** A uniform fraction in [0, 1), for "somewhere inside the range" picks. */
const fraction = fc.integer({ min: 0, max: 0xffff }).map((n) => n / 0x10000);

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

/** Partition ids: small ones and the extremes of the contract's range (1 .. 2^53 - 1). */
const PARTITION_IDS = [1, 2, 3, 7, 0x1_0000_0000, Number.MAX_SAFE_INTEGER];
/** SINTs the ports aim at most of the time, so that their SINT registers are often unmasked. */
const HOT_SINTS = [0, 1, 2, SINT_COUNT - 1];

const vpIndex = weighted<number>(
  [12, fc.integer({ min: 0, max: 3 })],
  [1, fc.constantFrom(7, HV_VP_INDEX_MAX - 1, HV_VP_INDEX_MAX)],
);

const scontrol = weighted<string | undefined>(
  [16, fc.constant(hex(SCONTROL_ENABLE_BIT))],
  [2, fc.constant(undefined)],
  [1, fc.constant("0x0")],
  [1, u64.map(hex)],
);

/** An SIEFP value: mostly enabled at some page, sometimes disabled or random. */
const siefp = weighted<string | undefined>(
  [
    16,
    fc
      .integer({ min: 0, max: 0xfffff })
      .map((page) => hex((BigInt(page) << BigInt(HV_PAGE_SHIFT)) | BigInt(SYNIC_PAGE_ENABLE_BIT))),
  ],
  [2, fc.constant(undefined)],
  [
    1,
    fc.integer({ min: 0, max: 0xfffff }).map((page) => hex(BigInt(page) << BigInt(HV_PAGE_SHIFT))),
  ],
  [1, u64.map(hex)],
);

const vector = fc.integer({ min: 0, max: SINT_VECTOR_MASK });
const unmaskedSint = fc
  .tuple(vector, fc.boolean(), fc.boolean())
  .map(([v, autoEoi, polling]) =>
    hex(v | (autoEoi ? SINT_AUTO_EOI_BIT : 0) | (polling ? SINT_POLLING_BIT : 0)),
  );
const maskedSint = vector.map((v) => hex(v | SINT_MASKED_BIT));

const hotSint = weighted<string | undefined>(
  [8, unmaskedSint],
  [1, maskedSint],
  [1, fc.constant(undefined)],
);
const coldSint = weighted<string | undefined>(
  [8, fc.constant(undefined)],
  [1, unmaskedSint],
  [1, u64.map(hex)],
);

const sints = fc
  .tuple(
    ...Array.from({ length: SINT_COUNT }, (_, s) => (HOT_SINTS.includes(s) ? hotSint : coldSint)),
  )
  .map((values) => {
    const out: Record<string, string> = {};
    values.forEach((v, s) => {
      if (v !== undefined) out[String(s)] = v;
    });
    return out;
  });

const vp: fc.Arbitrary<ScenarioVp> = fc
  .record({ index: vpIndex, scontrol, siefp, sints, simp: fc.option(u64.map(hex), { freq: 8 }) })
  .map((v) => {
    const out: ScenarioVp = { index: v.index };
    if (v.scontrol !== undefined) out.scontrol = v.scontrol;
    if (v.siefp !== undefined) out.siefp = v.siefp;
    if (v.simp !== null) out.simp = v.simp;
    if (Object.keys(v.sints).length > 0) out.sints = v.sints;
    return out;
  });

type TargetPick =
  | { kind: "own"; pick: number }
  | { kind: "any" }
  | { kind: "index"; value: number };

const targetPick = weighted<TargetPick>(
  [6, fc.nat().map((pick) => ({ kind: "own" as const, pick }))],
  [3, fc.constant({ kind: "any" as const })],
  [
    1,
    weighted<number>([3, fc.constantFrom(4, 9, HV_VP_INDEX_MAX - 1, HV_ANY_VP)], [1, u32]).map(
      (value) => ({ kind: "index" as const, value }),
    ),
  ],
);

/** (BaseFlagNumber, FlagCount) with base + count <= 2048, edges first. */
const flagRange = weighted<{ base: number; count: number }>(
  [6, fc.integer({ min: 1, max: 64 }).map((count) => ({ base: 0, count }))],
  [
    4,
    fc
      .tuple(fc.integer({ min: 0, max: EVENT_FLAGS_PER_SINT }), fraction)
      .map(([base, f]) => ({ base, count: Math.floor(f * (EVENT_FLAGS_PER_SINT - base + 1)) })),
  ],
  [1, fc.constant({ base: 0, count: 0 })],
  [1, fc.constant({ base: 0, count: EVENT_FLAGS_PER_SINT })],
  [1, fc.constant({ base: EVENT_FLAGS_PER_SINT - 1, count: 1 })],
);

interface PortShape {
  id: number;
  type: ScenarioPort["type"];
  target: TargetPick;
  targetSint: number;
  range: { base: number; count: number };
  omitBase: boolean;
  deleted: boolean | undefined;
}

const portShape: fc.Arbitrary<PortShape> = fc.record({
  id: weighted<number>([8, fc.constantFrom(0, 1, 10, 11)], [1, fc.constant(U32_MAX)], [1, u32]),
  type: weighted<ScenarioPort["type"]>(
    [8, fc.constant("event")],
    [1, fc.constant("message")],
    [1, fc.constant("monitor")],
  ),
  target: targetPick,
  targetSint: weighted<number>(
    [8, fc.constantFrom(...HOT_SINTS)],
    [2, fc.integer({ min: 0, max: SINT_COUNT - 1 })],
  ),
  range: flagRange,
  omitBase: fc.boolean(),
  deleted: weighted<boolean | undefined>(
    [6, fc.constant(undefined)],
    [3, fc.constant(false)],
    [1, fc.constant(true)],
  ),
});

interface ConnectionShape {
  id: number;
  partitionPick: number;
  port: { kind: "own"; pick: number } | { kind: "wild"; value: number };
}

const connectionShape: fc.Arbitrary<ConnectionShape> = fc.record({
  id: weighted<number>(
    [8, fc.constantFrom(0, 1, 20, 21)],
    [1, fc.constant(CONNECTION_ID_MAX)],
    [1, fc.integer({ min: 0, max: CONNECTION_ID_MAX })],
  ),
  partitionPick: fc.nat(),
  port: weighted<ConnectionShape["port"]>(
    [8, fc.nat().map((pick) => ({ kind: "own" as const, pick }))],
    [
      1,
      weighted<number>([1, fc.constantFrom(2, 12)], [1, u32]).map((value) => ({
        kind: "wild" as const,
        value,
      })),
    ],
  ),
});

type Privileges = { kind: "names"; names: string[] } | { kind: "mask"; mask: bigint };

const SIGNAL_EVENTS = "SignalEvents";
const OTHER_PRIVILEGES = PARTITION_PRIVILEGE_NAMES.filter((n) => n !== SIGNAL_EVENTS);

const privileges = weighted<Privileges>(
  [
    12,
    fc
      .subarray(OTHER_PRIVILEGES, { maxLength: 3 })
      .map((others) => ({ kind: "names" as const, names: [SIGNAL_EVENTS, ...others] })),
  ],
  [
    1,
    fc
      .subarray(OTHER_PRIVILEGES, { maxLength: 3 })
      .map((names) => ({ kind: "names" as const, names })),
  ],
  [1, u64.map((mask) => ({ kind: "mask" as const, mask }))],
  [
    1,
    fc.boolean().map((on) => ({
      kind: "mask" as const,
      mask: on ? 1n << BigInt(PartitionPrivilegeBit.SignalEvents) : 0n,
    })),
  ],
);

interface PartitionShape {
  state: "active" | "inactive" | undefined;
  privileges: Privileges;
  vps: ScenarioVp[];
  ports: PortShape[];
  connections: ConnectionShape[];
}

const partitionShape: fc.Arbitrary<PartitionShape> = fc.record({
  state: weighted<PartitionShape["state"]>(
    [5, fc.constant(undefined)],
    [4, fc.constant("active")],
    [1, fc.constant("inactive")],
  ),
  privileges,
  vps: fc.uniqueArray(vp, { selector: (v) => v.index, minLength: 0, maxLength: 3 }),
  ports: weighted<PortShape[]>(
    [6, fc.uniqueArray(portShape, { selector: (p) => p.id, minLength: 1, maxLength: 3 })],
    [1, fc.constant([])],
  ),
  connections: weighted<ConnectionShape[]>(
    [6, fc.uniqueArray(connectionShape, { selector: (c) => c.id, minLength: 1, maxLength: 4 })],
    [1, fc.constant([])],
  ),
});

function resolvePort(shape: PortShape, vps: readonly ScenarioVp[]): ScenarioPort {
  let targetVp: number | "any";
  const t = shape.target;
  if (t.kind === "any") targetVp = "any";
  else if (t.kind === "index") targetVp = t.value;
  else targetVp = vps.length === 0 ? 0 : vps[t.pick % vps.length]!.index;
  const port: ScenarioPort = {
    id: shape.id,
    type: shape.type,
    targetVp,
    targetSint: shape.targetSint,
  };
  if (shape.type === "event") {
    if (!(shape.omitBase && shape.range.base === 0)) port.baseFlagNumber = shape.range.base;
    port.flagCount = shape.range.count;
  }
  if (shape.deleted !== undefined) port.deleted = shape.deleted;
  return port;
}

/**
 * A valid scenario file: 1..3 partitions; the first one always has a VP (it can call). Ports and
 * connections refer to each other mostly by existing ids, sometimes to nothing.
 */
export const scenarioArb: fc.Arbitrary<ScenarioFile> = fc
  .tuple(
    fc.uniqueArray(fc.constantFrom(...PARTITION_IDS), { minLength: 1, maxLength: 3 }),
    fc.array(partitionShape, { minLength: 3, maxLength: 3 }),
    vp,
  )
  .map(([ids, shapes, firstVp]) => {
    const partitions: ScenarioPartition[] = ids.map((id, i) => {
      const shape = shapes[i]!;
      const vps = i === 0 && shape.vps.length === 0 ? [firstVp] : shape.vps;
      const p: ScenarioPartition = { id };
      if (shape.state !== undefined) p.state = shape.state;
      if (shape.privileges.kind === "names") p.privileges = shape.privileges.names;
      else p.privilegeMask = hex(shape.privileges.mask);
      p.vps = vps;
      p.ports = shape.ports.map((q) => resolvePort(q, vps));
      return p;
    });
    ids.forEach((_, i) => {
      partitions[i]!.connections = shapes[i]!.connections.map((c): ScenarioConnection => {
        // An "own" port reference aims at a partition that has ports, when there is one.
        const withPorts = partitions.filter((q) => (q.ports ?? []).length > 0);
        const pool = c.port.kind === "own" && withPorts.length > 0 ? withPorts : partitions;
        const target = pool[c.partitionPick % pool.length]!;
        const ports = target.ports ?? [];
        const portId =
          c.port.kind === "own" && ports.length > 0
            ? ports[c.port.pick % ports.length]!.id
            : c.port.kind === "wild"
              ? c.port.value
              : 0;
        return { id: c.id, portPartition: target.id, portId };
      });
    });
    return { partitions };
  });

// ---------------------------------------------------------------------------------------------
// Calls
// ---------------------------------------------------------------------------------------------

/** Which API of src drives the call: Dispatcher.dispatch, BatchRunner.run or hypercall(). */
export type Front = "dispatch" | "batch" | "hypercall";

export type ControlSpec =
  | { kind: "good" }
  /** SignalEvent with one more bit set above the fast bit: breaks exactly one rule of §1. */
  | { kind: "bit"; bit: number }
  /** Another call code (the dispatcher implements only SignalEvent), maybe with more bits. */
  | { kind: "code"; code: number; high: bigint }
  | { kind: "random"; value: bigint };

export type GpaSpec =
  | { kind: "input" }
  | { kind: "misaligned"; offset: number }
  | { kind: "unbacked"; gpa: bigint };

export type ConnSpec =
  | { kind: "own"; pick: number }
  | { kind: "other"; pick: number }
  | { kind: "random"; value: number };

export type FlagSpec =
  | { kind: "inside"; fraction: number }
  | { kind: "edge"; edge: "zero" | "last" | "count" | "after" }
  | { kind: "random"; value: number };

export interface CallSpec {
  front: Front;
  control: ControlSpec;
  /** Memory-form call (fast bit clear) when the control is "good" or "bit". */
  memory: boolean;
  gpa: GpaSpec;
  conn: ConnSpec;
  /** HV_CONNECTION_ID bits 31:24. */
  connReserved: number;
  flag: FlagSpec;
  rsvdZ: number;
}

const controlSpec = weighted<ControlSpec>(
  [84, fc.constant({ kind: "good" as const })],
  [
    8,
    fc
      .integer({ min: CONTROL_VARIABLE_HEADER_SHIFT, max: 63 })
      .map((bit) => ({ kind: "bit" as const, bit })),
  ],
  [
    5,
    fc
      .tuple(
        weighted<number>(
          [
            2,
            fc.constantFrom(
              0,
              HvCallCode.PostMessage,
              HvCallCode.CreatePort,
              CONTROL_CALL_CODE_MASK,
            ),
          ],
          [1, fc.integer({ min: 0, max: CONTROL_CALL_CODE_MASK })],
        ).filter((code) => code !== HvCallCode.SignalEvent),
        weighted<bigint>([3, fc.constant(0n)], [1, u64]),
      )
      .map(([code, high]) => ({ kind: "code" as const, code, high })),
  ],
  [3, u64.map((value) => ({ kind: "random" as const, value }))],
);

/** GPAs no scenario memory, input slot or scratch page uses. */
const UNBACKED_GPAS = [0n, 0x8000n, 0xdead_0000n, 0x2_0000_0008n, U64_MAX - 7n];

const gpaSpec = weighted<GpaSpec>(
  [12, fc.constant({ kind: "input" as const })],
  [
    2,
    fc
      .integer({ min: 1, max: HYPERCALL_INPUT_ALIGNMENT - 1 })
      .map((offset) => ({ kind: "misaligned" as const, offset })),
  ],
  [
    2,
    weighted<bigint>(
      [2, fc.constantFrom(...UNBACKED_GPAS)],
      [1, u64.map((g) => g - (g % BigInt(HYPERCALL_INPUT_ALIGNMENT)))],
    ).map((gpa) => ({ kind: "unbacked" as const, gpa })),
  ],
);

const connSpec = weighted<ConnSpec>(
  [16, fc.nat().map((pick) => ({ kind: "own" as const, pick }))],
  [2, fc.nat().map((pick) => ({ kind: "other" as const, pick }))],
  [
    1,
    fc
      .integer({ min: 0, max: CONNECTION_ID_MAX })
      .map((value) => ({ kind: "random" as const, value })),
  ],
);

const flagSpec = weighted<FlagSpec>(
  [8, fraction.map((f) => ({ kind: "inside" as const, fraction: f }))],
  // A few fixed spots, so that the same flag is signalled again (already set: no interrupt).
  [4, fc.constantFrom(0, 0.5, 0.75).map((f) => ({ kind: "inside" as const, fraction: f }))],
  [
    4,
    fc
      .constantFrom("zero", "last", "count", "after")
      .map((edge) => ({ kind: "edge" as const, edge })),
  ],
  [1, u16.map((value) => ({ kind: "random" as const, value }))],
);

export const callSpecArb: fc.Arbitrary<CallSpec> = fc.record({
  front: fc.constantFrom<Front>("dispatch", "batch", "hypercall"),
  control: controlSpec,
  memory: weighted<boolean>([7, fc.constant(false)], [3, fc.constant(true)]),
  gpa: gpaSpec,
  conn: connSpec,
  connReserved: weighted<number>(
    [24, fc.constant(0)],
    [1, fc.integer({ min: 1, max: U32_MAX >>> CONNECTION_ID_BITS })],
  ),
  flag: flagSpec,
  rsvdZ: weighted<number>([24, fc.constant(0)], [1, fc.integer({ min: 1, max: U16_MAX })]),
});

/** A scenario, who calls, and what. */
export interface CaseSpec {
  scenario: ScenarioFile;
  callerPick: number;
  vpPick: number;
  calls: CallSpec[];
}

export function caseSpecArb(maxCalls: number): fc.Arbitrary<CaseSpec> {
  return fc.record({
    scenario: scenarioArb,
    callerPick: fc.nat(),
    vpPick: fc.nat(),
    calls: fc.array(callSpecArb, { minLength: 1, maxLength: maxCalls, size: "max" }),
  });
}
