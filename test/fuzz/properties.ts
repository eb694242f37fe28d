/**
 * The fuzz properties, shared by the CI tests (test/fuzz/*.test.ts, small budgets) and the
 * campaign (`npm run fuzz`, scripts/fuzz.ts, huge run counts). No vitest in here.
 */
import fc from "fast-check";
import { type Cmd, commandsArb, commandsAsCase, runCommands } from "./commands.js";
import { runCase } from "./harness.js";
import { type StepSpec, stepSpecArb, type Who } from "./op-arb.js";
import {
  type ControlCallSpec,
  controlCallArb,
  controlSteps,
  type RandomOp,
  type RecordSpec,
  randomOpArb,
  randomSteps,
  recordSpecArb,
  recordSteps,
} from "./random-ops.js";
import { defaultsOf, Resolver, resolveCase } from "./resolve.js";
import { SafetyProbe } from "./safety.js";
import { scenarioArb, weighted } from "./scenario-arb.js";
import { checkScenarioText, scenarioTextArb } from "./scenario-text.js";
import type { ListenerMode, ScenarioFile, Step, TraceCase } from "./scenario-types.js";
import type { Tally } from "./tally.js";
import { checkTraceLine, checkTraceRecord, traceLineArb, traceRecordArb } from "./trace-text.js";

export interface FuzzProperty<T> {
  readonly name: string;
  readonly arbitrary: fc.Arbitrary<T>;
  /** Runs one generated value; throws on a violation. Counts calls in `tally`. */
  run(value: T, tally: Tally): void;
  /** The trace case of a value (for a golden fixture), when the value has one. */
  toCase?(value: T): TraceCase | undefined;
}

/** fc.property over a FuzzProperty. */
export function propertyOf<T>(p: FuzzProperty<T>, tally: Tally): fc.IProperty<[T]> {
  return fc.property(p.arbitrary, (value) => p.run(value, tally));
}

// ---------------------------------------------------------------------------------------------
// 1. Differential: random traces through every front end vs the trace model
// ---------------------------------------------------------------------------------------------

export interface TraceSpec {
  scenario: ScenarioFile;
  steps: StepSpec[];
  listener: ListenerMode;
}

const listenerArb = weighted<ListenerMode>(
  [8, fc.constant("none")],
  [1, fc.constantFrom<ListenerMode>("quiet", "throw", "mask", "deactivate", "revoke")],
);

export function traceSpecArb(maxSteps: number, hostWeight = 1): fc.Arbitrary<TraceSpec> {
  return fc.record({
    scenario: scenarioArb,
    steps: fc.array(stepSpecArb(hostWeight), { minLength: 1, maxLength: maxSteps, size: "max" }),
    listener: listenerArb,
  });
}

export function differentialProperty(maxSteps: number): FuzzProperty<TraceSpec> {
  const toCase = (v: TraceSpec): TraceCase => ({
    ...resolveCase(v.scenario, v.steps),
    listener: v.listener,
  });
  return {
    name: "differential",
    arbitrary: traceSpecArb(maxSteps),
    run(value, tally) {
      runCase(toCase(value), { tally });
    },
    toCase,
  };
}

// ---------------------------------------------------------------------------------------------
// 2. Model-based: fc.commands, guest ops and host actions, state checks along the way
// ---------------------------------------------------------------------------------------------

export function modelBasedProperty(
  maxCommands: number,
): FuzzProperty<[ScenarioFile, Iterable<Cmd>]> {
  return {
    name: "model-based",
    arbitrary: fc.tuple(scenarioArb, commandsArb(maxCommands)),
    run([scenario, cmds], tally) {
      runCommands(scenario, cmds, tally);
    },
    toCase: ([scenario, cmds]) => commandsAsCase(scenario, cmds),
  };
}

// ---------------------------------------------------------------------------------------------
// 3. Safety: any record, any control value, random guest bytes — checked around every call
// ---------------------------------------------------------------------------------------------

