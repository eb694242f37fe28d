import { spawn } from "node:child_process";
import { mkdir, open, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hvStatusFromName } from "../../src/abi/hv-status.js";
import { CHUNK_RECORDS } from "../../src/cli/replay.js";
import { MAX_SIGNAL_THREADS } from "../../src/parallel/protocol.js";
import { parseScenarioText } from "../../src/state/scenario-schema.js";
import {
  BIN,
  EXAMPLE_RECORDS,
  EXAMPLE_SCENARIO,
  jsonLines,
  ROOT,
  requireDist,
  runCli,
  useTempDir,
} from "./cli-harness.js";
import { exampleList, tiledRecords } from "./example-records.js";

requireDist();
const tmp = useTempDir();
const list = exampleList();

function expectOneLineError(r: { code: number | null; stderr: string }, code: number): string {
  expect(r.code).toBe(code);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

/** The line replay must print for record `index` of the tiled example. */
function expectedLine(index: number): string {
  const status = list.expect[index % list.expect.length]!;
  const result = `0x${hvStatusFromName(status)!.toString(16).padStart(16, "0")}`;
  return JSON.stringify({ index, status, result });
}

describe.concurrent("hvcall replay", () => {
  it("replays the bundled example: one JSON line per record, in order, the status each expects", async () => {
    const r = await runCli(["replay", "--scenario", EXAMPLE_SCENARIO, EXAMPLE_RECORDS]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toEqual(list.expect.map((_, i) => expectedLine(i)));
    // The contract's minimum: index, status, and the full 64-bit result as 16 hex digits.
    for (const line of jsonLines(r.stdout)) {
      expect(line).toMatchObject({
        index: expect.any(Number),
        status: expect.stringMatching(/^HV_STATUS_/),
      });
      expect((line as { result: string }).result).toMatch(/^0x[0-9a-f]{16}$/);
    }
  });

  it("--summary prints the count of every status to stderr, stdout unchanged", async () => {
    const r = await runCli([
      "replay",
      "--summary",
      "--scenario",
      EXAMPLE_SCENARIO,
      EXAMPLE_RECORDS,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split("\n")).toHaveLength(list.expect.length);
    const counts = new Map<string, number>();
    for (const s of list.expect) counts.set(s, (counts.get(s) ?? 0) + 1);
    for (const [status, count] of counts) {
      expect(r.stderr).toMatch(new RegExp(`^\\s+${count}\\s+${status}$`, "m"));
    }
    expect(r.stderr).toMatch(new RegExp(`^\\s+${list.expect.length}\\s+records in `, "m"));
  });

  it("--dump-state writes the scenario plus siefFlags and sintAssertions for every VP", async () => {
    const out = join(tmp(), "dump.json");
    const r = await runCli([
      "replay",
      "--scenario",
      EXAMPLE_SCENARIO,
      "--dump-state",
      out,
      EXAMPLE_RECORDS,
    ]);
    expect(r.code).toBe(0);
    const text = await readFile(out, "utf8");
    const dump = JSON.parse(text) as {
      partitions: {
        id: number;
        vps: { index: number; siefFlags: unknown; sintAssertions: unknown }[];
      }[];
    };
    const state = dump.partitions.flatMap((p) =>
      p.vps.map((v) => ({ p: p.id, vp: v.index, flags: v.siefFlags, asserts: v.sintAssertions })),
    );
    // Worked out by hand from fixtures/examples/records.json (see its notes).
    expect(state).toEqual([
      { p: 1, vp: 0, flags: {}, asserts: {} },
      { p: 2, vp: 0, flags: { "2": [0, 2], "5": [1, 63] }, asserts: { "2": 2, "5": 2 } },
      { p: 2, vp: 1, flags: { "2": [133, 255] }, asserts: { "2": 2 } },
    ]);
    // Replay's scratch page (memory-form records) is not guest memory: the dump leaves it out.
    const dumped = dump as unknown as { partitions: { memory: unknown[] }[] };
    const scenario = JSON.parse(await readFile(EXAMPLE_SCENARIO, "utf8")) as {
      partitions: { memory?: unknown[] }[];
    };
    expect(dumped.partitions.map((p) => p.memory.length)).toEqual(
      scenario.partitions.map((p) => p.memory?.length ?? 0),
    );
    // The dump is a scenario file again (same schema), and reloads with the same flags.
    const reloaded = parseScenarioText(text);
    expect(reloaded.partitions[1]!.vps[1]!.siefFlags[2]).toEqual([133, 255]);
    expect(reloaded.partitions[1]!.vps[0]!.sintAssertions[5]).toBe(2);
  });

  it("reads stdin with '-' and prints exactly what the file gives", async () => {
    const fromFile = await runCli(["replay", "--scenario", EXAMPLE_SCENARIO, EXAMPLE_RECORDS]);
    const fromStdin = await runCli(["replay", "--scenario", EXAMPLE_SCENARIO, "-"], {
      stdin: await readFile(EXAMPLE_RECORDS),
    });
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.stdout).toBe(fromFile.stdout);
  });

  it("crosses chunk boundaries: every record of a file and of stdin longer than one chunk", async () => {
    const times = Math.ceil((CHUNK_RECORDS + 1000) / list.expect.length);
    const records = tiledRecords(list, times);
    const path = join(tmp(), "multi-chunk.bin");
    await writeFile(path, records);
    const n = times * list.expect.length;
    const expected = `${Array.from({ length: n }, (_, i) => expectedLine(i)).join("\n")}\n`;
    const file = await runCli(["replay", "--scenario", EXAMPLE_SCENARIO, path]);
    expect(file.code).toBe(0);
    expect(file.stdout === expected).toBe(true);
    const stdin = await runCli(["replay", "--scenario", EXAMPLE_SCENARIO, "-"], { stdin: records });
    expect(stdin.code).toBe(0);
    expect(stdin.stdout === expected).toBe(true);
  });

  it("--threads 2 prints and dumps exactly what one thread does, over several chunks", async () => {
    const times = Math.ceil((2 * CHUNK_RECORDS + 777) / list.expect.length);
    const path = join(tmp(), "threads.bin");
    await writeFile(path, tiledRecords(list, times));
    const runWith = async (threads: string) => {
      const dump = join(tmp(), `threads-${threads}.json`);
      const r = await runCli([
        "replay",
        "--threads",
        threads,
        "--summary",
        "--scenario",
        EXAMPLE_SCENARIO,
        "--dump-state",
        dump,
        path,
      ]);
      expect(r.code).toBe(0);
      return { stdout: r.stdout, dump: await readFile(dump, "utf8"), summary: r.stderr };
    };
    const one = await runWith("1");
    const two = await runWith("2");
    const n = times * list.expect.length;
    expect(one.stdout.trimEnd().split("\n")).toHaveLength(n);
    expect(two.stdout === one.stdout).toBe(true);
    expect(two.dump).toBe(one.dump);
    const countsOf = (summary: string) =>
      summary.split("\n").filter((l) => l.includes("HV_STATUS_"));
    expect(countsOf(two.summary)).toEqual(countsOf(one.summary));
  });

  // The cap is MAX_SIGNAL_THREADS now: min(64, max(2, 2 x os.availableParallelism())), not 256.
  it(`--threads must be 1..${MAX_SIGNAL_THREADS}`, async () => {
    for (const bad of ["0", String(MAX_SIGNAL_THREADS + 1), "257", "two"]) {
      const r = await runCli([
        "replay",
        "--threads",
        bad,
        "--scenario",
        EXAMPLE_SCENARIO,
        EXAMPLE_RECORDS,
      ]);
      expect(expectOneLineError(r, 2)).toContain(
        `--threads ${bad}: expected an integer 1..${MAX_SIGNAL_THREADS}`,
      );
      expect(r.stdout).toBe("");
    }
  });

  it("stdin ending inside a record: the whole records run, then exit 2 saying how many", async () => {
    const input = Buffer.concat([await readFile(EXAMPLE_RECORDS), Buffer.from([1, 2, 3, 4, 5])]);
    const r = await runCli(["replay", "--scenario", EXAMPLE_SCENARIO, "-"], { stdin: input });
    const line = expectOneLineError(r, 2);
    expect(line).toContain("stdin ended 5 bytes into a record");
    expect(line).toContain(`after ${list.expect.length} whole records`);
    expect(r.stdout.trimEnd().split("\n")).toHaveLength(list.expect.length);
  });

  it("an empty stdin is zero records, exit 0", async () => {
    const r = await runCli(["replay", "--scenario", EXAMPLE_SCENARIO, "-"], { stdin: "" });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
  });

  it("runs as another caller: the guest (--caller 2 --vp 1) signals the root's port", async () => {
    const path = join(tmp(), "guest.bin");
    // Control 0x1005d, input: connection 0x2001, flag 7 (fast).
    const rec = Buffer.alloc(16);
    rec.writeBigUInt64LE(0x1005dn, 0);
    rec.writeUInt32LE(0x2001, 8);
    rec.writeUInt16LE(7, 12);
    await writeFile(path, rec);
    const out = join(tmp(), "guest-dump.json");
    const r = await runCli([
      "replay",
      "--scenario",
      EXAMPLE_SCENARIO,
      "--caller",
      "2",
      "--vp",
      "1",
      "--dump-state",
      out,
      path,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      '{"index":0,"status":"HV_STATUS_SUCCESS","result":"0x0000000000000000"}\n',
    );
    const dump = JSON.parse(await readFile(out, "utf8")) as {
      partitions: { vps: { siefFlags: unknown; sintAssertions: unknown }[] }[];
    };
    expect(dump.partitions[0]!.vps[0]).toMatchObject({
      siefFlags: { "2": [7] },
      sintAssertions: { "2": 1 },
    });
  });

  it("stops when the reader of stdout goes away (EPIPE): exit 2, one line, no dump", async () => {
    const path = join(tmp(), "epipe.bin");
    const dump = join(tmp(), "epipe-dump.json");
    await writeFile(path, tiledRecords(list, 10_000));
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [BIN, "replay", "--scenario", EXAMPLE_SCENARIO, "--dump-state", dump, path],
        { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
      );
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => {
        stderr += c.toString();
      });
      child.stdout.once("data", () => child.stdout.destroy());
      child.on("close", (code) => resolve({ code, stderr }));
    });
    // Not every record was dispatched, so not exit 0 (the contract's success).
    const line = expectOneLineError(result, 2);
    expect(line).toMatch(/stdout: its reader closed it after \d+ records; the rest did not run/);
    expect(line).toContain("--dump-state was not written");
    await expect(readFile(dump, "utf8")).rejects.toThrow(/ENOENT/);
  });
});

