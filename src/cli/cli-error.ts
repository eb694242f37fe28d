/**
 * Host misuse: a bad flag, a missing or malformed input file, a caller the scenario does not have.
 * The CLI prints `hvcall: ${message}` as ONE line and exits with code 2; never a stack trace.
 * (Guest-controlled bytes never raise this: they become HV_STATUS_* results.)
 */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(oneLine(message));
    this.name = "CliUsageError";
  }
}

/** The exit codes of the CLI contract. */
export const ExitCode = {
  Success: 0,
  InternalError: 1,
  Usage: 2,
  /** `hvcall check`: the implementations disagree; `hvcall golden run`: a fixture failed. */
  Disagree: 3,
} as const;

/** Collapses line breaks (and other C0 controls) so that a message stays on one line. */
export function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return text.replace(/\s*[\r\n]+\s*/g, " ").replace(/[\u0000-\u001f\u007f]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

/** `"x"` for a value the user typed (a path, a flag value), cut short only when very long. */
export function quote(text: string): string {
  const max = 200;
  return text.length > max ? `${JSON.stringify(text.slice(0, max))}…` : JSON.stringify(text);
}

/** The message of a Node.js file-system error without its stack, e.g. `no such file (ENOENT)`. */
export function fsReason(error: unknown): string {
  if (error instanceof Error && "code" in error && typeof error.code === "string") {
    const known: Readonly<Record<string, string>> = {
      ENOENT: "no such file or directory",
      EACCES: "permission denied",
      EISDIR: "is a directory",
      ENOTDIR: "a part of the path is not a directory",
      EPERM: "operation not permitted",
      ENOSPC: "no space left on device",
      EFBIG: "file too large",
      EPIPE: "the reader closed the pipe",
      EROFS: "read-only file system",
    };
    return `${known[error.code] ?? error.message} (${error.code})`;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * `--output bin` with stdout a terminal: refused before anything runs, as `trace convert` refuses
 * a binary trace there (raw result values would garble the terminal and help nobody).
 */
export function refuseBinaryToTerminal(output: string | undefined): void {
  if (output === "bin" && process.stdout.isTTY === true) {
    throw new CliUsageError(
      "--output bin: stdout is a terminal; redirect it to a file or a pipe (or use --output json)",
    );
  }
}
