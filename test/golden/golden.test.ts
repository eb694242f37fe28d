/**
 * The golden fixtures (fixtures/golden/*.json, format v2): every one runs through runFixture (the
 * trace engine, Dispatcher.dispatch) and through the per-call API (hypercall()), and through the
 * real CLI (`hvcall run`; some as chained `hvcall exec` calls and as a `replay` record file).
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HvCallCode } from "../../src/abi/call-code.js";
import { HV_STATUS_NAMES } from "../../src/abi/hv-status.js";
import { controlViolations, HV_HYPERCALL_CONTROL } from "../../src/abi/hypercall-control.js";
import { u64ToHalves } from "../../src/abi/u64.js";
import { FIXTURE_FORMAT, type GoldenFixture } from "../../src/cli/golden/fixture.js";
import { comparableRun, expectedRun, runFixture } from "../../src/cli/golden/fixture-run.js";
import { postMessageRow } from "../../src/dispatch/handlers/post-message.js";
import { signalEventRow } from "../../src/dispatch/handlers/signal-event.js";
import { parseU64Hex } from "../../src/text/hex-text.js";
import { TRACE_OP_NAMES } from "../../src/trace/trace-op.js";
import { requireDist, runCli, useTempDir } from "../cli/cli-harness.js";
import {
  finalOfDump,
  fixture,
  fixtures,
  goldenPaths,
  runPerCall,
  traceText,
} from "./golden-support.js";

describe("golden fixtures through the library", () => {
  it("every file of fixtures/golden/ is a v2 fixture (138 of them or more)", async () => {
    expect(fixtures.length).toBe(goldenPaths.length);
    expect(fixtures.length).toBeGreaterThanOrEqual(138);
    for (const path of goldenPaths) {
      expect((JSON.parse(await readFile(path, "utf8")) as { format: string }).format).toBe(
        FIXTURE_FORMAT,
      );
    }
  });

  describe.each(fixtures.map((f) => [f.name, f] as const))("%s", (_name, f) => {
    it("runFixture: every answer (status, result, check, outcome) and final VP state as expected", () => {
      const run = runFixture(f);
      expect(f.expectFinal).toBeDefined();
      expect(comparableRun(f, run)).toEqual(expectedRun(f));
      expect(run.failedCallsThatChangedState).toEqual([]);
    });

    it("hypercall() (the per-call API) agrees, and no failed call or action changed the state", () => {
      const { failedActionsThatChangedState, ...run } = runPerCall(f);
      expect(comparableRun(f, run)).toEqual(expectedRun(f));
      expect(run.failedCallsThatChangedState).toEqual([]);
      expect(failedActionsThatChangedState).toEqual([]);
    });
  });
});

/** Every hypercall op of every fixture, with its fixture. */
const calls = fixtures.flatMap((f) =>
  f.trace
    .map((e, i) => ({ f, i, op: e.op, expect: e.expect }))
    .filter((c) => c.op.op === "hypercall"),
);
const controlOf = (c: (typeof calls)[number]) => u64ToHalves(parseU64Hex(String(c.op.control))!);

