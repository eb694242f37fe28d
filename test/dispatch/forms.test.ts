/**
 * The same call in different clothes gives the same answer: fast form vs memory form, and the batch
 * API (BatchRunner over 16-byte records, aligned or not) vs one hypercall() per record.
 */
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { HV_PAGE_SIZE } from "../../src/abi/hv-page.js";
import { CONTROL_FAST_BIT } from "../../src/abi/hypercall-control.js";
import { resultReservedBitsClear } from "../../src/abi/hypercall-result.js";
import { decodeSignalEventInput } from "../../src/abi/signal-event-input.js";
import {
  HvSynicMsr,
  SCONTROL_ENABLE_BIT,
  SINT_MASKED_BIT,
  sintMsr,
} from "../../src/abi/synic-msr.js";
import { postMessageRow } from "../../src/dispatch/handlers/post-message.js";
import { signalEventRow } from "../../src/dispatch/handlers/signal-event.js";
import { decodeRecord } from "../../src/dispatch/hypercall-record.js";
import {
  BatchRunner,
  Dispatcher,
  encodeRecord,
  HvCallCode,
  HvStatus,
  hvStatusName,
  hypercall,
  loadMachine,
  type Machine,
  parseScenario,
  RECORD_SIZE,
  RESULT_WORDS,
  type ScenarioDocument,
} from "../../src/index.js";
import {
  type CallShape,
  type ControlShape,
  callShape,
  controlShape,
  INPUT_PAGE_GPA,
  MAX_CALLS,
  type PartitionShape,
  type ResolvedCall,
  resolveCalls,
  scenarioJson,
  scenarioShape,
  withInputs,
} from "./support/arbitraries.js";
import { hypercallAsRecord, scratchView } from "./support/per-call.js";
import {
  bytesOfU64,
  CALLER,
  CONN,
  control,
  FLAG_COUNT,
  GOOD_INPUT,
  inputRegister,
  PORT,
  partition,
  RECEIVER,
  RECV_SINT,
  RECV_VP,
  scenario,
  u64OfBytes,
} from "./support/scenario.js";
import { makeTestHandler, TEST_CALL_CODE } from "./support/test-handler.js";

const FAST = BigInt(CONTROL_FAST_BIT);

const calls = fc.array(fc.tuple(callShape, controlShape), { minLength: 1, maxLength: MAX_CALLS });

