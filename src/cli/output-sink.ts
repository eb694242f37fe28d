import { CliUsageError } from "./cli-error.js";
import { stdoutWriteFailure } from "./stdio.js";

/**
 * Writes to stdout with backpressure: `write` resolves once the stream has taken the chunk (its
 * write callback), so the caller may then reuse the chunk's memory. When the reader goes away
 * (EPIPE, e.g. `hvcall replay … | head`), the sink closes quietly and `write` answers false, so
 * that the producer stops. Any other write error — a full disk, a file-size limit that cut a
 * write short (stdio.ts) — is a one-line usage error (docs/cli.md §12).
 */
export class OutputSink {
  private closed = false;
  private failure: unknown;

  constructor(private readonly stream: NodeJS.WritableStream) {
    stream.on("error", (error: NodeJS.ErrnoException) => this.fail(error));
  }

  private fail(error: NodeJS.ErrnoException | null | undefined): void {
    if (error === null || error === undefined) return;
    if (error.code === "EPIPE" || error.code === "ERR_STREAM_DESTROYED") this.closed = true;
    else this.failure ??= error;
  }

  /**
   * Writes the chunk; false when nothing more should be written: the reader has gone away, or
   * another write error (a full disk), which then throws. Never a rejected promise left waiting
   * (callers keep a write in flight while they compute the next chunk).
   */
  write(chunk: string | Uint8Array): Promise<boolean> {
    if (this.closed || this.failure !== undefined) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      this.stream.write(chunk, (error) => {
        this.fail(error);
        resolve(!this.closed && this.failure === undefined);
      });
    });
  }

  /** After a write answered false: throws the write error, unless the reader simply went away. */
  check(): void {
    if (this.failure !== undefined) throw new CliUsageError(stdoutWriteFailure(this.failure));
  }
}