describe("the fixture set covers the spec", () => {
  const statuses = new Set(
    calls.map((c) =>
      c.expect !== undefined && "status" in c.expect ? c.expect.status : undefined,
    ),
  );

  // The statuses the check orders of signal-event.md §6 and post-message.md §3 return. The spec's
  // status table also lists HV_STATUS_INVALID_PARTITION_STATE, which no step of either order
  // returns (an inactive port owner is INVALID_PORT_ID), so no fixture can expect it.
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
    "INSUFFICIENT_BUFFERS",
  ] as const)("some call expects HV_STATUS_%s", (name) => {
    expect(HV_STATUS_NAMES).toContain(name);
    expect(statuses).toContain(`HV_STATUS_${name}`);
  });

  it("no fixture expects a status that no step returns", () => {
    expect(statuses).not.toContain("HV_STATUS_INVALID_PARTITION_STATE");
  });

  const checks = new Set(
    calls.map((c) => (c.expect !== undefined && "check" in c.expect ? c.expect.check : undefined)),
  );
  it.each([
    ...[1, 2, 3, 4].map((n) => `generic.${n}`),
    ...[5, 6, 7, 8, 9, 10, 11].map((n) => `signal-event.${n}`),
    ...[5, 6, 7, 8, 9, 10, 11, 12].map((n) => `post-message.${n}`),
  ])("some call is decided by step %s", (check) => {
    expect(checks).toContain(check);
  });

  it("every hypercall expectation names its check", () => {
    expect(
      calls.filter(
        (c) => c.expect === undefined || !("check" in c.expect) || c.expect.check === undefined,
      ),
    ).toEqual([]);
  });

  // Each control-value field a call may not set is broken alone by some call of that code (the
  // old ControlRule table is the field list of HV_HYPERCALL_CONTROL now).
  const forbidden = (row: typeof signalEventRow) =>
    HV_HYPERCALL_CONTROL.list
      .filter((field) => field.name !== "callCode")
      .filter((field) => {
        const probe = { lo: 0, hi: 0 };
        if (field.half === 0) probe.lo = field.inPlace;
        else probe.hi = field.inPlace;
        return controlViolations(probe.lo | row.callCode, probe.hi, row).some(
          (v) => v.field.name === field.name,
        );
      })
      .map((field) => [row.name, field.name, row] as const);

  it.each([...forbidden(signalEventRow), ...forbidden(postMessageRow)])(
    "%s: control field %s is broken, alone, by some call",
    (_name, field, row) => {
      const found = calls.some((c) => {
        const { lo, hi } = controlOf(c);
        if ((lo & 0xffff) !== row.callCode) return false;
        const v = controlViolations(lo, hi, row);
        return v.length === 1 && v[0]!.field.name === field;
      });
      expect(found).toBe(true);
    },
  );

  it("the forbidden fields are those of a simple call (and fast for PostMessage)", () => {
    expect(forbidden(signalEventRow).map(([, f]) => f)).toEqual([
      "variableHeaderSize",
      "reserved27to30",
      "isNested",
      "repCount",
      "reserved44to47",
      "repStartIndex",
      "reserved60to63",
    ]);
    expect(forbidden(postMessageRow).map(([, f]) => f)).toEqual([
      "fast",
      ...forbidden(signalEventRow).map(([, f]) => f),
    ]);
  });

  it("both call forms, both calls, per-op callers and VPs, R8, multi-op traces and every op kind appear", () => {
    const fast = (c: (typeof calls)[number]) => (controlOf(c).lo & 0x10000) !== 0;
    const code = (c: (typeof calls)[number]) => controlOf(c).lo & 0xffff;
    expect(calls.some((c) => fast(c) && code(c) === HvCallCode.SignalEvent)).toBe(true);
    expect(calls.some((c) => !fast(c) && code(c) === HvCallCode.SignalEvent)).toBe(true);
    expect(calls.some((c) => !fast(c) && code(c) === HvCallCode.PostMessage)).toBe(true);
    expect(calls.some((c) => c.op.partition !== undefined)).toBe(true);
    expect(fixtures.some((f) => f.trace.some((e) => e.op.vp !== undefined))).toBe(true);
    expect(calls.some((c) => c.op.r8 !== undefined)).toBe(true);
    expect(fixtures.some((f) => f.trace.length >= 3)).toBe(true);
    const kinds = new Set(fixtures.flatMap((f) => f.trace.map((e) => e.op.op)));
    expect([...kinds].sort()).toEqual([...TRACE_OP_NAMES].sort());
  });
});