describe("fast form = memory form", () => {
  test.prop([scenarioShape, calls], { numRuns: 200 })(
    "same scenario twice: each call fast (input in RDX) on one, memory (8 bytes at an aligned GPA) on the other; same status, same state",
    (shape, pairs) => {
      const base = scenarioJson(shape);
      // Every call reads its input from its own aligned slot of the input page; the control value
      // is generated independently of the form and then given each form's fast bit.
      const resolved = resolveCalls(
        base,
        pairs.map(([c, ctl]) => ({ ...c, control: ctl, gpa: { kind: "slot" as const } })),
      );
      const doc = parseScenario(withInputs(base, resolved));
      const fast = loadMachine(doc);
      const memory = loadMachine(doc);
      const df = new Dispatcher(fast);
      const dm = new Dispatcher(memory);
      for (const call of resolved) {
        const f = hypercall(df, {
          caller: call.caller,
          vp: call.vp,
          control: call.control | FAST,
          input: u64OfBytes(call.bytes),
        });
        const m = hypercall(dm, {
          caller: call.caller,
          vp: call.vp,
          control: call.control & ~FAST,
          input: call.slotGpa,
        });
        if (Number(call.control & 0xffffn) === HvCallCode.PostMessage) {
          // HvCallPostMessage (implemented since; a flipped bit 0 turns 0x5D into it) has no fast
          // form: the fast call breaks a control rule (post-message.md §1). The memory call runs on
          // both machines so that they stay alike.
          expect(hvStatusName(f.status)).toBe("HV_STATUS_INVALID_HYPERCALL_INPUT");
          const again = hypercall(df, {
            caller: call.caller,
            vp: call.vp,
            control: call.control & ~FAST,
            input: call.slotGpa,
          });
          expect(again.result).toBe(m.result);
        } else {
          expect(hvStatusName(m.status)).toBe(hvStatusName(f.status));
          expect(m.result).toBe(f.result);
        }
        expect(memory.equals(fast.snapshot())).toBe(true);
      }
    },
  );

  it("the Linux VMBus form (control 0x1005D, ConnectionId low, FlagNumber 47:32) = the memory form", () => {
    const register = BigInt(CONN) | (5n << 32n);
    expect(register).toBe(inputRegister({ ...GOOD_INPUT, flagNumber: 5 }));
    // Snapshots cover guest RAM now: both machines get the bytes at 0x3000, only one reads them.
    const a = loadMachine(parseScenario(scenario()));
    a.memory[a.requirePartition(CALLER)]!.writeRam(0x3000n, bytesOfU64(register));
    const outFast = hypercall(new Dispatcher(a), {
      caller: CALLER,
      control: control({ fast: true }),
      input: register,
    });
    expect(control({ fast: true })).toBe(0x1005dn);
    expect(outFast.status).toBe(HvStatus.SUCCESS);
    // hypercall() no longer returns the decoded input (`input` is gone): the register decodes to
    // these fields by the block layout, and the explanation names the flag the call set.
    expect(decodeSignalEventInput(bytesOfU64(register))).toEqual({
      connectionId: CONN,
      flagNumber: 5,
      rsvdZ: 0,
    });
    const explained = hypercall(
      new Dispatcher(loadMachine(parseScenario(scenario()))),
      { caller: CALLER, control: control({ fast: true }), input: register },
      { explain: true },
    );
    expect(explained.check).toBe("signal-event.11");
    expect(explained.why).toContain("FlagNumber 5");
    const b = loadMachine(parseScenario(scenario()));
    b.memory[b.requirePartition(CALLER)]!.writeRam(0x3000n, bytesOfU64(register));
    const outMemory = hypercall(new Dispatcher(b), {
      caller: CALLER,
      control: control(),
      input: 0x3000n,
    });
    expect(outMemory.status).toBe(HvStatus.SUCCESS);
    expect(b.equals(a.snapshot())).toBe(true);
    expect(a.siefFlags(RECEIVER, RECV_VP, RECV_SINT)).toHaveLength(1);
  });
});

// ---- BatchRunner ---------------------------------------------------------------------------------

interface Batch {
  readonly doc: ScenarioDocument;
  readonly caller: number;
  readonly vp: number;
  readonly records: Uint8Array;
  readonly calls: readonly ResolvedCall[];
}

type Pair = readonly [CallShape, ControlShape];

/** A batch: every call from one caller (the first partition with a VP, its first VP). */
function batchOf(shape: readonly PartitionShape[], pairs: readonly Pair[]): Batch {
  const base = scenarioJson(shape);
  const calls = resolveCalls(
    base,
    pairs.map(([c, ctl]) => ({ ...c, control: ctl, callerPick: 0, vpPick: 0 })),
  );
  const records = new Uint8Array(calls.length * RECORD_SIZE);
  for (const [i, c] of calls.entries())
    records.set(encodeRecord(c.control, c.bytes), i * RECORD_SIZE);
  const first = calls[0]!;
  return { doc: parseScenario(base), caller: first.caller, vp: first.vp, records, calls };
}

/**
 * Runs the records one by one through hypercall(), memory records reading from a page at
 * `scratchGpa` that exists only for the call (see support/per-call.ts).
 */
function perCall(
  machine: Machine,
  batch: Batch,
  scratchGpa: bigint,
): { results: number[]; statuses: number[] } {
  const d = new Dispatcher(machine);
  const results: number[] = [];
  const statuses: number[] = [];
  for (const c of batch.calls) {
    const out = hypercallAsRecord(d, {
      caller: batch.caller,
      vp: batch.vp,
      scratchGpa,
      control: c.control,
      input: c.bytes,
    });
    expect(resultReservedBitsClear(out.resultLo, out.resultHi)).toBe(true);
    results.push(out.resultLo, out.resultHi);
    statuses.push(out.status);
  }
  return { results, statuses };
}

