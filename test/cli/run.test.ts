/**
 * `hvcall run` through the real binary (cli-contract.md "hvcall run"): every trace op and its
 * output line, --explain, --output bin, --dump-state, several callers in one trace, blank lines,
 * stdin, and the binary trace form.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { jsonLines, requireDist, runCli, useTempDir, writeIn } from "./cli-harness.js";
import {
  callLine,
  type Dump,
  dumpVp,
  EOM,
  GUEST_SCENARIO,
  postMessageBlock,
  SCONTROL,
  SIEFP,
  SVERSION,
  signal,
  sintMsr,
  u64,
} from "./guest-scenario.js";

requireDist();
const tmp = useTempDir();
let scenario = "";

beforeAll(async () => {
  scenario = await writeIn(tmp(), "scenario.json", GUEST_SCENARIO);
});

async function run(name: string, ops: readonly unknown[] | string, ...flags: string[]) {
  const trace = await writeIn(tmp(), `${name}.jsonl`, ops);
  return { trace, r: await runCli(["run", "--scenario", scenario, ...flags, trace]) };
}

/** Every op of the contract's table, each once with each outcome it can have. */
const EVERY_OP = [
  signal(20, 3), // 0: partition 1 signals partition 2 VP 0 SINT 2 flag 3
  { op: "read", partition: 2, gpa: "0x20200", length: 2 }, // 1: SINT 2's flags in the SIEF page
  { op: "read", gpa: "0x9000", length: 1 }, // 2: unbacked
  { op: "write", gpa: "0x2008", hex: "A1B2c3" }, // 3: RAM (hex in either case)
  { op: "read", gpa: "0x2008", length: 4 }, // 4: read back in lower case
  { op: "write", gpa: "0x1fff", hex: "0000" }, // 5: touches an unbacked page: nothing written
  { op: "wrmsr", partition: 2, vp: 0, msr: sintMsr(2), value: "0x51" }, // 6
  { op: "wrmsr", msr: SVERSION, value: "0x2" }, // 7: read-only → #GP
  { op: "rdmsr", partition: 2, msr: sintMsr(2) }, // 8
  { op: "rdmsr", msr: "0x40000070" }, // 9: not a SynIC MSR → #GP
  { op: "eoi", partition: 2, vp: 1 }, // 10
  { op: "hypercall", control: "0x1005d", rdx: "0x0000004600000014" }, // 11: flag 70 of 64
] as const;

const EVERY_OP_LINES = [
  callLine(0, "HV_STATUS_SUCCESS", 0),
  '{"index":1,"op":"read","outcome":"ok","hex":"0800"}',
  '{"index":2,"op":"read","outcome":"unbacked"}',
  '{"index":3,"op":"write","outcome":"ok"}',
  '{"index":4,"op":"read","outcome":"ok","hex":"a1b2c300"}',
  '{"index":5,"op":"write","outcome":"unbacked"}',
  '{"index":6,"op":"wrmsr","outcome":"ok"}',
  '{"index":7,"op":"wrmsr","outcome":"#GP"}',
  `{"index":8,"op":"rdmsr","outcome":"ok","value":"${u64(0x51)}"}`,
  '{"index":9,"op":"rdmsr","outcome":"#GP"}',
  '{"index":10,"op":"eoi","outcome":"ok"}',
  callLine(11, "HV_STATUS_INVALID_PARAMETER", 5),
];

