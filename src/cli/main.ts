/**
 * The `hvcall` command line (docs/cli.md): replay, run, exec, check, decode, trace convert and
 * golden. Start-up matters (`hvcall --help` must answer fast), so this module loads only commander
 * and the small argument parsers; each command's module (and with it zod, binary-parser, the
 * machine and the dispatcher) is imported when that command runs.
 *
 * Exit codes: 0 success; 1 internal error (a bug: message and stack on stderr); 2 bad usage, a bad
 * input file or an output that cannot be written (one line on stderr, no stack); 3 `check`: the
 * implementations disagree, `golden run`: a fixture failed.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { MAX_SIGNAL_THREADS } from "../parallel/protocol.js";

import { callerFlag, parseInteger, u64Flag, vpFlag } from "./args.js";
import type { CheckOptions } from "./check.js";
import { CliUsageError, ExitCode, oneLine, quote } from "./cli-error.js";
import type { DecodeOptions } from "./decode.js";
import type { ExecOptions } from "./exec.js";
import type { GoldenNewOptions, GoldenUpdateOptions } from "./golden/golden-command.js";
import { COMMAND_HELP } from "./help-text.js";
import { installInterruptHandlers } from "./interrupts.js";
import type { ReplayOptions } from "./replay.js";
import type { RunOptions } from "./run.js";
import { err, flushStdout, installStdioGuards, stdoutFailure } from "./stdio.js";
import type { ConvertOptions } from "./trace-convert.js";

const NAME = "hvcall";

/** The package's version, from package.json (two levels up from both src/cli and dist/cli). */
const VERSION = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

/** Set to "1" to make the command fail with an internal error once its options are parsed (tests). */
export const INTERNAL_ERROR_TEST_HOOK = "HVCALL_TEST_INTERNAL_ERROR";

function threadCount(text: string): number {
  const n = parseInteger(text, Number.MAX_SAFE_INTEGER);
  if (n === undefined || n < 1 || n > MAX_SIGNAL_THREADS) {
    throw new CliUsageError(
      `--threads ${oneLine(text)}: expected an integer 1..${MAX_SIGNAL_THREADS} (twice this machine's processors)`,
    );
  }
  return n;
}

/** Commander's own errors ("error: unknown option '--x'") as one `hvcall: …` line. */
function outputFor(command: string) {
  const hint = ` (see: ${command} --help)`;
  return {
    writeOut: (text: string) => void process.stdout.write(text),
    writeErr: (text: string) => err(text),
    outputError: (text: string, write: (text: string) => void) =>
      write(`${NAME}: ${oneLine(text.replace(/^error: /, "").trim())}${hint}\n`),
  };
}

function sub(parent: Command, name: string, description: string): Command {
  // Help texts are keyed by the command's path: `golden run` is not `run` (help-text.ts).
  const path = parent.name() === NAME ? name : `${parent.name()} ${name}`;
  return parent
    .command(name)
    .description(description)
    .configureOutput(outputFor(`${NAME} ${path}`))
    .addHelpText("after", COMMAND_HELP[path] ?? "");
}

/** Every command a user can name, subcommands as "golden run": for an unknown command's message. */
function commandNames(program: Command): string {
  const names = program.commands.flatMap((c) =>
    c.commands.length === 0 ? [c.name()] : c.commands.map((s) => `${c.name()} ${s.name()}`),
  );
  return [...names, "help"].join(", ");
}

/**
 * `hvcall help [COMMAND [SUBCOMMAND]]` as the arguments commander runs: `COMMAND … --help`.
 * Handled here because commander's help command reads one word (`help golden run` showed the
 * group's help) and answers a word it does not know with the whole help and no reason. An unknown
 * command is exit 2 with one line naming it and the commands there are (docs/cli.md).
 */
function helpArguments(program: Command, words: readonly string[]): string[] {
  const path = words.filter((w) => w !== "--help" && w !== "-h");
  if (path.length === 0 || (path.length === 1 && path[0] === "help")) return ["--help"];
  let command = program;
  for (const word of path) {
    const next = command.commands.find((c) => c.name() === word);
    if (next === undefined) throw unknownCommand(program, path);
    command = next;
  }
  return [...path, "--help"];
}

/** The unknown-command line, for `hvcall help X` and `hvcall X` alike. */
function unknownCommand(program: Command, path: readonly string[]): CliUsageError {
  return new CliUsageError(
    `unknown command ${quote(path.join(" "))}; the commands are: ${commandNames(program)} (see: ${NAME} --help)`,
  );
}

/**
 * `hvcall X …` / `hvcall golden X …` naming no command: the same line as `hvcall help X` (found in
 * review: commander's own "unknown command 'X'" did not list the commands).
 */
