/**
 * The batch path and the per-call path agree. BatchRunner (the SignalEvent kernel: direct reads of
 * the record words, cached routes, Atomics on a shared image) and hypercall() (BigInt registers,
 * binary-parser decoding, the generic handler) run the same arbitrary records against two identical
 * machines loaded from a generated scenario; record by record they give the same 64-bit result, and
 * afterwards the same state, the same interrupts (order and arguments) and the same scratch page.
 *
 * The host acts between batches and from inside an interrupt listener (deactivating a partition,
 * deleting a port, rewriting SynIC MSRs, dropping the caller's privilege), identically on both
 * machines: whatever the batch path caches must follow.
 */
import { fc } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  BatchRunner,
  CONTROL_FAST_BIT,
  Dispatcher,
  HvCallCode,
  HvStatus,
  HvSynicMsr,
  halvesToU64,
  hypercall,
  loadMachine,
  type Machine,
  parseScenario,
  privilegeMaskOf,
  RECORD_SIZE,
  RESULT_WORDS,
  type ScenarioDocument,
  SINT_COUNT,
  SINT_RESET_VALUE,
  signalEventHandler,
  u64ToHalves,
} from "../../src/index.js";

const FAST = CONTROL_FAST_BIT;
const SIGNAL_FAST = (HvCallCode.SignalEvent | FAST) >>> 0;
const SIGNAL_MEMORY = HvCallCode.SignalEvent;
/** Connection ids and port ids are drawn from small pools so that records hit them often. */
const CONNECTION_IDS = [0, 1, 2, 3, 0x10, 0xabcdef];
const PORT_IDS = [0, 1, 2, 3, 4, 5];
const VP_INDEXES = [0, 1, 2, 7];
const SIGNAL_EVENTS = privilegeMaskOf(["SignalEvents"]);

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

const sintValue = fc.oneof(
  { arbitrary: fc.constant(BigInt(SINT_RESET_VALUE)), weight: 1 },
  { arbitrary: fc.integer({ min: 0x20, max: 0xff }).map(BigInt), weight: 3 },
);

/** The generators build scenario files (the CLI contract's JSON), which parseScenario loads. */
interface JsonVp {
  index: number;
  scontrol: string;
  siefp: string;
  sints: Record<string, string>;
}

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

const vpJson = (index: number): fc.Arbitrary<JsonVp> =>
  fc
    .record({
      scontrol: fc.constantFrom(1n, 1n, 1n, 0n),
      siefp: fc.constantFrom(0x12001n, 0x12001n, 0x12001n, 0x12000n, 0n),
      sints: fc.array(sintValue, { minLength: SINT_COUNT, maxLength: SINT_COUNT }),
    })
    .map((v) => {
      const sints: Record<string, string> = {};
      v.sints.forEach((value, sint) => {
        if (value !== BigInt(SINT_RESET_VALUE)) sints[String(sint)] = hex(value);
      });
      return { index, scontrol: hex(v.scontrol), siefp: hex(v.siefp), sints };
    });

const portJson = (id: number): fc.Arbitrary<Record<string, unknown>> =>
  fc
    .record({
      type: fc.constantFrom("event", "event", "event", "event", "message", "monitor"),
      targetVp: fc.constantFrom<number | "any">(...VP_INDEXES, 5, "any", "any"),
      targetSint: fc.oneof(
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: SINT_COUNT - 1 }),
      ),
      flagCount: fc.oneof(fc.integer({ min: 0, max: 70 }), fc.constant(2048)),
      baseSeed: fc.nat(),
      deleted: fc.constantFrom(false, false, false, true),
    })
    .map((p) => {
      const port: Record<string, unknown> = {
        id,
        type: p.type,
        targetVp: p.targetVp,
        targetSint: p.targetSint,
      };
      if (p.type === "event") {
        port.baseFlagNumber = p.baseSeed % (2048 - p.flagCount + 1);
        port.flagCount = p.flagCount;
      }
      port.deleted = p.deleted;
      return port;
    });

