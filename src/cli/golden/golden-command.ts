/**
 * `hvcall golden run|update|new` (docs/golden-fixtures.md): golden suites for users.
 *  - run DIR: every fixture of DIR, pass or fail, with a diff of what changed; exit 0 / 3;
 *  - update DIR: rewrites the expectations from the current answers and prints the diffs;
 *    every fixture is read, checked and run first, so a failing update writes nothing;
 *  - new --scenario S TRACE: captures a new fixture on stdout.
 * hvcall's own fixtures/golden/ suite runs through the same code (npm test, npm run fixtures:update).
 */
import { basename, extname } from "node:path";
import { Dispatcher } from "../../dispatch/dispatcher.js";
import { loadMachine } from "../../state/load-machine.js";
import { TraceEngine } from "../../trace/trace-engine.js";
import { formatTraceOp } from "../../trace/trace-jsonl.js";
import { CliUsageError, ExitCode, quote } from "../cli-error.js";
import { writeFileAtomically } from "../output-file.js";
import { readWholeTrace } from "../run.js";
import { readScenarioText, resolveCaller, scenarioOfText } from "../session.js";
import { refuseTwoStdinInputs } from "../stdin-inputs.js";
import { flushStdout, out, stdoutFailure } from "../stdio.js";
import { unifiedDiff } from "../text-diff.js";
import {
  FIXTURE_FORMAT,
  fixturePaths,
  formatFixture,
  type GoldenFixture,
  loadFixture,
  parseFixture,
} from "./fixture.js";
import { comparableRun, runFixture, withExpectations } from "./fixture-run.js";

export interface GoldenUpdateOptions {
  /** Report what would change, write nothing (exit 3 when something would). */
  readonly check?: boolean;
}

export interface GoldenNewOptions {
  readonly scenario: string;
  readonly caller?: number;
  readonly vp?: number;
  readonly name?: string;
  readonly description?: string;
}

interface Outcome {
  readonly path: string;
  readonly fixture: GoldenFixture;
  readonly before: string;
  readonly after: string;
  readonly changedOnFailure: readonly number[];
}

async function evaluate(path: string, keepChecksAsGiven: boolean): Promise<Outcome> {
  const fixture = await loadFixture(path);
  const run = runFixture(fixture, path);
  const answers = keepChecksAsGiven ? comparableRun(fixture, run) : run;
  return {
    path,
    fixture,
    before: formatFixture(fixture),
    after: formatFixture(withExpectations(fixture, answers)),
    changedOnFailure: run.failedCallsThatChangedState,
  };
}

/** The fix an empty DIR's message names. */
const NEW_HINT = "hvcall golden new --scenario FILE TRACE > DIR/NAME.json";

/**
 * Every fixture of DIR loaded, validated and run before anything is printed or written: a run
 * that fails on bad input (exit 2) writes nothing and prints no diff (docs/golden-fixtures.md §1).
 * A DIR without fixtures is bad usage for run and update alike.
 */
async function evaluateAll(
  command: string,
  dir: string,
  keepChecksAsGiven: boolean,
): Promise<Outcome[]> {
  const paths = await fixturePaths(dir);
  if (paths.length === 0) {
    throw new CliUsageError(
      `golden ${command}: ${quote(dir)} holds no .json fixtures (capture one with: ${NEW_HINT})`,
    );
  }
  const outcomes: Outcome[] = [];
  for (const path of paths) outcomes.push(await evaluate(path, keepChecksAsGiven));
  return outcomes;
}

/** At most this many trace indexes are named in a "has no expect" line. */
const MISSING_SHOWN = 5;

/**
 * The line `golden run` prints for a fixture that leaves expectations out (the format allows it,
 * docs/golden-fixtures.md §2): such a fixture fails, and the line says how to fill them in.
 */
function missingExpectations(fixture: GoldenFixture): string | undefined {
  const missing = fixture.trace.flatMap((e, i) => (e.expect === undefined ? [`trace[${i}]`] : []));
  const parts: string[] = [];
  if (missing.length > 0) {
    const more = missing.length - MISSING_SHOWN;
    const named = missing.slice(0, MISSING_SHOWN).join(", ");
    parts.push(`no expect (${more > 0 ? `${named} and ${more} more` : named})`);
  }
  if (fixture.expectFinal === undefined) parts.push("no expectFinal");
  if (parts.length === 0) return undefined;
  const them = missing.length > 0 && fixture.expectFinal === undefined ? "them" : "it";
  return `has ${parts.join(" and ")}; run \`hvcall golden update\` to fill ${them} in`;
}

