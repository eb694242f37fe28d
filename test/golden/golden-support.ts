/**
 * The golden fixtures (fixtures/golden/*.json, format v2) loaded once, and a second way to run
 * one: every hypercall op through the per-call library API `hypercall()` instead of the trace
 * engine's `Dispatcher.dispatch`, so that both paths are held to the same expectations.
 */
import { join } from "node:path";
import { expect } from "vitest";
import { hvStatusName } from "../../src/abi/hv-status.js";
import { formatU64Hex, halvesToU64 } from "../../src/abi/u64.js";
import {
  type FinalVpState,
  fixturePaths,
  type GoldenFixture,
  loadFixture,
  type OpExpectation,
  scenarioOf,
} from "../../src/cli/golden/fixture.js";
import { type FixtureRun, finalState, finalStateOfDump } from "../../src/cli/golden/fixture-run.js";
import { Dispatcher } from "../../src/dispatch/dispatcher.js";
import { hypercall } from "../../src/dispatch/hypercall.js";
import { loadMachine } from "../../src/state/load-machine.js";
import { bytesHex } from "../../src/text/hex-text.js";
import { TraceEngine, TraceResult } from "../../src/trace/trace-engine.js";
import { parseTraceObject } from "../../src/trace/trace-jsonl.js";
import { NOT_GIVEN, TraceOpCode } from "../../src/trace/trace-op.js";
import { ROOT } from "../cli/cli-harness.js";

export const GOLDEN_DIR = join(ROOT, "fixtures", "golden");
export const goldenPaths = await fixturePaths(GOLDEN_DIR);
export const fixtures: readonly GoldenFixture[] = await Promise.all(
  goldenPaths.map((p) => loadFixture(p)),
);
const byName = new Map(fixtures.map((f) => [f.name, f]));

export function fixture(name: string): GoldenFixture {
  const f = byName.get(name);
  if (f === undefined) throw new Error(`no golden fixture ${name}`);
  return f;
}

/** A run of a fixture, plus the failed guest actions (#GP, unbacked) that changed the state. */
export interface PerCallRun extends FixtureRun {
  readonly failedActionsThatChangedState: readonly number[];
}

/**
 * Runs the fixture's trace on a fresh machine: hypercall ops through `hypercall()` (BigInt
 * registers, explain on), the other ops through the trace engine. The same shape as runFixture.
 */
export function runPerCall(f: GoldenFixture): PerCallRun {
  const doc = scenarioOf(f, `${f.name}.json`);
  const machine = loadMachine(doc);
  const dispatcher = new Dispatcher(machine);
  const defaults = { partition: f.caller ?? doc.partitions[0]!.id, vp: f.vp ?? 0 };
  const engine = new TraceEngine(machine, dispatcher, defaults, false);
  const result = new TraceResult();
  const ops: OpExpectation[] = [];
  const changed: number[] = [];
  const actionsChanged: number[] = [];
  f.trace.forEach((entry, i) => {
    const op = parseTraceObject(entry.op, `trace[${i}]`);
    const before = machine.snapshot();
    if (op.code === TraceOpCode.hypercall) {
      const o = hypercall(
        dispatcher,
        {
          caller: op.partition === NOT_GIVEN ? defaults.partition : op.partition,
          vp: op.vp === NOT_GIVEN ? defaults.vp : op.vp,
          control: halvesToU64(op.controlLo, op.controlHi),
          input: halvesToU64(op.rdxLo, op.rdxHi),
          input2: halvesToU64(op.r8Lo, op.r8Hi),
        },
        { explain: true },
      );
      expect(o.statusName).toBe(hvStatusName(o.status));
      expect(o.result).toBe(halvesToU64(o.resultLo, o.resultHi));
      if (o.status !== 0 && !machine.equals(before)) changed.push(i);
      ops.push({
        status: o.statusName,
        result: formatU64Hex(o.resultLo, o.resultHi),
        check: o.check ?? "(none)",
      });
      return;
    }
    engine.run(op, { where: `trace[${i}]` }, result);
    if (result.action !== "ok") {
      if (!machine.equals(before)) actionsChanged.push(i);
      ops.push({ outcome: result.action });
    } else if (op.code === TraceOpCode.read)
      ops.push({ outcome: "ok", hex: bytesHex(result.bytes!) });
    else if (op.code === TraceOpCode.rdmsr)
      ops.push({ outcome: "ok", value: formatU64Hex(result.valueLo, result.valueHi) });
    else ops.push({ outcome: "ok" });
  });
  return {
    ops,
    final: finalState(machine),
    failedCallsThatChangedState: changed,
    failedActionsThatChangedState: actionsChanged,
  };
}

/** The final VP states a `--dump-state` file holds, in the shape of a fixture's expectFinal. */
export function finalOfDump(dump: unknown): FinalVpState[] {
  return finalStateOfDump(dump as Parameters<typeof finalStateOfDump>[0]);
}

/** The trace of a fixture as JSON Lines, as `hvcall run` reads it. */
export function traceText(f: GoldenFixture): string {
  return f.trace.map((e) => `${JSON.stringify(e.op)}\n`).join("");
}

/** The `run` line a fixture's expectation stands for (with --explain when it names a check). */
export function expectedLine(
  index: number,
  op: string,
  want: OpExpectation | undefined,
): Record<string, unknown> {
  return { index, op, ...want };
}
