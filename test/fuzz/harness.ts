/**
 * Runs a fuzz case on the real implementation (src: parseScenario + loadMachine, then
 * Dispatcher.dispatch / BatchRunner.run / hypercall()) and on the test model side by side, and
 * reports the first disagreement: a status, a result value, or the final SIEF flags and SINT
 * assertion counts.
 */
import { hvStatusName } from "../../src/abi/hv-status.js";
import { resultReservedBitsClear } from "../../src/abi/hypercall-result.js";
import { u64ToHalves } from "../../src/abi/u64.js";
import { BatchRunner } from "../../src/dispatch/batch-runner.js";
import { Dispatcher } from "../../src/dispatch/dispatcher.js";
import { hypercall } from "../../src/dispatch/hypercall.js";
import { encodeRecord, RECORD_SIZE, RESULT_WORDS } from "../../src/dispatch/hypercall-record.js";
import { loadMachine } from "../../src/state/load-machine.js";
import type { Machine } from "../../src/state/machine.js";
import { dumpScenario } from "../../src/state/scenario-dump.js";
import { parseScenario } from "../../src/state/scenario-schema.js";
import type { ScenarioFile } from "../model/scenario-file.js";
import {
  buildModel,
  type FinalState,
  type ModelMachine,
  type ModelOutcome,
  modelFinalState,
  modelHypercall,
  modelMapPage,
  modelWriteMemory,
} from "../model/signal-event-model.js";
import { type Case, describeCall, isFast, type ResolvedCall, SCRATCH_GPA } from "./cases.js";
import type { Tally } from "./tally.js";

/** The real side of a case: a machine loaded from the scenario and the three front ends. */
export class RealSide {
  readonly machine: Machine;
  readonly dispatcher: Dispatcher;
  private readonly runners = new Map<string, BatchRunner>();
  /** BatchRunner's per-status counters, kept across runs, and what they should hold. */
  private readonly statusCounts = new Uint32Array(0x10000);
  private readonly expectedCounts = new Map<number, number>();

  constructor(scenario: ScenarioFile) {
    this.machine = loadMachine(parseScenario(scenario));
    this.dispatcher = new Dispatcher(this.machine);
  }

  runner(caller: number, vp: number): BatchRunner {
    const key = `${caller}/${vp}`;
    let r = this.runners.get(key);
    if (r === undefined) {
      r = new BatchRunner(this.dispatcher, { caller, vp, scratchGpa: SCRATCH_GPA });
      this.runners.set(key, r);
    }
    return r;
  }

  /**
   * Runs calls of one caller through their front ends; consecutive batch calls go through one
   * BatchRunner.run. Returns each call's status, or a string describing a malformed result value.
   */
  run(caller: number, vp: number, calls: readonly ResolvedCall[]): (number | string)[] {
    const out: (number | string)[] = [];
    const m = this.machine;
    const callerSlot = m.requirePartition(caller);
    const vpSlot = m.requireVp(caller, vp);
    for (let i = 0; i < calls.length; ) {
      const call = calls[i]!;
      if (call.front === "batch") {
        let j = i;
        while (j < calls.length && calls[j]!.front === "batch") j++;
        out.push(...this.runBatch(caller, vp, calls.slice(i, j), i % 4));
        i = j;
        continue;
      }
      if (call.front === "dispatch") {
        const c = u64ToHalves(call.control);
        const r = u64ToHalves(call.rdx);
        out.push(this.dispatcher.dispatch(callerSlot, vpSlot, c.lo, c.hi, r.lo, r.hi));
      } else {
        const o = hypercall(this.dispatcher, {
          caller,
          vp,
          control: call.control,
          input: call.rdx,
        });
        const bad =
          o.result !== BigInt(o.status) ||
          o.resultLo !== o.status ||
          o.resultHi !== 0 ||
          o.statusName !== hvStatusName(o.status);
        out.push(
          bad
            ? `hypercall() result ${o.result} / ${o.statusName} for status ${o.status}`
            : o.status,
        );
      }
      i++;
    }
    return out;
  }

