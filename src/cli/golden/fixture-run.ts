/**
 * Running a golden fixture: its trace, op by op, through the same engine as `hvcall run`, on a
 * fresh machine; and its expectations in the shape a run gives, for comparing and rewriting.
 */
import { HvStatus } from "../../abi/hv-status.js";
import { outcomeStatus } from "../../abi/hypercall-result.js";
import { formatU64Hex } from "../../abi/u64.js";
import { Dispatcher } from "../../dispatch/dispatcher.js";
import { loadMachine } from "../../state/load-machine.js";
import type { Machine } from "../../state/machine.js";
import { dumpScenario } from "../../state/scenario-dump.js";
import { bytesHex } from "../../text/hex-text.js";
import { TraceEngine, TraceResult } from "../../trace/trace-engine.js";
import { parseTraceObject } from "../../trace/trace-jsonl.js";
import { TraceError, TraceOpCode } from "../../trace/trace-op.js";
import {
  type FinalVpState,
  FixtureError,
  type GoldenFixture,
  type OpExpectation,
  scenarioOf,
} from "./fixture.js";

/** What running a fixture gives, in the shape of its expectations. */
export interface FixtureRun {
  readonly ops: readonly OpExpectation[];
  readonly final: readonly FinalVpState[];
  /** Indexes of hypercall ops that failed and yet changed the machine's state (must be none). */
  readonly failedCallsThatChangedState: readonly number[];
}

/** Every VP's final state, as `--dump-state` writes it. */
export function finalState(machine: Machine): FinalVpState[] {
  return finalStateOfDump(dumpScenario(machine));
}

/** The final VP states a dump holds (dumpScenario, or a `--dump-state` file), VP by VP. */
export function finalStateOfDump(dump: ReturnType<typeof dumpScenario>): FinalVpState[] {
  return dump.partitions.flatMap((p) =>
    p.vps.map((vp) => ({
      partition: p.id,
      vp: vp.index,
      siefFlags: vp.siefFlags,
      sintAssertions: vp.sintAssertions,
      simSlots: vp.simSlots,
      queuedMessages: vp.queuedMessages,
    })),
  );
}

/**
 * Runs the trace in order against a fresh machine. Throws a {@link FixtureError} for host
 * mistakes in the fixture (an op naming a partition or VP the scenario lacks); every guest-side
 * value gets an answer.
 */
export function runFixture(fixture: GoldenFixture, where = `${fixture.name}.json`): FixtureRun {
  const doc = scenarioOf(fixture, where);
  const machine = loadMachine(doc);
  const dispatcher = new Dispatcher(machine);
  const defaults = { partition: fixture.caller ?? doc.partitions[0]!.id, vp: fixture.vp ?? 0 };
  const engine = new TraceEngine(machine, dispatcher, defaults, true);
  const result = new TraceResult();
  const ops: OpExpectation[] = [];
  const changed: number[] = [];
  fixture.trace.forEach((entry, i) => {
    const at = `trace[${i}]`;
    try {
      const op = parseTraceObject(entry.op, at);
      const before = op.code === TraceOpCode.hypercall ? machine.snapshot() : undefined;
      engine.run(op, { where: at }, result);
      if (op.code === TraceOpCode.hypercall) {
        if (outcomeStatus(result.outcome) !== HvStatus.SUCCESS && !machine.equals(before!))
          changed.push(i);
        ops.push({
          status: result.statusName,
          result: formatU64Hex(result.resultLo, result.resultHi),
          check: result.check,
        });
      } else if (result.action !== "ok") {
        ops.push({ outcome: result.action });
      } else if (op.code === TraceOpCode.read) {
        ops.push({ outcome: "ok", hex: bytesHex(result.bytes!) });
      } else if (op.code === TraceOpCode.rdmsr) {
        ops.push({ outcome: "ok", value: formatU64Hex(result.valueLo, result.valueHi) });
      } else {
        ops.push({ outcome: "ok" });
      }
    } catch (error) {
      if (error instanceof TraceError) {
        const field = error.field.replace(/ \(--\w+\)$/, "");
        const path = error.field.endsWith("(--caller)")
          ? "caller"
          : error.field.endsWith("(--vp)")
            ? "vp"
            : `${at}.${field}`;
        throw new FixtureError(where, path, error.reason);
      }
      throw error;
    }
  });
  return { ops, final: finalState(machine), failedCallsThatChangedState: changed };
}

/** What the fixture expects, in the shape {@link runFixture} returns (for a deep comparison). */
export function expectedRun(fixture: GoldenFixture): FixtureRun {
  return {
    ops: fixture.trace.map((e) => e.expect ?? { outcome: "(no expectation)" }),
    final: fixture.expectFinal ?? [],
    failedCallsThatChangedState: [],
  };
}

/**
 * The run's answers as the fixture would state them: an expectation without `check` is compared
 * without it (a fixture from another tool may leave checks out).
 */
export function comparableRun(fixture: GoldenFixture, run: FixtureRun): FixtureRun {
  return {
    ...run,
    ops: run.ops.map((op, i) => {
      const want = fixture.trace[i]?.expect;
      if ("status" in op && want !== undefined && "status" in want && want.check === undefined) {
        return { status: op.status, result: op.result };
      }
      return op;
    }),
  };
}

/** The fixture with its expectations replaced by what a run gave (golden update, golden new). */
export function withExpectations(fixture: GoldenFixture, run: FixtureRun): GoldenFixture {
  return {
    ...fixture,
    trace: fixture.trace.map((e, i) => ({ ...e, expect: run.ops[i]! })),
    expectFinal: run.final,
  };
}
