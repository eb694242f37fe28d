/**
 * Two inputs of one run cannot both read stdin (docs/cli.md §1). Found in review: `--scenario - -`
 * read the scenario to the end of stdin and then ran no records at all, exit 0; with /dev/stdin
 * for the scenario and `-` for the records, the scenario's JSON ran as records.
 */
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import {
  EXAMPLE_RECORDS,
  EXAMPLE_SCENARIO,
  expectUsageLine,
  requireDist,
  runCli,
} from "./cli-harness.js";

requireDist();

describe.concurrent("stdin feeds one input at most", () => {
  it.each([
    [["replay", "--scenario", "-", "-"], "--scenario - and records - are both stdin"],
    [["run", "--scenario", "-", "-"], "--scenario - and trace - are both stdin"],
    [["golden", "new", "--scenario", "-", "-"], "--scenario - and trace - are both stdin"],
    [
      ["replay", "--scenario", "/dev/stdin", "-"],
      '--scenario "/dev/stdin" and records - are both stdin',
    ],
    [
      ["check", "--scenario", "-", "--observed", EXAMPLE_RECORDS, "-"],
      "--scenario - and input - are both stdin",
    ],
    [
      ["check", "--scenario", EXAMPLE_SCENARIO, "--observed", "-", "/dev/stdin"],
      '--observed - and input "/dev/stdin" are both stdin',
    ],
  ])("%j", async (args, message) => {
    const r = await runCli(args, { stdin: await readFile(EXAMPLE_SCENARIO) });
    expect(expectUsageLine(r)).toBe(
      `hvcall: ${message}, which can feed only one of them: give the other as a file`,
    );
  });

  it("one input from stdin is fine (the scenario)", async () => {
    const r = await runCli(["replay", "--scenario", "-", EXAMPLE_RECORDS], {
      stdin: await readFile(EXAMPLE_SCENARIO),
    });
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").length).toBeGreaterThan(2);
  });
});
