/**
 * `hvcall check` through the real binary (cli-contract.md "hvcall check"). The observed results
 * are hvcall's own `replay` / `run` output with some results edited, as another implementation
 * would disagree.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  EXAMPLE_RECORDS,
  EXAMPLE_SCENARIO,
  expectUsageLine,
  jsonLines,
  requireDist,
  runCli,
  useTempDir,
  writeIn,
} from "./cli-harness.js";
import { exampleList, tiledRecords } from "./example-records.js";
import { GUEST_SCENARIO, signal, u64 } from "./guest-scenario.js";

requireDist();
const tmp = useTempDir();

interface ResultLine {
  index: number;
  op?: string;
  status?: string;
  result?: string;
  check?: string;
  why?: string;
  outcome?: string;
  hex?: string;
}

let replayLines: ResultLine[] = [];
let explained: ResultLine[] = [];
let guestScenario = "";
let trace = "";
let traceLines: ResultLine[] = [];
const TRACE_OPS = [
  signal(20, 3),
  { op: "read", partition: 2, gpa: "0x20200", length: 1 },
  signal(20, 70), // FlagNumber 70 of 64: INVALID_PARAMETER
  { op: "eoi" },
  signal(30, 1, { partition: 2 }),
  { op: "write", gpa: "0x9000", hex: "00" },
];

beforeAll(async () => {
  const r = await runCli(["replay", "--scenario", EXAMPLE_SCENARIO, EXAMPLE_RECORDS]);
  replayLines = jsonLines(r.stdout) as ResultLine[];
  const e = await runCli(["replay", "--explain", "--scenario", EXAMPLE_SCENARIO, EXAMPLE_RECORDS]);
  explained = jsonLines(e.stdout) as ResultLine[];
  guestScenario = await writeIn(tmp(), "guest.json", GUEST_SCENARIO);
  trace = await writeIn(tmp(), "trace.jsonl", TRACE_OPS);
  traceLines = jsonLines(
    (await runCli(["run", "--scenario", guestScenario, trace])).stdout,
  ) as ResultLine[];
});

const id = () => Math.random().toString(36).slice(2);

async function check(
  observed: readonly unknown[] | string | Uint8Array,
  input = EXAMPLE_RECORDS,
  scenario = EXAMPLE_SCENARIO,
  ...flags: string[]
) {
  const path = await writeIn(tmp(), `observed-${id()}.jsonl`, observed);
  return runCli(["check", "--scenario", scenario, ...flags, "--observed", path, input]);
}

/** The replay lines with the given indexes answered SUCCESS (0x0…0). */
const claimSuccess = (lines: readonly ResultLine[], indexes: readonly number[]) =>
  lines.map((l) =>
    indexes.includes(l.index) ? { ...l, status: "HV_STATUS_SUCCESS", result: u64(0) } : l,
  );

