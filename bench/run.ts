/**
 * `npm run bench`: throughput and allocation of every way to run HvCallSignalEvent records, each
 * against the naive baseline measured in the same run; HvCallPostMessage per call; the command
 * line end to end (run on JSON Lines and binary traces, replay --output bin, check); threaded
 * scaling; scenario load at scale. Prints a table and writes the results as JSON, by default to
 * node_modules/.cache/hvcall-bench/results.json (untracked; `--out FILE` to put them elsewhere).
 *
 *   node --expose-gc <build>/bench/run.js [--out FILE] [section ...]
 *
 * Sections: api (batch, batchShared, dispatch, perCall, naive), replay, messages, cli, threads,
 * scale; default all. HVCALL_BENCH_RECORDS overrides the record count (default 1,000,000).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { HV_PAGE_OFFSET_MASK } from "../src/abi/hv-page.js";
import { hvStatusName } from "../src/abi/hv-status.js";
import { CONTROL_FAST_BIT } from "../src/abi/hypercall-control.js";
import { RESULT_STATUS_MASK } from "../src/abi/hypercall-result.js";
import { BatchRunner } from "../src/dispatch/batch-runner.js";
import { Dispatcher } from "../src/dispatch/dispatcher.js";
import { hypercall } from "../src/dispatch/hypercall.js";
import {
  RECORD_CONTROL_LO,
  RECORD_INPUT_OFFSET,
  RECORD_SIZE,
  RECORD_WORDS,
  RESULT_WORDS,
} from "../src/dispatch/hypercall-record.js";
import { loadMachine } from "../src/state/load-machine.js";
import type { Machine } from "../src/state/machine.js";
import { parseScenarioText } from "../src/state/scenario-schema.js";
import { benchCli, type CliRun } from "./cli-runs.js";
import { allocatedBytes, hasGc, machineFacts, timeIt } from "./measure.js";
import {
  benchPostMessage,
  type MessageScenario,
  messageScenario,
  type PostResult,
} from "./messages.js";
import { NaiveMachine, runNaive } from "./naive.js";
import { benchScale, type ScaleResult } from "./scale.js";
import { benchThreads, type ThreadsResult } from "./threads.js";
import {
  benchScenario,
  CALLER,
  CALLER_VP,
  mixedWorkload,
  signalsWorkload,
  type Workload,
} from "./workload.js";

const RECORDS = Number(process.env.HVCALL_BENCH_RECORDS ?? 1_000_000);
/**
 * The command-line rows run long enough that process start-up (~0.15 s: node, the CLI, zod)
 * does not hide the throughput: 10 M records (160 MiB) for replay and check, 3 M trace ops.
 */
const CLI_RECORDS = Number(process.env.HVCALL_BENCH_CLI_RECORDS ?? 10 * RECORDS);
const CLI_OPS = Number(process.env.HVCALL_BENCH_CLI_OPS ?? 3 * RECORDS);
const ROOT = findRoot();
const argv = process.argv.slice(2);
const outAt = argv.indexOf("--out");
const OUT_FILE = outAt >= 0 ? argv[outAt + 1] : undefined;
if (outAt >= 0 && OUT_FILE === undefined) throw new Error("--out needs a file");
const sections = new Set(argv.filter((a, i) => a !== "--out" && i !== outAt + 1));
const want = (name: string): boolean => sections.size === 0 || sections.has(name);

/** The repository root, from this file's place in the source tree or in the build output. */
function findRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = here, i = 0; i < 6; i++, dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json")) && existsSync(path.join(dir, "src", "index.ts")))
      return dir;
  }
  throw new Error(`cannot find the hvcall repository above ${here}`);
}

interface CaseResult {
  /** From the median time of a run over all records. */
  callsPerSecond: number;
  /** From the fastest run (the machine is shared and noisy; the median is the figure to quote). */
  bestCallsPerSecond?: number;
  nsPerCall: number;
  bytesPerCall: number | null;
  ratioToNaive?: number;
  samples: number;
  note?: string;
}

type CaseName =
  | "batch"
  | "batchShared"
  | "dispatch"
  | "perCall"
  | "naive"
  | "replay"
  | "replayThreads2";
type WorkloadResults = Partial<Record<CaseName, CaseResult>>;

const scenario = benchScenario();
const doc = parseScenarioText(scenario.text);

function newMachine(shared: boolean): Machine {
  return loadMachine(doc, { shared });
}