const partitionJson = (
  id: number,
  partitions: number,
  needsVp: boolean,
): fc.Arbitrary<Record<string, unknown>> =>
  fc
    .record({
      state: fc.constantFrom("active", "active", "active", "inactive"),
      privilegeMask: fc.constantFrom(
        SIGNAL_EVENTS,
        SIGNAL_EVENTS,
        SIGNAL_EVENTS,
        0n,
        0xffff_ffff_ffff_ffffn,
      ),
      vpIndexes: fc.subarray(VP_INDEXES, { minLength: needsVp ? 1 : 0 }),
      portIds: fc.subarray(PORT_IDS),
      connections: fc.uniqueArray(
        fc.record({
          id: fc.constantFrom(...CONNECTION_IDS),
          portPartition: fc.integer({ min: 1, max: partitions }),
          portId: fc.constantFrom(...PORT_IDS, 9),
        }),
        { selector: (c) => c.id, maxLength: CONNECTION_IDS.length },
      ),
      memoryPage: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
    })
    .chain((p) =>
      fc
        .record({
          vps: fc.tuple(...p.vpIndexes.map(vpJson)),
          ports: fc.tuple(...p.portIds.map(portJson)),
        })
        .map(({ vps, ports }) => ({
          id,
          state: p.state,
          privilegeMask: hex(p.privilegeMask),
          vps,
          ports,
          connections: p.connections,
          memory:
            p.memoryPage === undefined
              ? []
              : [{ gpa: hex(p.memoryPage * 4096), hex: "0102030405060708" }],
        })),
    );

const scenario: fc.Arbitrary<ScenarioDocument> = fc
  .integer({ min: 1, max: 3 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => partitionJson(i + 1, n, i === 0))))
  .map((partitions) => parseScenario({ partitions }));

// ---------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------

interface Rec {
  controlLo: number;
  controlHi: number;
  inputLo: number;
  inputHi: number;
}

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

const control = fc.oneof(
  { arbitrary: fc.constant([SIGNAL_FAST, 0]), weight: 10 },
  { arbitrary: fc.constant([SIGNAL_MEMORY, 0]), weight: 4 },
  // One stray bit anywhere in the control value.
  {
    arbitrary: fc
      .tuple(fc.constantFrom(SIGNAL_FAST, SIGNAL_MEMORY), fc.integer({ min: 16, max: 63 }))
      .map(([lo, bit]) =>
        bit < 32 ? [(lo ^ (1 << bit)) >>> 0, 0] : [lo, (1 << (bit - 32)) >>> 0],
      ),
    weight: 2,
  },
  {
    arbitrary: fc.constantFrom([HvCallCode.PostMessage | FAST, 0], [0x5e | FAST, 0], [0, 0]),
    weight: 1,
  },
  { arbitrary: fc.tuple(u32, u32), weight: 1 },
);

const connectionWord = fc.oneof(
  { arbitrary: fc.constantFrom(...CONNECTION_IDS), weight: 8 },
  { arbitrary: fc.integer({ min: 0, max: 0xffffff }), weight: 1 },
  {
    arbitrary: fc.constantFrom(...CONNECTION_IDS).map((id) => (id | 0x0100_0000) >>> 0),
    weight: 1,
  },
  { arbitrary: u32, weight: 1 },
);

const flagWord = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 72 }), weight: 8 },
  { arbitrary: fc.integer({ min: 0, max: 0xffff }), weight: 2 },
  {
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 72 }), fc.integer({ min: 1, max: 0xffff }))
      .map(([f, r]) => (f | (r << 16)) >>> 0),
    weight: 1,
  },
);

const rec: fc.Arbitrary<Rec> = fc
  .tuple(control, connectionWord, flagWord)
  .map(([[controlLo, controlHi], inputLo, inputHi]) => ({
    controlLo: controlLo!,
    controlHi: controlHi!,
    inputLo,
    inputHi,
  }));

