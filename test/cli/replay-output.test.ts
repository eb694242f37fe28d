/** `hvcall replay --explain` and `--output bin` through the real binary. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CHUNK_RECORDS } from "../../src/cli/replay.js";
import {
  EXAMPLE_RECORDS,
  EXAMPLE_SCENARIO,
  jsonLines,
  requireDist,
  runCli,
  useTempDir,
  writeIn,
} from "./cli-harness.js";
import { exampleList, tiledRecords } from "./example-records.js";

requireDist();
const tmp = useTempDir();

interface Line {
  index: number;
  status: string;
  result: string;
  check?: string;
  why?: string;
}

const replay = (...args: string[]) => runCli(["replay", "--scenario", EXAMPLE_SCENARIO, ...args]);

describe.concurrent("hvcall replay --explain", () => {
  it("every line gains check and why after the result; index, status and result unchanged", async () => {
    const plain = await replay(EXAMPLE_RECORDS);
    const explained = await replay("--explain", EXAMPLE_RECORDS);
    expect(explained.code).toBe(0);
    expect(explained.stderr).toBe("");
    const a = plain.stdout.trimEnd().split("\n");
    const b = explained.stdout.trimEnd().split("\n");
    expect(b).toHaveLength(a.length);
    b.forEach((line, i) => {
      expect(line.startsWith(a[i]!.slice(0, -1))).toBe(true);
      const o = JSON.parse(line) as Line;
      expect(Object.keys(o)).toEqual(["index", "status", "result", "check", "why"]);
      expect(o.check).toMatch(
        /^(generic\.[1-4]|signal-event\.([5-9]|1[01])|post-message\.([5-9]|1[0-2]))$/,
      );
      expect(o.why?.length ?? 0).toBeGreaterThan(10);
    });
  });

  it("names the deciding step of each record of the example", async () => {
    const lines = jsonLines((await replay("--explain", EXAMPLE_RECORDS)).stdout) as Line[];
    const byIndex = (i: number) => lines[i]!;
    expect(byIndex(0)).toMatchObject({ check: "signal-event.11" });
    expect(byIndex(0).why).toMatch(/was clear and is set: interrupt asserted on SINT 2/);
    expect(byIndex(1).why).toMatch(/was set already: no new interrupt/);
    expect(byIndex(4)).toMatchObject({
      status: "HV_STATUS_INVALID_PARAMETER",
      check: "signal-event.8",
      why: "FlagNumber 128 is not below FlagCount 128 of port 1 in partition 2",
    });
    expect(byIndex(5)).toMatchObject({ check: "signal-event.7" });
    expect(byIndex(5).why).toMatch(/message port, not an event port/);
    expect(byIndex(8)).toMatchObject({ check: "signal-event.6" });
    expect(byIndex(10)).toMatchObject({ check: "signal-event.5" });
    expect(byIndex(12)).toMatchObject({ check: "generic.2" });
    expect(byIndex(12).why).toMatch(/fast \(bit 16\) must be 0: HvCallPostMessage/);
    expect(byIndex(13).why).toMatch(/rep count \(bits 43:32\) must be 0/);
  });

  it("the same answers across chunks as without --explain", async () => {
    const path = await writeIn(
      tmp(),
      "explain-chunks.bin",
      tiledRecords(exampleList(), Math.ceil((CHUNK_RECORDS + 100) / 20)),
    );
    const plain = jsonLines((await replay(path)).stdout) as Line[];
    const explained = jsonLines((await replay("--explain", path)).stdout) as Line[];
    expect(explained.length).toBe(plain.length);
    expect(explained.map(({ index, status, result }) => ({ index, status, result }))).toEqual(
      plain,
    );
  });

  it("--explain with stdin gives the file's lines", async () => {
    const a = await replay("--explain", EXAMPLE_RECORDS);
    const c = await runCli(["replay", "--explain", "--scenario", EXAMPLE_SCENARIO, "-"], {
      stdin: await readFile(EXAMPLE_RECORDS),
    });
    expect(c.code).toBe(0);
    expect(c.stdout).toBe(a.stdout);
  });
});

describe.concurrent("hvcall replay --output bin", () => {
  it("8 bytes per record, equal to the result values of the JSON lines", async () => {
    const json = jsonLines((await replay(EXAMPLE_RECORDS)).stdout) as Line[];
    const bin = await replay("--output", "bin", EXAMPLE_RECORDS);
    expect(bin.code).toBe(0);
    expect(bin.stderr).toBe("");
    expect(bin.stdoutRaw.length).toBe(8 * json.length);
    json.forEach((l, i) => {
      expect(bin.stdoutRaw.readBigUInt64LE(8 * i)).toBe(BigInt(l.result));
    });
  });

  it("across chunk boundaries, from a file and from stdin, and with --threads 2", async () => {
    const times = Math.ceil((CHUNK_RECORDS + 777) / 20);
    const records = tiledRecords(exampleList(), times);
    const path = await writeIn(tmp(), "bin-chunks.bin", records);
    const json = jsonLines((await replay(path)).stdout) as Line[];
    const expected = Buffer.alloc(8 * json.length);
    json.forEach((l, i) => {
      expected.writeBigUInt64LE(BigInt(l.result), 8 * i);
    });
    const file = await replay("--output", "bin", path);
    expect(file.stdoutRaw.equals(expected)).toBe(true);
    const stdin = await runCli(["replay", "--output", "bin", "--scenario", EXAMPLE_SCENARIO, "-"], {
      stdin: records,
    });
    expect(stdin.stdoutRaw.equals(expected)).toBe(true);
    const threads = await replay("--output", "bin", "--threads", "2", path);
    expect(threads.code).toBe(0);
    expect(threads.stdoutRaw.equals(expected)).toBe(true);
  });

  it("--dump-state and --summary are the same with --output bin", async () => {
    const a = join(tmp(), "json-dump.json");
    const b = join(tmp(), "bin-dump.json");
    const json = await replay("--summary", "--dump-state", a, EXAMPLE_RECORDS);
    const bin = await replay("--summary", "--output", "bin", "--dump-state", b, EXAMPLE_RECORDS);
    expect(await readFile(b, "utf8")).toBe(await readFile(a, "utf8"));
    const counts = (s: string) => s.split("\n").filter((l) => l.includes("HV_STATUS_"));
    expect(counts(bin.stderr)).toEqual(counts(json.stderr));
  });
});
