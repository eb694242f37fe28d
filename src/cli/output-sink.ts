import { CliUsageError, fsReason } from "./cli-error.js";

/**
 * Writes to a stream (stdout) with backpressure: `write` resolves once the stream has taken the
 * chunk (its write callback), so the caller may then reuse the chunk's memory. When the reader goes
 * away (EPIPE, e.g. `hvcall replay … | head`), the sink closes quietly and `write` answers false, so
 * that the producer stops. Any other write error is a one-line usage error.
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

  /** Writes the chunk; false when the reader has gone away and nothing more should be written. */
  async write(chunk: string | Uint8Array): Promise<boolean> {
    this.check();
    if (this.closed) return false;
    await new Promise<void>((resolve) => {
      this.stream.write(chunk, (error) => {
        this.fail(error);
        resolve();
      });
    });
    this.check();
    return !this.closed;
  }

  private check(): void {
    if (this.failure !== undefined) {
      throw new CliUsageError(`cannot write the output: ${fsReason(this.failure)}`);
    }
  }
}
