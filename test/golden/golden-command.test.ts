/**
 * `hvcall golden run|update|new` through the real binary, on temporary copies of fixtures/golden.
 * These replace the removed src/cli/fixtures-update.ts (`npm run fixtures:update`): its tests are
 * ported here, each to the command that does that job now.
 */
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseRecordList } from "../../scripts/record-list.js";
import { quote } from "../../src/cli/cli-error.js";
import { formatFixture, type GoldenFixture, parseFixture } from "../../src/cli/golden/fixture.js";
import { expectedRun, runFixture } from "../../src/cli/golden/fixture-run.js";
import {
  EXAMPLE_RECORDS,
  expectUsageLine,
  ROOT,
  requireDist,
  runCli,
  useTempDir,
} from "../cli/cli-harness.js";
import { fixture, fixtures, GOLDEN_DIR, goldenPaths } from "./golden-support.js";

requireDist();
const tmp = useTempDir();

/** A fresh directory holding copies of the named fixtures. */
async function copyOf(names: readonly string[]): Promise<string> {
  const dir = join(tmp(), `golden-${Math.random().toString(36).slice(2)}`);
  await mkdir(dir, { recursive: true });
  for (const n of names) await copyFile(join(GOLDEN_DIR, `${n}.json`), join(dir, `${n}.json`));
  return dir;
}

const committed = (name: string) => readFile(join(GOLDEN_DIR, `${name}.json`), "utf8");
type Json = Record<string, unknown>;

describe.concurrent("golden run", () => {
  it("fixtures/golden passes: exit 0, one ok line per fixture and the count", async () => {
    const r = await runCli(["golden", "run", GOLDEN_DIR]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.slice(0, -1)).toEqual(
      goldenPaths.map((p) => `ok    ${p.slice(GOLDEN_DIR.length + 1)}`),
    );
    expect(lines.at(-1)).toBe(
      `golden: ${fixtures.length} fixtures, ${fixtures.length} passed, 0 failed`,
    );
  });

  it("a copy with one changed expectation fails (exit 3) with a diff of that expectation", async () => {
    const dir = await copyOf(["signal-fast-success", "two-flags-two-assertions"]);
    const path = join(dir, "signal-fast-success.json");
    const text = (await committed("signal-fast-success")).replace(
      '"status": "HV_STATUS_SUCCESS"',
      '"status": "HV_STATUS_ACCESS_DENIED"',
    );
    await writeFile(path, text);
    const r = await runCli(["golden", "run", dir]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("FAIL  signal-fast-success.json\n");
    expect(r.stdout).toContain("ok    two-flags-two-assertions.json\n");
    expect(r.stdout).toContain(
      "--- signal-fast-success.json (expected)\n+++ signal-fast-success.json (hvcall)\n",
    );
    expect(r.stdout).toMatch(/^-.*"status": "HV_STATUS_ACCESS_DENIED"/m);
    expect(r.stdout).toMatch(/^\+.*"status": "HV_STATUS_SUCCESS"/m);
    expect(r.stdout).toMatch(/^@@ -\d+,\d+ \+\d+,\d+ @@$/m);
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe("golden: 2 fixtures, 1 passed, 1 failed");
    expect(await readFile(path, "utf8")).toBe(text); // run writes nothing
  });

  it("a changed final state fails too", async () => {
    const dir = await copyOf(["two-flags-two-assertions"]);
    const path = join(dir, "two-flags-two-assertions.json");
    const text = await committed("two-flags-two-assertions");
    expect(text).toContain('"sintAssertions": { "2": 2 }');
    await writeFile(
      path,
      text.replace('"sintAssertions": { "2": 2 }', '"sintAssertions": { "2": 1 }'),
    );
    const r = await runCli(["golden", "run", dir]);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^-.*"sintAssertions": \{ "2": 1 \}/m);
  });

  it("an expectation without check is compared without it", async () => {
    const dir = await copyOf([]);
    const f = JSON.parse(await committed("signal-fast-success")) as { trace: { expect: Json }[] };
    delete f.trace[0]!.expect.check;
    await writeFile(join(dir, "signal-fast-success.json"), JSON.stringify(f));
    expect((await runCli(["golden", "run", dir])).code).toBe(0);
  });

  it("a directory without fixtures: exit 2", async () => {
    expect(expectUsageLine(await runCli(["golden", "run", await copyOf([])]))).toContain(
      "holds no .json fixtures",
    );
  });
});