/** Only SignalEvent calls the kernel runs itself (nothing for the generic path in between). */
const signalRec: fc.Arbitrary<Rec> = fc
  .tuple(
    fc.constantFrom(SIGNAL_FAST, SIGNAL_FAST, SIGNAL_MEMORY),
    fc.constantFrom(...CONNECTION_IDS),
    fc.integer({ min: 0, max: 72 }),
  )
  .map(([controlLo, inputLo, inputHi]) => ({ controlLo, controlHi: 0, inputLo, inputHi }));

function encode(records: readonly Rec[], misalign: boolean): Uint8Array {
  const offset = misalign ? 1 : 0;
  const bytes = new Uint8Array(records.length * RECORD_SIZE + offset).subarray(offset);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  records.forEach((r, i) => {
    view.setUint32(i * 16, r.controlLo, true);
    view.setUint32(i * 16 + 4, r.controlHi, true);
    view.setUint32(i * 16 + 8, r.inputLo, true);
    view.setUint32(i * 16 + 12, r.inputHi, true);
  });
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Host actions (between batches, or from an interrupt listener)
// ---------------------------------------------------------------------------------------------

type Action =
  | { kind: "active"; partition: number; active: boolean }
  | { kind: "delete"; partition: number; port: number }
  | { kind: "msr"; partition: number; vp: number; msr: number; value: bigint }
  | { kind: "privilege"; partition: number; mask: bigint }
  | { kind: "clear"; partition: number; vp: number; sint: number; flag: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant("active" as const),
    partition: fc.integer({ min: 1, max: 3 }),
    active: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant("delete" as const),
    partition: fc.integer({ min: 1, max: 3 }),
    port: fc.constantFrom(...PORT_IDS),
  }),
  fc.record({
    kind: fc.constant("msr" as const),
    partition: fc.integer({ min: 1, max: 3 }),
    vp: fc.constantFrom(...VP_INDEXES),
    msr: fc.constantFrom(
      HvSynicMsr.SCONTROL,
      HvSynicMsr.SIEFP,
      HvSynicMsr.SINT0,
      HvSynicMsr.SINT0 + 1,
      HvSynicMsr.SINT0 + 2,
    ),
    value: fc.constantFrom(0n, 1n, 0x12001n, 0x10000n, 0x41n),
  }),
  fc.record({
    kind: fc.constant("privilege" as const),
    partition: fc.integer({ min: 1, max: 3 }),
    mask: fc.constantFrom(0n, SIGNAL_EVENTS),
  }),
  fc.record({
    kind: fc.constant("clear" as const),
    partition: fc.integer({ min: 1, max: 3 }),
    vp: fc.constantFrom(...VP_INDEXES),
    sint: fc.integer({ min: 0, max: 3 }),
    flag: fc.integer({ min: 0, max: 72 }),
  }),
);

