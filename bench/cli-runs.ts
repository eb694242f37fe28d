/**
 * End-to-end command-line figures: `run` on JSON Lines and binary traces, `replay --output bin`
 * file to file against `cat file > /dev/null`, and `check` on 1 M records — each a fresh process,
 * its time and peak RSS measured in the same run as the others.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { HvCallCode } from "../src/abi/call-code.js";
import { CONTROL_FAST_BIT } from "../src/abi/hypercall-control.js";
import { SIM_SLOT_BYTES } from "../src/abi/sief-page.js";
import { HvSynicMsr } from "../src/abi/synic-msr.js";
import { u64ToHalves } from "../src/abi/u64.js";
import { encodeTraceOp, traceHeader } from "../src/trace/trace-binary.js";
import { formatTraceOp } from "../src/trace/trace-jsonl.js";
import { TraceOp, TraceOpCode } from "../src/trace/trace-op.js";
import type { MessageScenario } from "./messages.js";

export interface CliRun {
  readonly what: string;
  readonly items: number;
  readonly unit: string;
  /** Median of the runs. */
  readonly seconds: number;
  readonly perSecond: number;
  readonly peakRssMiB: number;
  readonly note?: string;
}

interface Spawned {
  readonly code: number | null;
  readonly ns: number;
  readonly rssKiB: number;
  readonly stderr: string;
}

/**
 * Runs hvcall's main() in a fresh node process with stdout to `stdoutFile` (or /dev/null), and
 * reports its wall time and peak RSS (process.resourceUsage at exit, in the same process).
 */
function spawnHvcall(root: string, args: readonly string[], stdoutFile: string): Promise<Spawned> {
  const main = pathToFileURL(path.join(root, "dist", "cli", "main.js")).href;
  const script = `const { main } = await import(${JSON.stringify(main)});
const code = await main(JSON.parse(process.env.HVCALL_BENCH_ARGS));
// VmHWM, not resourceUsage().maxRSS: Linux carries ru_maxrss over from the parent across exec.
let kib = process.resourceUsage().maxRSS;
try { kib = Number(/VmHWM:\\s+(\\d+)/.exec((await import("node:fs")).readFileSync("/proc/self/status", "utf8"))[1]); } catch {}
process.stderr.write("\\nRSS_KIB " + kib + "\\n");
process.exitCode = code;`;
  const out = openSync(stdoutFile, "w");
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", out, "pipe"],
      env: { ...process.env, HVCALL_BENCH_ARGS: JSON.stringify(args) },
    });
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => {
      if (stderr.length < 65536) stderr += c.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      closeSync(out);
      const ns = Number(process.hrtime.bigint() - t0);
      const m = /RSS_KIB (\d+)/.exec(stderr);
      resolve({ code, ns, rssKiB: m === null ? 0 : Number(m[1]), stderr });
    });
  });
}

/** `cat file > /dev/null`: the cost of reading the input at all. */
function catSeconds(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn("cat", [file], { stdio: ["ignore", "ignore", "ignore"] });
    child.on("error", reject);
    child.on("close", () => resolve(Number(process.hrtime.bigint() - t0) / 1e9));
  });
}

async function measureRuns(
  root: string,
  what: string,
  args: readonly string[],
  items: number,
  unit: string,
  out: string,
  exitOk: readonly number[] = [0],
): Promise<CliRun> {
  const runs: Spawned[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await spawnHvcall(root, args, out);
    if (!exitOk.includes(r.code ?? -1))
      throw new Error(`${what}: exit ${r.code}: ${r.stderr.trim().split("\n")[0] ?? ""}`);
    runs.push(r);
  }
  runs.sort((a, b) => a.ns - b.ns);
  const median = runs[1]!;
  const seconds = median.ns / 1e9;
  return {
    what,
    items,
    unit,
    seconds,
    perSecond: items / seconds,
    peakRssMiB: Math.max(...runs.map((r) => r.rssKiB)) / 1024,
  };
}