describe.concurrent("hvcall check: records", () => {
  it("agreement: exit 0, nothing on stdout, the summary on stderr", async () => {
    const r = await check(replayLines);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      `check summary: ${replayLines.length} records compared, ${replayLines.length} agree, 0 disagree\n`,
    );
  });

  it("status may be left out, and other fields are ignored", async () => {
    const r = await check(replayLines.map(({ index, result }) => ({ index, result, extra: [1] })));
    expect(r.code).toBe(0);
  });

  it("one disagreement: exit 3, one line with index, expected, observed, check and why", async () => {
    const target = replayLines.find((l) => l.status === "HV_STATUS_INVALID_PARAMETER")!;
    const r = await check(claimSuccess(replayLines, [target.index]));
    expect(r.code).toBe(3);
    const lines = jsonLines(r.stdout) as Record<string, unknown>[];
    expect(lines).toHaveLength(1);
    expect(Object.keys(lines[0]!)).toEqual(["index", "expected", "observed", "check", "why"]);
    const mine = explained[target.index]!;
    expect(lines[0]).toEqual({
      index: target.index,
      expected: { status: "HV_STATUS_INVALID_PARAMETER", result: u64(5) },
      observed: { status: "HV_STATUS_SUCCESS", result: u64(0) },
      check: mine.check,
      why: mine.why,
    });
    expect(mine.check).toBe("signal-event.8");
    expect(r.stderr).toContain(
      `${replayLines.length} records compared, ${replayLines.length - 1} agree, 1 disagree`,
    );
    expect(r.stderr).toMatch(
      /^\s+1\s+HV_STATUS_INVALID_PARAMETER\s+HV_STATUS_SUCCESS\s+signal-event\.8\s+4$/m,
    );
  });

  it("a result that differs only in a bit the status does not show still disagrees", async () => {
    const r = await check(
      replayLines.map((l) => (l.index === 0 ? { ...l, result: "0x0000000100000000" } : l)),
    );
    expect(r.code).toBe(3);
    expect(jsonLines(r.stdout)).toEqual([
      expect.objectContaining({
        index: 0,
        observed: { status: "HV_STATUS_SUCCESS", result: "0x0000000100000000" },
      }),
    ]);
  });

  // Changed in review: a line whose status names other bits than its own result used to count as
  // a disagreement, and the summary then read "SUCCESS → SUCCESS"; it is a broken file (exit 2).
  it("a status that contradicts its own result is a broken file; without status it is named from the result", async () => {
    const named = await check(
      replayLines.map((l) => (l.index === 1 ? { ...l, status: "HV_STATUS_ACCESS_DENIED" } : l)),
    );
    expect(expectUsageLine(named)).toMatch(
      /^hvcall: --observed ".*": line 2: status: HV_STATUS_ACCESS_DENIED contradicts result 0x0000000000000000, whose bits 15:0 are HV_STATUS_SUCCESS$/,
    );
    const unnamed = await check(
      replayLines.map((l) => (l.index === 1 ? { index: 1, result: u64(6) } : l)),
    );
    expect(unnamed.code).toBe(3);
    expect(jsonLines(unnamed.stdout)[0]).toMatchObject({
      observed: { status: "HV_STATUS_ACCESS_DENIED", result: u64(6) },
    });
  });

  it("a status that is no HV_STATUS name is a broken file; both spellings and UNKNOWN_0x… are names", async () => {
    const bad = await check(
      replayLines.map((l) => (l.index === 0 ? { ...l, status: "HV_STATUS_NOPE" } : l)),
    );
    expect(expectUsageLine(bad)).toMatch(
      /line 1: status: "HV_STATUS_NOPE" is not an HV_STATUS name \(e\.g\. "HV_STATUS_SUCCESS"\)$/,
    );
    const short = await check(
      replayLines.map((l) => (l.index === 0 ? { ...l, status: "SUCCESS" } : l)),
    );
    expect(short.code).toBe(0);
    const unknown = await check(
      replayLines.map((l) =>
        l.index === 0 ? { index: 0, status: "HV_STATUS_UNKNOWN_0x1234", result: u64(0x1234) } : l,
      ),
    );
    expect(unknown.code).toBe(3);
    expect(jsonLines(unknown.stdout)[0]).toMatchObject({
      observed: { status: "HV_STATUS_UNKNOWN_0x1234", result: u64(0x1234) },
    });
  });

  it("an observed line naming another op than hypercall is a broken file for records", async () => {
    const r = await check(replayLines.map((l) => (l.index === 2 ? { ...l, op: "read" } : l)));
    expect(expectUsageLine(r)).toMatch(/line 3: op: "read", but every record is a hypercall$/);
  });

  it("observed results that end early name the record without one", async () => {
    const r = await runCli(
      ["check", "--scenario", EXAMPLE_SCENARIO, "--observed", "-", EXAMPLE_RECORDS],
      {
        stdin: replayLines
          .slice(0, 3)
          .map((l) => `${JSON.stringify(l)}\n`)
          .join(""),
      },
    );
    expect(expectUsageLine(r, { stdoutMayHaveRun: true })).toMatch(
      /--observed stdin: ends after 3 results, but the input goes on: record 3 has no result/,
    );
  });

  it("a UTF-8 BOM before the observed JSON Lines is skipped", async () => {
    const text = `\uFEFF${replayLines.map((l) => JSON.stringify(l)).join("\n")}\n`;
    expect((await check(text)).code).toBe(0);
  });

  it("many disagreements: grouped in the summary with counts and the first index of each", async () => {
    const failing = replayLines.filter((l) => l.status !== "HV_STATUS_SUCCESS").map((l) => l.index);
    const r = await check(claimSuccess(replayLines, failing));
    expect(r.code).toBe(3);
    const lines = jsonLines(r.stdout) as {
      index: number;
      check: string;
      expected: { status: string };
    }[];
    expect(lines.map((l) => l.index)).toEqual(failing);
    // Expected groups, worked out from hvcall's own explained replay.
    const groups = new Map<string, { count: number; first: number }>();
    for (const i of failing) {
      const key = `${explained[i]!.status} ${explained[i]!.check}`;
      const g = groups.get(key) ?? { count: 0, first: i };
      g.count++;
      groups.set(key, g);
    }
    expect(groups.size).toBeGreaterThan(3);
    for (const [key, g] of groups) {
      const [status, step] = key.split(" ");
      const row = new RegExp(
        `^\\s+${g.count}\\s+${status}\\s+HV_STATUS_SUCCESS\\s+${step!.replace(".", "\\.")}\\s+${g.first}$`,
        "m",
      );
      expect(r.stderr).toMatch(row);
    }
    expect(r.stderr).toContain(`${failing.length} disagree`);
    // Most frequent first.
    const counts = [...r.stderr.matchAll(/^\s+(\d+)\s+HV_STATUS_/gm)].map((m) => Number(m[1]));
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
  });

  it("the binary observed form: 8-byte result values, one per record", async () => {
    const bin = await runCli([
      "replay",
      "--output",
      "bin",
      "--scenario",
      EXAMPLE_SCENARIO,
      EXAMPLE_RECORDS,
    ]);
    expect(bin.stdoutRaw.length).toBe(8 * replayLines.length);
    const agree = await check(bin.stdoutRaw);
    expect(agree.code).toBe(0);
    const edited = Buffer.from(bin.stdoutRaw);
    edited.writeBigUInt64LE(0x11n, 8 * 3); // record 3 answered INVALID_PORT_ID
    const r = await check(edited);
    expect(r.code).toBe(3);
    expect(jsonLines(r.stdout)).toEqual([
      expect.objectContaining({
        index: 3,
        observed: { status: "HV_STATUS_INVALID_PORT_ID", result: u64(0x11) },
      }),
    ]);
    // --observed-form bin reads a file that happens to start with "{" as values.
    const forced = await check(
      Buffer.from(bin.stdoutRaw),
      EXAMPLE_RECORDS,
      EXAMPLE_SCENARIO,
      "--observed-form",
      "bin",
    );
    expect(forced.code).toBe(0);
    const ragged = await check(bin.stdoutRaw.subarray(0, 8 * replayLines.length - 3));
    expect(expectUsageLine(ragged)).toMatch(/--observed .*8 bytes per result value|results/);
  });
});