describe.concurrent("hvcall run: one output line per op", () => {
  it("every op of the contract, with the exact line shape of each outcome", async () => {
    const { r } = await run("every-op", EVERY_OP);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${EVERY_OP_LINES.join("\n")}\n`);
  });

  it("the line's fields come in the contract's order: index, op, then what the op adds", async () => {
    const { r } = await run("key-order", EVERY_OP);
    const keys = jsonLines(r.stdout).map((l) => Object.keys(l as object).join(","));
    expect(new Set(keys)).toEqual(
      new Set([
        "index,op,status,result",
        "index,op,outcome",
        "index,op,outcome,hex",
        "index,op,outcome,value",
      ]),
    );
  });

  it("a guest write that touches an unbacked page writes nothing at all (no partial write)", async () => {
    const { r } = await run("no-partial", [
      { op: "write", gpa: "0x2ffe", hex: "aabbccdd" },
      { op: "read", gpa: "0x2ffe", length: 2 },
    ]);
    expect(jsonLines(r.stdout)).toEqual([
      { index: 0, op: "write", outcome: "unbacked" },
      { index: 1, op: "read", outcome: "ok", hex: "0000" },
    ]);
  });

  it("blank lines are skipped: indexes count ops, not lines", async () => {
    const text = `\n${JSON.stringify(signal(20, 3))}\n\n   \n\t\n${JSON.stringify({ op: "eoi" })}\n\n`;
    const { r } = await run("blank-lines", text);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `${callLine(0, "HV_STATUS_SUCCESS", 0)}\n{"index":1,"op":"eoi","outcome":"ok"}\n`,
    );
  });

  it("the last line needs no newline; CRLF line ends are read too", async () => {
    const { r } = await run(
      "crlf",
      `${JSON.stringify(signal(20, 3))}\r\n${JSON.stringify({ op: "eoi" })}`,
    );
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout)).toHaveLength(2);
  });

  it("several callers in one trace: each hypercall from the partition and VP it names", async () => {
    const dump = join(tmp(), "callers-dump.json");
    const { r } = await run(
      "callers",
      [
        signal(20, 1), // --caller 1 (default): partition 2, VP 0, flag 1
        signal(30, 2, { partition: 2, vp: 1 }), // the guest's VP 1 signals the root's port 1
        signal(30, 3, { partition: 2 }), // VP 0 of the guest (--vp 0)
        signal(20, 1, { partition: 2 }), // connection 20 is the root's, not the guest's
        signal(30, 4), // and connection 30 is the guest's, not the root's
      ],
      "--dump-state",
      dump,
    );
    expect(r.stdout).toBe(
      `${[
        callLine(0, "HV_STATUS_SUCCESS", 0),
        callLine(1, "HV_STATUS_SUCCESS", 0),
        callLine(2, "HV_STATUS_SUCCESS", 0),
        callLine(3, "HV_STATUS_INVALID_CONNECTION_ID", 0x12),
        callLine(4, "HV_STATUS_INVALID_CONNECTION_ID", 0x12),
      ].join("\n")}\n`,
    );
    const d = JSON.parse(await readFile(dump, "utf8")) as Dump;
    expect(dumpVp(d, 1, 0)).toMatchObject({
      siefFlags: { "2": [2, 3] },
      sintAssertions: { "2": 2 },
    });
    expect(dumpVp(d, 2, 0)).toMatchObject({ siefFlags: { "2": [1] }, sintAssertions: { "2": 1 } });
  });

  it("--caller and --vp set the defaults of ops that name no partition or VP", async () => {
    const { r } = await run(
      "defaults",
      [signal(30, 5), { op: "rdmsr", msr: SIEFP }],
      "--caller",
      "2",
      "--vp",
      "1",
    );
    expect(jsonLines(r.stdout)).toEqual([
      { index: 0, op: "hypercall", status: "HV_STATUS_SUCCESS", result: u64(0) },
      { index: 1, op: "rdmsr", outcome: "ok", value: u64(0x22001) },
    ]);
  });

  it("stdin ('-') gives what the file gives", async () => {
    const { trace, r } = await run("stdin", EVERY_OP);
    const s = await runCli(["run", "--scenario", scenario, "-"], { stdin: await readFile(trace) });
    expect(s.code).toBe(0);
    expect(s.stdout).toBe(r.stdout);
  });

  it("--summary counts the hypercall statuses on stderr; stdout unchanged", async () => {
    const { trace } = await run("summary", EVERY_OP);
    const r = await runCli(["run", "--summary", "--scenario", scenario, trace]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${EVERY_OP_LINES.join("\n")}\n`);
    expect(r.stderr).toMatch(/^\s+1\s+HV_STATUS_SUCCESS$/m);
    expect(r.stderr).toMatch(/^\s+1\s+HV_STATUS_INVALID_PARAMETER$/m);
    expect(r.stderr).toMatch(/^\s+2\s+hypercalls in /m);
  });
});

