import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { updateFixtures } from "../../src/cli/fixtures-update.js";
import {
  expectedRun,
  FixtureError,
  formatFixture,
  type GoldenFixture,
  loadFixture,
  parseFixture,
  runFixture,
} from "../../src/cli/golden-fixture.js";
import { ROOT, useTempDir } from "../cli/cli-harness.js";

const tmp = useTempDir();
const GOLDEN = join(ROOT, "fixtures", "golden");
const EXAMPLES = join(ROOT, "fixtures", "examples");

async function copyTree(names: readonly string[]): Promise<{ golden: string; examples: string }> {
  const base = join(tmp(), `tree-${Math.random().toString(36).slice(2)}`);
  const golden = join(base, "golden");
  const examples = join(base, "examples");
  await mkdir(golden, { recursive: true });
  await mkdir(examples, { recursive: true });
  for (const n of names) await copyFile(join(GOLDEN, `${n}.json`), join(golden, `${n}.json`));
  for (const n of ["records.json", "records.bin", "scenario.json"]) {
    await copyFile(join(EXAMPLES, n), join(examples, n));
  }
  return { golden, examples };
}

describe("npm run fixtures:update", () => {
  it("finds nothing to change in the committed fixtures and example (they are up to date)", async () => {
    let printed = "";
    const report = await updateFixtures({
      goldenDir: GOLDEN,
      examplesDir: EXAMPLES,
      check: true,
      print: (t) => {
        printed += t;
      },
    });
    expect(report.changed).toEqual([]);
    expect(report.exampleChanged).toBe(false);
    expect(report.stateChangedOnFailure).toEqual([]);
    expect(printed).toContain(`0 of ${report.fixtures} golden fixtures would change`);
  });

  it("rewrites stale expectations, prints a unified diff of exactly what changed, then is idempotent", async () => {
    const { golden, examples } = await copyTree([
      "signal-fast-success",
      "invalid-parameter-flag-equals-count",
    ]);
    // Make one expectation wrong and drop another fixture's expectFinal.
    const a = join(golden, "signal-fast-success.json");
    const b = join(golden, "invalid-parameter-flag-equals-count.json");
    await writeFile(
      a,
      (await readFile(a, "utf8")).replace('"HV_STATUS_SUCCESS"', '"HV_STATUS_ACCESS_DENIED"'),
    );
    const fb = JSON.parse(await readFile(b, "utf8")) as GoldenFixture;
    await writeFile(b, formatFixture({ ...fb, expectFinal: undefined }));
    await writeFile(join(examples, "records.bin"), Buffer.alloc(16));

    let printed = "";
    const report = await updateFixtures({
      goldenDir: golden,
      examplesDir: examples,
      check: false,
      print: (t) => {
        printed += t;
      },
    });
    expect(report.changed).toEqual([b, a].sort());
    expect(report.exampleChanged).toBe(true);
    expect(printed).toContain(`--- a/${a}`);
    expect(printed).toContain(`+++ b/${a}`);
    expect(printed).toMatch(/^-.*"status": "HV_STATUS_ACCESS_DENIED"/m);
    expect(printed).toMatch(/^\+.*"status": "HV_STATUS_SUCCESS"/m);
    expect(printed).toMatch(/^\+ {2}"expectFinal": \[$/m);
    expect(printed).toMatch(/^@@ -\d+,\d+ \+\d+,\d+ @@$/m);
    expect(printed).toContain("2 of 2 golden fixtures changed");

    // The rewritten files are the committed ones again, byte for byte.
    expect(await readFile(a, "utf8")).toBe(
      await readFile(join(GOLDEN, "signal-fast-success.json"), "utf8"),
    );
    expect(await readFile(b, "utf8")).toBe(
      await readFile(join(GOLDEN, "invalid-parameter-flag-equals-count.json"), "utf8"),
    );
    expect(await readFile(join(examples, "records.bin"))).toEqual(
      await readFile(join(EXAMPLES, "records.bin")),
    );

    const again = await updateFixtures({
      goldenDir: golden,
      examplesDir: examples,
      check: false,
      print: () => {},
    });
    expect(again.changed).toEqual([]);
    expect(again.exampleChanged).toBe(false);
  });

  it("--check reports but writes nothing", async () => {
    const { golden, examples } = await copyTree(["two-flags-two-assertions"]);
    const path = join(golden, "two-flags-two-assertions.json");
    const stale = (await readFile(path, "utf8")).replace(
      '"sintAssertions": { "2": 2 }',
      '"sintAssertions": { "2": 1 }',
    );
    await writeFile(path, stale);
    const report = await updateFixtures({
      goldenDir: golden,
      examplesDir: examples,
      check: true,
      print: () => {},
    });
    expect(report.changed).toEqual([path]);
    expect(await readFile(path, "utf8")).toBe(stale);
  });
});

describe("fixture validation: host mistakes are one-line errors naming the field", () => {
  const base = async () =>
    JSON.parse(await readFile(join(GOLDEN, "signal-fast-success.json"), "utf8")) as Record<
      string,
      unknown
    >;

  it.each([
    ["an unknown field", (f: Record<string, unknown>) => ({ ...f, extra: 1 }), "extra"],
    [
      "a bad control value",
      (f: Record<string, unknown>) => ({ ...f, calls: [{ control: "0xZZ", fast: "0x1" }] }),
      "calls[0].control",
    ],
    [
      "both input forms",
      (f: Record<string, unknown>) => ({
        ...f,
        calls: [{ control: "0x1005d", fast: "0x1", inputGpa: "0x2000" }],
      }),
      "calls[0]",
    ],
    [
      "an unknown status name",
      (f: Record<string, unknown>) => ({
        ...f,
        calls: [
          {
            control: "0x1005d",
            fast: "0x1",
            expect: { status: "HV_STATUS_NOPE", result: "0x0000000000000000" },
          },
        ],
      }),
      "calls[0].expect.status",
    ],
    [
      "a short result value",
      (f: Record<string, unknown>) => ({
        ...f,
        calls: [
          {
            control: "0x1005d",
            fast: "0x1",
            expect: { status: "HV_STATUS_SUCCESS", result: "0x0" },
          },
        ],
      }),
      "calls[0].expect.result",
    ],
    [
      "a bad scenario",
      (f: Record<string, unknown>) => ({
        ...f,
        scenario: { partitions: [{ id: 1, vps: [{ index: 0, siefp: "0xZZ" }] }] },
      }),
      "scenario.partitions[0].vps[0].siefp",
    ],
  ])("%s", async (_what, change, path) => {
    const json = change(await base());
    expect(() => parseFixture(json, "x.json")).toThrow(FixtureError);
    expect(() => parseFixture(json, "x.json")).toThrow(`x.json: ${path}: `);
  });

  it("fast given for a memory-form control value, or a caller the scenario lacks", async () => {
    const f = parseFixture(await base(), "x.json");
    expect(() =>
      runFixture({ ...f, calls: [{ control: "0x5d", fast: "0x14" }] }, { where: "x.json" }),
    ).toThrow(
      'x.json: calls[0]: control 0x5d has the fast bit (16) clear: give the input address as "inputGpa", not "fast"',
    );
    expect(() => runFixture({ ...f, caller: 9 }, { where: "x.json" })).toThrow(
      "x.json: caller: no partition with id 9 in the scenario",
    );
    expect(() =>
      runFixture(
        { ...f, calls: [{ control: "0x1005d", fast: "0x14", vp: 4 }] },
        { where: "x.json" },
      ),
    ).toThrow("x.json: calls[0].vp: partition 1 has no VP with index 4");
  });

  it("a fixture's name must match its file name", async () => {
    const path = join(tmp(), "renamed.json");
    await copyFile(join(GOLDEN, "signal-fast-success.json"), path);
    await expect(loadFixture(path)).rejects.toThrow(
      /renamed\.json: name: is "signal-fast-success"/,
    );
  });

  it("a fixture without expectations runs, and its comparison fails until they are filled in", async () => {
    const f = parseFixture(
      {
        ...(await base()),
        calls: [{ control: "0x1005d", fast: "0x0000000300000014" }],
        expectFinal: undefined,
      },
      "x.json",
    );
    expect(runFixture(f)).not.toEqual(expectedRun(f));
  });
});
