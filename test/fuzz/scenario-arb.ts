/**
 * Scenario generators (the scenario file of the CLI contract, v2): 1..3 partitions with VPs that
 * carry SCONTROL, SIEFP, SIMP and SINT values, event / message / monitor ports (HV_ANY_VP ones
 * included), connections, and guest RAM. Biased, not uniform: most VPs are ready for events and
 * messages, and the edges come up often — a partition without VPs, a port aiming at a VP that does
 * not exist, a deleted port, an inactive partition, a missing privilege, masked / polling SINTs,
 * overlay pages on top of RAM or of each other, a SIEF or SIM page that is disabled.
 *
 * Every GPA a generator picks stays off the page of FUZZ_SCRATCH_GPA (BatchRunner's scratch page).
 */
import fc from "fast-check";
import { CONNECTION_ID_MAX } from "../../src/abi/connection-id.js";
import { EVENT_FLAGS_PER_SINT, SINT_COUNT } from "../../src/abi/sief-page.js";
import { HV_ANY_VP, HV_VP_INDEX_MAX } from "../../src/abi/vp-index.js";
import type {
  ScenarioConnection,
  ScenarioFile,
  ScenarioPartition,
  ScenarioPort,
  ScenarioVp,
} from "./scenario-types.js";

export const U64_MAX = (1n << 64n) - 1n;
const U32_MAX = 0xffff_ffff;
export const PAGE = 4096n;

/** BatchRunner's scratch page (above 4 GiB, so the GPA's high half is not zero). */
export const FUZZ_SCRATCH_GPA = 0x1_0000_0000n;
const SCRATCH_PAGE = FUZZ_SCRATCH_GPA / PAGE;

/** Guest RAM every partition has: two adjacent pages (a block may cross from one into the other). */
export const RAM_GPA = 0x10000n;
export const RAM_PAGES = 2n;
/** Page numbers the overlay pages pick from: the RAM pages, and a few shared by several VPs. */
const PAGE_POOL = [0x10, 0x11, 0x20, 0x21, 0x22, 0x23, 0x30];
/** Where the k-th VP of a scenario puts its SIEF page (SIM: the page after) by default. */
const LAYOUT_FIRST_PAGE = 0x40;

export function hex(value: bigint | number): string {
  return `0x${BigInt(value).toString(16)}`;
}

export function weighted<T>(...entries: [number, fc.Arbitrary<T>][]): fc.Arbitrary<T> {
  return fc.oneof(...entries.map(([weight, arbitrary]) => ({ weight, arbitrary })));
}

export const u64 = fc.bigInt({ min: 0n, max: U64_MAX });
export const u32 = fc.integer({ min: 0, max: U32_MAX });

/** A GPA moved off the scratch page (a generated value may land there only by chance). */
export function offScratch(gpa: bigint): bigint {
  return gpa / PAGE === SCRATCH_PAGE ? gpa ^ (1n << 63n) : gpa;
}

// ---------------------------------------------------------------------------------------------
// VPs
// ---------------------------------------------------------------------------------------------

const PARTITION_IDS = [1, 2, 3, 7, 0x1_0000_0000, Number.MAX_SAFE_INTEGER];
/** SINTs the ports aim at most of the time, so that their registers are often unmasked. */
export const HOT_SINTS = [0, 2, 3, SINT_COUNT - 1];

const vpIndex = weighted<number>(
  [12, fc.integer({ min: 0, max: 3 })],
  [1, fc.constantFrom(7, HV_VP_INDEX_MAX - 1, HV_VP_INDEX_MAX)],
);

const scontrol = weighted<bigint | undefined>(
  [16, fc.constant(1n)],
  [2, fc.constant(undefined)],
  [1, fc.constant(0n)],
  [1, u64],
);

type PagePick =
  | { kind: "layout" }
  | { kind: "pool"; page: number }
  | { kind: "random"; page: number };

/** An SIEFP / SIMP value: mostly enabled at the VP's own page, sometimes shared, off or random. */
type PageMsrShape =
  | { kind: "omit" }
  | { kind: "page"; enable: boolean; page: PagePick; rsvdP: number }
  | { kind: "random"; value: bigint };

const pageMsr = weighted<PageMsrShape>(
  [
    16,
    fc.record({
      kind: fc.constant("page" as const),
      enable: weighted<boolean>([6, fc.constant(true)], [1, fc.constant(false)]),
      page: weighted<PagePick>(
        [8, fc.constant({ kind: "layout" as const })],
        [3, fc.constantFrom(...PAGE_POOL).map((page) => ({ kind: "pool" as const, page }))],
        [
          1,
          fc.integer({ min: 0, max: 0xfffff }).map((page) => ({ kind: "random" as const, page })),
        ],
      ),
      rsvdP: weighted<number>([6, fc.constant(0)], [1, fc.integer({ min: 1, max: 0x7ff })]),
    }),
  ],
  [2, fc.constant({ kind: "omit" as const })],
  [1, u64.map((value) => ({ kind: "random" as const, value }))],
);

