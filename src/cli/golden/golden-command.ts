/**
 * `hvcall golden run|update|new` (docs/golden-fixtures.md): golden suites for users.
 *  - run DIR: every fixture of DIR, pass or fail, with a diff of what changed; exit 0 / 3;
 *  - update DIR: rewrites the expectations from the current answers and prints the diffs;
 *  - new --scenario S TRACE: captures a new fixture on stdout.
 * hvcall's own fixtures/golden/ suite runs through the same code (npm test, npm run fixtures:update).
 */
import { basename, extname } from "node:path";
import { Dispatcher } from "../../dispatch/dispatcher.js";
import { loadMachine } from "../../state/load-machine.js";
import { TraceEngine } from "../../trace/trace-engine.js";
import { formatTraceOp } from "../../trace/trace-jsonl.js";
import { TraceError, TraceOp } from "../../trace/trace-op.js";
import { CliUsageError, ExitCode, quote } from "../cli-error.js";
import { writeFileAtomically } from "../output-file.js";
import { traceUsageError } from "../run.js";
import { readScenarioText, resolveCaller, scenarioOfText } from "../session.js";
import { out } from "../stdio.js";
import { unifiedDiff } from "../text-diff.js";
import { openTraceReader } from "../trace-reader.js";
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

/** `golden run DIR`. */
export async function runGoldenRun(dir: string): Promise<number> {
  const paths = await fixturePaths(dir);
  if (paths.length === 0)
    throw new CliUsageError(`golden run: ${quote(dir)} holds no .json fixtures`);
  let failed = 0;
  for (const path of paths) {
    const o = await evaluate(path, true);
    const name = basename(path);
    if (o.before === o.after && o.changedOnFailure.length === 0) {
      out(`ok    ${name}\n`);
      continue;
    }
    failed++;
    out(`FAIL  ${name}\n`);
    for (const i of o.changedOnFailure)
      out(`      trace[${i}] failed and yet changed the machine's state\n`);
    if (o.before !== o.after)
      out(unifiedDiff(o.before, o.after, `${name} (expected)`, `${name} (hvcall)`));
  }
  out(`golden: ${paths.length} fixtures, ${paths.length - failed} passed, ${failed} failed\n`);
  return failed === 0 ? ExitCode.Success : ExitCode.Disagree;
}

/** `golden update DIR`. */
export async function runGoldenUpdate(dir: string, options: GoldenUpdateOptions): Promise<number> {
  const paths = await fixturePaths(dir);
  const changed: string[] = [];
  const broken: string[] = [];
  for (const path of paths) {
    const o = await evaluate(path, false);
    if (o.changedOnFailure.length > 0) {
      broken.push(`${basename(path)} (trace[${o.changedOnFailure.join("], trace[")}])`);
      continue;
    }
    if (o.before === o.after) continue;
    changed.push(path);
    out(unifiedDiff(o.before, o.after, basename(path), basename(path)));
    if (options.check !== true) await writeFileAtomically("golden update", path, o.after);
  }
  const verb = options.check === true ? "would change" : "changed";
  out(`golden: ${paths.length} fixtures, ${changed.length} ${verb}\n`);
  if (broken.length > 0) {
    // A failed call that changes state is a bug of the library: never written into expectations.
    throw new Error(
      `a failed call changed the machine's state in ${broken.join(", ")}: not rewritten`,
    );
  }
  return options.check === true && changed.length > 0 ? ExitCode.Disagree : ExitCode.Success;
}

/** `golden new --scenario S TRACE`: a fixture with hvcall's answers, on stdout. */
export async function runGoldenNew(tracePath: string, options: GoldenNewOptions): Promise<number> {
  if (options.scenario === "-" && tracePath === "-") {
    throw new CliUsageError("golden new: the scenario and the trace cannot both be stdin");
  }
  const text = await readScenarioText(options.scenario);
  const doc = scenarioOfText(text);
  const { caller, vp } = resolveCaller(doc, options.caller, options.vp, false);
  // The fixture embeds the scenario as the file gives it (validated just above).
  const scenario: unknown = JSON.parse(text.replace(/^\ufeff/, ""));
  const reader = await openTraceReader(tracePath);
  const op = new TraceOp();
  const trace: Record<string, unknown>[] = [];
  // Ops naming a partition or VP the scenario lacks are reported at their line, as `run` does.
  const machine = loadMachine(doc);
  const engine = new TraceEngine(
    machine,
    new Dispatcher(machine),
    { partition: caller, vp },
    false,
  );
  try {
    for (;;) {
      while (reader.take(op)) {
        engine.resolve(op, reader);
        trace.push(JSON.parse(formatTraceOp(op)) as Record<string, unknown>);
      }
      if (!(await reader.fill())) break;
    }
  } catch (error) {
    if (error instanceof TraceError) throw traceUsageError(error, reader, undefined);
    throw error;
  } finally {
    await reader.close();
  }
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
