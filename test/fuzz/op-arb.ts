/**
 * Generators of trace steps, as "picks" (an index into the caller's connections, a kind of GPA, a
 * SINT some port aims at, ...) that resolve.ts turns into trace ops against the scenario and the
 * SynIC registers the trace has written so far — so that the scenario and the steps shrink
 * independently. Biased so that every check of both calls' orders comes up: each control rule, the
 * privilege, every kind of input GPA (RAM, page end, crossing, misaligned, overlay, unbacked), the
 * input's reserved fields, connections of other partitions, FlagNumber edges, message types and
 * sizes on both sides of the rules, bursts of posts that use up a port's 16 buffers, slots emptied
 * with and without EOM, SynIC MSR writes (pages moved, SINTs masked / polling / vector < 16), and
 * host actions.
 */
import fc from "fast-check";
import { CONNECTION_ID_MAX } from "../../src/abi/connection-id.js";
import type {
  ConnSpec,
  ControlSpec,
  FlagSpec,
  Front,
  GpaSpec,
  HostSpec,
  MsrChange,
  OpSpec,
  PostSpec,
  SignalSpec,
  SintPick,
  SlotPick,
  StepSpec,
  Who,
} from "./op-spec.js";
import { u32, u64, weighted } from "./scenario-arb.js";

export type * from "./op-spec.js";

// ---------------------------------------------------------------------------------------------

const who: fc.Arbitrary<Who> = fc.record({ partitionPick: fc.nat(), vpPick: fc.nat() });

export const sintPick = weighted<SintPick>(
  [6, fc.nat().map((pick) => ({ kind: "targeted" as const, pick }))],
  [1, fc.integer({ min: 0, max: 15 }).map((sint) => ({ kind: "any" as const, sint }))],
);

const slotPick = weighted<SlotPick>(
  [1, fc.record({ kind: fc.constant("who" as const), who, sint: sintPick })],
  [2, fc.nat().map((pick) => ({ kind: "port" as const, pick }))],
);

const controlSpec = weighted<ControlSpec>(
  [90, fc.constant({ kind: "good" as const })],
  [5, fc.integer({ min: 17, max: 63 }).map((bit) => ({ kind: "bit" as const, bit }))],
  [
    3,
    fc
      .tuple(
        weighted<number>(
          [2, fc.constantFrom(0, 0x5b, 0x5e, 0x95, 0xc1, 0xffff)],
          [1, fc.integer({ min: 0, max: 0xffff })],
        ),
        weighted<bigint>([3, fc.constant(0n)], [1, u64]),
      )
      .map(([code, high]) => ({ kind: "code" as const, code, high })),
  ],
  [1, u64.map((value) => ({ kind: "random" as const, value }))],
);

/** GPAs no scenario memory, overlay pool page or scratch page uses (mostly). */
const UNBACKED_GPAS = [0n, 0x8000n, 0xdead_0000n, 0x2_0000_0008n, (1n << 64n) - 8n];

const gpaSpec = weighted<GpaSpec>(
  [
    24,
    fc
      .record({ page: fc.integer({ min: 0, max: 1 }), slot: fc.nat() })
      .map((g) => ({ kind: "ram" as const, ...g })),
  ],
  [1, fc.constant({ kind: "ram-end" as const })],
  [1, fc.integer({ min: 1, max: 31 }).map((back) => ({ kind: "crossing" as const, back }))],
  [
    2,
    fc
      .record({ offset: fc.integer({ min: 1, max: 7 }), slot: fc.nat() })
      .map((g) => ({ kind: "misaligned" as const, ...g })),
  ],
  [
    2,
    fc
      .record({ page: fc.constantFrom<"sief" | "sim">("sief", "sim"), slot: fc.nat() })
      .map((g) => ({ kind: "overlay" as const, ...g })),
  ],
  [
    2,
    weighted<bigint>([2, fc.constantFrom(...UNBACKED_GPAS)], [1, u64.map((g) => g & ~7n)]).map(
      (gpa) => ({ kind: "unbacked" as const, gpa }),
    ),
  ],
);