describe.concurrent("hvcall check: observed indexes that do not match the records (exit 2)", () => {
  it.each([
    [
      "out of order",
      () => [replayLines[1], replayLines[0], ...replayLines.slice(2)],
      /line 1: index 1, where record 0 comes/,
    ],
    [
      "one missing in the middle",
      () => replayLines.filter((l) => l.index !== 4),
      /line 5: index 5, where record 4 comes/,
    ],
    [
      "one missing at the end",
      () => replayLines.slice(0, -1),
      /19 results.*20 records|index 19 has no result/,
    ],
    [
      "an extra one",
      () => [...replayLines, { index: 20, result: u64(0) }],
      /more results than the 20 records|has 21 results for 20 records/,
    ],
    [
      "a duplicate",
      () => [replayLines[0], ...replayLines],
      /line 2: index 0, where record 1 comes/,
    ],
  ])("%s", async (_what, observed, message) => {
    const r = await check(observed());
    const line = expectUsageLine(r);
    // File paths in messages are cut to 48 characters (src/cli/cli-error.ts quote()).
    expect(line).toMatch(/^hvcall: --observed "[^"]+"…?: /);
    expect(line).toMatch(message);
  });

  it("the index check comes before anything is compared: no disagreement is printed first", async () => {
    // Enough disagreements to fill several output writes before the missing last result.
    const times = 2000;
    const records = await writeIn(tmp(), "tiled.bin", tiledRecords(exampleList(), times));
    const n = times * replayLines.length;
    const text = Array.from(
      { length: n - 1 },
      (_, i) => `{"index":${i},"result":"${u64(0x7)}"}\n`,
    ).join("");
    const r = await check(text, records);
    expect(expectUsageLine(r)).toMatch(
      new RegExp(`${n - 1} results.*${n} records|index ${n - 1} has no result`),
    );
  });
});

