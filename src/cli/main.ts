/**
 * The `hvcall` command line (see shared/spec/cli-contract.md): `replay`, `exec` and `decode`.
 *
 * Start-up matters (`hvcall --help` must answer in well under 300 ms), so this module loads only
 * commander and the small argument parsers; each command's module (and with it zod, binary-parser,
 * the machine and the dispatcher) is imported when that command runs.
 *
 * Exit codes: 0 success; 1 internal error (a bug: message and stack on stderr); 2 bad usage or bad
 * input file (one line on stderr, no stack).
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { MAX_SIGNAL_THREADS } from "../parallel/protocol.js";
import { parseInteger, parsePartitionId, parseU64Hex, parseVpIndex, U64_HEX_HINT } from "./args.js";
import { CliUsageError, ExitCode, oneLine } from "./cli-error.js";

const NAME = "hvcall";

/** The package's version, from package.json (two levels up from both src/cli and dist/cli). */
const VERSION = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

/** Set to "1" to make the command fail with an internal error once its options are parsed (tests). */
export const INTERNAL_ERROR_TEST_HOOK = "HVCALL_TEST_INTERNAL_ERROR";

export interface CallerOptions {
  readonly scenario: string;
  readonly caller?: number;
  readonly vp?: number;
  readonly dumpState?: string;
}

export interface ReplayOptions extends CallerOptions {
  readonly summary?: boolean;
  /** Signalling threads (1: the calling thread only). */
  readonly threads: number;
  readonly reportMemory?: boolean;
  readonly progress: boolean;
}

export interface ExecOptions extends CallerOptions {
  readonly control: bigint;
  readonly fast?: bigint;
  readonly inputGpa?: bigint;
}

export interface DecodeOptions {
  readonly json?: boolean;
}

function callerId(text: string): number {
  const id = parsePartitionId(text);
  if (id === undefined) throw new InvalidArgumentError("expected a partition id, an integer >= 1.");
  return id;
}

function threadCount(text: string): number {
  const n = parseInteger(text, MAX_SIGNAL_THREADS);
  if (n === undefined || n < 1) {
    throw new InvalidArgumentError(`expected a thread count, an integer 1..${MAX_SIGNAL_THREADS}.`);
  }
  return n;
}

function vpIndex(text: string): number {
  const index = parseVpIndex(text);
  if (index === undefined)
    throw new InvalidArgumentError("expected a VP index, an integer 0..2^32-1.");
  return index;
}

/** A 64-bit hex flag value; the 0x prefix may be left out (the flag says HEX). */
function u64Hex(text: string): bigint {
  const value = parseU64Hex(/^0[xX]/.test(text) ? text : `0x${text}`);
  if (value === undefined)
    throw new InvalidArgumentError(`expected a 64-bit hex number: ${U64_HEX_HINT}.`);
  return value;
}

/** Commander's own errors ("error: unknown option '--x'") as one `hvcall: …` line. */
function outputFor(command: string) {
  const hint = ` (see: ${command} --help)`;
  return {
    writeOut: (text: string) => process.stdout.write(text),
    writeErr: (text: string) => process.stderr.write(text),
    outputError: (text: string, write: (text: string) => void) =>
      write(`${NAME}: ${oneLine(text.replace(/^error: /, "").trim())}${hint}\n`),
  };
}

function withCallerOptions(command: Command): Command {
  return command
    .requiredOption("--scenario <file>", "the modeled machine: a scenario file (JSON)")
    .option(
      "--caller <id>",
      "calling partition id (default: the first partition in the file)",
      callerId,
    )
    .option("--vp <n>", "calling VP index (default: 0)", vpIndex)
    .option(
      "--dump-state <out>",
      "write the final state to OUT: the scenario plus siefFlags and sintAssertions per VP",
    );
}

const REPLAY_HELP = `
Records: 16 bytes each. Bytes 0..7: the hypercall control value (u64, little-endian). Bytes 8..15:
the input block as the guest laid it out. A fast call (control bit 16 set) gets these bytes as its
first input register; a memory call gets the GPA of a scratch page mapped into the caller's memory,
where replay writes them.

Output: one JSON line per record on stdout, in order:
  {"index":0,"status":"HV_STATUS_SUCCESS","result":"0x0000000000000000"}
Messages, --summary and --report-memory go to stderr. On a terminal, a run longer than about a
second shows a progress bar on stderr (never when stderr is piped; --no-progress turns it off).

Length check: a file whose length is not a multiple of 16 is rejected (exit 2) before any call
runs, also when it comes as standard input ("- < file"). A pipe cannot be measured up front: its
records run as they arrive (memory stays bounded), and if it ends inside a record, replay stops
with exit 2 and says how many whole records ran. If the reader of stdout goes away, replay stops
with exit 2 (not every record ran; --dump-state is not written).

Memory-form records go through a scratch page at the lowest page above page 0 that the caller's
memory does not back; it is replay's, not the guest's, and --dump-state leaves it out.

Records run in chunks of 64 Ki with bounded memory, whatever the input size. With --threads N, each
chunk is cut into N slices that N worker threads signal in parallel into one shared machine: the
statuses, flags, assertion counts and dump are those of a one-thread run (no step of
HvCallSignalEvent depends on the flags); only which record made a 0 -> 1 transition may differ.

Exit codes: 0 every record was dispatched (whatever the statuses); 1 internal error (a bug);
2 bad usage or bad input file (one line on stderr).

Example:
  ${NAME} replay --summary --scenario fixtures/examples/scenario.json \\
    fixtures/examples/records.bin`;