function pageMsrValue(shape: PageMsrShape, layoutPage: number): string | undefined {
  if (shape.kind === "omit") return undefined;
  if (shape.kind === "random") return hex(offScratch(shape.value));
  const page = shape.page.kind === "layout" ? layoutPage : shape.page.page;
  return hex((BigInt(page) << 12n) | BigInt(shape.rsvdP << 1) | (shape.enable ? 1n : 0n));
}

const vector = weighted<number>(
  [8, fc.integer({ min: 16, max: 255 })],
  [1, fc.integer({ min: 0, max: 15 })],
);
const unmaskedSint = fc
  .tuple(vector, fc.boolean(), weighted<boolean>([3, fc.constant(false)], [1, fc.constant(true)]))
  .map(([v, autoEoi, polling]) => hex(v | (autoEoi ? 1 << 17 : 0) | (polling ? 1 << 18 : 0)));
const maskedSint = fc
  .tuple(fc.integer({ min: 0, max: 255 }), fc.boolean())
  .map(([v, polling]) => hex(v | (1 << 16) | (polling ? 1 << 18 : 0)));

const hotSint = weighted<string | undefined>(
  [8, unmaskedSint],
  [2, maskedSint],
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

interface VpShape {
  index: number;
  scontrol: bigint | undefined;
  siefp: PageMsrShape;
  simp: PageMsrShape;
  sints: Record<string, string>;
}

const vpShape: fc.Arbitrary<VpShape> = fc.record({
  index: vpIndex,
  scontrol,
  siefp: pageMsr,
  simp: pageMsr,
  sints,
});

function resolveVp(shape: VpShape, layout: number): ScenarioVp {
  const out: ScenarioVp = { index: shape.index };
  if (shape.scontrol !== undefined) out.scontrol = hex(shape.scontrol);
  const siefp = pageMsrValue(shape.siefp, LAYOUT_FIRST_PAGE + 2 * layout);
  const simp = pageMsrValue(shape.simp, LAYOUT_FIRST_PAGE + 2 * layout + 1);
  if (siefp !== undefined) out.siefp = siefp;
  if (simp !== undefined) out.simp = simp;
  if (Object.keys(shape.sints).length > 0) out.sints = shape.sints;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Ports and connections
// ---------------------------------------------------------------------------------------------

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
      .tuple(fc.integer({ min: 0, max: EVENT_FLAGS_PER_SINT }), fc.integer({ min: 0, max: 0xffff }))
      .map(([base, f]) => ({
        base,
        count: Math.floor((f / 0x10000) * (EVENT_FLAGS_PER_SINT - base + 1)),
      })),
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
    [5, fc.constant("event")],
    [5, fc.constant("message")],
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
    [8, fc.constant(undefined)],
    [3, fc.constant(false)],
    [1, fc.constant(true)],
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

interface ConnectionShape {
  id: number;
  partitionPick: number;
  /** A port of the scenario (of that type, when there is one), or any port id. */
  port:
    | { kind: "own"; pick: number; type: "event" | "message" | "any" }
    | { kind: "wild"; value: number };
}

const connectionShape: fc.Arbitrary<ConnectionShape> = fc.record({
  id: weighted<number>(
    [8, fc.constantFrom(0, 1, 20, 21, 22)],
    [1, fc.constant(CONNECTION_ID_MAX)],
    [1, fc.integer({ min: 0, max: CONNECTION_ID_MAX })],
  ),
  partitionPick: fc.nat(),
  port: weighted<ConnectionShape["port"]>(
    [
      10,
      fc.record({
        kind: fc.constant("own" as const),
        pick: fc.nat(),
        type: fc.constantFrom<"event" | "message" | "any">("event", "message", "any"),
      }),
    ],
    [
      1,
      weighted<number>([1, fc.constantFrom(2, 12)], [1, u32]).map((value) => ({
        kind: "wild" as const,
        value,
      })),
    ],
  ),
});

// ---------------------------------------------------------------------------------------------
// Partitions
// ---------------------------------------------------------------------------------------------

/** The privilege names of signal-event.md §5 (the model knows exactly these). */
const OTHER_PRIVILEGES = [
  "AccessVpRunTimeReg",
  "AccessSynicRegs",
  "AccessVpIndex",
  "CreatePartitions",
  "AdjustMessageBuffers",
  "CreatePort",
  "ConnectPort",
  "Debugging",
];

type Privileges = { kind: "names"; names: string[] } | { kind: "mask"; mask: bigint };

const others = fc.subarray(OTHER_PRIVILEGES, { maxLength: 2 });
const privileges = weighted<Privileges>(
  [
    40,
    others.map((o) => ({ kind: "names" as const, names: ["SignalEvents", "PostMessages", ...o] })),
  ],
  [2, others.map((o) => ({ kind: "names" as const, names: ["SignalEvents", ...o] }))],
  [2, others.map((o) => ({ kind: "names" as const, names: [...o, "PostMessages"] }))],
  [1, others.map((names) => ({ kind: "names" as const, names }))],
  [1, u64.map((mask) => ({ kind: "mask" as const, mask }))],
  [
    1,
    fc
      .constantFrom(0n, 1n << 36n, 1n << 37n, 3n << 36n, U64_MAX ^ (3n << 36n))
      .map((mask) => ({ kind: "mask" as const, mask })),
  ],
);

interface PartitionShape {
  state: "active" | "inactive" | undefined;
  privileges: Privileges;
  vps: VpShape[];
  ports: PortShape[];
  connections: ConnectionShape[];
  ram: [Uint8Array, Uint8Array];
  /**
   * One more backed page: under an overlay page of the pool (hidden while that page is on), or
   * page 0, or the last page below 2^64 (an access running past 2^64 must not wrap to page 0).
   */
  poolRam: number | null;
}

const ramBytes = fc.uint8Array({ minLength: 1, maxLength: 16 });

const partitionShape: fc.Arbitrary<PartitionShape> = fc.record({
  state: weighted<PartitionShape["state"]>(
    [6, fc.constant(undefined)],
    [4, fc.constant("active")],
    [1, fc.constant("inactive")],
  ),
  privileges,
  vps: fc.uniqueArray(vpShape, { selector: (v) => v.index, minLength: 0, maxLength: 3 }),
  ports: weighted<PortShape[]>(
    [8, fc.uniqueArray(portShape, { selector: (p) => p.id, minLength: 2, maxLength: 4 })],
    [1, fc.uniqueArray(portShape, { selector: (p) => p.id, minLength: 1, maxLength: 1 })],
    [1, fc.constant([])],
  ),
  connections: weighted<ConnectionShape[]>(
    [16, fc.uniqueArray(connectionShape, { selector: (c) => c.id, minLength: 2, maxLength: 6 })],
    [1, fc.constant([])],
  ),
  ram: fc.tuple(ramBytes, ramBytes),
  poolRam: fc.option(fc.constantFrom(0x20, 0x21, 0x30, 0, 0xf_ffff_ffff_ffff), { freq: 3 }),
});

/**
 * A valid scenario file: 1..3 partitions; the first always has a VP (it can call). Ports and
 * connections refer to each other mostly by existing ids, sometimes to nothing. Every partition
 * has RAM at RAM_GPA (two pages) for input blocks.
 */
export const scenarioArb: fc.Arbitrary<ScenarioFile> = fc
  .tuple(
    fc.uniqueArray(fc.constantFrom(...PARTITION_IDS), { minLength: 1, maxLength: 3 }),
    fc.array(partitionShape, { minLength: 3, maxLength: 3 }),
    vpShape,
  )
  .map(([ids, shapes, firstVp]) => {
    let layout = 0;
    const partitions: ScenarioPartition[] = ids.map((id, i) => {
      const shape = shapes[i]!;
      const vpShapes = i === 0 && shape.vps.length === 0 ? [firstVp] : shape.vps;
      const vps = vpShapes.map((v) => resolveVp(v, layout++));
      const p: ScenarioPartition = { id };
      if (shape.state !== undefined) p.state = shape.state;
      if (shape.privileges.kind === "names") p.privileges = shape.privileges.names;
      else p.privilegeMask = hex(shape.privileges.mask);
      p.vps = vps;
      p.ports = shape.ports.map((q) => resolvePort(q, vps));
      p.memory = shape.ram.map((bytes, k) => ({
        gpa: hex(RAM_GPA + BigInt(k) * PAGE),
        hex: Buffer.from(bytes).toString("hex"),
      }));
      if (shape.poolRam !== null) {
        p.memory.push({ gpa: hex(BigInt(shape.poolRam) * PAGE + 0x300n), hex: "01000000" });
      }
      return p;
    });
    ids.forEach((_, i) => {
      partitions[i]!.connections = shapes[i]!.connections.map((c): ScenarioConnection => {
        if (c.port.kind === "wild") {
          const target = partitions[c.partitionPick % partitions.length]!;
          return { id: c.id, portPartition: target.id, portId: c.port.value };
        }
        // A port of the wanted type somewhere in the scenario, else any port, else port 0.
        const all = partitions.flatMap((q) => (q.ports ?? []).map((port) => ({ q, port })));
        const type = c.port.type;
        const typed = all.filter((x) => type === "any" || x.port.type === type);
        const pool = typed.length > 0 ? typed : all;
        const hit = pool[c.port.pick % Math.max(pool.length, 1)];
        if (hit === undefined) return { id: c.id, portPartition: partitions[0]!.id, portId: 0 };
        return { id: c.id, portPartition: hit.q.id, portId: hit.port.id };
      });
    });
    return { partitions };
  });