function checkCommandWords(program: Command, argv: readonly string[]): void {
  const [first, second] = argv;
  if (first === undefined || first.startsWith("-")) return;
  const command = program.commands.find((c) => c.name() === first);
  if (command === undefined) throw unknownCommand(program, [first]);
  if (command.commands.length === 0 || second === undefined || second.startsWith("-")) return;
  if (!command.commands.some((c) => c.name() === second))
    throw unknownCommand(program, [first, second]);
}

function withMachineOptions(command: Command, dumpHelp = true): Command {
  command
    .requiredOption(
      "--scenario <file>",
      "the modeled machine: a scenario file (JSON), or - for stdin",
    )
    .option(
      "--caller <id>",
      "calling partition id (default: the first partition in the file)",
      callerFlag,
    )
    .option("--vp <n>", "calling VP index (default: 0)", vpFlag);
  if (dumpHelp) {
    command.option(
      "--dump-state <out>",
      "write the final state to OUT (never an input of the run; written atomically): the scenario plus siefFlags, sintAssertions, simSlots and queuedMessages per VP",
    );
  }
  return command;
}

const outputOption = () =>
  new Option(
    "--output <form>",
    "json: one line per result; bin: the 8-byte result value (u64 LE) each",
  )
    .choices(["json", "bin"])
    .default("json");

function buildProgram(setExitCode: (code: number) => void): Command {
  const done = (code: number) => setExitCode(code);
  const program = new Command(NAME)
    .description(
      "The Microsoft Hyper-V hypercall ABI, hypervisor side: replay, run, check and decode hypercalls " +
        "(HvCallSignalEvent, HvCallPostMessage) and guest traces against a modeled machine.",
    )
    .version(VERSION, "-V, --version")
    .exitOverride()
    .configureOutput(outputFor(NAME))
    .showSuggestionAfterError(true)
    .helpCommand("help [command]", "show the help of a command")
    .addHelpText("after", COMMAND_HELP.program ?? "");

  withMachineOptions(
    sub(
      program,
      "replay",
      "Feed a file of 16-byte hypercall records (or - for stdin) to the dispatcher",
    ),
  )
    .argument("<records>", "record file, or - for standard input")
    .option("--summary", "print a table of counts per status to stderr at the end")
    .option(
      "--explain",
      "add check (the deciding step) and why (a sentence with the values) to every line",
    )
    .addOption(outputOption())
    .option("--report-memory", "print the peak resident set size to stderr at the end")
    .option("--no-progress", "never show the progress bar")
    .option(
      "--threads <n>",
      `signal from N worker threads sharing one machine, 1..${MAX_SIGNAL_THREADS}`,
      threadCount,
      1,
    )
    .action(async (records: string, options: ReplayOptions) => {
      checkTestHook();
      done(await (await import("./replay.js")).runReplay(records, options));
    });

  withMachineOptions(
    sub(
      program,
      "run",
      "Run a guest trace (JSON Lines or binary): hypercalls, memory and MSR accesses, EOIs",
    ),
  )
    .argument("<trace>", "trace file (JSON Lines or binary), or - for standard input")
    .option("--explain", "add check and why to every hypercall line")
    .option("--summary", "print a table of hypercall statuses to stderr at the end")
    .addOption(outputOption())
    .action(async (trace: string, options: RunOptions) => {
      checkTestHook();
      done(await (await import("./run.js")).runRun(trace, options));
    });

  withMachineOptions(sub(program, "exec", "Run one hypercall and print its result"))
    .requiredOption("--control <hex>", "the hypercall control value (RCX)", u64Flag)
    .addOption(
      new Option("--fast <hex>", "fast call: the first input register (RDX)")
        .argParser(u64Flag)
        .conflicts("inputGpa"),
    )
    .addOption(
      new Option("--input-gpa <hex>", "memory call: the input GPA (RDX)")
        .argParser(u64Flag)
        .conflicts("fast"),
    )
    .option(
      "--r8 <hex>",
      "R8: a fast call's second input register, a memory call's output GPA (default 0)",
      u64Flag,
    )
    .option("--explain", "add check and why to the line")
    .action(async (options: ExecOptions) => {
      checkTestHook();
      done(await (await import("./exec.js")).runExec(options));
    });

  withMachineOptions(
    sub(program, "check", "Hold another implementation's results against hvcall's"),
    false,
  )
    .argument("<input>", "the records (.bin) or trace (.jsonl, binary trace) that were run, or -")
    .requiredOption(
      "--observed <results>",
      "the other implementation's results: JSON Lines, or 8-byte result values",
    )
    .addOption(
      new Option(
        "--observed-form <form>",
        "how to read RESULTS (default: by its first byte)",
      ).choices(["jsonl", "bin"]),
    )
    .addOption(
      new Option(
        "--input <kind>",
        "how to read the input (default: by its name and first bytes)",
      ).choices(["records", "trace"]),
    )
    .action(async (input: string, options: CheckOptions) => {
      checkTestHook();
      done(await (await import("./check.js")).runCheck(input, options));
    });

  sub(
    program,
    "decode",
    "Name every field of a control value, a record or (--result) a result value",
  )
    .argument("<hex...>", "a 0x… number, or the bytes of a control value or a record")
    .option("--json", "print one JSON object instead of text")
    .option("--result", "read the number as a hypercall result value (RAX)")
    .action(async (hex: string[], options: DecodeOptions) => {
      checkTestHook();
      done((await import("./decode.js")).runDecode(hex.join(" "), options));
    });

  const trace = sub(program, "trace", "Guest trace tools").helpCommand(false);
  sub(trace, "convert", "Convert a trace between JSON Lines and binary (lossless)")
    .argument("<input>", "trace file, or - for standard input")
    .argument("<output>", "file to write (atomically), or - for standard output")
    .addOption(
      new Option("--to <form>", "the form to write (default: the other one)").choices([
        "jsonl",
        "binary",
      ]),
    )
    .action(async (input: string, output: string, options: ConvertOptions) => {
      checkTestHook();
      done(await (await import("./trace-convert.js")).runTraceConvert(input, output, options));
    });

  const golden = sub(program, "golden", "Golden fixture suites: run, update, capture").helpCommand(
    false,
  );
  sub(golden, "run", "Run every fixture of DIR; a diff for each that fails")
    .argument("<dir>", "directory of fixture files (*.json)")
    .action(async (dir: string) => {
      checkTestHook();
      done(await (await import("./golden/golden-command.js")).runGoldenRun(dir));
    });
  sub(
    golden,
    "update",
    "Rewrite the expectations of DIR's fixtures from hvcall's answers, showing diffs",
  )
    .argument("<dir>", "directory of fixture files (*.json)")
    .option("--check", "write nothing; exit 3 when an expectation would change")
    .action(async (dir: string, options: GoldenUpdateOptions) => {
      checkTestHook();
      done(await (await import("./golden/golden-command.js")).runGoldenUpdate(dir, options));
    });
  withMachineOptions(
    sub(golden, "new", "Capture a fixture from a scenario and a trace, on stdout"),
    false,
  )
    .argument("<trace>", "trace file (JSON Lines or binary), or - for standard input")
    .option("--name <name>", "the fixture's name (default: the trace file's name)")
    .option("--description <text>", "the fixture's description")
    .action(async (tracePath: string, options: GoldenNewOptions) => {
      checkTestHook();
      done(await (await import("./golden/golden-command.js")).runGoldenNew(tracePath, options));
    });

  return program;
}