function resultFrom(
  count: number,
  nsPerRun: number,
  bytes: number | null,
  samples: number,
): CaseResult {
  return {
    callsPerSecond: count / (nsPerRun / 1e9),
    nsPerCall: nsPerRun / count,
    bytesPerCall: bytes,
    samples,
  };
}

/**
 * Heap bytes allocated per record, from `rounds` measurements of `reps` more runs each under the
 * GC profiler: the smallest, so that a late JIT tier-up (its feedback and code) is not counted as
 * the path's own allocation. Null when gc is not exposed.
 */
function bytesPerCall(fn: () => unknown, reps: number, count: number, rounds = 1): number | null {
  if (!hasGc()) return null;
  let least = Number.POSITIVE_INFINITY;
  for (let i = 0; i < rounds; i++) least = Math.min(least, allocatedBytes(fn, reps));
  return least / (reps * count);
}

async function benchBatch(
  w: Workload,
  shared: boolean,
  statuses: Uint16Array,
  m: Machine,
): Promise<CaseResult> {
  const runner = new BatchRunner(new Dispatcher(m), { caller: CALLER, vp: CALLER_VP });
  const results = new Uint32Array(w.count * RESULT_WORDS);
  const run = () => runner.run(w.records, results);
  const t = await timeIt(run, 10, 1500);
  const bytes = bytesPerCall(run, 10, w.count, 3);
  for (let i = 0; i < w.count; i++) statuses[i] = results[i * RESULT_WORDS]! & RESULT_STATUS_MASK;
  const r = resultFrom(w.count, t.p50, bytes, t.samples);
  r.bestCallsPerSecond = w.count / (t.min / 1e9);
  if (shared) r.note = "SharedArrayBuffer tables, flags set with Atomics.or";
  return r;
}

async function benchPerCall(w: Workload, statuses: Uint16Array, m: Machine): Promise<CaseResult> {
  const d = new Dispatcher(m);
  // The scratch page a replay on top of hypercall() would use, as BatchRunner picks it, mapped
  // over the caller's memory while the calls run (as BatchRunner does).
  const scratchGpa = new BatchRunner(d, { caller: CALLER, vp: CALLER_VP }).scratchGpa;
  const memory = m.memory[m.requirePartition(CALLER)]!;
  const scratch = new Uint8Array(4096);
  const scratchOffset = Number(scratchGpa & BigInt(HV_PAGE_OFFSET_MASK));
  const view = new DataView(w.records.buffer, w.records.byteOffset, w.records.byteLength);
  const words = new Uint32Array(w.records.buffer, w.records.byteOffset, w.records.byteLength / 4);
  const run = () => {
    for (let i = 0, at = 0; i < w.count; i++, at += RECORD_SIZE) {
      const control = view.getBigUint64(at, true);
      let input: bigint;
      if ((words[i * RECORD_WORDS + RECORD_CONTROL_LO]! & CONTROL_FAST_BIT) !== 0) {
        input = view.getBigUint64(at + RECORD_INPUT_OFFSET, true);
      } else {
        scratch.set(w.records.subarray(at + RECORD_INPUT_OFFSET, at + RECORD_SIZE), scratchOffset);
        input = scratchGpa;
      }
      statuses[i] = hypercall(d, { caller: CALLER, vp: CALLER_VP, control, input }).status;
    }
  };
  const page = Number(scratchGpa >> 12n);
  const mapped = () => {
    memory.beginScratch(page, scratch);
    try {
      run();
    } finally {
      memory.endScratch();
    }
  };
  const t = await timeIt(mapped, 3, 0);
  return resultFrom(w.count, t.p50, bytesPerCall(mapped, 1, w.count), t.samples);
}

/** Dispatcher.dispatch per record (u32 halves; the generic path, no batch kernel). */
async function benchDispatch(w: Workload, statuses: Uint16Array, m: Machine): Promise<CaseResult> {
  const runner = new BatchRunner(new Dispatcher(m), { caller: CALLER, vp: CALLER_VP });
  const words = new Uint32Array(w.records.buffer, w.records.byteOffset, w.records.byteLength / 4);
  const run = () =>
    runner.withScratch(() => {
      for (let i = 0, at = 0; i < w.count; i++, at += RECORD_WORDS) {
        statuses[i] = runner.dispatchRecord(words, at) & RESULT_STATUS_MASK;
      }
    });
  const t = await timeIt(run, 5, 500);
  const r = resultFrom(w.count, t.p50, bytesPerCall(run, 3, w.count, 3), t.samples);
  r.note =
    "Dispatcher.dispatch per record (u32 halves), memory-form input through the scratch page";
  return r;
}

