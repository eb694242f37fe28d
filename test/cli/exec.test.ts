import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { EXAMPLE_SCENARIO, requireDist, runCli, useTempDir } from "./cli-harness.js";

requireDist();
const tmp = useTempDir();

/** A two-partition scenario whose root backs memory at 0x2000 (connection 0x14, flag 3). */
const MEMORY_SCENARIO = {
  partitions: [
    {
      id: 1,
      privileges: ["SignalEvents"],
      vps: [{ index: 0, scontrol: "0x1" }],
      connections: [{ id: 20, portPartition: 2, portId: 1 }],
      memory: [{ gpa: "0x2000", hex: "1400000003000000" }],
    },
    {
      id: 2,
      vps: [{ index: 0, scontrol: "0x1", siefp: "0x3f000001", sints: { "2": "0x50" } }],
      ports: [
        { id: 1, type: "event", targetVp: 0, targetSint: 2, baseFlagNumber: 0, flagCount: 64 },
      ],
    },
  ],
};
let memoryScenario = "";

beforeAll(async () => {
  memoryScenario = join(tmp(), "memory.json");
  await writeFile(memoryScenario, JSON.stringify(MEMORY_SCENARIO));
});

const line = (status: string, code: number) =>
  `{"index":0,"status":"${status}","result":"0x${code.toString(16).padStart(16, "0")}"}\n`;

