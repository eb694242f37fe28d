/**
 * Saves a failing fuzz case as a golden fixture (format v2, fixtures/golden/fuzz-<seed>.json),
 * through the fixture module of src/cli (parseFixture validates it, formatFixture lays it out): the
 * same format and checks as every other fixture. The expectations come from the trace model,
 * written from shared/spec: the fixture says what the spec requires, so it fails until the bug the
 * campaign found is fixed, and keeps it fixed afterwards.
 *
 * A case has a fixture form when it has no host actions and no listener that changes the machine
 * (a trace cannot say those). Its record
 * steps (BatchRunner) become the ops they stand for — a write of the 8 input bytes to the scratch
 * GPA, which the fixture's scenario backs, and the hypercall.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  FIXTURE_FORMAT,
  formatFixture,
  type GoldenFixture,
  type OpExpectation,
  parseFixture,
} from "../../src/cli/golden/fixture.js";
import { comparableRun, expectedRun, runFixture } from "../../src/cli/golden/fixture-run.js";
import { TraceModel } from "../model/trace-model.js";
import { canonicalJson, modelScenario, recordOps } from "./harness.js";
import type { TraceCase, TraceOpJson } from "./scenario-types.js";

/** The case's guest trace (records as their ops), or undefined when it has host actions. */
export function traceOf(
  c: TraceCase,
): { scenario: TraceCase["scenario"]; ops: TraceOpJson[] } | undefined {
  // Host actions, and a listener that changes the machine, are host code: a trace cannot say them.
  if (c.steps.some((s) => s.kind === "host")) return undefined;
  if (c.listener === "mask" || c.listener === "deactivate" || c.listener === "revoke")
    return undefined;
  const hasRecords = c.steps.some((s) => s.kind === "record");
  const ops = c.steps.flatMap((s) =>
    s.kind === "op" ? [s.op] : s.kind === "record" ? recordOps(s) : [],
  );
  return { scenario: hasRecords ? modelScenario(c.scenario) : c.scenario, ops };
}

/** The fixture of a case, with the model's expectations; undefined when the case has none. */
export function fixtureOf(
  c: TraceCase,
  name: string,
  description: string,
): GoldenFixture | undefined {
  const t = traceOf(c);
  if (t === undefined || t.ops.length === 0) return undefined;
  const model = new TraceModel(t.scenario);
  const defaults = { partition: c.caller, vp: c.vp };
  const trace = t.ops.map((op, i) => {
    const line = model.step(op, i, defaults);
    const expect: OpExpectation =
      line.op === "hypercall"
        ? { status: line.status!, result: line.result!, check: line.check! }
        : {
            outcome: line.outcome!,
            ...(line.hex === undefined ? {} : { hex: line.hex }),
            ...(line.value === undefined ? {} : { value: line.value }),
          };
    return { ...op, expect };
  });
  const json = {
    format: FIXTURE_FORMAT,
    name,
    description,
    scenario: t.scenario,
    caller: c.caller,
    vp: c.vp,
    trace,
    expectFinal: model.finalState(),
  };
  return parseFixture(JSON.parse(JSON.stringify(json)), `${name}.json`);
}

/**
 * What the fixture runner (the `hvcall golden run` path) says about the fixture with the current
 * code: undefined when the implementation meets every expectation, else the first difference.
 */
export function fixtureDisagreement(fixture: GoldenFixture): string | undefined {
  const want = expectedRun(fixture);
  const got = comparableRun(fixture, runFixture(fixture));
  const i = got.ops.findIndex((op, k) => canonicalJson(op) !== canonicalJson(want.ops[k]));
  if (i >= 0) {
    return `at trace[${i}]: got ${canonicalJson(got.ops[i])}, the spec requires ${canonicalJson(want.ops[i])}`;
  }
  if (got.failedCallsThatChangedState.length > 0) {
    return `the failed call at trace[${got.failedCallsThatChangedState[0]}] changed the machine's state`;
  }
  const v = got.final.findIndex((f, k) => canonicalJson(f) !== canonicalJson(want.final[k]));
  if (v >= 0 || got.final.length !== want.final.length) {
    const k = v >= 0 ? v : Math.min(got.final.length, want.final.length);
    return `in the final state of VP #${k}: got ${canonicalJson(got.final[k])}, the spec requires ${canonicalJson(want.final[k])}`;
  }
  return undefined;
}

/**
 * Writes fixtures/golden/fuzz-<seed>.json under `root`; returns the path and what fails, or
 * undefined when the case has no fixture form (host actions).
 */
export function saveFixture(
  root: string,
  seed: number,
  c: TraceCase,
  what: string,
): { path: string; disagreement: string | undefined } | undefined {
  const name = `fuzz-${seed}`;
  const base = `Found by \`npm run fuzz\` (${what}, seed ${seed}) and shrunk by fast-check. The expectations are the trace model's (test/model/trace-model.ts, written from shared/spec).`;
  const draft = fixtureOf(c, name, base);
  if (draft === undefined) return undefined;
  const disagreement = fixtureDisagreement(draft);
  const description =
    disagreement !== undefined
      ? `${base} When it was found the implementation disagreed ${disagreement}.`
      : `${base} Through the fixture runner the implementation met these expectations; the failure went through another front end (BatchRunner, dispatch, hypercall()) or a safety check the fixture cannot express — see the campaign's output.`;
  const fixture: GoldenFixture = { ...draft, description };
  const dir = join(root, "fixtures", "golden");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  writeFileSync(path, formatFixture(fixture));
  return { path, disagreement };
}