function checkTestHook(): void {
  if (process.env[INTERNAL_ERROR_TEST_HOOK] === "1") {
    throw new Error(`internal error injected by ${INTERNAL_ERROR_TEST_HOOK}=1`);
  }
}

/** Prints what went wrong and returns the exit code. */
function report(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has printed its message (or the help / version) already. Help asked for (--help,
    // `hvcall help`) is success; help shown because a subcommand is missing (`hvcall trace`) is
    // bad usage, like a missing command.
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version")
      return ExitCode.Success;
    if (error.code === "commander.help")
      return error.exitCode === 0 ? ExitCode.Success : ExitCode.Usage;
    return ExitCode.Usage;
  }
  if (error instanceof CliUsageError) {
    err(`${NAME}: ${error.message}\n`);
    return ExitCode.Usage;
  }
  const message = error instanceof Error ? error.message : String(error);
  const stack = error instanceof Error && error.stack !== undefined ? `\n${error.stack}` : "";
  err(`${NAME}: internal error: ${oneLine(message)}${stack}\n`);
  return ExitCode.InternalError;
}

/** Runs the CLI on `argv` (without `node` and the script) and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  installStdioGuards();
  installInterruptHandlers();
  if (argv.length === 0) {
    err(
      `${NAME}: missing command: replay, run, exec, check, decode, trace or golden (see: ${NAME} --help)\n`,
    );
    return ExitCode.Usage;
  }
  let exitCode: number = ExitCode.Success;
  try {
    const program = buildProgram((code) => {
      exitCode = code;
    });
    if (argv[0] !== "help") checkCommandWords(program, argv);
    const args = argv[0] === "help" ? helpArguments(program, argv.slice(1)) : [...argv];
    await program.parseAsync(args, { from: "user" });
  } catch (error) {
    exitCode = report(error);
  }
  // An output that could not be written is exit 2 with one line, whatever the command did.
  await flushStdout();
  const failure = stdoutFailure();
  if (failure !== undefined && exitCode !== ExitCode.InternalError) {
    if (exitCode === ExitCode.Success || exitCode === ExitCode.Disagree)
      err(`${NAME}: ${failure}\n`);
    return ExitCode.Usage;
  }
  return exitCode;
}