/** A copy of `bytes` whose byteOffset is `offset` (mod 4) in a fresh buffer. */
function atOffset(bytes: Uint8Array, offset: number): Uint8Array {
  const out = new Uint8Array(new ArrayBuffer(bytes.length + offset), offset, bytes.length);
  out.set(bytes);
  return out;
}

const batchArgs = [
  scenarioShape,
  fc.array(fc.tuple(callShape, controlShape), { minLength: 1, maxLength: 24 }),
  fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: HV_PAGE_SIZE / 8 - 1 })),
] as const;

/** Host code that changes the machine from inside an onSintAsserted listener. */
const LISTENER_ACTIONS = [
  "none",
  "synicOff",
  "siefOff",
  "maskSint",
  "clearSint",
  "deactivate",
  "deletePorts",
  "revokeCaller",
  "synicOnAll",
] as const;
type ListenerAction = (typeof LISTENER_ACTIONS)[number];

/** Subscribes a listener that runs actions[k % length] on the k-th assertion. */
function actOnAssert(machine: Machine, batch: Batch, actions: readonly ListenerAction[]): void {
  let k = 0;
  machine.onSintAsserted((partitionId, vpIndex, sint) => {
    const action = actions[k++ % actions.length]!;
    const p = batch.doc.partitions.find((x) => x.id === partitionId)!;
    switch (action) {
      case "none":
        return;
      case "synicOff":
        return machine.writeMsr(partitionId, vpIndex, HvSynicMsr.SCONTROL, 0n);
      case "siefOff":
        return machine.writeMsr(partitionId, vpIndex, HvSynicMsr.SIEFP, 0n);
      case "maskSint": {
        const value = machine.readMsr(partitionId, vpIndex, sintMsr(sint));
        return machine.writeMsr(
          partitionId,
          vpIndex,
          sintMsr(sint),
          value | BigInt(SINT_MASKED_BIT),
        );
      }
      case "clearSint":
        for (const f of machine.siefFlags(partitionId, vpIndex, sint)) {
          machine.clearSiefFlag(partitionId, vpIndex, sint, f);
        }
        return;
      case "deactivate":
        return machine.setPartitionActive(partitionId, false);
      case "deletePorts":
        for (const q of p.ports) machine.deletePort(partitionId, q.id);
        return;
      case "revokeCaller":
        return machine.setPrivilegeMask(batch.caller, 0n);
      case "synicOnAll":
        for (const v of p.vps) {
          machine.writeMsr(partitionId, v.index, HvSynicMsr.SCONTROL, BigInt(SCONTROL_ENABLE_BIT));
        }
        return;
    }
  });
}