describe.concurrent("hvcall replay rejects bad input up front: exit 2, one line, nothing on stdout", () => {
  it("a record file whose length is not a multiple of 16, before any call runs", async () => {
    const path = join(tmp(), "ragged.bin");
    await writeFile(path, Buffer.concat([await readFile(EXAMPLE_RECORDS), Buffer.alloc(7)]));
    const out = join(tmp(), "ragged-dump.json");
    const r = await runCli(["replay", "--scenario", EXAMPLE_SCENARIO, "--dump-state", out, path]);
    const line = expectOneLineError(r, 2);
    expect(line).toContain(`is ${list.bytes.length + 7} bytes, not a multiple of 16`);
    expect(line).toContain("Nothing was run");
    expect(r.stdout).toBe("");
    await expect(readFile(out)).rejects.toThrow(/ENOENT/);
  });

  it("standard input redirected from such a file (- < file), before any call runs", async () => {
    const path = join(tmp(), "ragged-stdin.bin");
    await writeFile(path, Buffer.concat([await readFile(EXAMPLE_RECORDS), Buffer.alloc(9)]));
    const file = await open(path, "r");
    try {
      const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
        (resolve) => {
          const child = spawn(
            process.execPath,
            [BIN, "replay", "--scenario", EXAMPLE_SCENARIO, "-"],
            { cwd: ROOT, stdio: [file.fd, "pipe", "pipe"] },
          );
          let stdout = "";
          let stderr = "";
          child.stdout?.on("data", (c: Buffer) => {
            stdout += c.toString();
          });
          child.stderr?.on("data", (c: Buffer) => {
            stderr += c.toString();
          });
          child.on("close", (code) => resolve({ code, stdout, stderr }));
        },
      );
      const line = expectOneLineError(r, 2);
      expect(line).toContain(`stdin is ${list.bytes.length + 9} bytes, not a multiple of 16`);
      expect(line).toContain("Nothing was run");
      expect(r.stdout).toBe("");
    } finally {
      await file.close();
    }
  });

  it("a missing record file", async () => {
    const r = await runCli(["replay", "--scenario", EXAMPLE_SCENARIO, join(tmp(), "nope.bin")]);
    expect(expectOneLineError(r, 2)).toMatch(
      /^hvcall: records: cannot read ".*nope\.bin": no such file or directory \(ENOENT\)$/,
    );
    expect(r.stdout).toBe("");
  });

  it("a directory as the record file", async () => {
    const r = await runCli(["replay", "--scenario", EXAMPLE_SCENARIO, tmp()]);
    expect(expectOneLineError(r, 2)).toContain("is a directory");
  });

  it("a missing scenario file", async () => {
    const r = await runCli(["replay", "--scenario", join(tmp(), "nope.json"), EXAMPLE_RECORDS]);
    expect(expectOneLineError(r, 2)).toMatch(
      /^hvcall: scenario: cannot read ".*nope\.json": no such file/,
    );
    expect(r.stdout).toBe("");
  });

  it("a scenario that fails validation, naming the JSON path (the contract's example)", async () => {
    const path = join(tmp(), "bad-hex.json");
    await writeFile(
      path,
      JSON.stringify({ partitions: [{ id: 1, vps: [{ index: 0 }, { index: 1, siefp: "0xZZ" }] }] }),
    );
    const r = await runCli(["replay", "--scenario", path, EXAMPLE_RECORDS]);
    expect(expectOneLineError(r, 2)).toBe(
      'hvcall: scenario: partitions[0].vps[1].siefp: not a hex string: "0xZZ"',
    );
    expect(r.stdout).toBe("");
  });

  it("a scenario that is not JSON", async () => {
    const path = join(tmp(), "not-json.json");
    await writeFile(path, "{ partitions: [\n");
    const r = await runCli(["replay", "--scenario", path, EXAMPLE_RECORDS]);
    expect(expectOneLineError(r, 2)).toMatch(/^hvcall: scenario: \(root\): not valid JSON/);
  });

  it("a --caller that names no partition", async () => {
    const r = await runCli([
      "replay",
      "--scenario",
      EXAMPLE_SCENARIO,
      "--caller",
      "7",
      EXAMPLE_RECORDS,
    ]);
    expect(expectOneLineError(r, 2)).toBe(
      "hvcall: --caller 7: no partition with that id in the scenario (its partitions: 1, 2)",
    );
    expect(r.stdout).toBe("");
  });

  it("a --vp the caller does not have", async () => {
    const r = await runCli([
      "replay",
      "--scenario",
      EXAMPLE_SCENARIO,
      "--vp",
      "3",
      EXAMPLE_RECORDS,
    ]);
    expect(expectOneLineError(r, 2)).toContain(
      "--vp 3: partition 1 has no VP with index 3 (its VPs: 0)",
    );
    expect(r.stdout).toBe("");
  });

  it("a --dump-state path in a directory that does not exist, before any call runs", async () => {
    const r = await runCli([
      "replay",
      "--scenario",
      EXAMPLE_SCENARIO,
      "--dump-state",
      join(tmp(), "no", "such", "dir", "d.json"),
      EXAMPLE_RECORDS,
    ]);
    expect(expectOneLineError(r, 2)).toContain("--dump-state");
    expect(r.stdout).toBe("");
  });

  it("a --dump-state that is a directory", async () => {
    const dir = join(tmp(), "dump-dir");
    await mkdir(dir, { recursive: true });
    const r = await runCli([
      "replay",
      "--scenario",
      EXAMPLE_SCENARIO,
      "--dump-state",
      dir,
      EXAMPLE_RECORDS,
    ]);
    expect(expectOneLineError(r, 2)).toContain("is a directory");
    expect(r.stdout).toBe("");
  });
});

describe.concurrent("hvcall replay internal errors", () => {
  it("exit 1 with 'internal error' and the stack", async () => {
    const r = await runCli(["replay", "--scenario", EXAMPLE_SCENARIO, EXAMPLE_RECORDS], {
      env: { HVCALL_TEST_INTERNAL_ERROR: "1" },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^hvcall: internal error: /);
    expect(r.stderr).toMatch(/\n\s+at /);
    expect(r.stdout).toBe("");
  });
});