/** A trace of `count` ops: SignalEvent and PostMessage calls with the guest's slot emptying and EOM. */
export function traceOps(s: MessageScenario, count: number, mixed: boolean): TraceOp[] {
  const ops: TraceOp[] = [];
  const op = (fill: (o: TraceOp) => void, code: TraceOp["code"]) => {
    const o = new TraceOp().reset(code);
    fill(o);
    ops.push(o);
  };
  const inputGpa = u64ToHalves(s.inputGpa);
  for (let i = 0; ops.length < count; i++) {
    const k = i % s.eventConnections.length;
    op((o) => {
      o.controlLo = (HvCallCode.SignalEvent | CONTROL_FAST_BIT) >>> 0;
      o.rdxLo = s.eventConnections[k]!;
      o.rdxHi = i % 64;
    }, TraceOpCode.hypercall);
    if (!mixed || i % 4 !== 3) continue;
    op((o) => {
      o.controlLo = HvCallCode.PostMessage;
      o.rdxLo = inputGpa.lo;
      o.rdxHi = inputGpa.hi;
    }, TraceOpCode.hypercall);
    // The receiving guest empties the slot and writes EOM, so that the next message is delivered.
    op((o) => {
      o.partition = s.receiver;
      const g = u64ToHalves(s.simGpa + BigInt(s.sint * SIM_SLOT_BYTES));
      o.gpaLo = g.lo;
      o.gpaHi = g.hi;
      o.setBytes(new Uint8Array(4));
    }, TraceOpCode.write);
    op((o) => {
      o.partition = s.receiver;
      o.vp = 0;
      o.msr = HvSynicMsr.EOM;
    }, TraceOpCode.wrmsr);
  }
  return ops.slice(0, count);
}

export async function benchCli(
  root: string,
  dir: string,
  s: MessageScenario,
  records: Uint8Array,
  count: number,
): Promise<CliRun[]> {
  const scenarioFile = path.join(dir, "messages.json");
  writeFileSync(scenarioFile, s.text);
  const out: CliRun[] = [];
  const sink = path.join(dir, "out");
  for (const mixed of [false, true]) {
    const ops = traceOps(s, count, mixed);
    const jsonl = path.join(dir, `trace-${mixed ? "mixed" : "signals"}.jsonl`);
    const bin = path.join(dir, `trace-${mixed ? "mixed" : "signals"}.bin`);
    writeFileSync(jsonl, `${ops.map(formatTraceOp).join("\n")}\n`);
    writeFileSync(bin, Buffer.concat([traceHeader(), ...ops.map(encodeTraceOp)]));
    const name = mixed ? "SignalEvent + PostMessage + slot emptying + EOM" : "SignalEvent only";
    const base = ["run", "--scenario", scenarioFile, "--caller", String(s.sender)];
    out.push(
      await measureRuns(
        root,
        `run, JSON Lines trace (${name}), JSON lines out`,
        [...base, jsonl],
        count,
        "op",
        sink,
      ),
    );
    out.push(
      await measureRuns(
        root,
        `run, binary trace (${name}), JSON lines out`,
        [...base, bin],
        count,
        "op",
        sink,
      ),
    );
    out.push(
      await measureRuns(
        root,
        `run, binary trace (${name}), --output bin`,
        [...base, "--output", "bin", bin],
        count,
        "op",
        sink,
      ),
    );
  }
  const recordsFile = path.join(dir, "records-1m.bin");
  writeFileSync(recordsFile, records);
  const n = records.length / 16;
  const replayArgs = [
    "replay",
    "--scenario",
    scenarioFile,
    "--caller",
    String(s.sender),
    "--no-progress",
  ];
  const bin = await measureRuns(
    root,
    "replay --output bin, file to file",
    [...replayArgs, "--output", "bin", recordsFile],
    n,
    "record",
    sink,
  );
  const cats: number[] = [];
  for (let i = 0; i < 3; i++) cats.push(await catSeconds(recordsFile));
  cats.sort((a, b) => a - b);
  out.push({
    ...bin,
    note: `cat ${records.length / 2 ** 20} MiB > /dev/null took ${(cats[1]! * 1000).toFixed(1)} ms: replay --output bin is ${(bin.seconds / cats[1]!).toFixed(1)}x that`,
  });
  out.push(
    await measureRuns(
      root,
      "replay, JSON lines, file to file",
      [...replayArgs, recordsFile],
      n,
      "record",
      sink,
    ),
  );
  // check: hvcall's own results as the observed ones (all agree), in both observed forms.
  const observedBin = path.join(dir, "observed.bin");
  const observedJson = path.join(dir, "observed.jsonl");
  await spawnHvcall(root, [...replayArgs, "--output", "bin", recordsFile], observedBin);
  await spawnHvcall(root, [...replayArgs, recordsFile], observedJson);
  const checkArgs = ["check", "--scenario", scenarioFile, "--caller", String(s.sender)];
  out.push(
    await measureRuns(
      root,
      "check, binary observed results",
      [...checkArgs, "--observed", observedBin, recordsFile],
      n,
      "record",
      sink,
    ),
  );
  out.push(
    await measureRuns(
      root,
      "check, JSON Lines observed results",
      [...checkArgs, "--observed", observedJson, recordsFile],
      n,
      "record",
      sink,
    ),
  );
  return out;
}