/** Applies a host action; one that names something the machine lacks does nothing (on both). */
function apply(m: Machine, a: Action): void {
  try {
    switch (a.kind) {
      case "active":
        m.setPartitionActive(a.partition, a.active);
        break;
      case "delete":
        m.deletePort(a.partition, a.port);
        break;
      case "msr":
        m.writeMsr(a.partition, a.vp, a.msr, a.value);
        break;
      case "privilege":
        m.setPrivilegeMask(a.partition, a.mask);
        break;
      case "clear":
        m.clearSiefFlag(a.partition, a.vp, a.sint, a.flag);
        break;
    }
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// The two paths
// ---------------------------------------------------------------------------------------------

interface Side {
  machine: Machine;
  log: string[];
}

/** A machine with a listener that logs every interrupt and runs `react` on the n-th one. */
function side(
  doc: ScenarioDocument,
  shared: boolean,
  react: { at: number; action: Action } | undefined,
): Side {
  const machine = loadMachine(doc, { shared });
  const log: string[] = [];
  if (react !== undefined) {
    machine.onSintAsserted((partition, vp, sint, vector) => {
      log.push(`${partition}/${vp}/${sint}/${vector}`);
      if (log.length === react.at) apply(machine, react.action);
    });
  }
  return { machine, log };
}

/** Every record through hypercall(): memory-form inputs are written at the scratch GPA first. */
function perCall(
  s: Side,
  caller: number,
  vp: number,
  scratchGpa: bigint,
  records: readonly Rec[],
): Uint32Array {
  const d = new Dispatcher(s.machine);
  const memory = s.machine.memory[s.machine.requirePartition(caller)]!;
  const out = new Uint32Array(records.length * RESULT_WORDS);
  records.forEach((r, i) => {
    let input = halvesToU64(r.inputLo, r.inputHi);
    if ((r.controlLo & FAST) === 0) {
      const block = new Uint8Array(8);
      new DataView(block.buffer).setBigUint64(0, input, true);
      memory.write(scratchGpa, block);
      input = scratchGpa;
    }
    const outcome = hypercall(d, {
      caller,
      vp,
      control: halvesToU64(r.controlLo, r.controlHi),
      input,
    });
    const { lo, hi } = u64ToHalves(outcome.result);
    out[i * RESULT_WORDS] = lo;
    out[i * RESULT_WORDS + 1] = hi;
  });
  return out;
}

interface Case {
  doc: ScenarioDocument;
  callerPick: number;
  vpPick: number;
  batches: Rec[][];
  between: Action[];
  react: { at: number; action: Action } | undefined;
  misalign: boolean;
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  doc: scenario,
  callerPick: fc.nat(),
  vpPick: fc.nat(),
  batches: fc.array(fc.array(rec, { maxLength: 120 }), { minLength: 1, maxLength: 3 }),
  between: fc.array(action, { minLength: 2, maxLength: 2 }),
  react: fc.option(fc.record({ at: fc.integer({ min: 1, max: 6 }), action }), { nil: undefined }),
  misalign: fc.boolean(),
});

/** A host action that takes a route away: the owner deactivated, the port deleted, the SynIC off. */
const routeBreaker: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant("active" as const),
    partition: fc.integer({ min: 1, max: 3 }),
    active: fc.constant(false),
  }),
  fc.record({
    kind: fc.constant("delete" as const),
    partition: fc.integer({ min: 1, max: 3 }),
    port: fc.constantFrom(...PORT_IDS),
  }),
  fc.record({
    kind: fc.constant("msr" as const),
    partition: fc.integer({ min: 1, max: 3 }),
    vp: fc.constantFrom(...VP_INDEXES),
    msr: fc.constantFrom(
      HvSynicMsr.SCONTROL,
      HvSynicMsr.SIEFP,
      HvSynicMsr.SINT0,
      HvSynicMsr.SINT0 + 1,
    ),
    value: fc.constantFrom(0n, BigInt(SINT_RESET_VALUE)),
  }),
);

/** Long batches and a listener that always acts early: what a record after it sees must be fresh. */
const reactingCaseArb: fc.Arbitrary<Case> = fc.record({
  doc: scenario,
  callerPick: fc.nat(),
  vpPick: fc.nat(),
  batches: fc.array(fc.array(signalRec, { minLength: 50, maxLength: 200 }), {
    minLength: 1,
    maxLength: 2,
  }),
  between: fc.array(routeBreaker, { minLength: 1, maxLength: 1 }),
  react: fc.record({ at: fc.integer({ min: 1, max: 3 }), action: routeBreaker }),
  misalign: fc.constant(false),
});

type Variant = "kernel" | "kernel, shared image" | "generic table";

