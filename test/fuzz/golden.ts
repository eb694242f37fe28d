/**
 * Saves a failing fuzz case as a golden fixture (fixtures/golden/fuzz-<seed>.json, the format of
 * fixtures/README.md, through the fixture module of src/cli: the same validation and file layout
 * as every other fixture). The expectations come from the test model, written from
 * shared/spec/signal-event.md: the fixture says what the spec requires, so it fails until the bug
 * the campaign found is fixed, and keeps it fixed afterwards.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hvStatusName } from "../../src/abi/hv-status.js";
import {
  expectedRun,
  type FinalVpState,
  type FixtureCall,
  formatFixture,
  type GoldenFixture,
  parseFixture,
  runFixture,
} from "../../src/cli/golden-fixture.js";
import { buildModel, modelFinalState, modelHypercall } from "../model/signal-event-model.js";
import { type Case, formatHex64, isFast } from "./cases.js";
import { canonicalJson } from "./harness.js";

/**
 * The fixture for a case. Every call is replayed the way the fixture runner does it — RDX as given,
 * a memory call's block read from the scenario's memory — on the model, which gives the expected
 * statuses, result values and final state.
 */
export function fixtureOf(c: Case, name: string, description: string): GoldenFixture {
  const model = buildModel(c.scenario);
  const calls = c.calls.map((call): FixtureCall => {
    const o = modelHypercall(model, c.caller, call.control, call.rdx);
    const input = isFast(call.control)
      ? { fast: formatHex64(call.rdx) }
      : { inputGpa: formatHex64(call.rdx) };
    return {
      control: formatHex64(call.control),
      ...input,
      expect: { status: hvStatusName(o.status), result: formatHex64(BigInt(o.status)) },
    };
  });
  const final = modelFinalState(model);
  const expectFinal: FinalVpState[] = c.scenario.partitions.flatMap((p) =>
    [...(p.vps ?? [])]
      .sort((a, b) => a.index - b.index)
      .map((vp) => ({ partition: p.id, vp: vp.index, ...final[String(p.id)]![String(vp.index)]! })),
  );
  const fixture = {
    name,
    description,
    scenario: c.scenario,
    caller: c.caller,
    vp: c.vp,
    calls,
    expectFinal,
  };
  return parseFixture(JSON.parse(JSON.stringify(fixture)), `${name}.json`);
}

/**
 * What the fixture runner says about the fixture with the current code, through both of its APIs:
 * undefined when the implementation meets every expectation, else the first difference.
 */
export function fixtureDisagreement(fixture: GoldenFixture): string | undefined {
  const want = expectedRun(fixture);
  for (const api of ["hypercall", "dispatch"] as const) {
    const got = runFixture(fixture, { api });
    const i = got.calls.findIndex((c, k) => canonicalJson(c) !== canonicalJson(want.calls[k]));
    if (i >= 0) {
      return `via ${api}(): call ${i} got ${got.calls[i]!.status}, the spec requires ${want.calls[i]!.status}`;
    }
    if (got.failedCallsThatChangedState.length > 0) {
      return `via ${api}(): failed call ${got.failedCallsThatChangedState[0]} changed the machine's state`;
    }
    if (canonicalJson(got.final) !== canonicalJson(want.final)) {
      return `via ${api}(): the final SIEF flags / assertion counts differ`;
    }
  }
  return undefined;
}

/** Writes fixtures/golden/fuzz-<seed>.json under `root`; returns the path and what fails. */
export function saveFixture(
  root: string,
  seed: number,
  c: Case,
  what: string,
): { path: string; disagreement: string | undefined } {
  const name = `fuzz-${seed}`;
  const base = `Found by \`npm run fuzz\` (${what}, seed ${seed}) and shrunk by fast-check. The expectations are the test model's (test/model, written from shared/spec/signal-event.md).`;
  const draft = fixtureOf(c, name, base);
  const disagreement = fixtureDisagreement(draft);
  const description =
    disagreement !== undefined
      ? `${base} When it was found the implementation disagreed ${disagreement}.`
      : `${base} Through the fixture runner the implementation met these expectations; the failure went through another front end (BatchRunner) or a property the fixture cannot express — see the campaign's output.`;
  const fixture = { ...draft, description };
  const dir = join(root, "fixtures", "golden");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  writeFileSync(path, formatFixture(fixture));
  return { path, disagreement };
}
