/**
 * Runs trace steps on the real implementation and on the trace model side by side, and throws on
 * the first disagreement: an output line (status, result, check; outcome, hex, value) or the final
 * state of a VP (siefFlags, sintAssertions, simSlots, queuedMessages).
 *
 * Real side: parseScenario + loadMachine, a Dispatcher, and per hypercall op one of its fronts —
 * TraceEngine.run (the `hvcall run` path, output line through traceResultLine), Dispatcher.dispatch,
 * hypercall() — or, for record steps, BatchRunner.run (consecutive records of one caller in one
 * run). Model side: test/model/trace-model.ts, given the same ops; a memory-form record is a write
 * of its 8 bytes (and zeros after them) to BatchRunner's scratch GPA, which the model's copy of the
 * scenario backs, then the hypercall.
 */
import { hvStatusName } from "../../src/abi/hv-status.js";
import { resultHi, resultLo, resultReservedBitsClear } from "../../src/abi/hypercall-result.js";
import { formatU64Hex, halvesToU64 } from "../../src/abi/u64.js";
import { finalState } from "../../src/cli/golden/fixture-run.js";
import { BatchRunner } from "../../src/dispatch/batch-runner.js";
import { Dispatcher } from "../../src/dispatch/dispatcher.js";
import { explainLastCall } from "../../src/dispatch/explain.js";
import { hypercall } from "../../src/dispatch/hypercall.js";
import { encodeRecord, RECORD_SIZE, RESULT_WORDS } from "../../src/dispatch/hypercall-record.js";
import { loadMachine } from "../../src/state/load-machine.js";
import type { Machine } from "../../src/state/machine.js";
import { parseScenario } from "../../src/state/scenario-schema.js";
import { TraceEngine, TraceResult } from "../../src/trace/trace-engine.js";
import { parseTraceObject } from "../../src/trace/trace-jsonl.js";
import { traceResultLine } from "../../src/trace/trace-output.js";
import { type ModelLine, TraceModel } from "../model/trace-model.js";
import { ListenerTap } from "./listener.js";
import type { SafetyProbe } from "./safety.js";
import { FUZZ_SCRATCH_GPA, hex } from "./scenario-arb.js";
import type { ListenerMode, ScenarioFile, Step, TraceCase, TraceOpJson } from "./scenario-types.js";
import type { Tally } from "./tally.js";

/** JSON with object keys sorted and bigints spelled out, for comparing whatever the key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "bigint") return `0x${v.toString(16)}`;
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

/** The scenario the model (and a fixture) gets: every partition with VPs backs the scratch page. */
export function modelScenario(scenario: ScenarioFile): ScenarioFile {
  return {
    partitions: scenario.partitions.map((p) =>
      (p.vps ?? []).length === 0
        ? p
        : { ...p, memory: [...(p.memory ?? []), { gpa: hex(FUZZ_SCRATCH_GPA), hex: "00" }] },
    ),
  };
}

/** A record step as trace ops: the hypercall a fast record is, or the write + call of a memory one. */
export function recordOps(step: Extract<Step, { kind: "record" }>): TraceOpJson[] {
  const who = { partition: step.partition, vp: step.vp };
  if ((step.control & 0x10000n) !== 0n) {
    return [{ op: "hypercall", ...who, control: hex(step.control), rdx: hex(step.input) }];
  }
  const bytes = Buffer.alloc(256);
  bytes.writeBigUInt64LE(step.input);
  return [
    {
      op: "write",
      partition: step.partition,
      gpa: hex(FUZZ_SCRATCH_GPA),
      hex: bytes.toString("hex"),
    },
    { op: "hypercall", ...who, control: hex(step.control), rdx: hex(FUZZ_SCRATCH_GPA) },
  ];
}

/** The fields of an output line both sides write (not `why`, `detail`), in one order. */
const LINE_FIELDS = [
  "index",
  "op",
  "status",
  "result",
  "check",
  "outcome",
  "hex",
  "value",
] as const;