describe.concurrent("hvcall run --explain", () => {
  it("every hypercall line carries check and why; the other ops' lines do not change", async () => {
    const { r } = await run("explain-every-op", EVERY_OP, "--explain");
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    const plain = EVERY_OP_LINES;
    lines.forEach((line, i) => {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (o.op !== "hypercall") {
        expect(line).toBe(plain[i]);
        return;
      }
      expect(line.startsWith(plain[i]!.slice(0, -1))).toBe(true);
      expect(Object.keys(o)).toEqual(["index", "op", "status", "result", "check", "why"]);
    });
    // The contract's own example sentence, for FlagNumber 70 of port 1 (FlagCount 64).
    expect(JSON.parse(lines[11]!)).toMatchObject({
      check: "signal-event.8",
      why: "FlagNumber 70 is not below FlagCount 64 of port 1 in partition 2",
    });
    expect(JSON.parse(lines[0]!)).toMatchObject({ check: "signal-event.11" });
    expect((JSON.parse(lines[0]!) as { why: string }).why).toMatch(
      /flag 3 .*SINT 2 on VP 0 of partition 2/,
    );
  });

  it.each([
    [
      "generic.1",
      { op: "hypercall", control: "0x10058", rdx: "0x14" },
      "HV_STATUS_INVALID_HYPERCALL_CODE",
    ],
    [
      "generic.2",
      { op: "hypercall", control: "0x801005d", rdx: "0x14" },
      "HV_STATUS_INVALID_HYPERCALL_INPUT",
    ],
    [
      "generic.3",
      signal(30, 0, { partition: 2, control: "0x5c", rdx: "0x50000" }),
      "HV_STATUS_ACCESS_DENIED",
    ],
    [
      "generic.4",
      { op: "hypercall", control: "0x5d", rdx: "0x2004" },
      "HV_STATUS_INVALID_ALIGNMENT",
    ],
    [
      "signal-event.5",
      { op: "hypercall", control: "0x1005d", rdx: "0x0001000000000014" },
      "HV_STATUS_INVALID_HYPERCALL_INPUT",
    ],
    ["signal-event.6", signal(99, 0), "HV_STATUS_INVALID_CONNECTION_ID"],
    ["signal-event.7", signal(22, 0), "HV_STATUS_INVALID_PORT_ID"],
    [
      "post-message.7",
      { op: "hypercall", control: "0x5c", rdx: "0x2000" },
      "HV_STATUS_INVALID_PORT_ID",
    ],
  ])("%s decides %j", async (check, op, status) => {
    // For post-message.7 the block at 0x2000 posts on connection 20, which leads to an event port.
    const ops =
      check === "post-message.7"
        ? [{ op: "write", gpa: "0x2000", hex: postMessageBlock(20, 1, "") }, op]
        : [op];
    const { r } = await run(`explain-${check}`, ops, "--explain");
    const line = jsonLines(r.stdout).at(-1) as { status: string; check: string; why: string };
    expect(line).toMatchObject({ status, check });
    expect(line.why.length).toBeGreaterThan(10);
  });
});

