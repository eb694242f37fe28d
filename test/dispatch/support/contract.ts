/**
 * Shared setup for the handler-contract tests (rep-contract.test.ts, fast16.test.ts): a caller
 * with every privilege the test rows need, an input page, an output page filled with 0xEE (so
 * untouched bytes show), a dispatcher with the stock table plus the test rows, and one call run
 * through each entry point on its own fresh machine.
 */
import { expect } from "vitest";
import { outcomeReps, outcomeStatus, packOutcome } from "../../../src/abi/hypercall-result.js";
import { u64ToHalves } from "../../../src/abi/u64.js";
import { HANDLER_TABLE } from "../../../src/dispatch/handler-table.js";
import {
  BatchRunner,
  Dispatcher,
  encodeRecord,
  type HypercallOutcome,
  hvStatusName,
  hypercall,
  loadMachine,
  type Machine,
  parseScenario,
  RECORD_SIZE,
  RESULT_WORDS,
} from "../../../src/index.js";
import { fast16Row } from "./fast16-handler.js";
import { repOutputFastRow, repOutputRow } from "./rep-output-handler.js";

export const CALLER = 1;
export const INPUT_GPA = 0x10000n;
export const OUTPUT_GPA = 0x20000n;
export const UNBACKED_GPA = 0x30000n;
export const FILL = 0xee;

export const TEST_TABLE = [...HANDLER_TABLE, repOutputRow, repOutputFastRow, fast16Row];

export interface SetupOptions {
  /** Back page 0 (filled with 0xEE): where a batch record's output lands (R8 = 0). */
  readonly pageZero?: boolean;
  /** The caller's privilege mask instead of the four privileges the test rows need. */
  readonly privilegeMask?: bigint;
}

export function setup(options: SetupOptions = {}): { machine: Machine; dispatcher: Dispatcher } {
  const fill = FILL.toString(16).repeat(4096);
  const memory = [
    { gpa: `0x${INPUT_GPA.toString(16)}`, hex: "00".repeat(4096) },
    { gpa: `0x${OUTPUT_GPA.toString(16)}`, hex: fill },
  ];
  if (options.pageZero === true) memory.push({ gpa: "0x0", hex: fill });
  const machine = loadMachine(
    parseScenario({
      partitions: [
        {
          id: CALLER,
          privileges: ["SignalEvents", "PostMessages", "CreatePort", "ConnectPort"],
          vps: [{ index: 0 }],
          memory,
        },
      ],
    }),
  );
  if (options.privilegeMask !== undefined) machine.setPrivilegeMask(CALLER, options.privilegeMask);
  return { machine, dispatcher: new Dispatcher(machine, TEST_TABLE) };
}

/** u32 words as little-endian bytes. */
export function wordsBytes(words: readonly number[]): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  const view = new DataView(out.buffer);
  words.forEach((w, i) => {
    view.setUint32(4 * i, w >>> 0, true);
  });
  return out;
}

/** u32 words read from guest memory. */
export function readWords(machine: Machine, gpa: bigint, count: number): number[] {
  const bytes = machine.guestRead(CALLER, gpa, count * 4);
  if (bytes === undefined) throw new Error(`nothing at 0x${gpa.toString(16)}`);
  const view = new DataView(bytes.buffer);
  return Array.from({ length: count }, (_, i) => view.getUint32(4 * i, true));
}

export interface Call {
  readonly control: bigint;
  readonly rdx: bigint;
  readonly r8?: bigint;
  /** Guest memory to write before the call. */
  readonly write?: readonly (readonly [bigint, Uint8Array])[];
  readonly options?: SetupOptions;
}

export interface Both {
  /** Dispatcher.dispatch's outcome. */
  readonly outcome: number;
  /** hypercall()'s answer (with the explanation). */
  readonly out: HypercallOutcome;
  /** The machine hypercall() ran on (the other one is equal to it). */
  readonly machine: Machine;
  readonly before: ReturnType<Machine["snapshot"]>;
}

/**
 * The call through hypercall() and through Dispatcher.dispatch, each on a fresh machine; expects
 * both to give `status` and `reps`, the same result value and the same state.
 */
export function expectBoth(call: Call, status: number, reps: number): Both {
  const r8 = call.r8 ?? 0n;
  const prepare = () => {
    const ctx = setup(call.options);
    for (const [gpa, bytes] of call.write ?? [])
      expect(ctx.machine.guestWrite(CALLER, gpa, bytes)).toBe("ok");
    return ctx;
  };
  const a = prepare();
  const before = a.machine.snapshot();
  const out = hypercall(
    a.dispatcher,
    { caller: CALLER, control: call.control, input: call.rdx, input2: r8 },
    { explain: true },
  );
  const b = prepare();
  const c = u64ToHalves(call.control);
  const d = u64ToHalves(call.rdx);
  const e = u64ToHalves(r8);
  const outcome = b.dispatcher.dispatch(0, 0, c.lo, c.hi, d.lo, d.hi, e.lo, e.hi);
  const label = `control 0x${call.control.toString(16)}: ${out.check} ${out.why}`;
  expect([hvStatusName(outcomeStatus(outcome)), outcomeReps(outcome)], label).toEqual([
    hvStatusName(status),
    reps,
  ]);
  expect(outcome, label).toBe(packOutcome(status, reps));
  expect([out.statusName, out.repsCompleted, out.resultLo, out.resultHi], label).toEqual([
    hvStatusName(status),
    reps,
    status,
    reps,
  ]);
  expect(out.result).toBe((BigInt(reps) << 32n) | BigInt(status));
  expect(a.machine.equals(b.machine.snapshot()), label).toBe(true);
  return { outcome, out, machine: a.machine, before };
}

/** Records (control, 8 input bytes as a u64) through a BatchRunner: (status, reps) per record. */
export function runBatch(
  dispatcher: Dispatcher,
  list: readonly (readonly [bigint, bigint])[],
): number[][] {
  const records = new Uint8Array(list.length * RECORD_SIZE);
  list.forEach(([control, input], i) => {
    records.set(encodeRecord(control, input), i * RECORD_SIZE);
  });
  const results = new Uint32Array(list.length * RESULT_WORDS);
  new BatchRunner(dispatcher, { caller: CALLER }).run(records, results);
  return list.map((_, i) => [results[2 * i]!, results[2 * i + 1]!]);
}