describe("BatchRunner = hypercall() per record", () => {
  test.prop([...batchArgs, fc.boolean()], { numRuns: 150 })(
    "a mixed buffer of fast and memory records: same results, status counts and final state (stock row, re-wrapped row, shared machine)",
    (shape, pairs, scratchSlot, shared) => {
      const batch = batchOf(shape, pairs);
      const n = batch.calls.length;
      const options =
        scratchSlot === undefined
          ? { caller: batch.caller, vp: batch.vp }
          : {
              caller: batch.caller,
              vp: batch.vp,
              scratchGpa: INPUT_PAGE_GPA + BigInt(scratchSlot * 8),
            };
      // A: the stock table (BatchRunner may use its specialised SignalEvent loop), optionally on
      // SharedArrayBuffers. C: the same handler behind another row object (the generic path).
      const a = loadMachine(batch.doc, { shared });
      const runner = new BatchRunner(new Dispatcher(a), options);
      const scratchBefore = scratchView(a, batch.caller, runner.scratchGpa);
      const results = new Uint32Array(n * RESULT_WORDS + 2).fill(0xdeadbeef);
      const counts = new Uint32Array(0x10000);
      expect(runner.run(batch.records, results, counts)).toBe(n);
      expect(results[n * RESULT_WORDS]).toBe(0xdeadbeef);

      // The default table's rows, with SignalEvent's behind another object (no kernel).
      const c = loadMachine(batch.doc);
      const generic = new BatchRunner(
        new Dispatcher(c, [postMessageRow, { ...signalEventRow }]),
        options,
      );
      const resultsC = new Uint32Array(n * RESULT_WORDS);
      generic.run(batch.records, resultsC);

      const b = loadMachine(batch.doc);
      const expected = perCall(b, batch, runner.scratchGpa);
      expect([...results.subarray(0, n * RESULT_WORDS)]).toEqual(expected.results);
      expect([...resultsC]).toEqual(expected.results);
      const tally = new Map<number, number>();
      for (const st of expected.statuses) tally.set(st, (tally.get(st) ?? 0) + 1);
      for (const [st, k] of tally) expect(counts[st], hvStatusName(st)).toBe(k);
      expect(counts.reduce((x, y) => x + y, 0)).toBe(n);
      // The scratch page is mapped only while run() lasts (changed on purpose: it used to stay in
      // the caller's memory with the last memory-form input block): afterwards a guest access
      // finds what was there before the run, on every machine.
      for (const m of [a, b, c]) {
        expect(scratchView(m, batch.caller, runner.scratchGpa)).toEqual(scratchBefore);
      }
      const want = b.snapshot();
      expect(a.equals(want)).toBe(true);
      expect(c.equals(want)).toBe(true);
    },
  );

  test.prop(
    [...batchArgs, fc.array(fc.constantFrom(...LISTENER_ACTIONS), { minLength: 1, maxLength: 6 })],
    { numRuns: 120 },
  )(
    "listeners that change the machine mid-batch (SynIC off, masks, clears, deletes, revokes) see the same sequence",
    (shape, pairs, _scratch, actions) => {
      const batch = batchOf(shape, pairs);
      const n = batch.calls.length;
      const a = loadMachine(batch.doc);
      actOnAssert(a, batch, actions);
      const runner = new BatchRunner(new Dispatcher(a), { caller: batch.caller, vp: batch.vp });
      const results = new Uint32Array(n * RESULT_WORDS);
      runner.run(batch.records, results);
      const b = loadMachine(batch.doc);
      actOnAssert(b, batch, actions);
      const expected = perCall(b, batch, runner.scratchGpa);
      expect([...results]).toEqual(expected.results);
      expect(a.equals(b.snapshot())).toBe(true);
    },
  );

  test.prop(
    [...batchArgs, fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.nat()],
    {
      numRuns: 100,
    },
  )(
    "a misaligned records buffer (byteOffset % 4 != 0) gives the same results, also split over two runs",
    (shape, pairs, _scratch, off1, off2, cut) => {
      const batch = batchOf(shape, pairs);
      const n = batch.calls.length;
      const aligned = loadMachine(batch.doc);
      const r0 = new Uint32Array(n * RESULT_WORDS);
      new BatchRunner(new Dispatcher(aligned), { caller: batch.caller, vp: batch.vp }).run(
        batch.records,
        r0,
      );

      const misaligned = loadMachine(batch.doc);
      const r1 = new Uint32Array(n * RESULT_WORDS);
      const buf = atOffset(batch.records, off1);
      expect(buf.byteOffset % 4).not.toBe(0);
      new BatchRunner(new Dispatcher(misaligned), { caller: batch.caller, vp: batch.vp }).run(
        buf,
        r1,
      );
      expect([...r1]).toEqual([...r0]);
      expect(misaligned.equals(aligned.snapshot())).toBe(true);
      // The records buffer is only read.
      expect(Buffer.from(buf).equals(Buffer.from(batch.records))).toBe(true);

      // Two runs on one runner: a longer misaligned batch after a shorter one and vice versa.
      const split = loadMachine(batch.doc);
      const runner = new BatchRunner(new Dispatcher(split), { caller: batch.caller, vp: batch.vp });
      const k = cut % (n + 1);
      const first = atOffset(batch.records.subarray(0, k * RECORD_SIZE), off1);
      const second = atOffset(batch.records.subarray(k * RECORD_SIZE), off2);
      const r2 = new Uint32Array(n * RESULT_WORDS);
      runner.run(first, r2.subarray(0, k * RESULT_WORDS));
      runner.run(second, r2.subarray(k * RESULT_WORDS));
      expect([...r2]).toEqual([...r0]);
      expect(split.equals(aligned.snapshot())).toBe(true);
    },
  );

  describe("fixed examples", () => {
    const records = () => {
      const valid = control();
      const list: [bigint, bigint][] = [
        [valid | FAST, inputRegister(GOOD_INPUT)],
        [valid, inputRegister({ ...GOOD_INPUT, flagNumber: 1 })],
        [valid, inputRegister({ ...GOOD_INPUT, flagNumber: FLAG_COUNT })],
        [valid | FAST, inputRegister({ ...GOOD_INPUT, rsvdZ: 1 })],
        [control({ repCount: 1 }), inputRegister(GOOD_INPUT)],
        [valid | FAST, inputRegister(GOOD_INPUT)],
        // The last byte of the buffer is RsvdZ's high byte.
        [valid | FAST, inputRegister({ ...GOOD_INPUT, rsvdZ: 0x8000 })],
      ];
      const out = new Uint8Array(list.length * RECORD_SIZE);
      for (const [i, [c, input]] of list.entries())
        out.set(encodeRecord(c, input), i * RECORD_SIZE);
      return out;
    };
    const expected = [
      HvStatus.SUCCESS,
      HvStatus.SUCCESS,
      HvStatus.INVALID_PARAMETER,
      HvStatus.INVALID_HYPERCALL_INPUT,
      HvStatus.INVALID_HYPERCALL_INPUT,
      HvStatus.SUCCESS,
      HvStatus.INVALID_HYPERCALL_INPUT,
    ];

    it.each([0, 1, 2, 3])("byteOffset %s", (offset) => {
      const machine = loadMachine(parseScenario(scenario()));
      const runner = new BatchRunner(new Dispatcher(machine), { caller: CALLER });
      const results = new Uint32Array(expected.length * RESULT_WORDS);
      const counts = new Uint32Array(0x10000);
      runner.run(atOffset(records(), offset), results, counts);
      expect([...results]).toEqual(expected.flatMap((st) => [st, 0]));
      expect(counts[HvStatus.SUCCESS]).toBe(3);
      expect(counts[HvStatus.INVALID_HYPERCALL_INPUT]).toBe(3);
      expect(machine.siefFlags(RECEIVER, RECV_VP, RECV_SINT)).toHaveLength(2);
      expect(machine.sintAssertionCount(RECEIVER, RECV_VP, RECV_SINT)).toBe(2);
    });

    it("host changes between two runs of one runner are seen by the second run", () => {
      const machine = loadMachine(parseScenario(scenario()));
      const runner = new BatchRunner(new Dispatcher(machine), { caller: CALLER });
      const one = encodeRecord(control({ fast: true }), inputRegister(GOOD_INPUT));
      const result = new Uint32Array(RESULT_WORDS);
      const status = () => {
        runner.run(one, result);
        return hvStatusName(result[0]!);
      };
      expect(status()).toBe("HV_STATUS_SUCCESS");
      machine.writeMsr(RECEIVER, RECV_VP, HvSynicMsr.SCONTROL, 0n);
      expect(status()).toBe("HV_STATUS_INVALID_SYNIC_STATE");
      machine.writeMsr(RECEIVER, RECV_VP, HvSynicMsr.SCONTROL, BigInt(SCONTROL_ENABLE_BIT));
      expect(status()).toBe("HV_STATUS_SUCCESS");
      machine.deletePort(RECEIVER, PORT);
      expect(status()).toBe("HV_STATUS_INVALID_PORT_ID");
      machine.setPrivilegeMask(CALLER, 0n);
      expect(status()).toBe("HV_STATUS_ACCESS_DENIED");
      expect(machine.sintAssertionCount(RECEIVER, RECV_VP, RECV_SINT)).toBe(1);
    });

    describe("a registered handler that changes the machine when it succeeds: later records see it", () => {
      const sintOff = (m: Machine) => {
        const v = m.readMsr(RECEIVER, RECV_VP, sintMsr(RECV_SINT));
        m.writeMsr(RECEIVER, RECV_VP, sintMsr(RECV_SINT), v | BigInt(SINT_MASKED_BIT));
      };
      const effects: [string, (m: Machine) => void, ((m: Machine) => void) | undefined][] = [
        ["SynIC off", (m) => m.writeMsr(RECEIVER, RECV_VP, HvSynicMsr.SCONTROL, 0n), undefined],
        ["port deleted", (m) => m.deletePort(RECEIVER, PORT), undefined],
        ["owner deactivated", (m) => m.setPartitionActive(RECEIVER, false), undefined],
        ["SINT masked", sintOff, undefined],
        [
          "SynIC back on",
          (m) => m.writeMsr(RECEIVER, RECV_VP, HvSynicMsr.SCONTROL, BigInt(SCONTROL_ENABLE_BIT)),
          (m) => m.writeMsr(RECEIVER, RECV_VP, HvSynicMsr.SCONTROL, 0n),
        ],
      ];
      it.each(effects)("%s", (_name, effect, initially) => {
        const ctl = control({ fast: true });
        const list = [
          encodeRecord(ctl, inputRegister({ ...GOOD_INPUT, flagNumber: 1 })),
          encodeRecord(control({ fast: true, callCode: TEST_CALL_CODE }), 0n),
          encodeRecord(ctl, inputRegister({ ...GOOD_INPUT, flagNumber: 2 })),
        ];
        const records = new Uint8Array(list.length * RECORD_SIZE);
        for (const [i, r] of list.entries()) records.set(r, i * RECORD_SIZE);
        const s = scenario((x) => {
          partition(x, CALLER).privileges = ["SignalEvents", "PostMessages"];
        });
        const load = () => {
          const m = loadMachine(parseScenario(s));
          initially?.(m);
          return m;
        };
        const handlers = () => [
          signalEventRow,
          makeTestHandler({ kind: "simple", inputSize: 8, effect }),
        ];

        const a = load();
        const results = new Uint32Array(list.length * RESULT_WORDS);
        new BatchRunner(new Dispatcher(a, handlers()), { caller: CALLER }).run(records, results);

        const b = load();
        const d = new Dispatcher(b, handlers());
        const expected = list.map((r) => {
          const rec = decodeRecord(r)!;
          return hypercall(d, {
            caller: CALLER,
            control: rec.control,
            input: u64OfBytes(rec.input),
          }).status;
        });
        expect(expected[1]).toBe(HvStatus.SUCCESS);
        expect([...results].filter((_, i) => i % 2 === 0).map(hvStatusName)).toEqual(
          expected.map(hvStatusName),
        );
        expect(a.equals(b.snapshot())).toBe(true);
      });
    });

    it("host misuse throws RangeError: length not a multiple of 16, results too short, bad scratch GPA", () => {
      const machine = loadMachine(parseScenario(scenario()));
      const runner = new BatchRunner(new Dispatcher(machine), { caller: CALLER });
      const before = machine.snapshot();
      expect(() => runner.run(records().subarray(0, RECORD_SIZE + 8), new Uint32Array(4))).toThrow(
        RangeError,
      );
      expect(() =>
        runner.run(records(), new Uint32Array(expected.length * RESULT_WORDS - 1)),
      ).toThrow(RangeError);
      expect(machine.equals(before)).toBe(true);
      expect(
        () => new BatchRunner(new Dispatcher(machine), { caller: CALLER, scratchGpa: 0x3004n }),
      ).toThrow(RangeError);
      expect(() => new BatchRunner(new Dispatcher(machine), { caller: 99 })).toThrow(RangeError);
      expect(() => new BatchRunner(new Dispatcher(machine), { caller: CALLER, vp: 1 })).toThrow(
        RangeError,
      );
      expect(runner.run(new Uint8Array(0), new Uint32Array(0))).toBe(0);
    });
  });
});