describe.concurrent("hvcall run --output bin and --dump-state", () => {
  it("--output bin: the 8-byte result value (u64 LE) of each hypercall op, nothing for the others", async () => {
    const { trace, r: json } = await run("bin", EVERY_OP);
    const bin = await runCli(["run", "--scenario", scenario, "--output", "bin", trace]);
    expect(bin.code).toBe(0);
    const calls = jsonLines(json.stdout).filter(
      (l) => (l as { op: string }).op === "hypercall",
    ) as { result: string }[];
    expect(bin.stdoutRaw.length).toBe(8 * calls.length);
    calls.forEach((c, i) => {
      expect(bin.stdoutRaw.readBigUInt64LE(8 * i)).toBe(BigInt(c.result));
    });
  });

  it("--dump-state writes the final state; the dump runs again as a scenario", async () => {
    const dump = join(tmp(), "every-op-dump.json");
    const { trace, r } = await run("dump", EVERY_OP, "--dump-state", dump);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${EVERY_OP_LINES.join("\n")}\n`);
    const d = JSON.parse(await readFile(dump, "utf8")) as Dump & {
      partitions: { memory?: { gpa: string; hex: string }[] }[];
    };
    expect(dumpVp(d, 2, 0)).toMatchObject({
      siefFlags: { "2": [3] },
      sintAssertions: { "2": 1 },
      simSlots: {},
      queuedMessages: {},
    });
    // The guest's wrmsr of SINT2 is in the dump too.
    expect((dumpVp(d, 2, 0) as unknown as { sints: Record<string, string> }).sints["2"]).toMatch(
      /^0x0*51$/,
    );
    for (const p of d.partitions) for (const vp of p.vps) expect(vp).toHaveProperty("simSlots");
    // The dump as the scenario: flag 3 is set already, so signalling it again asserts nothing new.
    const again = await runCli([
      "run",
      "--scenario",
      dump,
      "--dump-state",
      join(tmp(), "again.json"),
      trace,
    ]);
    expect(again.code).toBe(0);
    const d2 = JSON.parse(await readFile(join(tmp(), "again.json"), "utf8")) as Dump;
    expect(dumpVp(d2, 2, 0).sintAssertions).toEqual({ "2": 1 });
    expect(jsonLines(again.stdout)[4]).toEqual({
      index: 4,
      op: "read",
      outcome: "ok",
      hex: "a1b2c300",
    });
  });

  it("--dump-state may not overwrite the trace or the scenario (exit 2, nothing runs)", async () => {
    const { trace } = await run("dump-self", EVERY_OP);
    const before = await readFile(trace, "utf8");
    for (const target of [trace, scenario]) {
      const r = await runCli(["run", "--scenario", scenario, "--dump-state", target, trace]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain("--dump-state");
    }
    expect(await readFile(trace, "utf8")).toBe(before);
  });

  it("wrmsr SCONTROL 0 then a signal: INVALID_SYNIC_STATE, and the dump keeps SCONTROL 0", async () => {
    const dump = join(tmp(), "scontrol-dump.json");
    const { r } = await run(
      "scontrol",
      [
        { op: "wrmsr", partition: 2, msr: SCONTROL, value: "0x0" },
        signal(20, 3),
        { op: "wrmsr", partition: 2, msr: EOM, value: "0x0" },
      ],
      "--dump-state",
      dump,
    );
    expect(jsonLines(r.stdout)[1]).toMatchObject({ status: "HV_STATUS_INVALID_SYNIC_STATE" });
    const d = JSON.parse(await readFile(dump, "utf8")) as Dump;
    expect((dumpVp(d, 2, 0) as unknown as { scontrol: string }).scontrol).toMatch(/^0x0+$/);
    expect(dumpVp(d, 2, 0).siefFlags).toEqual({});
  });
});

describe.concurrent("a binary trace runs as its JSON Lines form", () => {
  it("same lines (plain, --explain, --output bin) and the same dump", async () => {
    const { trace } = await run("to-binary", EVERY_OP);
    const bin = join(tmp(), "to-binary.bin");
    const c = await runCli(["trace", "convert", trace, bin]);
    expect(c.code).toBe(0);
    expect((await readFile(bin)).subarray(0, 8).toString("latin1")).toBe("HVTRACE\0");
    for (const flags of [[], ["--explain"], ["--output", "bin"]]) {
      const a = await runCli([
        "run",
        "--scenario",
        scenario,
        ...flags,
        "--dump-state",
        join(tmp(), "a.json"),
        trace,
      ]);
      const b = await runCli([
        "run",
        "--scenario",
        scenario,
        ...flags,
        "--dump-state",
        join(tmp(), "b.json"),
        bin,
      ]);
      expect(a.code).toBe(0);
      expect(b.code).toBe(0);
      expect(b.stdoutRaw.equals(a.stdoutRaw)).toBe(true);
      expect(await readFile(join(tmp(), "b.json"), "utf8")).toBe(
        await readFile(join(tmp(), "a.json"), "utf8"),
      );
    }
    const fromStdin = await runCli(["run", "--scenario", scenario, "-"], {
      stdin: await readFile(bin),
    });
    expect(fromStdin.stdout).toBe(`${EVERY_OP_LINES.join("\n")}\n`);
  });
});