async function benchNaive(
  w: Workload,
  statuses: Uint16Array,
): Promise<{ r: CaseResult; naive: NaiveMachine }> {
  const naive = new NaiveMachine(doc);
  const scratchGpa = new BatchRunner(new Dispatcher(newMachine(false)), { caller: CALLER })
    .scratchGpa;
  const run = () => runNaive(naive, CALLER, w.records, scratchGpa, statuses);
  const t = await timeIt(run, 3, 0);
  return { r: resultFrom(w.count, t.p50, bytesPerCall(run, 1, w.count), t.samples), naive };
}

/** (d) `hvcall replay` end to end: a fresh process per run, stdout piped back and its lines counted. */
async function benchReplay(
  w: Workload,
  dir: string,
  extra: readonly string[] = [],
): Promise<CaseResult | string> {
  const bin = path.join(ROOT, "bin", "hvcall.js");
  const main = path.join(ROOT, "dist", "cli", "main.js");
  if (!existsSync(bin) || !existsSync(main)) {
    return `skipped: ${path.relative(ROOT, existsSync(bin) ? main : bin)} does not exist yet (npm run build after the CLI lands)`;
  }
  const scenarioFile = path.join(dir, "scenario.json");
  const recordsFile = path.join(dir, `${w.name}.bin`);
  writeFileSync(scenarioFile, scenario.text);
  writeFileSync(recordsFile, w.records);
  const args = [
    bin,
    "replay",
    "--scenario",
    scenarioFile,
    "--caller",
    String(CALLER),
    "--vp",
    String(CALLER_VP),
    ...extra,
    recordsFile,
  ];
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    const { code, lines, stderr } = await runCounting(args);
    const ns = Number(process.hrtime.bigint() - t0);
    if (code !== 0) return `failed: exit ${code}: ${stderr.trim().split("\n")[0] ?? ""}`;
    if (lines !== w.count) return `failed: ${lines} output lines for ${w.count} records`;
    times.push(ns);
  }
  times.sort((a, b) => a - b);
  const r = resultFrom(w.count, times[1]!, null, times.length);
  r.note = `median of 3 runs, process start + file read + 1 JSON line per record to a pipe${extra.length === 0 ? "" : ` (${extra.join(" ")})`}`;
  return r;
}

/** Whether the CLI has grown `replay --threads N` yet. */
async function replaySupportsThreads(): Promise<boolean> {
  const help = await new Promise<string>((resolve) => {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, "bin", "hvcall.js"), "replay", "--help"],
      {
        stdio: ["ignore", "pipe", "ignore"],
      },
    );
    let text = "";
    child.stdout.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.on("error", () => resolve(""));
    child.on("close", () => resolve(text));
  });
  return help.includes("--threads");
}

function runCounting(
  args: string[],
): Promise<{ code: number | null; lines: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let lines = 0;
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
    });
    child.stderr.on("data", (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, lines, stderr }));
  });
}

function firstMismatch(a: Uint16Array, b: Uint16Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function histogram(statuses: Uint16Array): string {
  const counts = new Map<number, number>();
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts.entries()]
    .sort((x, y) => x[0] - y[0])
    .map(
      ([s, n]) =>
        `${hvStatusName(s).replace("HV_STATUS_", "")} ${((100 * n) / statuses.length).toFixed(1)}%`,
    )
    .join(", ");
}

