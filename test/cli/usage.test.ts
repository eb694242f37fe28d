import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  BIN,
  EXAMPLE_RECORDS,
  EXAMPLE_SCENARIO,
  ROOT,
  requireDist,
  runCli,
  useTempDir,
  writeIn,
} from "./cli-harness.js";

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
  it("--help lists every command and the exit codes, exit 0", async () => {
    const r = await runCli(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^Usage: hvcall/);
    // v2 has more commands than replay, exec and decode; each is listed with its arguments.
    for (const command of [
      "replay [options] <records>",
      "run [options] <trace>",
      "exec [options]",
      "check [options] <input>",
      "decode [options] <hex...>",
      "trace ",
      "golden ",
      "help [command]",
    ]) {
      expect(r.stdout).toContain(command);
    }
    // The wording of help-text.ts changed ("0 success" is "0 done" now); every code is still named.
    const flat = r.stdout.replace(/\s+/g, " ");
    expect(flat).toContain(
      "Exit codes: 0 done; 1 internal error (a bug: please report it); 2 bad usage",
    );
    expect(flat).toContain("3: check found disagreements, golden run a failing fixture");
  });

  it("help <command> prints that command's help, exit 0", async () => {
    const r = await runCli(["help", "run"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: hvcall run \[options\] <trace>/);
    expect(r.stdout).toBe((await runCli(["run", "--help"])).stdout);
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
    [
      "exec",
      ["--r8 <hex>", "--explain", "the input address of a memory call (control bit 16 clear)"],
    ],
    // help-text.ts words it "16 digits the 8 bytes of a 64-bit value, 32 a whole 16-byte record".
    ["decode", ["--json", "file order", "32 a whole 16-byte record", "--result"]],
    ["replay", ["--explain", "--output <form>", "bin: the 8-byte result value (u64 LE) each"]],
    [
      "run",
      [
        "--scenario <file>",
        "--dump-state <out>",
        "--explain",
        "--output <form>",
        '{"op":"hypercall","control":"0x1005d","rdx":"0x14","r8":"0x0"}',
        '{"op":"eoi"}',
        "blank lines are skipped",
        "found before anything runs when the trace is a file",
      ],
    ],
    [
      "check",
      [
        "--observed <results>",
        "--observed-form <form>",
        "Indexes must match the input one to one",
        "3 some disagree",
      ],
    ],
    ["trace convert", ["<input>", "<output>", "--to <form>", "Lossless"]],
    ["golden run", ["<dir>"]],
    ["golden update", ["<dir>", "--check"]],
    ["golden new", ["--scenario <file>", "--name <name>", "--description <text>", "<trace>"]],
  ])("%s --help documents its options, exit 0", async (command, phrases) => {
    const r = await runCli([...command.split(" "), "--help"]);
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
    // The same line as `hvcall help frobnicate` (it used to be commander's, without the list).
    expect(expectUsageError(await runCli(["frobnicate"]))).toBe(
      'hvcall: unknown command "frobnicate"; the commands are: replay, run, exec, check, decode, trace convert, golden run, golden update, golden new, help (see: hvcall --help)',
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

describe.concurrent("usage errors of the v2 commands exit 2 with one line", () => {
  it.each([
    [
      ["check", "--scenario", EXAMPLE_SCENARIO, EXAMPLE_RECORDS],
      "required option '--observed <results>' not specified",
    ],
    [["run", "--scenario", EXAMPLE_SCENARIO], "missing required argument 'trace'"],
    [["trace", "convert", EXAMPLE_RECORDS], "missing required argument 'output'"],
    [["golden", "frobnicate"], 'unknown command "golden frobnicate"; the commands are: replay'],
    [["golden", "run"], "missing required argument 'dir'"],
    [
      ["run", "--scenario", EXAMPLE_SCENARIO, "--output", "hex", "-"],
      "Allowed choices are json, bin",
    ],
    [
      ["run", "--scenario", EXAMPLE_SCENARIO, "--explain", "--output", "bin", "-"],
      "--explain adds check and why to JSON lines: it needs --output json",
    ],
    [
      ["replay", "--scenario", EXAMPLE_SCENARIO, "--explain", "--output", "bin", EXAMPLE_RECORDS],
      "it needs --output json",
    ],
    [
      ["replay", "--scenario", EXAMPLE_SCENARIO, "--explain", "--threads", "2", EXAMPLE_RECORDS],
      "leave out --threads",
    ],
    [
      ["decode", "--result", "5d000100000000001400000005000000"],
      "decode --result: give one 64-bit result value",
    ],
    [["check", "--scenario", EXAMPLE_SCENARIO, "--observed", "-", "-"], "both stdin"],
  ])("%j", async (args, phrase) => {
    expect(expectUsageError(await runCli(args))).toContain(phrase);
  });

  // Found in review (fixed).
  it.each([["golden"], ["trace"]])("%s without a subcommand is exit 2", async (group) => {
    const r = await runCli([group]);
    expect(r.stderr).toContain(`Usage: hvcall ${group}`);
    expect(r.code).toBe(2);
  });
});

describe.concurrent("an output that cannot be written (a full disk) is exit 2 with one line", () => {
  /** Runs the CLI with stdout on /dev/full. */
  function toFullDisk(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve, reject) => {
      const full = openSync("/dev/full", "w");
      const child = spawn(process.execPath, [BIN, ...args], {
        cwd: ROOT,
        stdio: ["ignore", full, "pipe"],
      });
      let stderr = "";
      child.stderr?.on("data", (c: Buffer) => {
        stderr += c.toString();
      });
      child.on("error", reject);
      child.on("close", (code) => {
        closeSync(full);
        resolve({ code, stderr });
      });
    });
  }

  it
    .skipIf(!existsSync("/dev/full"))
    .each([
      [["run", "--scenario", EXAMPLE_SCENARIO, join(ROOT, "fixtures", "examples", "trace.jsonl")]],
      [["replay", "--output", "bin", "--scenario", EXAMPLE_SCENARIO, EXAMPLE_RECORDS]],
      [["trace", "convert", join(ROOT, "fixtures", "examples", "trace.jsonl"), "-"]],
      [["golden", "run", join(ROOT, "fixtures", "golden")]],
      [["decode", "--result", "0x11"]],
      [["--help"]],
    ])("%j", async (args) => {
    const r = await toFullDisk(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("hvcall: stdout: cannot write: no space left on device (ENOSPC)\n");
  });
});

describe.concurrent("the reader of stdout goes away (EPIPE): exit 2 with one line", () => {
  /** Runs the CLI and closes its stdout after the first chunk. */
  function closedEarly(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => {
        stderr += c.toString();
      });
      child.stdout.once("data", () => child.stdout.destroy());
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stderr }));
    });
  }
  const tmp = useTempDir();
  const longTrace = () =>
    writeIn(
      tmp(),
      `long-${Math.random().toString(36).slice(2)}.jsonl`,
      '{"op":"hypercall","control":"0x1005d","rdx":"0x1001"}\n'.repeat(100_000),
    );

  it("trace convert to stdout", async () => {
    const r = await closedEarly(["trace", "convert", await longTrace(), "-"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "hvcall: stdout: its reader closed it before the conversion was complete\n",
    );
  });

  // golden run prints once every fixture has run (docs/golden-fixtures.md §1): a suite whose
  // output fits the pipe's buffer is written whole before the reader can close it, so this one's
  // failing fixtures print more than any pipe holds.
  const bigFailingSuite = async () => {
    const dir = join(tmp(), `suite-${Math.random().toString(36).slice(2)}`);
    await mkdir(dir);
    const text = readFileSync(
      join(ROOT, "fixtures", "golden", "signal-fast-success.json"),
      "utf8",
    ).replace('"HV_STATUS_SUCCESS"', '"HV_STATUS_ACCESS_DENIED"');
    for (let i = 0; i < 400; i++) {
      const name = `f-${String(i).padStart(3, "0")}`;
      await writeIn(dir, `${name}.json`, text.replace('"signal-fast-success"', `"${name}"`));
    }
    return dir;
  };

  it("golden run", async () => {
    const r = await closedEarly(["golden", "run", await bigFailingSuite()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^hvcall: stdout: its reader closed it before the output was complete/,
    );
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  // Found in review (fixed).
  it("run --output bin", async () => {
    const r = await closedEarly([
      "run",
      "--output",
      "bin",
      "--scenario",
      EXAMPLE_SCENARIO,
      await longTrace(),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^hvcall: stdout: its reader closed it after \d+ ops; the rest did not run\n$/,
    );
  });
});