/** What a line says, without the fields only one side writes (`why`, `detail`). */
function comparable(line: object): string {
  const o = line as Readonly<Record<string, unknown>>;
  const extra = Object.keys(o).filter(
    (k) => !(LINE_FIELDS as readonly string[]).includes(k) && k !== "why" && k !== "detail",
  );
  return JSON.stringify(
    [...LINE_FIELDS, ...extra]
      .map((k) => (o[k] === undefined ? null : [k, o[k]]))
      .filter((x) => x !== null),
  );
}

function describe(op: unknown): string {
  return canonicalJson(op);
}

export interface RunnerOptions {
  readonly tally?: Tally;
  /** Safety checks around every hypercall (and records one per BatchRunner.run). */
  readonly probe?: (machine: Machine) => SafetyProbe;
  /** Overrides the case's listener. */
  readonly listener?: ListenerMode;
}

export class TraceRunner {
  readonly machine: Machine;
  readonly dispatcher: Dispatcher;
  readonly engine: TraceEngine;
  readonly model: TraceModel;
  readonly probe: SafetyProbe | undefined;
  private readonly defaults: { partition: number; vp: number };
  private readonly result = new TraceResult();
  private readonly runners = new Map<string, BatchRunner>();
  /** BatchRunner's per-status counters, kept across runs, and what they should hold. */
  private readonly statusCounts = new Uint32Array(0x10000);
  private readonly expectedCounts = new Map<number, number>();
  private index = 0;
  private modelIndex = 0;
  private batches = 0;
  private readonly listener: ListenerTap;

  constructor(
    c: Pick<TraceCase, "scenario" | "caller" | "vp" | "listener">,
    private readonly options: RunnerOptions = {},
  ) {
    this.machine = loadMachine(parseScenario(c.scenario));
    this.dispatcher = new Dispatcher(this.machine);
    this.defaults = { partition: c.caller, vp: c.vp };
    this.engine = new TraceEngine(this.machine, this.dispatcher, this.defaults, true);
    this.model = new TraceModel(modelScenario(c.scenario));
    this.probe = options.probe?.(this.machine);
    this.listener = new ListenerTap(this.machine, options.listener ?? c.listener ?? "none");
  }

  private mirrorListener(line: ModelLine): void {
    this.listener.mirror(line, this.model, this.defaults, `step ${this.index - 1}`);
  }

  /** Runs every step; consecutive records of one caller go through one BatchRunner.run. */
  runAll(steps: readonly Step[]): void {
    for (let i = 0; i < steps.length; ) {
      const s = steps[i]!;
      if (s.kind === "record" && this.probe === undefined) {
        let j = i + 1;
        while (j < steps.length && sameCaller(steps[j]!, s)) j++;
        this.records(steps.slice(i, j) as Extract<Step, { kind: "record" }>[]);
        i = j;
      } else {
        this.step(s);
        i++;
      }
    }
  }

  step(s: Step): void {
    if (s.kind === "host") {
      const a = s.action;
      if (a.host === "deletePort") {
        this.machine.deletePort(a.partition, a.port);
        this.model.deletePort(a.partition, a.port);
      } else if (a.host === "setPartitionActive") {
        this.machine.setPartitionActive(a.partition, a.active);
        this.model.setPartitionActive(a.partition, a.active);
      } else {
        this.machine.setPrivilegeMask(a.partition, a.mask);
        this.model.setPrivilegeMask(a.partition, a.mask);
      }
      return;
    }
    if (s.kind === "record") this.records([s]);
    else this.op(s.op, s.front);
    this.probe?.invariants(`step ${this.index - 1}`);
  }

  private modelStep(op: TraceOpJson): ModelLine {
    const line = this.model.step(op, this.modelIndex++, this.defaults);
    if (line.op === "hypercall") this.options.tally?.add(line);
    return line;
  }