async function benchWorkload(w: Workload, dir: string): Promise<WorkloadResults> {
  const out: WorkloadResults = {};
  const log = (name: string, r: CaseResult | string) => {
    if (typeof r === "string") console.log(`  ${w.name.padEnd(8)} ${name.padEnd(12)} ${r}`);
    else
      console.log(
        `  ${w.name.padEnd(8)} ${name.padEnd(12)} ${fmt(r.callsPerSecond / 1e6, 2).padStart(8)} M/s ${fmt(r.nsPerCall, 1).padStart(8)} ns/call`,
      );
  };
  if (want("api")) {
    const sBatch = new Uint16Array(w.count);
    const sShared = new Uint16Array(w.count);
    const sPerCall = new Uint16Array(w.count);
    const sDispatch = new Uint16Array(w.count);
    const sNaive = new Uint16Array(w.count);
    const mBatch = newMachine(false);
    const mShared = newMachine(true);
    const mPerCall = newMachine(false);
    const mDispatch = newMachine(false);
    out.batch = await benchBatch(w, false, sBatch, mBatch);
    log("batch", out.batch);
    out.batchShared = await benchBatch(w, true, sShared, mShared);
    log("batchShared", out.batchShared);
    out.dispatch = await benchDispatch(w, sDispatch, mDispatch);
    log("dispatch", out.dispatch);
    out.perCall = await benchPerCall(w, sPerCall, mPerCall);
    log("perCall", out.perCall);
    const { r: naive, naive: nm } = await benchNaive(w, sNaive);
    out.naive = naive;
    log("naive", out.naive);
    // Every way of running the records must agree, record by record, and leave the same state.
    for (const [name, s] of [
      ["batchShared", sShared],
      ["dispatch", sDispatch],
      ["perCall", sPerCall],
      ["naive", sNaive],
    ] as const) {
      const at = firstMismatch(sBatch, s);
      if (at >= 0)
        throw new Error(
          `${w.name}: ${name} disagrees with batch at record ${at}: ${s[at]} vs ${sBatch[at]}`,
        );
    }
    if (
      !mBatch.equals(mPerCall.snapshot()) ||
      !mBatch.equals(mShared.snapshot()) ||
      !mBatch.equals(mDispatch.snapshot())
    ) {
      throw new Error(`${w.name}: batch, batchShared and perCall left different machine states`);
    }
    let naiveAssertions = 0;
    for (const p of nm.partitions.values())
      for (const vp of p.vps.values()) for (const n of vp.assertions) naiveAssertions += n;
    let libAssertions = 0;
    for (const n of mBatch.tables.sintAssertions) libAssertions += n;
    if (naiveAssertions !== libAssertions) {
      throw new Error(
        `${w.name}: naive asserted ${naiveAssertions} interrupts, the library ${libAssertions}`,
      );
    }
    console.log(
      `  ${w.name.padEnd(8)} statuses agree across all four (${histogram(sBatch)}); ${libAssertions} interrupts asserted`,
    );
  }
  if (want("replay")) {
    const r = await benchReplay(w, dir);
    log("replay", r);
    if (typeof r !== "string") out.replay = r;
    else out.replay = { callsPerSecond: 0, nsPerCall: 0, bytesPerCall: null, samples: 0, note: r };
    if (typeof r !== "string" && (await replaySupportsThreads())) {
      const t = await benchReplay(w, dir, ["--threads", "2"]);
      log("replay -t 2", t);
      if (typeof t !== "string") out.replayThreads2 = t;
    }
  }
  const base = out.naive?.callsPerSecond;
  if (base !== undefined) {
    for (const r of Object.values(out))
      if (r.callsPerSecond > 0) r.ratioToNaive = r.callsPerSecond / base;
  }
  return out;
}