function check(c: Case, variant: Variant): void {
  const withVps = c.doc.partitions.filter((p) => p.vps.length > 0);
  const callerSpec = withVps[c.callerPick % withVps.length]!;
  const caller = callerSpec.id;
  const vp = callerSpec.vps[c.vpPick % callerSpec.vps.length]!.index;

  const a = side(c.doc, variant === "kernel, shared image", c.react);
  const b = side(c.doc, false, c.react);
  // The generic variant: the same handler behind a table row the batch path does not specialise.
  const table = variant === "generic table" ? [{ ...signalEventHandler }] : undefined;
  const runner = new BatchRunner(new Dispatcher(a.machine, table), { caller, vp });
  // Map the same scratch page on the per-call side.
  const scratchGpa = new BatchRunner(new Dispatcher(b.machine), { caller, vp }).scratchGpa;
  expect(scratchGpa).toBe(runner.scratchGpa);

  c.batches.forEach((records, k) => {
    const results = new Uint32Array(records.length * RESULT_WORDS).fill(0xdeadbeef);
    expect(runner.run(encode(records, c.misalign), results)).toBe(records.length);
    let lastMemory = -1;
    records.forEach((r, i) => {
      if ((r.controlLo & FAST) === 0) lastMemory = i;
    });
    expect(runner.lastMemoryRecord, `${variant}: last memory-form record of batch ${k}`).toBe(
      lastMemory,
    );
    const expected = perCall(b, caller, vp, scratchGpa, records);
    for (let i = 0; i < records.length; i++) {
      if (results[2 * i] !== expected[2 * i] || results[2 * i + 1] !== expected[2 * i + 1]) {
        throw new Error(
          `${variant}: batch ${k} record ${i} ${JSON.stringify(records[i])}: batch gave status 0x${results[2 * i]!.toString(16)}, hypercall() 0x${expected[2 * i]!.toString(16)}`,
        );
      }
    }
    expect(a.log).toEqual(b.log);
    expect(a.machine.equals(b.machine.snapshot()), `${variant}: state after batch ${k}`).toBe(true);
    const slot = a.machine.requirePartition(caller);
    const page = (m: Machine) => Buffer.from(m.memory[slot]!.mapPage(scratchGpa));
    expect(page(a.machine).equals(page(b.machine))).toBe(true);
    const between = c.between[k];
    if (between !== undefined) {
      apply(a.machine, between);
      apply(b.machine, between);
    }
  });
}

describe("BatchRunner agrees with hypercall() record by record", () => {
  const variants: [Variant, number][] = [
    ["kernel", 400],
    ["kernel, shared image", 200],
    ["generic table", 150],
  ];
  for (const [variant, numRuns] of variants) {
    it(`${variant}: same results, state, interrupts and scratch page`, () => {
      fc.assert(
        fc.property(caseArb, (c) => check(c, variant)),
        { numRuns },
      );
    });
  }

  it("kernel: a listener that changes the machine mid-batch is seen by the very next record", () => {
    fc.assert(
      fc.property(reactingCaseArb, (c) => check(c, "kernel")),
      { numRuns: 300 },
    );
  });

  it("the generated scenarios reach every status the batch caller can get", () => {
    // Guards the generators: a property that only ever sees one outcome proves little.
    const seen = new Set<number>();
    fc.assert(
      fc.property(caseArb, (c) => {
        const withVps = c.doc.partitions.filter((p) => p.vps.length > 0);
        const callerSpec = withVps[c.callerPick % withVps.length]!;
        const machine = loadMachine(c.doc);
        const runner = new BatchRunner(new Dispatcher(machine), {
          caller: callerSpec.id,
          vp: callerSpec.vps[0]!.index,
        });
        for (const records of c.batches) {
          const results = new Uint32Array(records.length * RESULT_WORDS);
          runner.run(encode(records, false), results);
          for (let i = 0; i < records.length; i++) seen.add(results[2 * i]!);
        }
      }),
      { numRuns: 300 },
    );
    const every = [
      "SUCCESS",
      "INVALID_HYPERCALL_CODE",
      "INVALID_HYPERCALL_INPUT",
      "ACCESS_DENIED",
      "INVALID_CONNECTION_ID",
      "INVALID_PORT_ID",
      "INVALID_PARAMETER",
      "INVALID_VP_INDEX",
      "INVALID_SYNIC_STATE",
    ] as const;
    expect(every.filter((name) => !seen.has(HvStatus[name]))).toEqual([]);
  });
});