const EXEC_HELP = `
One hypercall. Give the input as exactly one of:
  --fast HEX        the first input register (RDX) of a fast call: control bit 16 must be set;
  --input-gpa HEX   the input address of a memory call (control bit 16 clear), read from the
                    caller's guest memory: the scenario's "memory": [{"gpa": "0x2000", "hex": "…"}]
                    on the partition; every other GPA is unbacked.
HEX values are 64-bit numbers: ${U64_HEX_HINT} (the 0x may be left out).

Output: one JSON line on stdout, as replay prints it (index 0):
  {"index":0,"status":"HV_STATUS_SUCCESS","result":"0x0000000000000000"}

Exit codes: 0 the call was dispatched (whatever its status); 1 internal error; 2 bad usage or bad
scenario file.

Example (Linux VMBus style: connection 0x14, flag 5):
  ${NAME} exec --scenario s.json --control 0x1005d --fast 0x0000000500000014`;

const DECODE_HELP = `
HEX is read in one of two ways:
  0x…            a number: the 64-bit control value, e.g. 0x1005d (1 to 16 hex digits);
  no 0x prefix   bytes in file order, as they sit in a record file: 16 hex digits are the 8 bytes
                 of a control value (little-endian), 32 hex digits a whole 16-byte record (control
                 value, then the input block). Spaces between bytes are allowed.

Prints every field of the control value (and which reserved bits are set), the call's name, and
the status the dispatcher gives for the control value alone: the call-code and control-value
checks. The privilege check and everything after it need a scenario, so decode says what else the
status depends on. For a record it also decodes the input block (HvCallSignalEvent: ConnectionId,
FlagNumber, RsvdZ).

Examples:
  ${NAME} decode 0x1005d
  ${NAME} decode 5d000100000000001400000005000000
  ${NAME} decode --json "5d00010000000000 1400000005000000"`;

function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command(NAME)
    .description(
      "The Microsoft Hyper-V hypercall ABI, hypervisor side: replay, run and decode hypercalls " +
        "(HvCallSignalEvent) against a modeled machine.",
    )
    .version(VERSION, "-V, --version")
    .exitOverride()
    .configureOutput(outputFor(NAME))
    .showSuggestionAfterError(true)
    // No `help` command: `hvcall help nope` would print the whole help as an error; --help it is.
    .helpCommand(false)
    .addHelpText(
      "after",
      `\nExit codes: 0 success; 1 internal error (a bug: please report it); 2 bad usage or bad input.\nRun "${NAME} <command> --help" for each command.`,
    );

  withCallerOptions(
    program
      .command("replay")
      .description("Feed a file of 16-byte hypercall records (or - for stdin) to the dispatcher")
      .argument("<records>", "record file, or - for standard input")
      .configureOutput(outputFor(`${NAME} replay`)),
  )
    .option("--summary", "print a table of counts per status to stderr at the end")
    .option("--report-memory", "print the peak resident set size to stderr at the end")
    .option("--no-progress", "never show the progress bar")
    .option(
      "--threads <n>",
      "signal from N worker threads sharing one machine (SharedArrayBuffer, Atomics)",
      threadCount,
      1,
    )
    .addHelpText("after", REPLAY_HELP)
    .action(async (records: string, options: ReplayOptions) => {
      checkTestHook();
      const { runReplay } = await import("./replay.js");
      setExitCode(await runReplay(records, options));
    });

  withCallerOptions(
    program
      .command("exec")
      .description("Run one hypercall and print its result")
      .configureOutput(outputFor(`${NAME} exec`)),
  )
    .requiredOption("--control <hex>", "the hypercall control value (RCX)", u64Hex)
    .addOption(
      new Option("--fast <hex>", "fast call: the first input register (RDX)")
        .argParser(u64Hex)
        .conflicts("inputGpa"),
    )
    .addOption(
      new Option("--input-gpa <hex>", "memory call: the input GPA, read from the caller's memory")
        .argParser(u64Hex)
        .conflicts("fast"),
    )
    .addHelpText("after", EXEC_HELP)
    .action(async (options: ExecOptions) => {
      checkTestHook();
      const { runExec } = await import("./exec.js");
      setExitCode(await runExec(options));
    });

  program
    .command("decode")
    .description("Name every field of a control value (8 bytes) or a record (16 bytes)")
    .argument("<hex...>", "a 0x… control value, or the bytes of a control value or record")
    .option("--json", "print one JSON object instead of text")
    .configureOutput(outputFor(`${NAME} decode`))
    .addHelpText("after", DECODE_HELP)
    .action(async (hex: string[], options: DecodeOptions) => {
      checkTestHook();
      const { runDecode } = await import("./decode.js");
      setExitCode(runDecode(hex.join(" "), options));
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
    // Commander has printed its message (or the help / version) already.
    return error.code === "commander.helpDisplayed" || error.code === "commander.version"
      ? ExitCode.Success
      : ExitCode.Usage;
  }
  if (error instanceof CliUsageError) {
    process.stderr.write(`${NAME}: ${error.message}\n`);
    return ExitCode.Usage;
  }
  const message = error instanceof Error ? error.message : String(error);
  const stack = error instanceof Error && error.stack !== undefined ? `\n${error.stack}` : "";
  process.stderr.write(`${NAME}: internal error: ${oneLine(message)}${stack}\n`);
  return ExitCode.InternalError;
}

/** Runs the CLI on `argv` (without `node` and the script) and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  if (argv.length === 0) {
    process.stderr.write(
      `${NAME}: missing command: replay, exec or decode (see: ${NAME} --help)\n`,
    );
    return ExitCode.Usage;
  }
  let exitCode: number = ExitCode.Success;
  try {
    await buildProgram((code) => {
      exitCode = code;
    }).parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (error) {
    return report(error);
  }
}
