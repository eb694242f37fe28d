import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EXAMPLE_RECORDS, EXAMPLE_SCENARIO, ROOT, requireDist, runCli } from "./cli-harness.js";

requireDist();

/** A usage error: exit 2, nothing on stdout, exactly one line on stderr, no stack trace. */
function expectUsageError(result: { code: number | null; stdout: string; stderr: string }): string {
  expect(result.code).toBe(2);
  expect(result.stdout).toBe("");
  expect(result.stderr.endsWith("\n")).toBe(true);
  const lines = result.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(result.stderr).toMatch(/^hvcall: /);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

describe.concurrent("hvcall help and version", () => {
  it("--help lists the three commands and the exit codes, exit 0", async () => {
    const r = await runCli(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^Usage: hvcall/);
    for (const command of ["replay", "exec", "decode"]) expect(r.stdout).toContain(command);
    expect(r.stdout).toContain("Exit codes: 0 success; 1 internal error");
  });

  it.each([
    [
      "replay",
      [
        "--scenario <file>",
        "--dump-state <out>",
        "--summary",
        "not a multiple of 16",
        'standard input ("- < file")',
        "A pipe cannot be measured up front",
        "--threads <n>",
      ],
    ],
    ["exec", ["--control <hex>", "--fast <hex>", "--input-gpa <hex>", '"memory"']],
    ["decode", ["--json", "file order", "32 hex digits a whole 16-byte record"]],
  ])("%s --help documents its options, exit 0", async (command, phrases) => {
    const r = await runCli([command, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: hvcall ${command}`));
    for (const phrase of phrases) expect(r.stdout.replace(/\s+/g, " ")).toContain(phrase);
  });

  it("--version prints the package version", async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      version: string;
    };
    const r = await runCli(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });
});

describe.concurrent("commander usage errors exit 2 with one line", () => {
  it("no command at all", async () => {
    expect(expectUsageError(await runCli([]))).toContain("missing command");
  });

  it("an unknown command", async () => {
    expect(expectUsageError(await runCli(["frobnicate"]))).toContain(
      "unknown command 'frobnicate'",
    );
  });

  it("an unknown flag", async () => {
    const line = expectUsageError(
      await runCli(["replay", "--scenario", EXAMPLE_SCENARIO, "--bogus", EXAMPLE_RECORDS]),
    );
    expect(line).toContain("unknown option '--bogus'");
    expect(line).toContain("hvcall replay --help");
  });

  it("a misspelt flag, with commander's suggestion kept on the same line", async () => {
    const line = expectUsageError(
      await runCli(["replay", "--scenario", EXAMPLE_SCENARIO, "--summry", EXAMPLE_RECORDS]),
    );
    expect(line).toContain("unknown option '--summry'");
    expect(line).toContain("Did you mean --summary?");
  });

  it("a missing required option", async () => {
    expect(expectUsageError(await runCli(["replay", EXAMPLE_RECORDS]))).toContain(
      "required option '--scenario <file>' not specified",
    );
  });

  it("a missing argument", async () => {
    expect(expectUsageError(await runCli(["replay", "--scenario", EXAMPLE_SCENARIO]))).toContain(
      "missing required argument 'records'",
    );
  });

  it("too many arguments", async () => {
    expect(
      expectUsageError(
        await runCli(["replay", "--scenario", EXAMPLE_SCENARIO, EXAMPLE_RECORDS, EXAMPLE_RECORDS]),
      ),
    ).toContain("too many arguments");
  });

  it.each([
    ["--caller", "0"],
    ["--caller", "abc"],
    ["--caller", "9007199254740992"],
    ["--vp", "-1"],
    ["--vp", "4294967296"],
  ])("a bad %s value %s", async (flag, value) => {
    const line = expectUsageError(
      await runCli(["replay", "--scenario", EXAMPLE_SCENARIO, flag, value, EXAMPLE_RECORDS]),
    );
    expect(line).toContain(`'${value}' is invalid`);
  });
});