  private op(json: TraceOpJson, front: "engine" | "dispatch" | "hypercall"): void {
    const index = this.index++;
    const where = `step ${index}`;
    const isCall = json.op === "hypercall";
    this.listener.caller = json.partition ?? this.defaults.partition;
    // The model first: the probe copies what a call with the model's answer may change.
    const line = this.modelStep(json);
    this.probe?.before(line.status === "HV_STATUS_SUCCESS");
    let real: Record<string, unknown>;
    try {
      const op = parseTraceObject(json, where);
      if (!isCall || front === "engine") {
        this.engine.run(op, { where }, this.result);
        real = JSON.parse(traceResultLine(index, this.result, true)) as Record<string, unknown>;
        if (isCall && (typeof real.why !== "string" || real.why === "")) {
          throw new Error("the --explain line has no why");
        }
      } else if (front === "dispatch") {
        const id = json.partition ?? this.defaults.partition;
        const p = this.machine.requirePartition(id);
        const v = this.machine.requireVp(
          id,
          "vp" in json && json.vp !== undefined ? json.vp : this.defaults.vp,
        );
        const outcome = this.dispatcher.dispatch(
          p,
          v,
          op.controlLo,
          op.controlHi,
          op.rdxLo,
          op.rdxHi,
          op.r8Lo,
          op.r8Hi,
        );
        real = {
          index,
          op: "hypercall",
          status: hvStatusName(outcome & 0xffff),
          result: formatU64Hex(resultLo(outcome), resultHi(outcome)),
          check: explainLastCall(this.dispatcher).check,
        };
      } else {
        const o = hypercall(
          this.dispatcher,
          {
            caller: json.partition ?? this.defaults.partition,
            vp: "vp" in json && json.vp !== undefined ? json.vp : this.defaults.vp,
            control: halvesToU64(op.controlLo, op.controlHi),
            input: halvesToU64(op.rdxLo, op.rdxHi),
            ...(op.r8Given ? { input2: halvesToU64(op.r8Lo, op.r8Hi) } : {}),
          },
          { explain: true },
        );
        if (
          o.result !== halvesToU64(o.resultLo, o.resultHi) ||
          o.statusName !== hvStatusName(o.status)
        ) {
          throw new Error(
            `hypercall() gave result ${o.result} / ${o.statusName} for status ${o.status}`,
          );
        }
        if (o.repsCompleted !== (o.resultHi & 0xfff) || o.why === undefined || o.why === "") {
          throw new Error(
            `hypercall() gave reps ${o.repsCompleted} for result 0x${o.result.toString(16)}, why ${o.why}`,
          );
        }
        real = {
          index,
          op: "hypercall",
          status: o.statusName,
          result: formatU64Hex(o.resultLo, o.resultHi),
          check: o.check,
        };
      }
    } catch (error) {
      throw new Error(
        `${where} (${front}): ${describe(json)}: src threw ${error instanceof Error ? error.stack : String(error)}`,
      );
    }
    const want = comparable({ ...line, index });
    const got = comparable(real);
    if (want !== got) {
      throw new Error(
        `${where} (${front}): ${describe(json)}\n  real  ${got}\n  model ${want} (${line.detail ?? ""})`,
      );
    }
    if (!isCall) return;
    this.mirrorListener(line);
    this.probe?.after({
      what: `${where}: ${describe(json)}`,
      code: Number(BigInt(json.control) & 0xffffn),
      status: line.status!,
      detail: line.detail,
    });
  }

  /** The model's answer to a record: the ops it stands for (recordOps); the hypercall's line. */
  private modelRecord(s: Extract<Step, { kind: "record" }>): ModelLine {
    const ops = recordOps(s);
    for (const op of ops.slice(0, -1)) this.modelStep(op);
    return this.modelStep(ops[ops.length - 1]!);
  }

