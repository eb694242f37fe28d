/**
 * The golden fixtures (fixtures/golden/*.json): every one runs through the library's per-call API
 * (hypercall()) and its hot path (Dispatcher.dispatch), and a few through the real CLI.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HvCallCode } from "../../src/abi/call-code.js";
import { HV_STATUS_NAMES } from "../../src/abi/hv-status.js";
import {
  CONTROL_CALL_CODE_MASK,
  ControlRule,
  checkSimpleCallControl,
} from "../../src/abi/hypercall-control.js";
import { u64ToHalves } from "../../src/abi/u64.js";
import { parseU64Hex } from "../../src/cli/args.js";
import {
  expectedRun,
  type FinalVpState,
  finalStateOfDump,
  fixturePaths,
  type GoldenFixture,
  loadFixture,
  runFixture,
  type StateDump,
} from "../../src/cli/golden-fixture.js";
import { ROOT, requireDist, runCli, useTempDir } from "../cli/cli-harness.js";

const GOLDEN_DIR = join(ROOT, "fixtures", "golden");
const paths = await fixturePaths(GOLDEN_DIR);
const fixtures = await Promise.all(paths.map((p) => loadFixture(p)));
const byName = new Map(fixtures.map((f) => [f.name, f]));

function fixture(name: string): GoldenFixture {
  const f = byName.get(name);
  if (f === undefined) throw new Error(`no golden fixture ${name}`);
  return f;
}

describe("golden fixtures through the library", () => {
  it("there are at least 40", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(40);
  });

  describe.each(fixtures.map((f) => [f.name, f] as const))("%s", (_name, f) => {
    it("hypercall(): every status, result value and final VP state as expected", () => {
      const run = runFixture(f);
      expect(run).toEqual(expectedRun(f));
    });

    it("Dispatcher.dispatch() (the hot path) agrees", () => {
      expect(runFixture(f, { api: "dispatch" })).toEqual(expectedRun(f));
    });
  });
});

describe("the fixture set covers the spec", () => {
  const calls = fixtures.flatMap((f) => f.calls);
  const statuses = new Set(calls.map((c) => c.expect?.status));

  it.each([
    "SUCCESS",
    "INVALID_HYPERCALL_CODE",
    "INVALID_HYPERCALL_INPUT",
    "INVALID_ALIGNMENT",
    "INVALID_PARAMETER",
    "ACCESS_DENIED",
    "INVALID_VP_INDEX",
    "INVALID_PORT_ID",
    "INVALID_CONNECTION_ID",
    "INVALID_SYNIC_STATE",
  ] as const)("some call expects HV_STATUS_%s", (name) => {
    expect(HV_STATUS_NAMES).toContain(name);
    expect(statuses).toContain(`HV_STATUS_${name}`);
  });

  it.each(Object.entries(ControlRule).filter(([, rule]) => rule !== ControlRule.None))(
    "control rule %s is broken, alone, by some SignalEvent call",
    (_name, rule) => {
      const found = calls.some((c) => {
        const { lo, hi } = u64ToHalves(parseU64Hex(c.control)!);
        return (
          (lo & CONTROL_CALL_CODE_MASK) === HvCallCode.SignalEvent &&
          checkSimpleCallControl(lo, hi) === rule
        );
      });
      expect(found).toBe(true);
    },
  );

  it("both call forms, per-call callers, and multi-call sequences appear", () => {
    expect(calls.some((c) => c.fast !== undefined)).toBe(true);
    expect(calls.some((c) => c.inputGpa !== undefined)).toBe(true);
    expect(calls.some((c) => c.caller !== undefined)).toBe(true);
    expect(fixtures.some((f) => f.calls.length >= 3)).toBe(true);
  });
});

describe.concurrent("golden fixtures through the real CLI", () => {
  requireDist();
  const tmp = useTempDir();

  /** Runs the fixture's calls one `hvcall exec` at a time, each on the previous call's dump. */
  async function execFixture(
    f: GoldenFixture,
  ): Promise<{ lines: string[]; final: FinalVpState[] }> {
    let scenario = join(tmp(), `${f.name}.scenario.json`);
    await writeFile(scenario, JSON.stringify(f.scenario));
    const lines: string[] = [];
    for (const [i, call] of f.calls.entries()) {
      const dump = join(tmp(), `${f.name}.${i}.dump.json`);
      const input =
        call.fast !== undefined ? ["--fast", call.fast] : ["--input-gpa", call.inputGpa!];
      const r = await runCli([
        "exec",
        "--scenario",
        scenario,
        "--caller",
        String(call.caller ?? f.caller),
        "--vp",
        String(call.vp ?? f.vp),
        "--control",
        call.control,
        ...input,
        "--dump-state",
        dump,
      ]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      lines.push(r.stdout);
      scenario = dump;
    }
    const final = finalStateOfDump(JSON.parse(await readFile(scenario, "utf8")) as StateDump);
    return { lines, final };
  }

  it.each([
    "signal-fast-success",
    "signal-memory-success",
    "access-denied-no-signal-events",
    "memory-misaligned-at-page-end",
    "precedence-code-over-reserved-bits",
    "any-vp-skips-vp0-siefp-off",
    "repeated-signal-one-assertion",
    "per-call-caller-guest-signals-root",
  ])("exec: %s", async (name) => {
    const f = fixture(name);
    const { lines, final } = await execFixture(f);
    expect(lines).toEqual(
      f.calls.map(
        (c) => `{"index":0,"status":"${c.expect!.status}","result":"${c.expect!.result}"}\n`,
      ),
    );
    expect(final).toEqual(f.expectFinal);
  });

  it("replay: a fast-call fixture as one record file", async () => {
    const f = fixture("failure-between-successes-changes-nothing");
    const records = Buffer.alloc(16 * f.calls.length);
    f.calls.forEach((c, i) => {
      records.writeBigUInt64LE(parseU64Hex(c.control)!, 16 * i);
      records.writeBigUInt64LE(parseU64Hex(c.fast!)!, 16 * i + 8);
    });
    const scenario = join(tmp(), "replay.scenario.json");
    const recordsPath = join(tmp(), "replay.bin");
    const dump = join(tmp(), "replay.dump.json");
    await writeFile(scenario, JSON.stringify(f.scenario));
    await writeFile(recordsPath, records);
    const r = await runCli(["replay", "--scenario", scenario, "--dump-state", dump, recordsPath]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      f.calls
        .map(
          (c, i) =>
            `{"index":${i},"status":"${c.expect!.status}","result":"${c.expect!.result}"}\n`,
        )
        .join(""),
    );
    expect(finalStateOfDump(JSON.parse(await readFile(dump, "utf8")) as StateDump)).toEqual(
      f.expectFinal,
    );
  });
});
