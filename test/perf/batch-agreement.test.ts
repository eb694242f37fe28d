/**
 * The batch path and the per-call path agree. BatchRunner (the SignalEvent kernel: direct reads of
 * the record words, cached routes, Atomics on a shared image; the generic dispatcher for every
 * other record) and hypercall() (BigInt registers, the generic layer) run the same arbitrary
 * records — HvCallSignalEvent and HvCallPostMessage, fast and memory form, polling SINTs among the
 * targets — against two identical machines loaded from a generated scenario; record by record they
 * give the same 64-bit result, and afterwards the same state, the same interrupts (order and
 * arguments) and the same guest view of the scratch page.
 *
 * The host acts between batches and from inside an interrupt listener (deactivating a partition,
 * deleting a port, rewriting SynIC MSRs, dropping the caller's privilege), identically on both
 * machines: whatever the batch path caches must follow.
 *
 * A memory-form record's 8 bytes land at the scratch GPA and the rest of the runner's scratch page
 * reads 0: a PostMessage record's 8 bytes are its ConnectionId and RsvdZ words, MessageType reads 0,
 * so the furthest it gets is INVALID_PARAMETER (post-message.md §3 step 8).
 */
import { fc } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { halvesToU64, u64ToHalves } from "../../src/abi/u64.js";
import { postMessageRow } from "../../src/dispatch/handlers/post-message.js";
import { signalEventRow } from "../../src/dispatch/handlers/signal-event.js";
import {
  BatchRunner,
  Dispatcher,
  HvStatus,
  loadMachine,
  type Machine,
  RESULT_WORDS,
  type ScenarioDocument,
} from "../../src/index.js";
import { hypercallAsRecord, scratchView } from "../dispatch/support/per-call.js";
import {
  type Action,
  action,
  apply,
  encode,
  MASKED_POLLING,
  POLLING,
  POST_MEMORY,
  type Rec,
  readyScenario,
  rec,
  routeBreaker,
  scenario,
  signalRec,
} from "./support/batch-arbitraries.js";

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
    machine.onSintAsserted((partition, vp, sint, vector, source) => {
      log.push(`${partition}/${vp}/${sint}/${vector}/${source}`);
      if (log.length === react.at) apply(machine, react.action);
    });
  }
  return { machine, log };
}

function inputBytes(r: Rec): Uint8Array {
  const block = new Uint8Array(8);
  const view = new DataView(block.buffer);
  view.setUint32(0, r.inputLo, true);
  view.setUint32(4, r.inputHi, true);
  return block;
}