  private runner(partition: number, vp: number): BatchRunner {
    const key = `${partition}/${vp}`;
    let r = this.runners.get(key);
    if (r === undefined) {
      r = new BatchRunner(this.dispatcher, { caller: partition, vp, scratchGpa: FUZZ_SCRATCH_GPA });
      this.runners.set(key, r);
    }
    return r;
  }

  /** Records of one caller through one BatchRunner.run, `misalign` bytes into the buffer (0..3). */
  private records(steps: readonly Extract<Step, { kind: "record" }>[]): void {
    const first = steps[0]!;
    const misalign = this.batches++ % 4;
    const bytes = new Uint8Array(misalign + steps.length * RECORD_SIZE);
    steps.forEach((s, k) => {
      bytes.set(encodeRecord(s.control, s.input), misalign + k * RECORD_SIZE);
    });
    const results = new Uint32Array(steps.length * RESULT_WORDS);
    const index = this.index;
    this.index += steps.length;
    // With a probe there is one record per run: the model answers it first (see op()).
    const lines: ModelLine[] = [];
    if (this.probe !== undefined) {
      lines.push(this.modelRecord(first));
      this.probe.before(lines[0]!.status === "HV_STATUS_SUCCESS");
    }
    this.listener.caller = first.partition;
    let n: number;
    try {
      n = this.runner(first.partition, first.vp).run(
        bytes.subarray(misalign),
        results,
        this.statusCounts,
      );
    } catch (error) {
      throw new Error(
        `steps ${index}..: BatchRunner.run threw ${error instanceof Error ? error.stack : String(error)}`,
      );
    }
    steps.forEach((s, k) => {
      const lo = results[k * RESULT_WORDS]!;
      const hi = results[k * RESULT_WORDS + 1]!;
      this.expectedCounts.set(lo, (this.expectedCounts.get(lo) ?? 0) + 1);
      const line = lines[k] ?? this.modelRecord(s);
      const what = `record step ${index + k}: ${describe(s)}`;
      if (n !== steps.length || !resultReservedBitsClear(lo, hi))
        throw new Error(`${what}: BatchRunner result (${lo}, ${hi}), ran ${n} of ${steps.length}`);
      const got = { status: hvStatusName(lo), result: formatU64Hex(lo, hi) };
      if (canonicalJson(got) !== canonicalJson({ status: line.status, result: line.result })) {
        throw new Error(
          `${what}\n  real  ${canonicalJson(got)}\n  model ${comparable(line)} (${line.detail ?? ""})`,
        );
      }
      this.mirrorListener(line);
      this.probe?.after({
        what,
        code: Number(s.control & 0xffffn),
        status: line.status!,
        detail: line.detail,
      });
    });
    for (const [status, want] of this.expectedCounts) {
      if (this.statusCounts[status] !== want) {
        throw new Error(
          `BatchRunner counted ${this.statusCounts[status]} x status ${status}, not ${want}`,
        );
      }
    }
  }

  /** The final state of every VP, real (finalState, from dumpScenario) against the model's. */
  assertSameState(when: string): void {
    this.listener.check(when);
    const real = finalState(this.machine);
    const model = this.model.finalState();
    const got = real.map(canonicalJson);
    const want = model.map(canonicalJson);
    for (let i = 0; i < Math.max(got.length, want.length); i++) {
      if (got[i] !== want[i]) {
        throw new Error(
          `${when}: state of VP #${i} differs\n  real  ${got[i]}\n  model ${want[i]}`,
        );
      }
    }
  }
}

function sameCaller(s: Step, first: Extract<Step, { kind: "record" }>): boolean {
  return s.kind === "record" && s.partition === first.partition && s.vp === first.vp;
}

/** Runs a whole case and checks the final state. */
export function runCase(c: TraceCase, options: RunnerOptions = {}): TraceRunner {
  const r = new TraceRunner(c, options);
  r.runAll(c.steps);
  r.assertSameState("at the end");
  return r;
}