const connSpec = weighted<ConnSpec>(
  [20, fc.nat().map((pick) => ({ kind: "typed" as const, pick }))],
  [3, fc.nat().map((pick) => ({ kind: "own" as const, pick }))],
  [1, fc.nat().map((pick) => ({ kind: "other" as const, pick }))],
  [
    1,
    fc
      .integer({ min: 0, max: CONNECTION_ID_MAX })
      .map((value) => ({ kind: "random" as const, value })),
  ],
);

const flagSpec = weighted<FlagSpec>(
  [
    8,
    fc
      .integer({ min: 0, max: 0xffff })
      .map((n) => ({ kind: "inside" as const, fraction: n / 0x10000 })),
  ],
  // A few fixed spots, so that the same flag is signalled again (already set: no interrupt).
  [4, fc.constantFrom(0, 0.5, 0.75).map((f) => ({ kind: "inside" as const, fraction: f }))],
  [
    4,
    fc
      .constantFrom<"zero" | "last" | "count" | "after">("zero", "last", "count", "after")
      .map((edge) => ({ kind: "edge" as const, edge })),
  ],
  [1, fc.integer({ min: 0, max: 0xffff }).map((value) => ({ kind: "random" as const, value }))],
);

const rare = (max: number) =>
  weighted<number>([24, fc.constant(0)], [1, fc.integer({ min: 1, max })]);

function inputCommon(fastWeight: [number, number], batchWeight: number) {
  return {
    who,
    front: weighted<Front>(
      [8, fc.constant("engine")],
      [2, fc.constant("dispatch")],
      [2, fc.constant("hypercall")],
      [batchWeight, fc.constant("batch")],
    ),
    fast: weighted<boolean>(
      [fastWeight[0], fc.constant(true)],
      [fastWeight[1], fc.constant(false)],
    ),
    control: controlSpec,
    gpa: gpaSpec,
    conn: connSpec,
    connReserved: rare(0xff),
    rsvdZ: rare(0xffff),
    r8: fc.option(u64, { freq: 6 }),
    repeat: weighted<number>([10, fc.constant(1)], [2, fc.integer({ min: 2, max: 6 })]),
  };
}

export const signalSpecArb: fc.Arbitrary<SignalSpec> = fc.record({
  kind: fc.constant("signal" as const),
  ...inputCommon([7, 3], 3),
  flag: flagSpec,
});

export const postSpecArb: fc.Arbitrary<PostSpec> = fc.record({
  kind: fc.constant("post" as const),
  ...inputCommon([1, 30], 1),
  rsvdZ: rare(0xffff_ffff),
  messageType: weighted<number>(
    [14, fc.integer({ min: 1, max: 5 })],
    [1, fc.constant(0)],
    [1, u32.map((t) => (t | 0x8000_0000) >>> 0)],
    [1, fc.constantFrom(0x7fff_ffff, 0x8000_0000)],
    [1, u32],
  ),
  payloadSize: weighted<number>(
    [6, fc.integer({ min: 0, max: 16 })],
    [3, fc.integer({ min: 0, max: 240 })],
    [1, fc.constantFrom(240, 241)],
    [1, u32],
  ),
  payloadSeed: fc.integer({ min: 0, max: 255 }),
  emptyFirst: weighted<boolean>([7, fc.constant(false)], [1, fc.constant(true)]),
  repeat: weighted<number>(
    [10, fc.constant(1)],
    [3, fc.integer({ min: 2, max: 4 })],
    [2, fc.integer({ min: 16, max: 20 })],
  ),
});