describe.concurrent("hvcall check: malformed observed lines (exit 2, one line)", () => {
  it.each([
    ["not JSON", "nope", /line 4: not a JSON object/],
    ["a JSON array", "[1]", /line 4: not a JSON object/],
    [
      "no index",
      `{"result":"${u64(0)}"}`,
      /line 4: index: expected a non-negative integer, got nothing/,
    ],
    [
      "a negative index",
      `{"index":-1,"result":"${u64(0)}"}`,
      /line 4: index: expected a non-negative integer, got -1/,
    ],
    ["no result", '{"index":3,"status":"HV_STATUS_SUCCESS"}', /line 4: result: missing/],
    [
      "a result that is not hex",
      '{"index":3,"result":"zz"}',
      /line 4: result: expected a 64-bit hex string/,
    ],
    [
      "a status that is not a string",
      `{"index":3,"result":"${u64(0)}","status":0}`,
      /line 4: status: expected a string/,
    ],
  ])("%s", async (_what, bad, message) => {
    const text = `${replayLines.map((l, i) => (i === 3 ? bad : JSON.stringify(l))).join("\n")}\n`;
    const line = expectUsageLine(await check(text));
    expect(line).toMatch(message);
  });
});

describe.concurrent("hvcall check: a trace as the input", () => {
  it("JSON observed with every op's line: agreement", async () => {
    const r = await check(traceLines, trace, guestScenario);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    // Every op with an observed line is compared: the 3 hypercalls and the guest actions.
    const n = traceLines.length;
    expect(r.stderr).toMatch(
      new RegExp(`^check summary: ${n} ops compared, ${n} agree, 0 disagree$`, "m"),
    );
  });

  it("JSON observed with only the hypercall ops' lines: agreement", async () => {
    const r = await check(
      traceLines.filter((l) => l.op === "hypercall"),
      trace,
      guestScenario,
    );
    expect(r.code).toBe(0);
  });

  it("a hypercall disagreement carries the op and hvcall's explanation", async () => {
    const edited = traceLines.map((l) =>
      l.index === 2 ? { ...l, status: "HV_STATUS_SUCCESS", result: u64(0) } : l,
    );
    const r = await check(edited, trace, guestScenario);
    expect(r.code).toBe(3);
    expect(jsonLines(r.stdout)).toEqual([
      {
        index: 2,
        op: "hypercall",
        expected: { status: "HV_STATUS_INVALID_PARAMETER", result: u64(5) },
        observed: { status: "HV_STATUS_SUCCESS", result: u64(0) },
        check: "signal-event.8",
        why: "FlagNumber 70 is not below FlagCount 64 of port 1 in partition 2",
      },
    ]);
  });

  it("a guest action that disagrees shows the fields that differ", async () => {
    const edited = traceLines.map((l) =>
      l.index === 1 ? { ...l, hex: "00" } : l.index === 5 ? { ...l, outcome: "ok" } : l,
    );
    const r = await check(edited, trace, guestScenario);
    expect(r.code).toBe(3);
    expect(jsonLines(r.stdout)).toEqual([
      { index: 1, op: "read", expected: { hex: "08" }, observed: { hex: "00" } },
      { index: 5, op: "write", expected: { outcome: "unbacked" }, observed: { outcome: "ok" } },
    ]);
  });

  // Found in review (fixed): the summary used to count a disagreeing guest action as a hypercall and
  // leave agreeing actions out. For a trace it counts every op with an observed line.
  it("the summary counts every op compared, guest actions included", async () => {
    const r = await check(
      traceLines.map((l) => (l.index === 1 ? { ...l, hex: "00" } : l)),
      trace,
      guestScenario,
    );
    const n = traceLines.length;
    expect(r.stderr).toMatch(
      new RegExp(`^check summary: ${n} ops compared, ${n - 1} agree, 1 disagree$`, "m"),
    );
  });

  it("binary observed: one value per hypercall op", async () => {
    const bin = await runCli(["run", "--output", "bin", "--scenario", guestScenario, trace]);
    expect(bin.stdoutRaw.length).toBe(24);
    expect((await check(bin.stdoutRaw, trace, guestScenario)).code).toBe(0);
    const edited = Buffer.from(bin.stdoutRaw);
    edited.writeBigUInt64LE(0n, 8);
    const r = await check(edited, trace, guestScenario);
    expect(r.code).toBe(3);
    expect(jsonLines(r.stdout)).toEqual([expect.objectContaining({ index: 2, op: "hypercall" })]);
  });

  it("a binary trace input is told by its header", async () => {
    const binTrace = join(tmp(), "trace.bin");
    expect((await runCli(["trace", "convert", trace, binTrace])).code).toBe(0);
    expect((await check(traceLines, binTrace, guestScenario)).code).toBe(0);
  });

  it.each([
    ["a hypercall op without a result", () => traceLines.filter((l) => l.index !== 2), /hypercall/],
    [
      "indexes out of order",
      () => [traceLines[1], traceLines[0], ...traceLines.slice(2)],
      /index|order/,
    ],
    [
      "a result for no op",
      () => [...traceLines, { index: 6, result: u64(0) }],
      /no op of the trace|6/,
    ],
  ])("%s: exit 2", async (_what, observed, message) => {
    expect(expectUsageLine(await check(observed(), trace, guestScenario))).toMatch(message);
  });

  it("an observed line naming another op than the trace's is a broken file", async () => {
    const edited = traceLines.map((l) =>
      l.index === 1 ? { index: 1, op: "hypercall", result: u64(0) } : l,
    );
    expect(expectUsageLine(await check(edited, trace, guestScenario))).toMatch(
      /line 2: op: "hypercall", but op 1 of the trace is a read \(the results follow the trace's ops one to one\)$/,
    );
  });

  it("a result value on a guest action's line is a broken file (only hypercalls have one)", async () => {
    const edited = traceLines.map((l) => (l.index === 3 ? { index: 3, result: u64(0) } : l));
    expect(expectUsageLine(await check(edited, trace, guestScenario))).toMatch(
      /line 4: result: op 3 is an eoi, which has no result value/,
    );
  });

  it("guest-action fields compare by meaning: hex in either case, an MSR value as a number", async () => {
    const ops = [
      { op: "rdmsr", partition: 2, msr: "0x40000080" },
      { op: "read", partition: 2, gpa: "0x20200", length: 1 },
    ];
    const t = await writeIn(tmp(), `msr-${id()}.jsonl`, ops);
    const lines = jsonLines(
      (await runCli(["run", "--scenario", guestScenario, t])).stdout,
    ) as ResultLine[] & { value?: string }[];
    const value = (lines[0] as { value: string }).value;
    const loose = [
      { ...lines[0], value: `0x${BigInt(value).toString(16).toUpperCase()}` },
      { ...lines[1], hex: lines[1]!.hex!.toUpperCase() },
    ];
    expect((await check(loose, t, guestScenario)).code).toBe(0);
    const other = [{ ...lines[0], value: `0x${(BigInt(value) + 1n).toString(16)}` }, lines[1]];
    const r = await check(other, t, guestScenario);
    expect(r.code).toBe(3);
    expect(jsonLines(r.stdout)).toEqual([
      { index: 0, op: "rdmsr", expected: { value }, observed: { value: other[0]!.value } },
    ]);
  });

  it("the input's kind comes from its content: a trace named .txt, records named .json", async () => {
    const traceText = `\n  ${TRACE_OPS.map((o) => JSON.stringify(o)).join("\n")}\n`;
    const txt = await writeIn(tmp(), `trace-${id()}.txt`, traceText);
    expect((await check(traceLines, txt, guestScenario)).code).toBe(0);
    const records = await writeIn(tmp(), `records-${id()}.json`, await readFile(EXAMPLE_RECORDS));
    expect((await check(replayLines, records)).code).toBe(0);
  });

  // Found in the second review: malformed action fields counted as disagreements (exit 3).
  it.each([
    ["value without digits", 1, { value: "0x" }, /line 2: value: expected a 64-bit hex number/],
    ["hex that is not bytes", 1, { hex: "zz" }, /line 2: hex: not hex digits/],
    [
      "an outcome run never prints",
      1,
      { outcome: "OK" },
      /line 2: outcome: "OK" is not one of "ok", "unbacked", "#GP"$/,
    ],
    [
      "hex on a write's line",
      5,
      { hex: "00" },
      /line 6: hex: op 5 is a write, whose line has no hex/,
    ],
    [
      "outcome on a hypercall's line",
      0,
      { outcome: "ok" },
      /line 1: outcome: op 0 is a hypercall, whose line has no outcome/,
    ],
  ])("%s: a broken observed file (exit 2)", async (_what, at, field, message) => {
    const edited = traceLines.map((l) => (l.index === at ? { ...l, ...field } : l));
    expect(expectUsageLine(await check(edited, trace, guestScenario))).toMatch(message);
  });

  it("the unknown-status form for a code that has a name is refused", async () => {
    const edited = replayLines.map((l) =>
      l.index === 0 ? { index: 0, status: "HV_STATUS_UNKNOWN_0x0000", result: u64(0) } : l,
    );
    expect(expectUsageLine(await check(edited))).toMatch(
      /status: HV_STATUS_UNKNOWN_0x0000 is the form of a code without a name, but 0x0000 is HV_STATUS_SUCCESS$/,
    );
  });

  it("a guest action's line may give hex alone (no outcome): it is compared", async () => {
    const edited = traceLines.map((l) => (l.index === 1 ? { index: 1, hex: "ff" } : l));
    const r = await check(edited, trace, guestScenario);
    expect(r.code).toBe(3);
    expect(jsonLines(r.stdout)).toEqual([
      { index: 1, op: "read", expected: { hex: "08" }, observed: { hex: "ff" } },
    ]);
  });

  it("a trace piped in is read as records: the failure says --input trace", async () => {
    const observed = await writeIn(tmp(), `piped-${id()}.jsonl`, traceLines);
    const r = await runCli(["check", "--scenario", guestScenario, "--observed", observed, "-"], {
      stdin: await readFile(trace),
    });
    expect(expectUsageLine(r, { stdoutMayHaveRun: true })).toMatch(
      /\(the input, a stream, was read as 16-byte records; if it is a guest trace, give --input trace\)$/,
    );
    const told = await runCli(
      ["check", "--scenario", guestScenario, "--input", "trace", "--observed", observed, "-"],
      { stdin: await readFile(trace) },
    );
    expect(told.code).toBe(0);
  });

  it("records whose first byte is { are taken for a trace: the failure says --input records", async () => {
    const brace = Buffer.alloc(16);
    brace.writeUInt32LE(0x1007b, 0); // call code 0x007b: the byte "{"
    const records = await writeIn(tmp(), `brace-${id()}.bin`, brace);
    const r = await check([{ index: 0, result: u64(2) }], records);
    expect(expectUsageLine(r)).toMatch(
      /\(the input was read as a guest trace; if it is 16-byte records, give --input records\)$/,
    );
    const forced = await runCli([
      "check",
      "--scenario",
      EXAMPLE_SCENARIO,
      "--input",
      "records",
      "--observed",
      await writeIn(tmp(), `brace-${id()}.jsonl`, [{ index: 0, result: u64(2) }]),
      records,
    ]);
    expect(forced.code).toBe(0);
  });

  it("records of a wrong length suggest --input trace", async () => {
    const odd = await writeIn(tmp(), `odd-${id()}.bin`, new Uint8Array(20));
    expect(expectUsageLine(await check(replayLines, odd))).toMatch(
      /is 20 bytes, not a multiple of 16 .* \(if the input is a guest trace, give --input trace\)\. Nothing was run$/,
    );
  });

  it("a bad trace line: exit 2 naming the line, before anything is compared", async () => {
    const bad = await writeIn(tmp(), "bad-trace.jsonl", [
      TRACE_OPS[0],
      { op: "eoi", partition: 9 },
    ]);
    expect(expectUsageLine(await check(traceLines.slice(0, 2), bad, guestScenario))).toMatch(
      /line 2: partition: no partition with id 9/,
    );
  });
});
