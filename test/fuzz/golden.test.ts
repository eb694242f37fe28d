/**
 * The counterexample path of the campaign, exercised without a bug: a fuzz case becomes a golden
 * fixture that the fixture module of src/cli accepts, and that the current code passes exactly when
 * it agrees with the model — and fails, naming the call, when an expectation is wrong.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseFixture } from "../../src/cli/golden-fixture.js";
import { caseSpecArb } from "./arbitraries.js";
import { resolveCase } from "./cases.js";
import { fixtureDisagreement, fixtureOf, saveFixture } from "./golden.js";

describe("fuzz counterexamples as golden fixtures", () => {
  it("a generated case gives a valid fixture that the current code passes", () => {
    fc.assert(
      fc.property(caseSpecArb(20), (spec) => {
        const fixture = fixtureOf(resolveCase(spec), "fuzz-1", "test");
        expect(fixtureDisagreement(fixture)).toBeUndefined();
      }),
      { numRuns: 60 },
    );
  });

  it("a wrong expectation is reported, and the saved file loads back", () => {
    const [spec] = fc.sample(caseSpecArb(5), { numRuns: 1, seed: 5 });
    const c = resolveCase(spec!);
    const good = fixtureOf(c, "fuzz-5", "test");
    const first = good.calls[0]!;
    const wrongStatus =
      first.expect!.status === "HV_STATUS_SUCCESS"
        ? "HV_STATUS_ACCESS_DENIED"
        : "HV_STATUS_SUCCESS";
    const bad = {
      ...good,
      calls: [
        { ...first, expect: { ...first.expect!, status: wrongStatus } },
        ...good.calls.slice(1),
      ],
    };
    expect(fixtureDisagreement(bad)).toMatch(/call 0 got HV_STATUS_\w+, the spec requires/);

    const root = mkdtempSync(join(tmpdir(), "hvcall-fuzz-"));
    try {
      const saved = saveFixture(root, 5, c, "test");
      expect(saved.path).toBe(join(root, "fixtures", "golden", "fuzz-5.json"));
      expect(saved.disagreement).toBeUndefined();
      const loaded = parseFixture(JSON.parse(readFileSync(saved.path, "utf8")), saved.path);
      expect(loaded.calls).toEqual(good.calls);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