  /** One BatchRunner.run over the calls' records, `misalign` bytes into the buffer (0..3). */
  private runBatch(caller: number, vp: number, calls: readonly ResolvedCall[], misalign: number) {
    const bytes = new Uint8Array(misalign + calls.length * RECORD_SIZE);
    calls.forEach((call, k) => {
      const input = isFast(call.control) ? call.rdx : Uint8Array.from(call.block ?? []);
      bytes.set(encodeRecord(call.control, input), misalign + k * RECORD_SIZE);
    });
    const results = new Uint32Array(calls.length * RESULT_WORDS);
    const counts = this.statusCounts;
    const n = this.runner(caller, vp).run(bytes.subarray(misalign), results, counts);
    const out: (number | string)[] = [];
    for (let k = 0; k < calls.length; k++) {
      const lo = results[k * RESULT_WORDS]!;
      const hi = results[k * RESULT_WORDS + 1]!;
      this.expectedCounts.set(lo, (this.expectedCounts.get(lo) ?? 0) + 1);
      out.push(
        n !== calls.length || !resultReservedBitsClear(lo, hi) || hi !== 0
          ? `BatchRunner result (${lo}, ${hi}), ran ${n} of ${calls.length}`
          : lo,
      );
    }
    for (const [status, want] of this.expectedCounts) {
      if (counts[status] !== want) {
        out[out.length - 1] =
          `BatchRunner counted ${counts[status]} x status ${status}, not ${want}`;
      }
    }
    return out;
  }

  /** Flags and assertion counts, from dumpScenario, in the model's shape. */
  finalState(): FinalState {
    const out: FinalState = {};
    for (const p of dumpScenario(this.machine).partitions) {
      const vps: FinalState[string] = {};
      for (const vp of p.vps) {
        vps[String(vp.index)] = { siefFlags: vp.siefFlags, sintAssertions: vp.sintAssertions };
      }
      out[String(p.id)] = vps;
    }
    return out;
  }
}

/** JSON with object keys sorted, for comparing states whatever the key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "bigint") return `${v}n`;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(
        Object.keys(o)
          .sort()
          .map((k) => [k, o[k]]),
      );
    }
    return v;
  });
}

export interface Mismatch {
  /** Index of the call, or -1 for the final state. */
  readonly index: number;
  readonly message: string;
}

export interface CaseRun {
  readonly outcomes: ModelOutcome[];
  readonly mismatch?: Mismatch;
}

/** Model side of one call: a batch memory-form call reads its block from the scratch page. */
export function modelCall(model: ModelMachine, caller: number, call: ResolvedCall): ModelOutcome {
  if (call.front === "batch" && !isFast(call.control)) {
    modelWriteMemory(model, caller, SCRATCH_GPA, call.block ?? []);
    return modelHypercall(model, caller, call.control, SCRATCH_GPA);
  }
  return modelHypercall(model, caller, call.control, call.rdx);
}

/**
 * The differential check of one case: every status, every result value, and the final flags and
 * assertion counts must agree. Counts each call in `tally`.
 */
export function runCase(c: Case, tally?: Tally): CaseRun {
  const real = new RealSide(c.scenario);
  const model = buildModel(c.scenario);
  real.runner(c.caller, c.vp);
  modelMapPage(model, c.caller, SCRATCH_GPA);

  const outcomes = c.calls.map((call) => modelCall(model, c.caller, call));
  const statuses = real.run(c.caller, c.vp, c.calls);
  for (let i = 0; i < c.calls.length; i++) {
    const expected = outcomes[i]!;
    const got = statuses[i]!;
    tally?.add(expected.status, expected.check);
    if (got !== expected.status) {
      const shown = typeof got === "string" ? got : hvStatusName(got);
      return {
        outcomes,
        mismatch: {
          index: i,
          message: `call ${i} (${describeCall(c.calls[i]!)}): real ${shown}, model ${hvStatusName(expected.status)} (check ${expected.check})`,
        },
      };
    }
  }
  const want = canonicalJson(modelFinalState(model));
  const got = canonicalJson(real.finalState());
  if (want !== got) {
    return {
      outcomes,
      mismatch: { index: -1, message: `final state: real ${got}\n  model ${want}` },
    };
  }
  return { outcomes };
}
