/**
 * The text after each command's option list in `--help` (docs/cli.md says the same at length),
 * keyed by the command's path: "run", "trace convert", "golden run" (a subcommand's name alone
 * would give `golden run` the help of `run`). Every command names its exit codes (docs/cli.md §12).
 */
import { MAX_SIGNAL_THREADS } from "../parallel/protocol.js";
import { BYTES_HEX_HINT, U64_HEX_HINT } from "../text/hex-text.js";

const N = "hvcall";

/** Help lines stay within 100 columns: generated sentences are wrapped at word boundaries. */
const WIDTH = 100;

function wrap(text: string): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines.join("\n");
}

const HEX = `
${wrap(`Hex: a number is ${U64_HEX_HINT}, in either case; a flag that takes only numbers (--control,
--fast, --input-gpa, --r8) also takes the digits without 0x. Bytes are ${BYTES_HEX_HINT}.`)}`;

const OUTPUT_FAILS = "or an output that cannot be written (a closed pipe, a full disk)";

/** Codes 0, 1 and 2 as every command has them, 3 where the command gives it. */
function exitCodes(
  codes: { readonly zero?: string; readonly two?: string; readonly three?: string } = {},
): string {
  const two = codes.two ?? "bad usage, a bad input file";
  const three = codes.three === undefined ? "" : `; 3 ${codes.three}`;
  return `
${wrap(
  `Exit codes: 0 ${codes.zero ?? "done"}; 1 internal error (a bug: please report it); 2 ${two}, ` +
    `${OUTPUT_FAILS}: one line on stderr${three}.`,
)}`;
}

const EXIT = exitCodes();