function expectUsageError(r: { code: number | null; stdout: string; stderr: string }): string {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe("");
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

describe.concurrent("hvcall exec", () => {
  it("a fast call prints one result line (index 0), exit 0", async () => {
    const r = await runCli([
      "exec",
      "--scenario",
      EXAMPLE_SCENARIO,
      "--control",
      "0x1005d",
      "--fast",
      "0x0000000300001001",
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(line("HV_STATUS_SUCCESS", 0));
  });

  it("takes HEX without the 0x prefix too", async () => {
    const r = await runCli([
      "exec",
      "--scenario",
      EXAMPLE_SCENARIO,
      "--control",
      "1005d",
      "--fast",
      "1001",
    ]);
    expect(r.stdout).toBe(line("HV_STATUS_SUCCESS", 0));
  });

  it("a failing call is still exit 0, with its status and full result value", async () => {
    const r = await runCli([
      "exec",
      "--scenario",
      EXAMPLE_SCENARIO,
      "--control",
      "0x1005d",
      "--fast",
      "0x7777",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(line("HV_STATUS_INVALID_CONNECTION_ID", 0x12));
  });

  it("a memory call reads the input block from the scenario's memory at --input-gpa", async () => {
    const out = join(tmp(), "memory-dump.json");
    const r = await runCli([
      "exec",
      "--scenario",
      memoryScenario,
      "--control",
      "0x5d",
      "--input-gpa",
      "0x2000",
      "--dump-state",
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(line("HV_STATUS_SUCCESS", 0));
    const dump = JSON.parse(await readFile(out, "utf8")) as {
      partitions: {
        id: number;
        vps: { index: number; siefFlags: unknown; sintAssertions: unknown }[];
      }[];
    };
    expect(
      dump.partitions.map((p) => p.vps.map((v) => [p.id, v.index, v.siefFlags, v.sintAssertions])),
    ).toEqual([[[1, 0, {}, {}]], [[2, 0, { "2": [3] }, { "2": 1 }]]]);
  });

  it.each([
    ["0x2004", "misaligned"],
    ["0x9000", "unbacked"],
  ])("a memory call at %s (%s) gets HV_STATUS_INVALID_ALIGNMENT", async (gpa) => {
    const r = await runCli([
      "exec",
      "--scenario",
      memoryScenario,
      "--control",
      "0x5d",
      "--input-gpa",
      gpa,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(line("HV_STATUS_INVALID_ALIGNMENT", 4));
  });
});

describe.concurrent("hvcall exec --explain and --r8", () => {
  const execArgs = (...more: string[]) => [
    "exec",
    "--scenario",
    EXAMPLE_SCENARIO,
    "--control",
    "0x1005d",
    ...more,
  ];

  it("--explain adds check and why after the result, the rest of the line unchanged", async () => {
    const r = await runCli(execArgs("--fast", "0x1001", "--explain"));
    expect(r.code).toBe(0);
    expect(r.stdout.endsWith("}\n")).toBe(true);
    const o = JSON.parse(r.stdout) as Record<string, string>;
    expect(Object.keys(o)).toEqual(["index", "status", "result", "check", "why"]);
    expect(r.stdout.startsWith(line("HV_STATUS_SUCCESS", 0).slice(0, -2))).toBe(true);
    expect(o.check).toBe("signal-event.11");
    expect(o.why).toBe(
      "flag 0 (BaseFlagNumber 0 + FlagNumber 0) of SINT 2 on VP 0 of partition 2 was clear and is set: interrupt asserted on SINT 2",
    );
  });

  it.each([
    [
      "0x7777",
      "signal-event.6",
      "HV_STATUS_INVALID_CONNECTION_ID",
      /owns no connection with id 30583 \(0x7777\)/,
    ],
    [
      "0x0000008000001001",
      "signal-event.8",
      "HV_STATUS_INVALID_PARAMETER",
      /FlagNumber 128 is not below FlagCount 128 of port 1 in partition 2/,
    ],
    ["0x0001000000001001", "signal-event.5", "HV_STATUS_INVALID_HYPERCALL_INPUT", /RsvdZ/],
  ])("--fast %s: %s decides", async (fast, check, status, why) => {
    const o = JSON.parse((await runCli(execArgs("--fast", fast, "--explain"))).stdout) as Record<
      string,
      string
    >;
    expect(o).toMatchObject({ status, check });
    expect(o.why).toMatch(why);
  });

  it("--explain on a memory call names the GPA when the input fetch fails (generic.4)", async () => {
    const r = await runCli([
      "exec",
      "--scenario",
      memoryScenario,
      "--control",
      "0x5d",
      "--input-gpa",
      "0x9000",
      "--explain",
    ]);
    const o = JSON.parse(r.stdout) as Record<string, string>;
    expect(o).toMatchObject({ status: "HV_STATUS_INVALID_ALIGNMENT", check: "generic.4" });
    expect(o.why).toContain("0x9000");
  });

  it("without --explain the line has no check or why", async () => {
    expect((await runCli(execArgs("--fast", "0x1001"))).stdout).toBe(line("HV_STATUS_SUCCESS", 0));
  });

  it("--r8 is taken (with or without 0x) and passed as R8: the call's answer is that of the same trace op", async () => {
    // No implemented call reads R8 for these forms (SignalEvent's block is RDX alone, PostMessage
    // has no output), so R8 changes nothing; `run` with the op's r8 gives the same line.
    for (const r8 of ["0x9004", "9004", "0xffffffffffffffff"]) {
      const r = await runCli(execArgs("--fast", "0x1001", "--r8", r8));
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(line("HV_STATUS_SUCCESS", 0));
    }
    const mem = await runCli([
      "exec",
      "--scenario",
      memoryScenario,
      "--control",
      "0x5d",
      "--input-gpa",
      "0x2000",
      "--r8",
      "0x2004",
      "--explain",
    ]);
    const trace = join(tmp(), "r8.jsonl");
    await writeFile(
      trace,
      `${JSON.stringify({ op: "hypercall", control: "0x5d", rdx: "0x2000", r8: "0x2004" })}\n`,
    );
    const run = await runCli(["run", "--explain", "--scenario", memoryScenario, trace]);
    const fromRun = JSON.parse(run.stdout) as Record<string, unknown>;
    const fromExec = JSON.parse(mem.stdout) as Record<string, unknown>;
    expect(fromExec).toEqual({
      index: 0,
      status: fromRun.status,
      result: fromRun.result,
      check: fromRun.check,
      why: fromRun.why,
    });
    expect(fromExec.status).toBe("HV_STATUS_SUCCESS");
  });

  it("a bad --r8: exit 2, one line", async () => {
    for (const bad of ["0xZZ", "0x10000000000000000"]) {
      expect(expectUsageError(await runCli(execArgs("--fast", "0x1001", "--r8", bad)))).toContain(
        `option '--r8 <hex>' argument '${bad}' is invalid`,
      );
    }
  });
});

describe.concurrent("hvcall exec usage errors: exit 2, one line", () => {
  it("bad hex in --control", async () => {
    const l = expectUsageError(
      await runCli(["exec", "--scenario", EXAMPLE_SCENARIO, "--control", "0xZZ", "--fast", "0x1"]),
    );
    expect(l).toContain("option '--control <hex>' argument '0xZZ' is invalid");
  });

  it("--control wider than 64 bits", async () => {
    const l = expectUsageError(
      await runCli([
        "exec",
        "--scenario",
        EXAMPLE_SCENARIO,
        "--control",
        "0x1000000000000005d",
        "--fast",
        "0x1",
      ]),
    );
    expect(l).toContain("--control");
  });

  it("both --fast and --input-gpa", async () => {
    const l = expectUsageError(
      await runCli([
        "exec",
        "--scenario",
        EXAMPLE_SCENARIO,
        "--control",
        "0x1005d",
        "--fast",
        "0x1",
        "--input-gpa",
        "0x2000",
      ]),
    );
    expect(l).toContain("cannot be used with");
  });

  it("neither --fast nor --input-gpa", async () => {
    const l = expectUsageError(
      await runCli(["exec", "--scenario", EXAMPLE_SCENARIO, "--control", "0x1005d"]),
    );
    expect(l).toContain("missing input");
  });

  it("--fast for a memory-call control value (and --input-gpa for a fast one)", async () => {
    expect(
      expectUsageError(
        await runCli([
          "exec",
          "--scenario",
          EXAMPLE_SCENARIO,
          "--control",
          "0x5d",
          "--fast",
          "0x1001",
        ]),
      ),
    ).toContain("is a memory call (fast bit 16 clear)");
    expect(
      expectUsageError(
        await runCli([
          "exec",
          "--scenario",
          EXAMPLE_SCENARIO,
          "--control",
          "0x1005d",
          "--input-gpa",
          "0x2000",
        ]),
      ),
    ).toContain("is a fast call (bit 16 set)");
  });

  it("a --caller that names no partition, a --vp the caller does not have", async () => {
    expect(
      expectUsageError(
        await runCli([
          "exec",
          "--scenario",
          EXAMPLE_SCENARIO,
          "--caller",
          "9",
          "--control",
          "0x1005d",
          "--fast",
          "0x1",
        ]),
      ),
    ).toContain("--caller 9: no partition with that id");
    expect(
      expectUsageError(
        await runCli([
          "exec",
          "--scenario",
          EXAMPLE_SCENARIO,
          "--caller",
          "2",
          "--vp",
          "2",
          "--control",
          "0x1005d",
          "--fast",
          "0x1",
        ]),
      ),
    ).toContain("--vp 2: partition 2 has no VP with index 2 (its VPs: 0, 1)");
  });

  it("a missing scenario file", async () => {
    expect(
      expectUsageError(
        await runCli([
          "exec",
          "--scenario",
          join(tmp(), "none.json"),
          "--control",
          "0x1005d",
          "--fast",
          "0x1",
        ]),
      ),
    ).toContain("scenario: cannot read");
  });

  it("a scenario that fails validation names the field", async () => {
    const path = join(tmp(), "dup.json");
    await writeFile(path, JSON.stringify({ partitions: [{ id: 1 }, { id: 1 }] }));
    expect(
      expectUsageError(
        await runCli(["exec", "--scenario", path, "--control", "0x1005d", "--fast", "0x1"]),
      ),
    ).toMatch(/^hvcall: scenario: partitions\[1\]\.id: duplicate partition id 1/);
  });
});

describe.concurrent("hvcall exec internal errors", () => {
  it("exit 1 with 'internal error' and the stack", async () => {
    const r = await runCli(
      ["exec", "--scenario", EXAMPLE_SCENARIO, "--control", "0x1005d", "--fast", "0x1"],
      {
        env: { HVCALL_TEST_INTERNAL_ERROR: "1" },
      },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^hvcall: internal error: /);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});
