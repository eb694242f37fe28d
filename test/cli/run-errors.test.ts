/**
 * A bad trace line is host misuse (cli-contract.md "hvcall run"): exit 2, one line naming the line
 * number and the field. For a file it is found before any op runs (stdout empty, no dump); from
 * stdin the ops before the bad line have run, and the message says how many.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { quote } from "../../src/cli/cli-error.js";
import { TRACE_LINE_MAX_BYTES, WRITE_MAX_BYTES } from "../../src/trace/trace-op.js";
import {
  BIN,
  expectUsageLine,
  ROOT,
  requireDist,
  runCli,
  useTempDir,
  writeIn,
} from "./cli-harness.js";
import { callLine, GUEST_SCENARIO, signal } from "./guest-scenario.js";

requireDist();
const tmp = useTempDir();
let scenario = "";

beforeAll(async () => {
  scenario = await writeIn(tmp(), "scenario.json", GUEST_SCENARIO);
});

/** Two good ops, a blank line, the bad line (line 4 of the file), one more good op. */
function traceWith(bad: string): string {
  return `${JSON.stringify(signal(20, 3))}\n${JSON.stringify({ op: "eoi" })}\n\n${bad}\n${JSON.stringify({ op: "eoi" })}\n`;
}

const BAD_LINES: readonly (readonly [string, string, string, RegExp])[] = [
  ["not JSON", "garbage", "", /not valid JSON/],
  [
    "a JSON array",
    "[1,2]",
    "",
    /expected a JSON object like \{"op": "hypercall", …\}, got an array/,
  ],
  ["a JSON string", '"eoi"', "", /expected a JSON object .*got "eoi"/],
  ["null", "null", "", /got null/],
  [
    "an unknown op",
    '{"op":"jump"}',
    "op",
    /expected one of hypercall, write, read, wrmsr, rdmsr, eoi, got "jump"/,
  ],
  ["no op", '{"gpa":"0x0"}', "op", /got nothing/],
  [
    "an unknown field",
    '{"op":"eoi","gpa":"0x0"}',
    "gpa",
    /not a field of an eoi op \(its fields: partition, vp\)/,
  ],
  [
    "a field of another op",
    '{"op":"read","gpa":"0x0","length":1,"hex":"00"}',
    "hex",
    /not a field of a read op/,
  ],
  [
    "a missing field",
    '{"op":"hypercall","control":"0x1005d"}',
    "rdx",
    /missing: expected a 64-bit hex number/,
  ],
  ["a missing length", '{"op":"read","gpa":"0x0"}', "length", /missing/],
  ["a missing msr", '{"op":"rdmsr"}', "msr", /missing/],
  [
    "bad hex in a 64-bit value",
    '{"op":"hypercall","control":"0xZZ","rdx":"0x0"}',
    "control",
    /got "0xZZ"/,
  ],
  [
    "a 64-bit value as a JSON number",
    '{"op":"hypercall","control":65629,"rdx":"0x0"}',
    "control",
    /as a string, got 65629/,
  ],
  [
    "a value wider than 64 bits",
    '{"op":"wrmsr","msr":"0x40000080","value":"0x10000000000000000"}',
    "value",
    /64-bit hex number/,
  ],
  [
    "an odd number of hex digits",
    '{"op":"write","gpa":"0x0","hex":"abc"}',
    "hex",
    /odd number of hex digits \(3\)/,
  ],
  ["a byte that is not hex", '{"op":"write","gpa":"0x0","hex":"zz"}', "hex", /"zz"/],
  [
    "a read of 0 bytes",
    '{"op":"read","gpa":"0x0","length":0}',
    "length",
    /expected an integer 1\.\.4096, got 0/,
  ],
  ["a read of a page and a byte", '{"op":"read","gpa":"0x0","length":4097}', "length", /got 4097/],
  ["a read of 1.5 bytes", '{"op":"read","gpa":"0x0","length":1.5}', "length", /got 1\.5( \(|;|$)/],
  [
    "a write of 1 MiB and a byte",
    `{"op":"write","gpa":"0x0","hex":"${"00".repeat(WRITE_MAX_BYTES + 1)}"}`,
    "hex",
    /2097154 hex digits; a write is at most 1048576 bytes \(split it into several writes\)/,
  ],
  [
    "an MSR number above u32",
    '{"op":"rdmsr","msr":"0x100000000"}',
    "msr",
    /expected an MSR number/,
  ],
  ["a partition id 0", '{"op":"eoi","partition":0}', "partition", /expected an integer 1\.\./],
  [
    "a partition the scenario lacks",
    '{"op":"eoi","partition":9}',
    "partition",
    /no partition with id 9 in the scenario/,
  ],
  [
    "a VP the partition lacks",
    '{"op":"eoi","partition":1,"vp":1}',
    "vp",
    /partition 1 has no VP with index 1/,
  ],
  [
    "a VP as a string",
    '{"op":"eoi","vp":"0"}',
    "vp",
    /expected an integer 0\.\.4294967295, got "0"/,
  ],
];

describe.concurrent("a bad line in a trace file: found before any op runs", () => {
  it.each(BAD_LINES)("%s", async (_what, bad, field, reason) => {
    const trace = await writeIn(
      tmp(),
      `bad-${Math.random().toString(36).slice(2)}.jsonl`,
      traceWith(bad),
    );
    const dump = join(tmp(), `dump-${Math.random().toString(36).slice(2)}.json`);
    const r = await runCli(["run", "--scenario", scenario, "--dump-state", dump, trace]);
    const line = expectUsageLine(r); // stdout empty: nothing ran
    const head = `hvcall: trace: ${quote(trace)}: line 4: ${field === "" ? "" : `${field}: `}`;
    expect(line.startsWith(head)).toBe(true);
    expect(line).toMatch(reason);
    expect(line.endsWith("(nothing was run)")).toBe(true);
    await expect(readFile(dump)).rejects.toThrow(/ENOENT/);
  });

  it("a line longer than any op stops the reader before it buffers the rest", async () => {
    const trace = await writeIn(tmp(), "long-line.jsonl", "x".repeat(TRACE_LINE_MAX_BYTES + 1));
    expect(expectUsageLine(await runCli(["run", "--scenario", scenario, trace]))).toBe(
      `hvcall: trace: ${quote(trace)}: line 1: longer than ${TRACE_LINE_MAX_BYTES} bytes without a newline; a trace line is one op (a write is at most 1048576 bytes) (nothing was run)`,
    );
  });

  it("a write of exactly 1 MiB runs (the largest the trace forms carry)", async () => {
    const trace = await writeIn(tmp(), "largest-write.jsonl", [
      { op: "write", gpa: "0x0", hex: "00".repeat(WRITE_MAX_BYTES) },
    ]);
    const r = await runCli(["run", "--scenario", scenario, trace]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\{"index":0,"op":"write","outcome":"(ok|unbacked)"\}\n$/);
  });

  it("a --vp the caller lacks is rejected before the trace is read", async () => {
    const trace = await writeIn(tmp(), "given-vp.jsonl", traceWith(JSON.stringify({ op: "eoi" })));
    const line = expectUsageLine(
      await runCli(["run", "--scenario", scenario, "--caller", "2", "--vp", "5", trace]),
    );
    expect(line).toContain("--vp 5: partition 2 has no VP with index 5");
  });

  it("the default VP 0 is checked when an op uses it, naming the line and the flag", async () => {
    const s = await writeIn(tmp(), "vp3-only.json", {
      partitions: [{ id: 1, vps: [{ index: 3 }] }],
    });
    const trace = await writeIn(tmp(), "default-vp.jsonl", [
      { op: "rdmsr", vp: 3, msr: "0x40000081" },
      { op: "eoi" },
    ]);
    const line = expectUsageLine(await runCli(["run", "--scenario", s, trace]));
    expect(line).toBe(
      `hvcall: trace: ${quote(trace)}: line 2: vp (--vp): partition 1 has no VP with index 0 (nothing was run)`,
    );
  });

  it("a write or read naming no VP needs none: a --vp the caller lacks is fine for them", async () => {
    const trace = await writeIn(tmp(), "memory-only.jsonl", [
      { op: "read", partition: 2, gpa: "0x50000", length: 1 },
    ]);
    const r = await runCli(["run", "--scenario", scenario, trace]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('{"index":0,"op":"read","outcome":"ok","hex":"00"}\n');
  });

  it("a binary trace with a bad record: exit 2 naming the record and its byte, nothing runs", async () => {
    const trace = await writeIn(tmp(), "good.jsonl", [signal(20, 3), { op: "eoi", partition: 9 }]);
    const bin = join(tmp(), "bad-partition.bin");
    expect((await runCli(["trace", "convert", trace, bin])).code).toBe(0);
    const line = expectUsageLine(await runCli(["run", "--scenario", scenario, bin]));
    // Header 16 bytes, then the hypercall record (8 + 16 bytes): the eoi record is at byte 40.
    expect(line).toBe(
      `hvcall: trace: ${quote(bin)}: record 1 (byte 40): partition: no partition with id 9 in the scenario (nothing was run)`,
    );
  });
});

describe.concurrent("a bad line from stdin: the ops before it have run", () => {
  it.each(BAD_LINES)("%s", async (_what, bad, field, reason) => {
    const r = await runCli(["run", "--scenario", scenario, "-"], { stdin: traceWith(bad) });
    const line = expectUsageLine(r, { stdoutMayHaveRun: true });
    expect(
      line.startsWith(`hvcall: trace: stdin: line 4: ${field === "" ? "" : `${field}: `}`),
    ).toBe(true);
    expect(line).toMatch(reason);
    expect(line.endsWith("; the 2 ops before it ran")).toBe(true);
    expect(r.stdout).toBe(
      `${callLine(0, "HV_STATUS_SUCCESS", 0)}\n{"index":1,"op":"eoi","outcome":"ok"}\n`,
    );
  });

  it("a failed run leaves an existing --dump-state OUT as it was", async () => {
    const out = await writeIn(tmp(), "kept-dump.json", "KEEP\n");
    const r = await runCli(["run", "--scenario", scenario, "--dump-state", out, "-"], {
      stdin: traceWith("[1]"),
    });
    expectUsageLine(r, { stdoutMayHaveRun: true });
    expect(await readFile(out, "utf8")).toBe("KEEP\n");
  });

  it("a bad first line: none ran", async () => {
    const r = await runCli(["run", "--scenario", scenario, "-"], { stdin: '{"op":"nope"}\n' });
    expect(expectUsageLine(r)).toMatch(/line 1: op: .*; the 0 ops before it ran$/);
  });

  it("one op before it: the message counts it", async () => {
    const r = await runCli(["run", "--scenario", scenario, "-"], {
      stdin: `{"op":"eoi"}\n{"op":"nope"}\n`,
    });
    expect(expectUsageLine(r, { stdoutMayHaveRun: true })).toMatch(
      /line 2: op: .*; the 1 op before it ran$/,
    );
    expect(r.stdout).toBe('{"index":0,"op":"eoi","outcome":"ok"}\n');
  });
});

describe("the reader of stdout goes away (EPIPE)", () => {
  // Found in review (fixed).
  it("run stops: exit 2, one line saying how many ops ran, no dump", async () => {
    const trace = await writeIn(
      tmp(),
      "long.jsonl",
      `${JSON.stringify(signal(20, 3))}\n`.repeat(200_000),
    );
    const dump = join(tmp(), "epipe-dump.json");
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [BIN, "run", "--scenario", scenario, "--dump-state", dump, trace],
        {
          cwd: ROOT,
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => {
        stderr += c.toString();
      });
      child.stdout.once("data", () => child.stdout.destroy());
      child.on("close", (code) => resolve({ code, stderr }));
    });
    const line = expectUsageLine({ ...result, stdout: "" });
    expect(line).toMatch(
      /^hvcall: stdout: its reader closed it after \d+ ops; the rest did not run and --dump-state was not written$/,
    );
    await expect(readFile(dump)).rejects.toThrow(/ENOENT/);
  });
});