/** Every record through hypercall(): a memory-form input block sits at the scratch GPA for the call. */
function perCall(
  s: Side,
  caller: number,
  vp: number,
  scratchGpa: bigint,
  records: readonly Rec[],
): Uint32Array {
  const d = new Dispatcher(s.machine);
  const out = new Uint32Array(records.length * RESULT_WORDS);
  records.forEach((r, i) => {
    const outcome = hypercallAsRecord(d, {
      caller,
      vp,
      scratchGpa,
      control: halvesToU64(r.controlLo, r.controlHi),
      input: inputBytes(r),
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

/** Mostly successful signals, many to polling SINTs, mixed with PostMessage records. */
const readyCaseArb: fc.Arbitrary<Case> = fc.record({
  doc: readyScenario,
  callerPick: fc.constant(0),
  vpPick: fc.constant(0),
  batches: fc.array(fc.array(rec, { minLength: 10, maxLength: 120 }), {
    minLength: 1,
    maxLength: 3,
  }),
  between: fc.array(action, { minLength: 2, maxLength: 2 }),
  react: fc.option(fc.record({ at: fc.integer({ min: 1, max: 6 }), action }), { nil: undefined }),
  misalign: fc.boolean(),
});

type Variant = "kernel" | "kernel, shared image" | "generic table";

function callerOf(c: Case): { caller: number; vp: number } {
  const withVps = c.doc.partitions.filter((p) => p.vps.length > 0);
  const callerSpec = withVps[c.callerPick % withVps.length]!;
  return { caller: callerSpec.id, vp: callerSpec.vps[c.vpPick % callerSpec.vps.length]!.index };
}

function check(c: Case, variant: Variant): void {
  const { caller, vp } = callerOf(c);
  const a = side(c.doc, variant === "kernel, shared image", c.react);
  const b = side(c.doc, false, c.react);
  // The generic variant: the default table's rows, SignalEvent's behind another object (so the
  // batch path does not specialise it).
  const table = variant === "generic table" ? [postMessageRow, { ...signalEventRow }] : undefined;
  const runner = new BatchRunner(new Dispatcher(a.machine, table), { caller, vp });
  // The same scratch GPA on the per-call side.
  const scratchGpa = new BatchRunner(new Dispatcher(b.machine), { caller, vp }).scratchGpa;
  expect(scratchGpa).toBe(runner.scratchGpa);

  c.batches.forEach((records, k) => {
    const scratchBefore = scratchView(a.machine, caller, scratchGpa);
    const results = new Uint32Array(records.length * RESULT_WORDS).fill(0xdeadbeef);
    expect(runner.run(encode(records, c.misalign), results)).toBe(records.length);
    // `lastMemoryRecord` is gone (the scratch page is the runner's own, mapped only while run()
    // lasts): after the run, the guest sees at the scratch GPA what it saw before.
    expect(
      scratchView(a.machine, caller, scratchGpa),
      `${variant}: scratch page after batch ${k}`,
    ).toEqual(scratchBefore);
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
    expect(scratchView(a.machine, caller, scratchGpa)).toEqual(
      scratchView(b.machine, caller, scratchGpa),
    );
    const between = c.between[k];
    if (between !== undefined) {
      apply(a.machine, between);
      apply(b.machine, between);
    }
  });
}

/** Flags set on SINTs that are polling (as loaded, and still), which asserted nothing there. */
function pollingHits(machine: Machine, doc: ScenarioDocument): number {
  let hits = 0;
  for (const p of doc.partitions) {
    for (const v of p.vps) {
      v.sints.forEach((value, sint) => {
        const bits = Number(value) & MASKED_POLLING;
        if (
          (bits === POLLING || bits === MASKED_POLLING) &&
          machine.siefFlags(p.id, v.index, sint).length > 0
        ) {
          expect(machine.sintAssertionCount(p.id, v.index, sint)).toBe(0);
          hits++;
        }
      });
    }
  }
  return hits;
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

  for (const variant of ["kernel", "kernel, shared image", "generic table"] as const) {
    it(`${variant}: scenarios where signals get through, polling SINTs and PostMessage records`, () => {
      fc.assert(
        fc.property(readyCaseArb, (c) => check(c, variant)),
        { numRuns: 150 },
      );
    });
  }

  it("the generated scenarios reach every status the batch caller can get, for both calls, and polling SINTs", () => {
    // Guards the generators: a property that only ever sees one outcome proves little.
    const signal = new Set<number>();
    const post = new Set<number>();
    let pollingFlags = 0;
    const tally = (c: Case, caller: number, vp: number) => {
      const machine = loadMachine(c.doc);
      const runner = new BatchRunner(new Dispatcher(machine), { caller, vp });
      for (const records of c.batches) {
        const results = new Uint32Array(records.length * RESULT_WORDS);
        runner.run(encode(records, false), results);
        for (let i = 0; i < records.length; i++) {
          const r = records[i]!;
          if (r.controlHi === 0 && r.controlLo === POST_MEMORY) post.add(results[2 * i]!);
          else signal.add(results[2 * i]!);
        }
      }
      pollingFlags += pollingHits(machine, c.doc);
    };
    fc.assert(
      fc.property(caseArb, (c) => {
        const { caller } = callerOf(c);
        tally(c, caller, c.doc.partitions.find((p) => p.id === caller)!.vps[0]!.index);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(readyCaseArb, (c) => tally(c, 1, 0)),
      { numRuns: 100 },
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
    expect(every.filter((name) => !signal.has(HvStatus[name]))).toEqual([]);
    // A memory-form PostMessage record gets as far as step 8 (MessageType reads 0), never further.
    const postEvery = [
      "INVALID_HYPERCALL_INPUT",
      "ACCESS_DENIED",
      "INVALID_CONNECTION_ID",
      "INVALID_PORT_ID",
      "INVALID_PARAMETER",
    ] as const;
    expect(postEvery.filter((name) => !post.has(HvStatus[name]))).toEqual([]);
    expect([...post].filter((s) => !postEvery.some((name) => HvStatus[name] === s))).toEqual([]);
    expect(pollingFlags).toBeGreaterThan(20);
  });
});

// Fixed examples of mixed batches, polling SINTs and the scratch page's zeros: batch-mixed.test.ts.