describe.concurrent("golden update (was npm run fixtures:update)", () => {
  it("finds nothing to change in the committed fixtures (they are up to date), exit 0", async () => {
    const r = await runCli(["golden", "update", "--check", GOLDEN_DIR]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`golden: ${fixtures.length} fixtures, 0 would change\n`);
  });

  // fixtures:update also regenerated fixtures/examples/records.bin; scripts/update-examples.ts does
  // that now. What the old test held — the example is up to date — is held here.
  it("fixtures/examples/records.bin is what records.json describes", async () => {
    const source = join(ROOT, "fixtures", "examples", "records.json");
    const list = parseRecordList(JSON.parse(await readFile(source, "utf8")), source);
    expect(Buffer.from(list.bytes).equals(await readFile(EXAMPLE_RECORDS))).toBe(true);
  });

  it("rewrites stale expectations, prints a unified diff of exactly what changed, then is idempotent", async () => {
    const dir = await copyOf([
      "signal-fast-success",
      "invalid-parameter-flag-equals-count",
      "two-flags-two-assertions",
    ]);
    const a = join(dir, "signal-fast-success.json");
    const b = join(dir, "invalid-parameter-flag-equals-count.json");
    // One expectation wrong, and another fixture's expectFinal dropped.
    await writeFile(
      a,
      (await committed("signal-fast-success")).replace(
        '"HV_STATUS_SUCCESS"',
        '"HV_STATUS_ACCESS_DENIED"',
      ),
    );
    const fb = parseFixture(JSON.parse(await readFile(b, "utf8")), b) as GoldenFixture & {
      expectFinal?: unknown;
    };
    await writeFile(b, formatFixture({ ...fb, expectFinal: undefined }));

    const r = await runCli(["golden", "update", dir]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--- signal-fast-success.json\n+++ signal-fast-success.json\n");
    expect(r.stdout).toContain(
      "--- invalid-parameter-flag-equals-count.json\n+++ invalid-parameter-flag-equals-count.json\n",
    );
    expect(r.stdout).not.toContain("two-flags-two-assertions.json");
    expect(r.stdout).toMatch(/^-.*"status": "HV_STATUS_ACCESS_DENIED"/m);
    expect(r.stdout).toMatch(/^\+.*"status": "HV_STATUS_SUCCESS"/m);
    expect(r.stdout).toMatch(/^\+ {2}"expectFinal": \[$/m);
    expect(r.stdout).toMatch(/^@@ -\d+,\d+ \+\d+,\d+ @@$/m);
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe("golden: 3 fixtures, 2 changed");

    // The rewritten files are the committed ones again, byte for byte.
    expect(await readFile(a, "utf8")).toBe(await committed("signal-fast-success"));
    expect(await readFile(b, "utf8")).toBe(await committed("invalid-parameter-flag-equals-count"));

    const again = await runCli(["golden", "update", dir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe("golden: 3 fixtures, 0 changed\n");
    expect((await runCli(["golden", "run", dir])).code).toBe(0);
  });

  it("--check reports but writes nothing, exit 3", async () => {
    const dir = await copyOf(["two-flags-two-assertions"]);
    const path = join(dir, "two-flags-two-assertions.json");
    const stale = (await committed("two-flags-two-assertions")).replace(
      '"sintAssertions": { "2": 2 }',
      '"sintAssertions": { "2": 1 }',
    );
    await writeFile(path, stale);
    const r = await runCli(["golden", "update", "--check", dir]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("--- two-flags-two-assertions.json");
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe("golden: 1 fixtures, 1 would change");
    expect(await readFile(path, "utf8")).toBe(stale);
  });

  it("a fixture without expectations runs, fails until filled in, and update fills them in", async () => {
    const base = JSON.parse(await committed("signal-fast-success")) as Json;
    const bare = {
      ...base,
      trace: [{ op: "hypercall", control: "0x1005d", rdx: "0x0000000300000014" }],
      expectFinal: undefined,
    };
    const f = parseFixture(bare, "x.json");
    expect(runFixture(f)).not.toEqual(expectedRun(f));
    const dir = await copyOf([]);
    await writeFile(join(dir, "signal-fast-success.json"), JSON.stringify(bare));
    expect((await runCli(["golden", "run", dir])).code).toBe(3);
    expect((await runCli(["golden", "update", dir])).code).toBe(0);
    expect(await readFile(join(dir, "signal-fast-success.json"), "utf8")).toBe(
      await committed("signal-fast-success"),
    );
  });
});

describe.concurrent("fixture validation: host mistakes are exit 2, one line naming the JSON path", () => {
  const base = async () => JSON.parse(await committed("signal-fast-success")) as Json;
  const hypercall = { op: "hypercall", control: "0x1005d", rdx: "0x14" };

  it.each([
    ["an unknown field", (f: Json) => ({ ...f, extra: 1 }), "(root).extra", /unknown field/],
    [
      "a bad control value",
      (f: Json) => ({ ...f, trace: [{ ...hypercall, control: "0xZZ" }] }),
      "trace[0].control",
      /64-bit hex/,
    ],
    // "both input forms" (fast and inputGpa) has no v2 counterpart: RDX is one field for both
    // forms. The nearest mistake is a field the op does not have.
    [
      "a field another op has",
      (f: Json) => ({ ...f, trace: [{ ...hypercall, gpa: "0x2000" }] }),
      "trace[0].gpa",
      /not a field of a hypercall op/,
    ],
    [
      "an unknown status name",
      (f: Json) => ({
        ...f,
        trace: [
          { ...hypercall, expect: { status: "HV_STATUS_NOPE", result: "0x0000000000000000" } },
        ],
      }),
      "trace[0].expect.status",
      /unknown status name "HV_STATUS_NOPE"/,
    ],
    [
      "a short result value",
      (f: Json) => ({
        ...f,
        trace: [{ ...hypercall, expect: { status: "HV_STATUS_SUCCESS", result: "0x0" } }],
      }),
      "trace[0].expect.result",
      /16 lowercase hex digits/,
    ],
    [
      "an action's expectation on a hypercall",
      (f: Json) => ({ ...f, trace: [{ ...hypercall, expect: { outcome: "ok" } }] }),
      "trace[0].expect.outcome",
      /unknown field/,
    ],
    [
      "a bad scenario",
      (f: Json) => ({
        ...f,
        scenario: { partitions: [{ id: 1, vps: [{ index: 0, siefp: "0xZZ" }] }] },
      }),
      "scenario.partitions[0].vps[0].siefp",
      /not a hex string: "0xZZ"/,
    ],
    [
      "a format of version 1",
      (f: Json) => ({ ...f, format: "hvcall-golden/1" }),
      "format",
      /version 2/,
    ],
    [
      "a caller the scenario lacks",
      (f: Json) => ({ ...f, caller: 9 }),
      "caller",
      /no partition with id 9 in the scenario/,
    ],
    [
      "a VP the partition lacks",
      (f: Json) => ({ ...f, trace: [{ ...hypercall, vp: 4 }] }),
      "trace[0].vp",
      /partition 1 has no VP with index 4/,
    ],
    [
      "a final state for a SINT 16",
      (f: Json) => ({ ...f, expectFinal: [{ partition: 1, vp: 0, siefFlags: { "16": [1] } }] }),
      "expectFinal[0].siefFlags.16",
      /not a SINT: the keys are the SINT numbers 0\.\.15/,
    ],
  ])("%s", async (_what, change, path, reason) => {
    const dir = await copyOf([]);
    const file = join(dir, "signal-fast-success.json");
    await writeFile(file, JSON.stringify(change(await base())));
    for (const command of [
      ["golden", "run"],
      ["golden", "update"],
    ]) {
      const r = await runCli([...command, dir]);
      const line = expectUsageLine(r);
      expect(line.startsWith(`hvcall: ${file}: ${path}: `)).toBe(true);
      expect(line).toMatch(reason);
    }
  });

  it("a fixture's name must match its file name", async () => {
    const dir = await copyOf([]);
    await copyFile(join(GOLDEN_DIR, "signal-fast-success.json"), join(dir, "renamed.json"));
    expect(expectUsageLine(await runCli(["golden", "run", dir]))).toMatch(
      /renamed\.json: name: is "signal-fast-success"/,
    );
  });

  it("a file that is not JSON", async () => {
    const dir = await copyOf([]);
    await writeFile(join(dir, "broken.json"), "{ nope");
    expect(expectUsageLine(await runCli(["golden", "run", dir]))).toMatch(
      /broken\.json: \(root\): not valid JSON/,
    );
  });
});

describe.concurrent("golden new", () => {
  it("prints a fixture with hvcall's answers that golden run passes", async () => {
    const f = fixture("post-message-flow-section-4-example");
    const dir = await copyOf([]);
    const scenario = join(tmp(), "new-scenario.json");
    const trace = join(tmp(), "My Capture.jsonl");
    await writeFile(scenario, JSON.stringify(f.scenario));
    await writeFile(trace, f.trace.map((e) => `${JSON.stringify(e.op)}\n`).join(""));
    const r = await runCli([
      "golden",
      "new",
      "--scenario",
      scenario,
      ...(f.caller === undefined ? [] : ["--caller", String(f.caller)]),
      trace,
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const made = parseFixture(JSON.parse(r.stdout), "new");
    expect(made.name).toBe("my-capture");
    expect(made.trace.map((e) => e.expect)).toEqual(f.trace.map((e) => e.expect));
    expect(made.expectFinal).toEqual(f.expectFinal);
    await writeFile(join(dir, `${made.name}.json`), r.stdout);
    const run = await runCli(["golden", "run", dir]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("ok    my-capture.json");
  });

  it("--name and --description; a binary trace; the ops in canonical form", async () => {
    const scenario = join(tmp(), "new-s2.json");
    const jsonl = join(tmp(), "new-t2.jsonl");
    const bin = join(tmp(), "new-t2.bin");
    await writeFile(scenario, JSON.stringify(fixture("signal-fast-success").scenario));
    await writeFile(
      jsonl,
      '{"op":"hypercall","control":"0x1005D","rdx":"0x300000014"}\n{"op":"rdmsr","partition":2,"msr":1073741953}\n',
    );
    expect((await runCli(["trace", "convert", jsonl, bin])).code).toBe(0);
    const r = await runCli([
      "golden",
      "new",
      "--scenario",
      scenario,
      "--name",
      "captured",
      "--description",
      "Two ops.",
      bin,
    ]);
    expect(r.code).toBe(0);
    const made = JSON.parse(r.stdout) as { name: string; description: string; trace: Json[] };
    expect(made).toMatchObject({ name: "captured", description: "Two ops." });
    expect(made.trace).toEqual([
      {
        op: "hypercall",
        control: "0x000000000001005d",
        rdx: "0x0000000300000014",
        expect: {
          status: "HV_STATUS_SUCCESS",
          result: "0x0000000000000000",
          check: "signal-event.11",
        },
      },
      {
        op: "rdmsr",
        partition: 2,
        msr: "0x40000081",
        expect: { outcome: "ok", value: "0x0000000000000001" },
      },
    ]);
  });

  it("a bad trace line: exit 2 naming the line", async () => {
    const scenario = join(tmp(), "new-s3.json");
    const trace = join(tmp(), "new-t3.jsonl");
    await writeFile(scenario, JSON.stringify(fixture("signal-fast-success").scenario));
    await writeFile(trace, '{"op":"eoi"}\n{"op":"eoi","partition":7}\n');
    // A partition the scenario lacks is named at its line of the trace file, as `run` names it
    // (found in review: it used to be named as the fixture's path trace[1]).
    expect(expectUsageLine(await runCli(["golden", "new", "--scenario", scenario, trace]))).toBe(
      `hvcall: trace: ${quote(trace)}: line 2: partition: no partition with id 7 in the scenario (nothing was run)`,
    );
    // A malformed line is the trace reader's: it names the line.
    await writeFile(trace, '{"op":"eoi"}\n{"op":"eoi","x":1}\n');
    expect(expectUsageLine(await runCli(["golden", "new", "--scenario", scenario, trace]))).toMatch(
      /: line 2: x: not a field of an eoi op/,
    );
  });
});
