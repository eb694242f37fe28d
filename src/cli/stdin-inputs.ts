/**
 * Stdin can feed one input of a run, not two: `--scenario - -` would read the scenario to the end
 * of stdin and leave the records or trace empty (a run of nothing, exit 0), and `/dev/stdin` for
 * one of them reads the same pipe. Found before anything is read (docs/cli.md §1).
 */
import { fstatSync, type Stats, statSync } from "node:fs";
import { CliUsageError, quote } from "./cli-error.js";

/** An input of a run: the flag or operand that names it, and its path ("-": stdin). */
export interface NamedInput {
  readonly label: string;
  readonly path: string;
}

function statOrUndefined(get: () => Stats): Stats | undefined {
  try {
    return get();
  } catch {
    return undefined;
  }
}

/**
 * True when the path reads stdin: "-", or (when stdin is a pipe or socket, which can be read only
 * once) a path to the same pipe, such as /dev/stdin or /dev/fd/0.
 */
function readsStdin(path: string, stdin: Stats | undefined): boolean {
  if (path === "-") return true;
  if (stdin === undefined || !(stdin.isFIFO() || stdin.isSocket())) return false;
  const s = statOrUndefined(() => statSync(path));
  return s !== undefined && s.dev === stdin.dev && s.ino === stdin.ino;
}

/** Refuses a run in which two inputs read stdin. */
export function refuseTwoStdinInputs(inputs: readonly NamedInput[]): void {
  const stdin = statOrUndefined(() => fstatSync(0));
  const users = inputs.filter((i) => readsStdin(i.path, stdin));
  if (users.length < 2) return;
  const [a, b] = users as [NamedInput, NamedInput];
  const shown = (i: NamedInput) =>
    i.path === "-" ? `${i.label} -` : `${i.label} ${quote(i.path)}`;
  throw new CliUsageError(
    `${shown(a)} and ${shown(b)} are both stdin, which can feed only one of them: give the other as a file`,
  );
}
