import { fsReason } from "./cli-error.js";

/**
 * The process's stdout and stderr as the CLI contract wants them (docs/cli.md §12): an
 * output that cannot be written — a closed pipe (`hvcall … | head -1`), a full disk
 * (`> /dev/full`) — is exit 2 with one line on stderr, never an unhandled 'error' event and a
 * stack trace. Installed once, first thing in main(); every writer of the CLI goes through
 * `out()` / `err()` or checks `stdoutFailure()`.
 */
let stdoutError: NodeJS.ErrnoException | undefined;
let stderrBroken = false;
let installed = false;

export function installStdioGuards(): void {
  if (installed) return;
  installed = true;
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    stdoutError ??= error;
  });
  process.stderr.on("error", () => {
    // Nowhere left to report anything: the exit code still tells.
    stderrBroken = true;
  });
}

/** Why stdout could not be written, as one line; undefined while it is fine. */
export function stdoutFailure(): string | undefined {
  const e = stdoutError;
  if (e === undefined) return undefined;
  if (e.code === "EPIPE" || e.code === "ERR_STREAM_DESTROYED") {
    return "stdout: its reader closed it before the output was complete (EPIPE)";
  }
  return `stdout: cannot write: ${fsReason(e)}`;
}

/** True when the reader of stdout has gone away (as opposed to another write error). */
export function stdoutClosedByReader(): boolean {
  return stdoutError?.code === "EPIPE" || stdoutError?.code === "ERR_STREAM_DESTROYED";
}

/** Writes to stdout without waiting (errors are caught by the guard). */
export function out(text: string | Uint8Array): void {
  if (stdoutError === undefined) process.stdout.write(text);
}

/** Writes to stderr; silently nothing when stderr itself cannot be written. */
export function err(text: string): void {
  if (!stderrBroken) process.stderr.write(text);
}

/** Resolves once everything written to stdout so far has been handed to the OS (or failed). */
export function flushStdout(): Promise<void> {
  if (stdoutError !== undefined || process.stdout.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    process.stdout.write("", () => resolve());
  });
}