/** `golden run DIR`. */
export async function runGoldenRun(dir: string): Promise<number> {
  const outcomes = await evaluateAll("run", dir, true);
  let failed = 0;
  for (const o of outcomes) {
    const name = basename(o.path);
    if (o.before === o.after && o.changedOnFailure.length === 0) {
      out(`ok    ${name}\n`);
      continue;
    }
    failed++;
    out(`FAIL  ${name}\n`);
    const missing = missingExpectations(o.fixture);
    if (missing !== undefined) out(`      ${missing}\n`);
    for (const i of o.changedOnFailure)
      out(`      trace[${i}] failed and yet changed the machine's state\n`);
    if (o.before !== o.after)
      out(unifiedDiff(o.before, o.after, `${name} (expected)`, `${name} (hvcall)`));
  }
  const n = outcomes.length;
  out(`golden: ${n} fixtures, ${n - failed} passed, ${failed} failed\n`);
  return failed === 0 ? ExitCode.Success : ExitCode.Disagree;
}

/** `golden update DIR`: all or nothing, as far as bad input goes (see evaluateAll). */
export async function runGoldenUpdate(dir: string, options: GoldenUpdateOptions): Promise<number> {
  const outcomes = await evaluateAll("update", dir, false);
  const broken = outcomes
    .filter((o) => o.changedOnFailure.length > 0)
    .map((o) => `${basename(o.path)} (trace[${o.changedOnFailure.join("], trace[")}])`);
  if (broken.length > 0) {
    // A failed call that changes state is a bug of the library: never written into expectations,
    // and the run writes no other fixture either (exit 1).
    throw new Error(
      `a failed call changed the machine's state in ${broken.join(", ")}: nothing was rewritten`,
    );
  }
  const changed = outcomes.filter((o) => o.before !== o.after);
  for (const o of changed) out(unifiedDiff(o.before, o.after, basename(o.path), basename(o.path)));
  const verb = options.check === true ? "would change" : "changed";
  out(`golden: ${outcomes.length} fixtures, ${changed.length} ${verb}\n`);
  // The diffs are the record of what changes: when they cannot be shown (a closed pipe, a full
  // disk), nothing is rewritten (found in review: all were rewritten, and then exit 2).
  await flushStdout();
  const failure = stdoutFailure();
  if (failure !== undefined) throw new CliUsageError(`${failure}; no fixture was rewritten`);
  if (options.check !== true) {
    for (const o of changed) await writeFileAtomically("golden update", o.path, o.after);
  }
  return options.check === true && changed.length > 0 ? ExitCode.Disagree : ExitCode.Success;
}

/** `golden new --scenario S TRACE`: a fixture with hvcall's answers, on stdout. */
export async function runGoldenNew(tracePath: string, options: GoldenNewOptions): Promise<number> {
  refuseTwoStdinInputs([
    { label: "--scenario", path: options.scenario },
    { label: "trace", path: tracePath },
  ]);
  const text = await readScenarioText(options.scenario);
  const doc = scenarioOfText(text);
  const { caller, vp } = resolveCaller(doc, options.caller, options.vp, false);
  // The fixture embeds the scenario as the file gives it (validated just above).
  const scenario: unknown = JSON.parse(text.replace(/^\ufeff/, ""));
  const trace: Record<string, unknown>[] = [];
  // Ops naming a partition or VP the scenario lacks are reported at their line, as `run` does.
  const machine = loadMachine(doc);
  const engine = new TraceEngine(
    machine,
    new Dispatcher(machine),
    { partition: caller, vp },
    false,
  );
  await readWholeTrace(tracePath, (op, reader) => {
    engine.resolve(op, reader);
    trace.push(JSON.parse(formatTraceOp(op)) as Record<string, unknown>);
  });
  const name =
    options.name ??
    (tracePath === "-"
      ? "new-fixture"
      : basename(tracePath, extname(tracePath))
          .toLowerCase()
          .replace(/[^a-z0-9-]+/g, "-")
          .replace(/^-+/, "") || "new-fixture");
  const where = "golden new";
  const fixture = parseFixture(
    {
      format: FIXTURE_FORMAT,
      name,
      description:
        options.description ??
        `Captured by hvcall golden new from ${tracePath === "-" ? "stdin" : basename(tracePath)}.`,
      scenario,
      caller,
      vp,
      trace,
    },
    where,
  );
  out(formatFixture(withExpectations(fixture, runFixture(fixture, where))));
  return ExitCode.Success;
}
