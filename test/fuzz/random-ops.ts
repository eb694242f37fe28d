/**
 * Generators of the safety properties: guest values with little or no structure. Any 16-byte
 * record (for BatchRunner), any 64-bit control value with random or meaningful RDX / R8 (for
 * Dispatcher.dispatch / hypercall() / TraceEngine), and traces of random guest ops — random bytes
 * written anywhere (into overlay pages too), random MSR numbers and values, random reads — so that
 * the machine's state drifts far from anything a generator of well-formed calls reaches.
 */
import fc from "fast-check";
import {
  type Front,
  type OpSpec,
  opSpecArb,
  postSpecArb,
  signalSpecArb,
  type Who,
} from "./op-arb.js";
import type { Resolver } from "./resolve.js";
import { hex, offScratch, PAGE, RAM_GPA, u64, weighted } from "./scenario-arb.js";
import type { CallFront, Step, TraceOpJson } from "./scenario-types.js";

const who: fc.Arbitrary<Who> = fc.record({ partitionPick: fc.nat(), vpPick: fc.nat() });

/** Any control value: uniform, one of the two codes with any upper bits, or a few bits more. */
export const anyControl: fc.Arbitrary<bigint> = fc.oneof<fc.Arbitrary<bigint>[]>(
  u64,
  fc.tuple(u64, fc.constantFrom<bigint>(0x5cn, 0x5dn)).map(([v, code]) => (v & ~0xffffn) | code),
  fc
    .tuple(
      fc.constantFrom<bigint>(0x5cn, 0x5dn, 0x1005cn, 0x1005dn),
      fc.array(fc.integer({ min: 16, max: 63 }), { maxLength: 3 }),
    )
    .map(([code, bits]) => bits.reduce((c, b) => c | (1n << BigInt(b)), code)),
);

// ---------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------

export type RecordSpec =
  | { kind: "bytes"; control: bigint; input: bigint }
  | { kind: "good-control"; code: bigint; input: bigint }
  | { kind: "call"; spec: OpSpec };

export const recordSpecArb: fc.Arbitrary<RecordSpec> = weighted<RecordSpec>(
  [2, fc.record({ kind: fc.constant("bytes" as const), control: u64, input: u64 })],
  [
    1,
    fc.record({
      kind: fc.constant("good-control" as const),
      code: fc.constantFrom(0x5dn, 0x1005dn, 0x5cn, 0x1005cn),
      input: u64,
    }),
  ],
  [
    3,
    fc
      .oneof(signalSpecArb, postSpecArb)
      .map((spec) => ({ kind: "call" as const, spec: { ...spec, front: "batch" as Front } })),
  ],
);

export function recordSteps(r: Resolver, base: Who, records: readonly RecordSpec[]): Step[] {
  const { p, vp } = r.who(base);
  return records.flatMap((rec): Step[] => {
    if (rec.kind === "call") return r.resolve(rec.spec).filter((s) => s.kind === "record");
    const control = rec.kind === "bytes" ? rec.control : rec.code;
    return [{ kind: "record", partition: p.id, vp: vp.index, control, input: rec.input }];
  });
}

// ---------------------------------------------------------------------------------------------
// Control values
// ---------------------------------------------------------------------------------------------

export interface ControlCallSpec {
  front: CallFront;
  control: bigint;
  rdx: { kind: "random"; value: bigint; r8: bigint } | { kind: "call"; spec: OpSpec };
}

export const controlCallArb: fc.Arbitrary<ControlCallSpec> = fc.record({
  front: fc.constantFrom<CallFront>("dispatch", "hypercall", "engine"),
  control: anyControl,
  rdx: fc.oneof(
    fc.record({
      kind: fc.constant("random" as const),
      value: u64,
      r8: weighted<bigint>([3, fc.constant(0n)], [1, u64]),
    }),
    fc.oneof(signalSpecArb, postSpecArb).map((spec) => ({ kind: "call" as const, spec })),
  ),
});

