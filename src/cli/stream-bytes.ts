/**
 * The bytes of a readable stream (stdin, a pipe) handed out into the caller's buffers: each
 * chunk is copied out as it arrives, and a read waits only when nothing is left of the last one.
 * One reader for records, traces and observed results alike.
 */
export interface StreamBytes {
  /** Copies up to `into.length` bytes; 0 at the end of the stream. */
  read(into: Uint8Array): Promise<number>;
  close(): Promise<void>;
}

/** `failure` turns a read error into the error to throw (it names the input). */
export function streamBytes(
  stream: NodeJS.ReadableStream,
  failure: (error: unknown) => Error,
): StreamBytes {
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<string | Buffer>;
  let pending: Uint8Array = new Uint8Array(0);
  let at = 0;
  return {
    async read(into) {
      let n = 0;
      while (n < into.length) {
        if (at === pending.length) {
          if (n > 0) break;
          let next: IteratorResult<string | Buffer>;
          try {
            next = await chunks.next();
          } catch (error) {
            throw failure(error);
          }
          if (next.done === true) break;
          pending = typeof next.value === "string" ? Buffer.from(next.value) : next.value;
          at = 0;
        }
        const k = Math.min(pending.length - at, into.length - n);
        into.set(pending.subarray(at, at + k), n);
        at += k;
        n += k;
      }
      return n;
    },
    async close() {
      await chunks.return?.();
    },
  };
}
