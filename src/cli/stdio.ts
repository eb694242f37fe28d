import { fstatSync, writeSync } from "node:fs";
import { fsReason } from "./cli-error.js";

/**
 * The process's stdout and stderr as the CLI contract wants them (docs/cli.md §12): an
 * output that cannot be written — a closed pipe (`hvcall … | head -1`), a full disk
 * (`> /dev/full`), a file-size limit (`ulimit -f`) — is exit 2 with one line on stderr, never an
 * unhandled 'error' event and a stack trace, and never exit 0 with the output cut short.
 * Installed once, first thing in main(); every writer of the CLI goes through `out()` / `err()`
 * or checks `stdoutFailure()`.
 */
let stdoutError: NodeJS.ErrnoException | undefined;
/** Bytes written to stdout, counted when it is a regular file (the "after N bytes" of a message). */
let stdoutWritten = 0;
let stderrError: unknown;
let stderrBroken = false;
let installed = false;

/**
 * A write(2) that took no byte and reported no error. Seen as an error: retrying it would spin,
 * and the output would end short without a word.
 */
export class WriteStalledError extends Error {
  constructor() {
    super("the file size limit or a full disk stopped the write");
    this.name = "WriteStalledError";
  }
}

/** Why a write failed, for a one-line message; a file-size limit (`ulimit -f`) is named. */
export function writeReason(error: unknown): string {
  if (error instanceof Error && "code" in error && error.code === "EFBIG") {
    return "the file size limit stopped the write (EFBIG)";
  }
  return fsReason(error); // a WriteStalledError has no code: its message
}

/**
 * Writes every byte of `bytes` to `fd`: write(2) may take fewer than asked (a file-size limit
 * or a disk that fills up part-way), and the rest is then written, or fails, by the next call.
 */
function writeAllSync(fd: number, bytes: Uint8Array, counted: (n: number) => void): void {
  for (let at = 0; at < bytes.length; ) {
    const n = writeSync(fd, bytes, at, bytes.length - at);
    if (n <= 0) throw new WriteStalledError();
    at += n;
    counted(n);
  }
}

/**
 * Makes `stream` (stdout or stderr) write all of each chunk when its fd is a regular file. Node
 * writes to a file through a SyncWriteStream, which ignores the count fs.writeSync returns: under
 * `ulimit -f` the first write is cut short, nothing fails, and the command exited 0 with its
 * output ending mid-line (found in review). Pipes and terminals go through libuv, which writes
 * in full or fails; they are left alone.
 */
function writeInFull(stream: NodeJS.WriteStream, fd: number, counted: (n: number) => void): void {
  try {
    if (!fstatSync(fd).isFile()) return;
  } catch {
    return; // a closed fd: the stream reports that itself
  }
  stream._write = (chunk: unknown, encoding: BufferEncoding, done: (error?: Error) => void) => {
    try {
      const bytes = chunk instanceof Uint8Array ? chunk : Buffer.from(String(chunk), encoding);
      writeAllSync(fd, bytes, counted);
    } catch (error) {
      done(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    done();
  };
}

export function installStdioGuards(): void {
  if (installed) return;
  installed = true;
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    stdoutError ??= error;
  });
  process.stderr.on("error", (error: unknown) => {
    // Nowhere left to report anything: the exit code still tells (stdoutFailure).
    stderrError ??= error;
    stderrBroken = true;
  });
  writeInFull(process.stdout, 1, (n) => {
    stdoutWritten += n;
  });
  writeInFull(process.stderr, 2, () => undefined);
}

/** The one line for a stdout write that failed: why, and how much of the output got out. */
export function stdoutWriteFailure(error: unknown): string {
  const n = stdoutWritten;
  const after = n > 0 ? ` after ${n} ${n === 1 ? "byte" : "bytes"}` : "";
  return `stdout: cannot write: ${writeReason(error)}${after}`;
}

/**
 * Why the command's output could not be written, as one line; undefined while it is fine. That
 * is stdout, or else stderr: a report asked for there (`--summary`, `--report-memory`) that was
 * lost makes the command fail too (exit 2), though the line itself cannot be shown (`err()`
 * drops it).
 */
export function stdoutFailure(): string | undefined {
  const e = stdoutError;
  if (e === undefined) {
    return stderrError === undefined
      ? undefined
      : `stderr: cannot write: ${writeReason(stderrError)}`;
  }
  if (e.code === "EPIPE" || e.code === "ERR_STREAM_DESTROYED") {
    return "stdout: its reader closed it before the output was complete (EPIPE)";
  }
  return stdoutWriteFailure(e);
}

/** Writes to stdout without waiting (errors are caught by the guard). */
export function out(text: string | Uint8Array): void {
  if (stdoutError === undefined) process.stdout.write(text);
}

/** Writes to stderr; silently nothing when stderr itself cannot be written. */
export function err(text: string): void {
  if (!stderrBroken) process.stderr.write(text);
}

function flushed(stream: NodeJS.WriteStream, failed: boolean): Promise<void> {
  // Nothing pending: nothing to wait for. (A zero-length write is still a write(2): on a full
  // device it fails, and a command with nothing to say on stderr would exit 2 — found in review.)
  // A write that failed synchronously reports on a later tick: wait one turn of the loop for it.
  if (failed || stream.destroyed) return Promise.resolve();
  if (stream.writableLength === 0) return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => {
    stream.write("", () => resolve());
  });
}

/**
 * Resolves once everything written to stdout and stderr so far has been handed to the OS (or
 * failed), so that `stdoutFailure()` then knows of every failed write.
 */
export async function flushStdout(): Promise<void> {
  await Promise.all([
    flushed(process.stdout, stdoutError !== undefined),
    flushed(process.stderr, stderrBroken),
  ]);
}
