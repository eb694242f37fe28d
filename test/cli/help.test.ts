/**
 * `hvcall help …` and every command's `--help` (docs/cli.md, help-text.ts): found in review —
 * `help nosuch` dumped the whole help without naming the mistake, `help golden run` printed the
 * group's help, `golden run --help` carried `run`'s trace text, and `golden new|update --help`
 * had no exit codes.
 */
import { describe, expect, it } from "vitest";
import { expectUsageLine, requireDist, runCli } from "./cli-harness.js";

requireDist();

/** Every command and subcommand, with the exit codes its help must name (besides 0, 1 and 2). */
const COMMANDS: readonly (readonly [string, readonly string[]])[] = [
  ["replay", []],
  ["run", []],
  ["exec", []],
  ["check", ["3"]],
  ["decode", []],
  ["trace", []],
  ["trace convert", []],
  ["golden", ["3"]],
  ["golden run", ["3"]],
  ["golden update", ["3"]],
  ["golden new", []],
];

const LIST =
  "replay, run, exec, check, decode, trace convert, golden run, golden update, golden new, help";

/** The text of the exit-code sentence of a help page, on one line. */
function exitCodes(help: string): string {
  const flat = help.replace(/\s+/g, " ");
  const at = flat.indexOf("Exit codes: ");
  expect(at, "the help names its exit codes").toBeGreaterThanOrEqual(0);
  expect(flat.indexOf("Exit codes: ", at + 1), "exactly once").toBe(-1);
  return flat.slice(at);
}

describe.concurrent("hvcall help <command>", () => {
  it.each(COMMANDS)("help %s is the same as its --help, exit 0", async (command) => {
    const words = command.split(" ");
    const [help, flag] = await Promise.all([
      runCli(["help", ...words]),
      runCli([...words, "--help"]),
    ]);
    expect(help.stderr).toBe("");
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(new RegExp(`^Usage: hvcall ${command} `));
    expect(help.stdout).toBe(flag.stdout);
  });

  it.each([[["help"]], [["help", "help"]], [["help", "--help"]]])(
    "%j prints the program's help",
    async (args) => {
      const r = await runCli(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe((await runCli(["--help"])).stdout);
    },
  );

  it.each([
    [["nosuch"], "nosuch"],
    [["golden", "nosuch"], "golden nosuch"],
    [["trace", "nosuch"], "trace nosuch"],
    [["run", "extra"], "run extra"],
    [["--bogus"], "--bogus"],
  ])("help %j: exit 2, one line naming it and the commands there are", async (words, named) => {
    const line = expectUsageLine(await runCli(["help", ...words]));
    expect(line).toBe(
      `hvcall: unknown command ${JSON.stringify(named)}; the commands are: ${LIST} (see: hvcall --help)`,
    );
  });
});

describe.concurrent("every --help has a usage line, its flags and its exit codes", () => {
  it.each(COMMANDS)("%s --help", async (command, more) => {
    const r = await runCli([...command.split(" "), "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: hvcall ${command} \\[options\\]`));
    expect(r.stdout).toContain("\nOptions:\n");
    expect(r.stdout).toContain("-h, --help");
    const codes = exitCodes(r.stdout);
    for (const code of ["0", "1", "2", ...more]) expect(codes).toMatch(new RegExp(`[ ;]${code} `));
    if (more.length === 0) expect(codes).not.toMatch(/[ ;]3 /);
  });

  it("the program's --help names 3 for check, golden run and golden update --check", async () => {
    const codes = exitCodes((await runCli(["--help"])).stdout);
    expect(codes).toContain("3: check found disagreements, golden run a failing fixture");
    expect(codes).toContain("golden update --check");
  });

  it("golden run --help is its own, not run's trace text", async () => {
    const r = await runCli(["golden", "run", "--help"]);
    for (const wrong of ['{"op":"eoi"}', "--explain", "--output bin", "Example:\n  hvcall run "])
      expect(r.stdout).not.toContain(wrong);
    expect(r.stdout).toContain("hvcall golden update");
    expect(r.stdout.replace(/\s+/g, " ")).toContain("3 some fixture fails");
  });

  it("golden update --help and golden new --help say what they write", async () => {
    const [update, fresh] = await Promise.all([
      runCli(["golden", "update", "--help"]),
      runCli(["golden", "new", "--help"]),
    ]);
    expect(update.stdout.replace(/\s+/g, " ")).toContain("3 with --check");
    expect(update.stdout.replace(/\s+/g, " ")).toContain("nothing is written");
    expect(fresh.stdout.replace(/\s+/g, " ")).toContain("on stdout");
  });

  it("no help line is wider than 100 columns", async () => {
    for (const [command] of [["(program)"], ...COMMANDS]) {
      const args = command === "(program)" ? ["--help"] : [...command.split(" "), "--help"];
      const r = await runCli(args);
      for (const line of r.stdout.split("\n"))
        expect(line.length, `${command}: ${line}`).toBeLessThanOrEqual(100);
    }
  });
});