/** The calls, each with the generated control value in place of the resolved call's own. */
export function controlSteps(r: Resolver, base: Who, calls: readonly ControlCallSpec[]): Step[] {
  const { p, vp } = r.who(base);
  return calls.flatMap((c): Step[] => {
    if (c.rdx.kind === "random") {
      const op: TraceOpJson = {
        op: "hypercall",
        ...r.names(p, vp),
        control: hex(c.control),
        rdx: hex(offScratch(c.rdx.value)),
        r8: hex(c.rdx.r8),
      };
      return [{ kind: "op", op, front: c.front }];
    }
    // The input a resolved call would pass (a block in memory or a register), under any control.
    return r.resolve({ ...c.rdx.spec, front: c.front } as OpSpec).map((s): Step => {
      if (s.kind !== "op" || s.op.op !== "hypercall") return s;
      // A fast call's register may read as the scratch page's GPA under a memory-form control.
      const op = { ...s.op, control: hex(c.control), rdx: hex(offScratch(BigInt(s.op.rdx))) };
      return { kind: "op", op, front: c.front };
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Traces of random guest ops
// ---------------------------------------------------------------------------------------------

type GpaPick =
  | { kind: "page"; page: "sief" | "sim" | "ram" | "ram2"; offset: number }
  | { kind: "random"; value: bigint };

const gpaPick = weighted<GpaPick>(
  [
    6,
    fc.record({
      kind: fc.constant("page" as const),
      page: fc.constantFrom<"sief" | "sim" | "ram" | "ram2">("sief", "sim", "sim", "ram", "ram2"),
      offset: weighted<number>(
        [3, fc.integer({ min: 0, max: 4095 })],
        [1, fc.integer({ min: 0, max: 511 }).map((n) => n * 8)],
      ),
    }),
  ],
  [1, u64.map((value) => ({ kind: "random" as const, value }))],
  // The top of the address space: an access that would run past 2^64.
  [
    1,
    fc
      .integer({ min: 1, max: 300 })
      .map((n) => ({ kind: "random" as const, value: (1n << 64n) - BigInt(n) })),
  ],
);

const msrPick = weighted<number>(
  [6, fc.integer({ min: 0x40000080, max: 0x4000009f })],
  [1, fc.constantFrom(0x40000000, 0x40000001, 0x400000a0, 0x40000070, 0x1b, 0xc0000080)],
  [1, fc.integer({ min: 0, max: 0xffff_ffff })],
);

export type RandomOp =
  | {
      kind: "hypercall";
      who: Who;
      control: bigint;
      rdx: GpaPick | { kind: "value"; value: bigint };
      r8: bigint | null;
    }
  | { kind: "write"; who: Who; gpa: GpaPick; bytes: Uint8Array }
  | { kind: "read"; who: Who; gpa: GpaPick; length: number }
  | { kind: "wrmsr"; who: Who; msr: number; value: bigint }
  | { kind: "rdmsr"; who: Who; msr: number }
  | { kind: "eoi"; who: Who }
  | { kind: "spec"; spec: OpSpec };

export const randomOpArb: fc.Arbitrary<RandomOp> = weighted<RandomOp>(
  [
    5,
    fc.record({
      kind: fc.constant("hypercall" as const),
      who,
      control: anyControl,
      rdx: fc.oneof<fc.Arbitrary<GpaPick | { kind: "value"; value: bigint }>[]>(
        gpaPick,
        u64.map((value) => ({ kind: "value" as const, value })),
      ),
      r8: fc.option(u64, { freq: 3 }) as fc.Arbitrary<bigint | null>,
    }),
  ],
  [
    4,
    fc.record({
      kind: fc.constant("write" as const),
      who,
      gpa: gpaPick,
      bytes: weighted<Uint8Array>(
        [6, fc.uint8Array({ maxLength: 16 })],
        [1, fc.uint8Array({ maxLength: 300 })],
      ),
    }),
  ],
  [
    1,
    fc.record({
      kind: fc.constant("read" as const),
      who,
      gpa: gpaPick,
      length: fc.integer({ min: 1, max: 300 }),
    }),
  ],
  [
    3,
    fc.record({
      kind: fc.constant("wrmsr" as const),
      who,
      msr: msrPick,
      value: weighted<bigint>([2, u64], [1, fc.bigInt({ min: 0n, max: 0x7ffffn })]),
    }),
  ],
  [1, fc.record({ kind: fc.constant("rdmsr" as const), who, msr: msrPick })],
  [1, fc.record({ kind: fc.constant("eoi" as const), who })],
  [
    4,
    opSpecArb.map((spec) => ({
      kind: "spec" as const,
      spec: { ...spec, front: "engine" as Front },
    })),
  ],
);

export function randomSteps(r: Resolver, ops: readonly RandomOp[]): Step[] {
  return ops.flatMap((o): Step[] => {
    if (o.kind === "spec") return r.resolve(o.spec);
    const { p, vp } = r.who(o.who);
    const gpa = (g: GpaPick): bigint => {
      if (g.kind === "random") return offScratch(g.value);
      const base = {
        sief: r.pageGpa(vp.siefp),
        sim: r.pageGpa(vp.simp),
        ram: RAM_GPA,
        ram2: RAM_GPA + PAGE,
      }[g.page];
      return base + BigInt(g.offset);
    };
    let op: TraceOpJson;
    switch (o.kind) {
      case "hypercall":
        op = {
          op: "hypercall",
          ...r.names(p, vp),
          control: hex(o.control),
          rdx: hex(o.rdx.kind === "value" ? offScratch(o.rdx.value) : gpa(o.rdx)),
          ...(o.r8 === null ? {} : { r8: hex(o.r8) }),
        };
        break;
      case "write":
        op = {
          op: "write",
          ...r.names(p),
          gpa: hex(gpa(o.gpa)),
          hex: Buffer.from(o.bytes).toString("hex"),
        };
        break;
      case "read":
        op = { op: "read", ...r.names(p), gpa: hex(gpa(o.gpa)), length: o.length };
        break;
      case "wrmsr":
        op = r.wrmsr(p, vp, o.msr, o.value);
        break;
      case "rdmsr":
        op = { op: "rdmsr", ...r.names(p, vp), msr: o.msr };
        break;
      case "eoi":
        op = { op: "eoi", ...r.names(p, vp) };
        break;
    }
    return [{ kind: "op", op, front: "engine" }];
  });
}
