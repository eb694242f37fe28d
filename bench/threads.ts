/**
 * Threaded scaling: the same records split over 1 and 2 SignalPool workers signalling into one
 * shared machine.
 *
 * - steady: the signals workload (1,000,000 records over 64 connections) against a machine whose
 *   flags are already set — the common case of a busy guest; each call is a plain read of the
 *   flag (no locked instruction), threads share the SIEF lines read-only.
 * - transitions: every call sets a flag that is clear (262,144 records, one per flag of 8 VPs x 16
 *   SINTs, in a random order; the SIEF image is cleared before each run), so every call does an
 *   Atomics.or and an Atomics.add, and threads write the same cache lines.
 */
import { HvCallCode } from "../src/abi/call-code.js";
import { CONTROL_FAST_BIT } from "../src/abi/hypercall-control.js";
import { EVENT_FLAGS_PER_SINT, SINT_COUNT } from "../src/abi/sief-page.js";
import {
  SCONTROL_ENABLE_BIT,
  SYNIC_PAGE_ENABLE_BIT,
  SYNIC_PAGE_GPA_SHIFT,
} from "../src/abi/synic-msr.js";
import {
  RECORD_CONTROL_LO,
  RECORD_INPUT_HI,
  RECORD_INPUT_LO,
  RECORD_SIZE,
  RECORD_WORDS,
  RESULT_WORDS,
} from "../src/dispatch/hypercall-record.js";
import { SignalPool } from "../src/parallel/signal-pool.js";
import { loadMachine } from "../src/state/load-machine.js";
import type { Machine } from "../src/state/machine.js";
import type { ScenarioDocument } from "../src/state/scenario-document.js";
import { parseScenarioText } from "../src/state/scenario-schema.js";
import { CALLER, prng, type Workload } from "./workload.js";

export interface ThreadRun {
  workload: "steady" | "transitions";
  threads: number;
  records: number;
  callsPerSecond: number;
  nsPerCall: number;
  /** callsPerSecond / the same workload's 1-thread callsPerSecond. */
  scaling: number;
}

export interface ThreadsResult {
  note: string;
  runs: ThreadRun[];
}

const THREAD_COUNTS = [1, 2];
const SAMPLES = 15;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Median wall time (ns) of pool.run over the records, after a warm-up; `before` runs untimed first. */
async function timePool(
  machine: Machine,
  threads: number,
  records: Uint8Array,
  before: () => void,
): Promise<number> {
  const pool = await SignalPool.start(machine, { threads, caller: CALLER });
  try {
    const results = new Uint32Array(
      new SharedArrayBuffer((records.length / RECORD_SIZE) * RESULT_WORDS * 4),
    );
    for (let i = 0; i < 5; i++) {
      before();
      await pool.run(records, results);
    }
    const times: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      before();
      const t0 = process.hrtime.bigint();
      await pool.run(records, results);
      times.push(Number(process.hrtime.bigint() - t0));
    }
    return median(times);
  } finally {
    await pool.close();
  }
}

const VPS = 8;

function transitionsScenario(): ScenarioDocument {
  const sints: Record<string, string> = {};
  for (let s = 0; s < SINT_COUNT; s++) sints[String(s)] = `0x${(0x30 + s).toString(16)}`;
  const areas = VPS * SINT_COUNT;
  const enabled = {
    scontrol: `0x${SCONTROL_ENABLE_BIT.toString(16)}`,
    siefp: `0x${((0x200 << SYNIC_PAGE_GPA_SHIFT) | SYNIC_PAGE_ENABLE_BIT).toString(16)}`,
  };
  return parseScenarioText(
    JSON.stringify({
      partitions: [
        {
          id: CALLER,
          privileges: ["SignalEvents"],
          vps: [{ index: 0 }],
          connections: Array.from({ length: areas }, (_, k) => ({
            id: 100 + k,
            portPartition: 2,
            portId: k,
          })),
        },
        {
          id: 2,
          vps: Array.from({ length: VPS }, (_, index) => ({ index, ...enabled, sints })),
          ports: Array.from({ length: areas }, (_, k) => ({
            id: k,
            type: "event",
            targetVp: Math.floor(k / SINT_COUNT),
            targetSint: k % SINT_COUNT,
            baseFlagNumber: 0,
            flagCount: EVENT_FLAGS_PER_SINT,
          })),
        },
      ],
    }),
  );
}

/** One record per flag of every (VP, SINT), in a random order. */
function transitionRecords(): Uint8Array {
  const areas = VPS * SINT_COUNT;
  const n = areas * EVENT_FLAGS_PER_SINT;
  const order = new Uint32Array(n);
  for (let k = 0; k < n; k++) order[k] = k;
  const rand = prng(3);
  for (let k = n - 1; k > 0; k--) {
    const j = rand() % (k + 1);
    const x = order[k]!;
    order[k] = order[j]!;
    order[j] = x;
  }
  const buffer = new SharedArrayBuffer(n * RECORD_SIZE);
  const words = new Uint32Array(buffer);
  for (let i = 0; i < n; i++) {
    const k = order[i]!;
    const w = i * RECORD_WORDS;
    words[w + RECORD_CONTROL_LO] = (HvCallCode.SignalEvent | CONTROL_FAST_BIT) >>> 0;
    words[w + RECORD_INPUT_LO] = 100 + (k % areas);
    words[w + RECORD_INPUT_HI] = Math.floor(k / areas);
  }
  return new Uint8Array(buffer);
}

export async function benchThreads(
  doc: ScenarioDocument,
  signals: Workload,
): Promise<ThreadsResult> {
  const runs: ThreadRun[] = [];
  const steady = loadMachine(doc, { shared: true });
  const transitions = loadMachine(transitionsScenario(), { shared: true });
  const transitionWork = transitionRecords();
  // The SIEF images are one table of u32 words now (1024 per VP); clearing it clears every flag.
  const sief = transitions.tables.sief;
  const cases = [
    { workload: "steady" as const, machine: steady, records: signals.records, before: () => {} },
    {
      workload: "transitions" as const,
      machine: transitions,
      records: transitionWork,
      before: () => sief.fill(0),
    },
  ];
  for (const c of cases) {
    const count = c.records.length / RECORD_SIZE;
    let one = 0;
    for (const threads of THREAD_COUNTS) {
      const ns = await timePool(c.machine, threads, c.records, c.before);
      const callsPerSecond = count / (ns / 1e9);
      if (threads === 1) one = callsPerSecond;
      runs.push({
        workload: c.workload,
        threads,
        records: count,
        callsPerSecond,
        nsPerCall: ns / count,
        scaling: callsPerSecond / one,
      });
      console.log(
        `  threads  ${c.workload.padEnd(11)} ${threads} thread(s) ${(callsPerSecond / 1e6).toFixed(2).padStart(7)} M/s`,
      );
    }
  }
  return {
    note: "wall time of SignalPool.run (post to every worker, run, all replies), median of 15 runs; records and results on SharedArrayBuffers",
    runs,
  };
}