function fmt(n: number, digits: number): string {
  return n.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function printTable(name: string, w: Workload, r: WorkloadResults): void {
  console.log(`\n${name}: ${w.count.toLocaleString("en-US")} records — ${w.description}`);
  console.log(
    `  ${"case".padEnd(12)} ${"calls/s".padStart(14)} ${"ns/call".padStart(9)} ${"bytes/call".padStart(11)} ${"x naive".padStart(9)}`,
  );
  for (const key of [
    "batch",
    "batchShared",
    "dispatch",
    "perCall",
    "naive",
    "replay",
    "replayThreads2",
  ] as const) {
    const c = r[key];
    if (c === undefined) continue;
    if (c.callsPerSecond === 0) {
      console.log(`  ${key.padEnd(12)} ${c.note ?? ""}`);
      continue;
    }
    const bytes =
      c.bytesPerCall === null ? "n/a" : fmt(c.bytesPerCall, c.bytesPerCall < 10 ? 3 : 0);
    const ratio = c.ratioToNaive === undefined ? "" : `${fmt(c.ratioToNaive, 1)}x`;
    console.log(
      `  ${key.padEnd(12)} ${fmt(c.callsPerSecond, 0).padStart(14)} ${fmt(c.nsPerCall, 2).padStart(9)} ${bytes.padStart(11)} ${ratio.padStart(9)}`,
    );
  }
}

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  const machine = machineFacts();
  console.log(
    `hvcall bench — ${machine.cpuModel} (${machine.cpuCount} CPUs), Node ${machine.node}, V8 ${machine.v8}`,
  );
  if (!hasGc()) console.log("  (no --expose-gc: bytes/call not measured)");
  const dir = mkdtempSync(path.join(os.tmpdir(), "hvcall-bench-"));
  try {
    const signals = signalsWorkload(scenario, RECORDS);
    const mixed = mixedWorkload(scenario, RECORDS);
    const rSignals = await benchWorkload(signals, dir);
    const rMixed = await benchWorkload(mixed, dir);
    let threads: ThreadsResult | undefined;
    if (want("threads")) threads = await benchThreads(doc, signals);
    let scale: ScaleResult | undefined;
    if (want("scale")) scale = await benchScale();
    const msgScenario = messageScenario();
    let posts: PostResult[] | undefined;
    if (want("messages")) posts = await benchPostMessage(msgScenario);
    let cli: CliRun[] | undefined;
    if (want("cli"))
      cli = await benchCli(
        ROOT,
        dir,
        msgScenario,
        signalRecords(msgScenario, CLI_RECORDS),
        CLI_OPS,
      );

    printTable("signals", signals, rSignals);
    printTable("mixed", mixed, rMixed);
    if (threads !== undefined) {
      console.log(
        "\nthreads: SignalPool over one shared machine (steady: flags already set; transitions: every call sets a clear flag)",
      );
      for (const t of threads.runs) {
        console.log(
          `  ${t.workload.padEnd(12)} ${String(t.threads).padStart(2)} thread(s) ${fmt(t.callsPerSecond, 0).padStart(14)} calls/s  ${fmt(t.nsPerCall, 2).padStart(6)} ns/call  x${fmt(t.scaling, 2)} vs 1 thread`,
        );
      }
    }
    if (posts !== undefined) {
      console.log(
        "\nHvCallPostMessage per call (each post delivered into an empty slot, which the guest then empties):",
      );
      for (const p of posts) {
        const bytes = p.bytesPerCall === null ? "n/a" : fmt(p.bytesPerCall, 3);
        console.log(
          `  ${p.path.padEnd(40)} ${fmt(p.callsPerSecond, 0).padStart(12)} calls/s ${fmt(p.nsPerCall, 1).padStart(8)} ns/call ${bytes.padStart(8)} bytes/call`,
        );
      }
    }
    if (cli !== undefined) {
      console.log(
        `\ncommand line end to end (${CLI_RECORDS.toLocaleString("en-US")} records, ${CLI_OPS.toLocaleString("en-US")} trace ops; a fresh process each, median of 3):`,
      );
      for (const c of cli) {
        console.log(
          `  ${c.what.padEnd(80)} ${fmt(c.perSecond / 1e6, 2).padStart(7)} M ${c.unit}s/s  peak RSS ${fmt(c.peakRssMiB, 1)} MiB`,
        );
        if (c.note !== undefined) console.log(`    ${c.note}`);
      }
    }
    if (scale !== undefined) {
      console.log(`\nscale: ${scale.description}`);
      console.log(
        `  parseScenarioText ${fmt(scale.parseMs, 1)} ms, loadMachine ${fmt(scale.loadMs, 1)} ms, total ${fmt(scale.totalMs, 1)} ms`,
      );
      console.log(
        `  retained: machine ${fmt(scale.machineMiB, 1)} MiB, document ${fmt(scale.documentMiB, 1)} MiB; peak during load ${fmt(scale.peakMiB, 1)} MiB`,
      );
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(`\nbench finished in ${fmt(seconds, 1)} s`);

    const json = {
      machine,
      records: RECORDS,
      results: rSignals,
      mixed: rMixed,
      ...(threads === undefined ? {} : { threads }),
      ...(scale === undefined ? {} : { scale }),
      ...(posts === undefined ? {} : { postMessage: posts }),
      ...(cli === undefined ? {} : { cli }),
      workloads: { signals: signals.description, mixed: mixed.description },
      seconds,
    };
    const out =
      OUT_FILE ?? path.join(ROOT, "node_modules", ".cache", "hvcall-bench", "results.json");
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(json, null, 2)}\n`);
    console.log(`results written to ${path.relative(process.cwd(), out) || out}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `count` fast SignalEvent records over the message scenario's event connections. */
function signalRecords(s: MessageScenario, count: number): Uint8Array {
  const out = new Uint8Array(count * RECORD_SIZE);
  const view = new DataView(out.buffer);
  for (let i = 0; i < count; i++) {
    view.setUint32(i * RECORD_SIZE, 0x1005d, true);
    view.setUint32(i * RECORD_SIZE + 8, s.eventConnections[i % s.eventConnections.length]!, true);
    view.setUint32(i * RECORD_SIZE + 12, i % 64, true);
  }
  return out;
}

await main();