const msrChange = weighted<MsrChange>(
  [
    2,
    fc.record({
      reg: fc.constant("scontrol" as const),
      enable: weighted<boolean>([3, fc.constant(true)], [1, fc.constant(false)]),
      rsvdP: rare(0x7fff_ffff),
    }),
  ],
  [
    4,
    fc.record({
      reg: fc.constantFrom<"siefp" | "simp">("siefp", "simp"),
      enable: weighted<boolean>([3, fc.constant(true)], [1, fc.constant(false)]),
      page: fc.constantFrom<"same" | "pool" | "other-vp">("same", "same", "pool", "other-vp"),
      pick: fc.nat(),
    }),
  ],
  [
    5,
    fc.record({
      reg: fc.constant("sint" as const),
      sint: sintPick,
      value: fc.constantFrom<"unmask" | "mask" | "poll" | "low-vector" | "random">(
        "unmask",
        "unmask",
        "mask",
        "poll",
        "low-vector",
        "random",
      ),
      raw: u64,
    }),
  ],
  [
    1,
    fc.record({
      reg: fc.constantFrom<"sversion" | "unknown">("sversion", "unknown"),
      msr: fc.constantFrom(0x40000081, 0x40000085, 0x4000008f, 0x400000a0, 0x40000070, 0, 0x1b),
      raw: u64,
    }),
  ],
);

export const opSpecArb: fc.Arbitrary<OpSpec> = weighted<OpSpec>(
  [10, signalSpecArb],
  [10, postSpecArb],
  [
    4,
    fc.record({
      kind: fc.constant("empty-slot" as const),
      slot: slotPick,
      after: fc.constantFrom<"none" | "eom" | "eoi">("none", "none", "eom", "eoi"),
    }),
  ],
  [
    2,
    fc.record({
      kind: fc.constant("page-write" as const),
      who,
      page: fc.constantFrom<"sief" | "sim">("sief", "sim"),
      sint: sintPick,
      offset: fc.integer({ min: 0, max: 255 }),
      bytes: weighted<number[]>(
        [3, fc.integer({ min: 1, max: 8 }).map((n) => new Array<number>(n).fill(0))],
        [2, fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 })],
      ),
    }),
  ],
  [
    2,
    fc.record({
      kind: fc.constant("eom" as const),
      who,
      value: weighted<bigint>([3, fc.constant(0n)], [1, u64]),
    }),
  ],
  [1, fc.record({ kind: fc.constant("eoi" as const), who })],
  [
    4,
    fc.record({ kind: fc.constant("wrmsr" as const), who, change: msrChange, upper: fc.boolean() }),
  ],
  [
    1,
    fc.record({
      kind: fc.constant("rdmsr" as const),
      who,
      msr: fc.constantFrom(
        0x40000080,
        0x40000081,
        0x40000082,
        0x40000083,
        0x40000084,
        0x40000090,
        0x40000092,
        0x4000009f,
        0x40000085,
        0x400000a0,
      ),
    }),
  ],
  [
    2,
    fc.record({
      kind: fc.constant("read" as const),
      slot: slotPick,
      where: fc.constantFrom<"sim-slot" | "sief-area" | "ram" | "unbacked">(
        "sim-slot",
        "sim-slot",
        "sief-area",
        "ram",
        "unbacked",
      ),
      length: weighted<number>(
        [6, fc.integer({ min: 1, max: 32 })],
        [2, fc.constant(256)],
        [1, fc.integer({ min: 1, max: 4096 })],
      ),
    }),
  ],
);

export const hostSpecArb: fc.Arbitrary<HostSpec> = weighted<HostSpec>(
  [2, fc.record({ kind: fc.constant("deletePort" as const), pick: fc.nat() })],
  [
    2,
    fc.record({
      kind: fc.constant("setPartitionActive" as const),
      pick: fc.nat(),
      active: fc.boolean(),
    }),
  ],
  [
    1,
    fc.record({
      kind: fc.constant("setPrivilegeMask" as const),
      pick: fc.nat(),
      change: fc.constantFrom<"toggle-36" | "toggle-37" | "random">(
        "toggle-36",
        "toggle-37",
        "random",
      ),
      raw: u64,
    }),
  ],
);

/** Guest ops mostly, a host action now and then (`hostWeight` per 60 steps). */
export function stepSpecArb(hostWeight: number): fc.Arbitrary<StepSpec> {
  if (hostWeight === 0) return opSpecArb;
  return weighted<StepSpec>(
    [60, opSpecArb],
    [hostWeight, hostSpecArb.map((host) => ({ kind: "host" as const, host }))],
  );
}