function safetyCase(scenario: ScenarioFile, build: (r: Resolver) => Step[]): TraceCase {
  const defaults = defaultsOf(scenario);
  return { scenario, ...defaults, steps: build(new Resolver(scenario, defaults)) };
}

function runSafety(c: TraceCase, tally: Tally, listen: boolean): void {
  runCase(c, { tally, probe: (machine) => new SafetyProbe(machine, listen) });
}

const who: fc.Arbitrary<Who> = fc.record({ partitionPick: fc.nat(), vpPick: fc.nat() });

type RecordsValue = [ScenarioFile, Who, RecordSpec[], boolean];

export function recordsProperty(maxRecords: number): FuzzProperty<RecordsValue> {
  const toCase = ([scenario, base, records]: RecordsValue) =>
    safetyCase(scenario, (r) => recordSteps(r, base, records));
  return {
    name: "records",
    arbitrary: fc.tuple(
      scenarioArb,
      who,
      fc.array(recordSpecArb, { minLength: 1, maxLength: maxRecords, size: "max" }),
      fc.boolean(),
    ),
    // With a listener or without: with one, BatchRunner's SignalEvent kernel drops its route cache.
    run: (value, tally) => runSafety(toCase(value), tally, value[3]),
    toCase,
  };
}

export function controlsProperty(
  maxCalls: number,
): FuzzProperty<[ScenarioFile, Who, ControlCallSpec[]]> {
  const toCase = ([scenario, base, calls]: [ScenarioFile, Who, ControlCallSpec[]]) =>
    safetyCase(scenario, (r) => controlSteps(r, base, calls));
  return {
    name: "controls",
    arbitrary: fc.tuple(
      scenarioArb,
      who,
      fc.array(controlCallArb, { minLength: 1, maxLength: maxCalls, size: "max" }),
    ),
    run: (value, tally) => runSafety(toCase(value), tally, true),
    toCase,
  };
}

export function guestBytesProperty(maxOps: number): FuzzProperty<[ScenarioFile, RandomOp[]]> {
  const toCase = ([scenario, ops]: [ScenarioFile, RandomOp[]]) =>
    safetyCase(scenario, (r) => randomSteps(r, ops));
  return {
    name: "guest-bytes",
    arbitrary: fc.tuple(
      scenarioArb,
      fc.array(randomOpArb, { minLength: 1, maxLength: maxOps, size: "max" }),
    ),
    run: (value, tally) => runSafety(toCase(value), tally, true),
    toCase,
  };
}

// ---------------------------------------------------------------------------------------------
// 4. Scenario files: any text
// ---------------------------------------------------------------------------------------------

/** Counts of accepted / rejected scenario texts. */
export const scenarioTextCounts = { accepted: 0, rejected: 0 };

export function scenarioTextProperty(): FuzzProperty<string> {
  return {
    name: "scenario-text",
    arbitrary: scenarioTextArb,
    run(text) {
      const o = checkScenarioText(text);
      if (o.accepted) scenarioTextCounts.accepted++;
      else scenarioTextCounts.rejected++;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// 5. Trace files: any line, any binary record
// ---------------------------------------------------------------------------------------------

/** Counts of trace lines / records read as an op, and rejected (or not whole). */
export const traceTextCounts = { accepted: 0, rejected: 0 };

export function traceTextProperty(): FuzzProperty<string | [Uint8Array, Uint8Array]> {
  return {
    name: "trace-text",
    arbitrary: fc.oneof<fc.Arbitrary<string | [Uint8Array, Uint8Array]>[]>(
      traceLineArb,
      traceRecordArb,
    ),
    run(value) {
      const o = typeof value === "string" ? checkTraceLine(value) : checkTraceRecord(...value);
      if (o.accepted) traceTextCounts.accepted++;
      else traceTextCounts.rejected++;
    },
  };
}
