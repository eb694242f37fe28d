/**
 * The counterexample path of the campaign, exercised without a bug: a fuzz case becomes a v2
 * golden fixture that the fixture module of src/cli accepts, and that the current code passes
 * exactly when it agrees with the trace model — and fails, naming the op, when an expectation is
 * wrong. A case with host actions has no fixture form.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FIXTURE_FORMAT, type FixtureEntry, parseFixture } from "../../src/cli/golden/fixture.js";
import { fixtureDisagreement, fixtureOf, saveFixture } from "./golden.js";
import { traceSpecArb } from "./properties.js";
import { resolveCase } from "./resolve.js";
import type { TraceCase } from "./scenario-types.js";

/** A generated case without host actions that makes at least one hypercall. */
function sampleCase(seed: number): TraceCase {
  for (const spec of fc.sample(traceSpecArb(12, 0), { numRuns: 50, seed })) {
    const c = resolveCase(spec.scenario, spec.steps);
    if (c.steps.some((s) => s.kind === "record" || (s.kind === "op" && s.op.op === "hypercall")))
      return c;
  }
  throw new Error("no case with a hypercall");
}

describe("fuzz counterexamples as golden fixtures", () => {
  it("a generated case gives a valid fixture that the current code passes", () => {
    fc.assert(
      fc.property(traceSpecArb(20, 0), (spec) => {
        const c = resolveCase(spec.scenario, spec.steps);
        const fixture = fixtureOf(c, "fuzz-1", "test");
        if (c.steps.length === 0) return;
        expect(fixture).toBeDefined();
        expect(fixtureDisagreement(fixture!)).toBeUndefined();
      }),
      { numRuns: 60 },
    );
  });

  it("record steps become a write to the scratch page, which the fixture's scenario backs", () => {
    const c: TraceCase = {
      scenario: { partitions: [{ id: 1, privileges: ["SignalEvents"], vps: [{ index: 0 }] }] },
      caller: 1,
      vp: 0,
      steps: [{ kind: "record", partition: 1, vp: 0, control: 0x5dn, input: 0x14n }],
    };
    const f = fixtureOf(c, "fuzz-2", "test")!;
    expect(f.trace.map((e) => e.op.op)).toEqual(["write", "hypercall"]);
    expect(f.trace[1]!.expect).toEqual({
      status: "HV_STATUS_INVALID_CONNECTION_ID",
      result: "0x0000000000000012",
      check: "signal-event.6",
    });
    expect(JSON.stringify(f.scenario)).toContain('"gpa":"0x100000000"');
    expect(fixtureDisagreement(f)).toBeUndefined();
  });

  it("a case with host actions has no fixture form", () => {
    const c: TraceCase = {
      ...sampleCase(3),
      steps: [
        { kind: "host", action: { host: "setPartitionActive", partition: 1, active: false } },
      ],
    };
    expect(fixtureOf(c, "fuzz-3", "test")).toBeUndefined();
    expect(saveFixture(tmpdir(), 3, c, "test")).toBeUndefined();
  });

  it("a wrong expectation is reported, and the saved file loads back", () => {
    const c = sampleCase(5);
    const good = fixtureOf(c, "fuzz-5", "test")!;
    const i = good.trace.findIndex((e) => e.op.op === "hypercall");
    const entry = good.trace[i]!;
    const want = entry.expect as { status: string; result: string; check: string };
    const wrong =
      want.status === "HV_STATUS_SUCCESS" ? "HV_STATUS_ACCESS_DENIED" : "HV_STATUS_SUCCESS";
    const trace: FixtureEntry[] = good.trace.map((e, k) =>
      k === i ? { ...e, expect: { ...want, status: wrong } } : e,
    );
    expect(fixtureDisagreement({ ...good, trace })).toMatch(
      new RegExp(`at trace\\[${i}\\]: got .*HV_STATUS_\\w+.*, the spec requires .*${wrong}`),
    );

    const root = mkdtempSync(join(tmpdir(), "hvcall-fuzz-"));
    try {
      const saved = saveFixture(root, 5, c, "test")!;
      expect(saved.path).toBe(join(root, "fixtures", "golden", "fuzz-5.json"));
      expect(saved.disagreement).toBeUndefined();
      const json = JSON.parse(readFileSync(saved.path, "utf8")) as { format: string };
      expect(json.format).toBe(FIXTURE_FORMAT);
      const loaded = parseFixture(json, saved.path);
      expect(loaded.trace).toEqual(good.trace);
      expect(loaded.expectFinal).toEqual(good.expectFinal);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
