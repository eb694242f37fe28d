/**
 * `golden run|update` on bad input (docs/golden-fixtures.md §1), found in review: update rewrote
 * fixtures before failing on a later malformed one, update of an empty DIR was exit 0 where run is
 * exit 2, and run failed a fixture without expectations without saying how to fill them in.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BIN, expectUsageLine, requireDist, runCli, useTempDir } from "../cli/cli-harness.js";
import { GOLDEN_DIR } from "./golden-support.js";

requireDist();
const tmp = useTempDir();

/** A fresh directory holding copies of the named fixtures. */
async function copyOf(names: readonly string[]): Promise<string> {
  const dir = join(tmp(), `golden-${Math.random().toString(36).slice(2)}`);
  await mkdir(dir, { recursive: true });
  for (const n of names) await copyFile(join(GOLDEN_DIR, `${n}.json`), join(dir, `${n}.json`));
  return dir;
}

/** A copy of signal-fast-success whose first expectation is stale: update would rewrite it. */
async function staleIn(dir: string): Promise<{ path: string; text: string }> {
  const path = join(dir, "signal-fast-success.json");
  const text = (await readFile(join(GOLDEN_DIR, "signal-fast-success.json"), "utf8")).replace(
    '"HV_STATUS_SUCCESS"',
    '"HV_STATUS_ACCESS_DENIED"',
  );
  await writeFile(path, text);
  return { path, text };
}

describe.concurrent("golden update writes nothing when it fails on bad input", () => {
  it.each([
    ["a malformed fixture", '{"format":"hvcall-golden/2"}', /zz-bad\.json: name: expected/],
    ["a file that is not JSON", "{ nope", /zz-bad\.json: \(root\): not valid JSON/],
  ])(
    "%s after one that needs an update: exit 2, the good one untouched",
    async (_, bad, reason) => {
      const dir = await copyOf([]);
      const good = await staleIn(dir);
      await writeFile(join(dir, "zz-bad.json"), bad);
      for (const args of [
        ["golden", "update"],
        ["golden", "update", "--check"],
        ["golden", "run"],
      ]) {
        // One line on stderr and nothing on stdout: no diff of a file that is then not written.
        expect(expectUsageLine(await runCli([...args, dir]))).toMatch(reason);
        expect(await readFile(good.path, "utf8")).toBe(good.text);
      }
    },
  );

  it("an op the scenario cannot run, in a later fixture: exit 2, nothing written", async () => {
    const dir = await copyOf([]);
    const good = await staleIn(dir);
    const bad = JSON.parse(good.text) as Record<string, unknown>;
    await writeFile(
      join(dir, "zz-bad.json"),
      JSON.stringify({ ...bad, name: "zz-bad", trace: [{ op: "eoi", partition: 7 }] }),
    );
    const line = expectUsageLine(await runCli(["golden", "update", dir]));
    expect(line).toMatch(/zz-bad\.json: trace\[0\]\.partition: no partition with id 7/);
    expect(await readFile(good.path, "utf8")).toBe(good.text);
  });
});

describe.concurrent("a DIR without fixtures is exit 2 for run and update alike", () => {
  it.each([[["golden", "run"]], [["golden", "update"]], [["golden", "update", "--check"]]])(
    "%j",
    async (args) => {
      const dir = await copyOf([]);
      await writeFile(join(dir, "notes.txt"), "not a fixture");
      const command = args.filter((a) => !a.startsWith("-")).join(" ");
      expect(expectUsageLine(await runCli([...args, dir]))).toBe(
        `hvcall: ${command}: ${JSON.stringify(dir)} holds no .json fixtures (capture one with: hvcall golden new --scenario FILE TRACE > DIR/NAME.json)`,
      );
    },
  );
});

describe.concurrent("golden run of a fixture without expectations", () => {
  it("fails (exit 3) saying what is missing and that golden update fills it in", async () => {
    const dir = await copyOf(["two-flags-two-assertions"]);
    const f = JSON.parse(await readFile(join(GOLDEN_DIR, "signal-fast-success.json"), "utf8")) as {
      trace: Record<string, unknown>[];
      expectFinal?: unknown;
    };
    delete f.trace[0]!.expect;
    f.expectFinal = undefined;
    await writeFile(join(dir, "signal-fast-success.json"), JSON.stringify(f));
    const r = await runCli(["golden", "run", dir]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(
      "FAIL  signal-fast-success.json\n      has no expect (trace[0]) and no expectFinal; run `hvcall golden update` to fill them in\n",
    );
    expect(r.stdout).toContain("ok    two-flags-two-assertions.json\n");
    expect(r.stdout).toMatch(/^\+.*"expectFinal": \[$/m);

    // Only expectFinal missing: the line names just that.
    const only = await copyOf(["signal-fast-success"]);
    const g = JSON.parse(await readFile(join(only, "signal-fast-success.json"), "utf8")) as {
      expectFinal?: unknown;
    };
    g.expectFinal = undefined;
    await writeFile(join(only, "signal-fast-success.json"), JSON.stringify(g));
    const s = await runCli(["golden", "run", only]);
    expect(s.code).toBe(3);
    expect(s.stdout).toContain(
      "      has no expectFinal; run `hvcall golden update` to fill it in\n",
    );
  });
});

// Found in the second review: a FIFO named *.json hung `golden run`; update rewrote every fixture
// and then exited 2 when its diffs could not be printed; a BOM made a fixture "not valid JSON"
// with an invisible character; a check of no known family ran as a failing fixture.
describe.concurrent("golden: what the second review found", () => {
  it("a FIFO named .json in DIR: exit 2 naming it, at once", async () => {
    const dir = await copyOf(["signal-fast-success"]);
    const fifo = join(dir, "a-fifo.json");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    for (const command of ["run", "update"]) {
      expect(expectUsageLine(await runCli(["golden", command, dir]))).toBe(
        `hvcall: ${fifo}: not a regular file; a fixture is a .json file (move it out of the directory)`,
      );
    }
  });

  it.skipIf(!existsSync("/dev/full"))(
    "update whose diffs cannot be shown (stdout a full device) rewrites nothing",
    async () => {
      const dir = await copyOf([]);
      const good = await staleIn(dir);
      const r = spawnSync(
        "bash",
        ["-c", `"$0" "$@" > /dev/full`, process.execPath, BIN, "golden", "update", dir],
        { encoding: "utf8" },
      );
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^hvcall: stdout: cannot write: .*; no fixture was rewritten\n$/);
      expect(await readFile(good.path, "utf8")).toBe(good.text);
    },
  );

  it("a fixture with a UTF-8 BOM loads like one without", async () => {
    const dir = await copyOf([]);
    const text = await readFile(join(GOLDEN_DIR, "signal-fast-success.json"), "utf8");
    await writeFile(join(dir, "signal-fast-success.json"), `\uFEFF${text}`);
    expect((await runCli(["golden", "run", dir])).code).toBe(0);
  });

  it("an expected check of no known family is a malformed fixture (exit 2), not a failure", async () => {
    const dir = await copyOf([]);
    const text = await readFile(join(GOLDEN_DIR, "signal-fast-success.json"), "utf8");
    const fixture = JSON.parse(text) as { trace: { expect?: { check?: string } }[] };
    const first = fixture.trace.find((e) => e.expect !== undefined)!;
    first.expect!.check = "bogus.1";
    await writeFile(join(dir, "signal-fast-success.json"), JSON.stringify(fixture));
    expect(expectUsageLine(await runCli(["golden", "run", dir]))).toMatch(
      /check: .*generic\.N or a family of a call hvcall implements/,
    );
  });
});