export const COMMAND_HELP: Readonly<Record<string, string>> = {
  program: `
Commands:  replay, run, exec, check, decode, trace convert, golden run|update|new.
Run "${N} help <command>" (or "${N} <command> --help") for each.
${wrap(
  `Exit codes: 0 done; 1 internal error (a bug: please report it); 2 bad usage, a bad input file,
  ${OUTPUT_FAILS}: one line on stderr. 3: check found disagreements, golden run a failing fixture,
  golden update --check a fixture that would change.`,
)}`,

  replay: `
Records: 16 bytes each. Bytes 0..7: the hypercall control value (u64, little-endian). Bytes 8..15:
the first 8 bytes of the input block as the guest laid it out. A fast call (control bit 16 set) gets
these bytes as RDX; a memory call gets the GPA of a scratch page where replay writes them, the rest
of the page reading as zero (so a HvCallPostMessage record's MessageType and PayloadSize are 0).

Output: one JSON line per record on stdout, in order:
  {"index":0,"status":"HV_STATUS_SUCCESS","result":"0x0000000000000000"}
with --explain also "check" and "why"; with --output bin the 8-byte result value (u64 LE) each.
Messages, --summary and --report-memory go to stderr. On a terminal, a run longer than about a
second shows a progress bar on stderr (--no-progress turns it off).

Length check: a file whose length is not a multiple of 16 is rejected (exit 2) before any call
runs, also as standard input ("- < file"). A pipe cannot be measured up front: its records run as
they arrive, and if it ends inside a record, replay stops with exit 2 saying how many ran. If the
reader of stdout goes away, replay stops with exit 2.

The scratch page is at the lowest page above page 0 that is neither RAM nor an overlay page of the
caller; it is mapped only while records run, and --dump-state leaves it out.

--threads N (1..${MAX_SIGNAL_THREADS}, twice this machine's processors): worker threads signal in parallel into
one shared machine; any other call's records run on the main thread. Statuses, flags, counts and
the dump are those of a one-thread run.
${HEX}
${EXIT}

Example:
  ${N} replay --summary --scenario fixtures/examples/scenario.json fixtures/examples/records.bin`,

  run: `
A trace is JSON Lines, one op per line (blank lines are skipped), or the binary form
(docs/trace-format.md; "${N} trace convert" turns one into the other). Ops:
  {"op":"hypercall","control":"0x1005d","rdx":"0x14","r8":"0x0"}   one hypercall (r8 optional)
  {"op":"write","gpa":"0x20300","hex":"00000000"}                  guest memory write
  {"op":"read","gpa":"0x20300","length":16}                        guest memory read (1..4096)
  {"op":"wrmsr","msr":"0x40000084","value":"0x0"}                  guest MSR write
  {"op":"rdmsr","msr":"0x40000081"}                                guest MSR read
  {"op":"eoi"}                                                     APIC EOI: the message rescan
Every op may name "partition" (default --caller) and "vp" (default --vp, for ops that act as a VP);
"msr" is a number in hex or a JSON integer.
Output: one JSON line per op, {"index":i,"op":"…",…}: hypercalls add status and result (and with
--explain check and why); write, wrmsr and eoi add outcome ("ok", "unbacked", "#GP"); read adds hex,
rdmsr value. --output bin writes the 8-byte result value of each hypercall op instead.
A bad op (not an object, unknown op or field, a partition or VP the scenario lacks) is exit 2 naming
its line and field: found before anything runs when the trace is a file; from stdin the ops before
it have run.
${HEX}
${EXIT}

Example:
  ${N} run --scenario fixtures/examples/scenario.json fixtures/examples/trace.jsonl`,

  exec: `
One hypercall. Give the input as exactly one of:
  --fast HEX        the first input register (RDX) of a fast call: control bit 16 must be set;
  --input-gpa HEX   the input address of a memory call (control bit 16 clear), read from the
                    caller's guest memory (the scenario's "memory" on the partition, or an enabled
                    SIEF/SIM page); every other GPA is unbacked.
Output: one JSON line on stdout, as replay prints it (index 0).
${HEX}
${EXIT}

Example (Linux VMBus style: connection 0x1001, flag 0):
  ${N} exec --scenario fixtures/examples/scenario.json --control 0x1005d --fast 0x1001`,

  check: `
RESULTS: JSON Lines in the shape of replay / run output (at least "index" and "result" a line,
"status" optional; for a trace also the other ops' "outcome", "hex", "value"), or a binary file of
8-byte result values (one per record, or per hypercall op of a trace). Indexes must match the input
one to one, in order (a trace's non-hypercall ops may be left out).
Output: one JSON line per disagreement on stdout,
  {"index":i,"expected":{"status","result"},"observed":{"status","result"},"check":"…","why":"…"}
and on stderr a summary grouping the disagreements by (expected status, observed status, check)
with their counts and the first index of each.
${exitCodes({
  zero: "every result agrees",
  two: "bad usage, a bad input file (including RESULTS whose indexes do not match the input)",
  three: "some disagree",
})}

Example: see examples/check-kvm-style/.`,

  decode: `
HEX is read by the one hex rule: with 0x it is a number — a control value, or with --result a result
value (RAX); without 0x it is bytes in file order: 16 digits the 8 bytes of a 64-bit value, 32 a
whole 16-byte record (control value, then the first 8 bytes of the input block). Spaces between
bytes are allowed.

Prints every field of the value (bit ranges and names from the TLFS tables), which reserved bits are
set, the call's name (every call code of the TLFS reference) and the status the dispatcher gives for
the control value alone. For a record of an implemented call it also decodes the input fields.
${EXIT}

Examples:
  ${N} decode 0x1005d
  ${N} decode 5d000100000000001400000005000000
  ${N} decode --result 0x0000000000000011`,

  trace: `
Run "${N} help trace convert" for the options of convert.
${exitCodes({ two: "bad usage (no subcommand: this help, on stderr), a bad input file" })}`,

  "trace convert": `
JSON Lines to binary, or binary to JSON Lines (the form of INPUT decides; --to overrides). Lossless:
converting back gives the same ops, each with the fields it named. A file OUTPUT is written
atomically and is never the input; binary output to a terminal is refused.
${EXIT}

Example:
  ${N} trace convert fixtures/examples/trace.jsonl trace.bin`,

  golden: `
Golden fixtures (docs/golden-fixtures.md): a scenario, a trace whose ops carry the answers they
must get, and the final state of every VP. Run "${N} help golden <command>" for each.
${exitCodes({
  two: "bad usage (no subcommand: this help, on stderr), a malformed fixture, a DIR without fixtures",
  three: "golden run: a fixture fails; golden update --check: an expectation would change",
})}`,

  "golden run": `
Runs every *.json file of DIR (sorted), each on a fresh machine, and writes nothing: one line "ok"
or "FAIL" per fixture, a unified diff (expected -> hvcall) for each that fails, then the counts.
A fixture that leaves out expect or expectFinal fails, and says so: "${N} golden update DIR"
fills them in. Every fixture is read and checked before the first line is printed.
${exitCodes({
  zero: "every fixture passes",
  two: "bad usage, a malformed fixture (one line naming its file and JSON path), a DIR without .json files",
  three: "some fixture fails",
})}

Example:
  ${N} golden run fixtures/golden`,

  "golden update": `
Runs every *.json file of DIR as golden run does, rewrites the expectations (each op's expect,
expectFinal) that differ from hvcall's answers, and prints a unified diff of each changed file.
Every fixture is read, checked and run before the first is written: when one is malformed,
nothing is written. Each file is replaced atomically. --check prints the diffs, writes nothing.
${exitCodes({
  zero: "done (with --check: nothing would change)",
  two: "bad usage, a malformed fixture (one line naming its file and JSON path; nothing is written), a DIR without .json files",
  three: "with --check: some expectation would change",
})}

Example:
  ${N} golden update --check fixtures/golden`,

  "golden new": `
Runs TRACE against the scenario and prints a new fixture on stdout: the scenario as the file gives
it, the trace's ops in canonical form, and hvcall's answers as expect and expectFinal. Save it as
DIR/NAME.json, NAME being its "name" (--name, or else the trace file's name, lowercase, dashed).
${exitCodes({
  two: "bad usage, a bad scenario or trace (one line naming the line and field)",
})}

Example:
  ${N} golden new --scenario scenario.json capture.jsonl > my-suite/capture.json`,
};
