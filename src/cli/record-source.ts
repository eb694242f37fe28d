import { fstatSync, type Stats } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { open, stat } from "node:fs/promises";
import { RECORD_SIZE } from "../dispatch/hypercall-record.js";
import { CliUsageError, fsReason, quote } from "./cli-error.js";
import { streamBytes } from "./stream-bytes.js";

/** Where `replay` reads its 16-byte records from: a file, or a stream such as stdin. */
export interface RecordSource {
  /** For messages: `stdin` or the quoted path. */
  readonly name: string;
  /** Bytes in the source when known before reading (a regular file); undefined for a stream. */
  readonly size: number | undefined;
  /**
   * Reads up to `into.length` bytes into `into`; resolves with how many, 0 only at the end of the
   * input. Returns what is available without waiting for more once it has read something.
   */
  read(into: Uint8Array): Promise<number>;
  /**
   * After a stop: whether input is left beyond what was read (`buffered` bytes read but not run
   * count as left). May read ahead; call it only when no more records will run.
   */
  hasMore(buffered: number): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Opens `path` (or `-` for stdin). A regular file is measured first: a length that is not a
 * multiple of 16 is rejected here, before any call runs. Pipes and devices are streams, like stdin.
 */
export async function openRecordSource(path: string, lengthHint = ""): Promise<RecordSource> {
  if (path === "-") {
    // Standard input redirected from a regular file (`- < records.bin`) is measured like a file.
    let s: Stats | undefined;
    try {
      s = fstatSync(STDIN_FD);
    } catch {
      s = undefined;
    }
    if (s?.isFile() === true) checkLength("stdin", s.size, lengthHint);
    return streamSource("stdin", process.stdin);
  }
  const name = quote(path);
  let handle: FileHandle;
  let size: number | undefined;
  try {
    const s = await stat(path);
    if (s.isDirectory())
      throw new CliUsageError(`records: ${name} is a directory, not a record file`);
    if (s.isFile()) {
      size = s.size;
      checkLength(name, size, lengthHint);
    }
    handle = await open(path, "r");
  } catch (error) {
    if (error instanceof CliUsageError) throw error;
    throw new CliUsageError(`records: cannot read ${name}: ${fsReason(error)}`);
  }
  let position = 0;
  const read = async (into: Uint8Array): Promise<number> => {
    try {
      const n = (await handle.read(into, 0, into.length, null)).bytesRead;
      position += n;
      return n;
    } catch (error) {
      throw new CliUsageError(`records: cannot read ${name}: ${fsReason(error)}`);
    }
  };
  return {
    name,
    size,
    read,
    async hasMore(buffered) {
      if (buffered > 0) return true;
      if (size !== undefined) return position < size;
      return (await read(new Uint8Array(1))) > 0;
    },
    close: () => handle.close(),
  };
}

const STDIN_FD = 0;

/** "1 record", "2 records". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * A record file must hold whole records: rejected before any call runs otherwise. `hint` ends the
 * sentence (check adds how to read the input as a trace instead).
 */
export function checkLength(name: string, size: number, hint = ""): void {
  if (size % RECORD_SIZE !== 0) {
    throw new CliUsageError(
      `records: ${name} is ${size} bytes, not a multiple of ${RECORD_SIZE} ` +
        `(${plural(Math.floor(size / RECORD_SIZE), "record")} and ${plural(size % RECORD_SIZE, "byte")} left over); ` +
        `each record is ${RECORD_SIZE} bytes${hint}. Nothing was run`,
    );
  }
}

/** A record source over a readable stream; its chunks are copied out as they arrive. */
export function streamSource(name: string, stream: NodeJS.ReadableStream): RecordSource {
  const bytes = streamBytes(
    stream,
    (error) => new CliUsageError(`records: cannot read ${name}: ${fsReason(error)}`),
  );
  const source: RecordSource = {
    name,
    size: undefined,
    async hasMore(buffered) {
      return buffered > 0 || (await source.read(new Uint8Array(1))) > 0;
    },
    read: (into) => bytes.read(into),
    close: () => bytes.close(),
  };
  return source;
}
