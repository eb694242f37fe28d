import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EXAMPLE_SCENARIO, requireDist, runCli, useTempDir } from "./cli-harness.js";
import { exampleList, tiledRecords } from "./example-records.js";

requireDist();
const tmp = useTempDir();

const RECORDS = 1_000_000;
/** The limit on the replay process's peak resident set size. */
const PEAK_RSS_LIMIT_BYTES = 150 * 1000 * 1000;

describe("replay streams in bounded memory", () => {
  it("1,000,000 records: every line printed, the summary exact, peak RSS under 150 MB", async () => {
    const list = exampleList();
    const times = RECORDS / list.expect.length;
    expect(Number.isInteger(times)).toBe(true);
    const path = join(tmp(), "million.bin");
    await writeFile(path, tiledRecords(list, times));

    const r = await runCli(
      ["replay", "--summary", "--report-memory", "--scenario", EXAMPLE_SCENARIO, path],
      { countOnly: true },
    );
    expect(r.stderr).not.toContain("internal error");
    expect(r.code).toBe(0);
    expect(r.stdoutLines).toBe(RECORDS);

    // The summary counts every record, so the chunks covered the whole file once.
    const counts = new Map<string, number>();
    for (const s of list.expect) counts.set(s, (counts.get(s) ?? 0) + times);
    for (const [status, count] of counts) {
      expect(r.stderr).toMatch(new RegExp(`^\\s+${count}\\s+${status}$`, "m"));
    }

    const kib = Number(/maxRSS (\d+) KiB/.exec(r.stderr)?.[1]);
    expect(kib).toBeGreaterThan(0);
    console.log(
      `replay of ${RECORDS} records: peak RSS ${(kib / 1024).toFixed(1)} MiB, ` +
        `${(r.stdoutBytes / 1e6).toFixed(1)} MB of output, ${r.ms.toFixed(0)} ms wall (child process)`,
    );
    expect(kib * 1024).toBeLessThan(PEAK_RSS_LIMIT_BYTES);
  });
});
