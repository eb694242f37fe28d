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