describe.concurrent("golden fixtures through the real CLI", () => {
  requireDist();
  const tmp = useTempDir();

  const flagsOf = (f: GoldenFixture) => [
    ...(f.caller === undefined ? [] : ["--caller", String(f.caller)]),
    ...(f.vp === undefined ? [] : ["--vp", String(f.vp)]),
  ];

  it.each(fixtures.map((f) => [f.name, f] as const))("run --explain: %s", async (_name, f) => {
    const scenario = join(tmp(), `${f.name}.scenario.json`);
    const trace = join(tmp(), `${f.name}.jsonl`);
    const dump = join(tmp(), `${f.name}.dump.json`);
    await writeFile(scenario, JSON.stringify(f.scenario));
    await writeFile(trace, traceText(f));
    const r = await runCli([
      "run",
      "--explain",
      "--scenario",
      scenario,
      ...flagsOf(f),
      "--dump-state",
      dump,
      trace,
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map(({ why: _why, ...rest }) => rest)).toEqual(
      f.trace.map((e, i) => ({ index: i, op: e.op.op, ...e.expect })),
    );
    expect(finalOfDump(JSON.parse(await readFile(dump, "utf8")))).toEqual(f.expectFinal);
  });

  /** Runs the fixture's hypercalls one `hvcall exec` at a time, each on the previous call's dump. */
  async function execFixture(f: GoldenFixture): Promise<{ lines: string[]; final: unknown }> {
    let scenario = join(tmp(), `${f.name}.exec.scenario.json`);
    await writeFile(scenario, JSON.stringify(f.scenario));
    const lines: string[] = [];
    for (const [i, { op }] of f.trace.entries()) {
      expect(op.op).toBe("hypercall");
      const dump = join(tmp(), `${f.name}.${i}.dump.json`);
      const control = String(op.control);
      const fast = (parseU64Hex(control)! & 0x10000n) !== 0n;
      const r = await runCli([
        "exec",
        "--scenario",
        scenario,
        "--caller",
        String(op.partition ?? f.caller),
        "--vp",
        String(op.vp ?? f.vp ?? 0),
        "--control",
        control,
        fast ? "--fast" : "--input-gpa",
        String(op.rdx),
        ...(op.r8 === undefined ? [] : ["--r8", String(op.r8)]),
        "--dump-state",
        dump,
      ]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      lines.push(r.stdout);
      scenario = dump;
    }
    return { lines, final: finalOfDump(JSON.parse(await readFile(scenario, "utf8"))) };
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
  ])("exec, call by call on the previous dump: %s", async (name) => {
    const f = fixture(name);
    const { lines, final } = await execFixture(f);
    expect(lines).toEqual(
      f.trace.map((e) => {
        const want = e.expect as { status: string; result: string };
        return `{"index":0,"status":"${want.status}","result":"${want.result}"}\n`;
      }),
    );
    expect(final).toEqual(f.expectFinal);
  });

  it("replay: a fast-call fixture as one record file", async () => {
    const f = fixture("failure-between-successes-changes-nothing");
    const records = Buffer.alloc(16 * f.trace.length);
    f.trace.forEach(({ op }, i) => {
      expect(op.partition ?? f.caller).toBe(f.caller);
      records.writeBigUInt64LE(parseU64Hex(String(op.control))!, 16 * i);
      records.writeBigUInt64LE(parseU64Hex(String(op.rdx))!, 16 * i + 8);
    });
    const scenario = join(tmp(), "replay.scenario.json");
    const recordsPath = join(tmp(), "replay.bin");
    const dump = join(tmp(), "replay.dump.json");
    await writeFile(scenario, JSON.stringify(f.scenario));
    await writeFile(recordsPath, records);
    const r = await runCli([
      "replay",
      "--scenario",
      scenario,
      ...flagsOf(f),
      "--dump-state",
      dump,
      recordsPath,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      f.trace
        .map((e, i) => {
          const want = e.expect as { status: string; result: string };
          return `{"index":${i},"status":"${want.status}","result":"${want.result}"}\n`;
        })
        .join(""),
    );
    expect(finalOfDump(JSON.parse(await readFile(dump, "utf8")))).toEqual(f.expectFinal);
  });
});
