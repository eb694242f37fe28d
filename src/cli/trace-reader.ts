/**
 * Reading a guest trace, JSON Lines or binary (docs/trace-format.md), from a file or stdin, as a
 * stream: `fill()` reads more (async), `take()` hands out the next op from what was read (sync, so
 * the run loop costs no promise per op). The form is told by the first bytes: the binary header's
 * magic, or anything else for JSON Lines.
 */
import { type FileHandle, open, stat } from "node:fs/promises";
import {
  checkTraceHeader,
  decodeTraceRecord,
  recordPlace,
  TRACE_HEADER_SIZE,
  TRACE_MAGIC,
} from "../trace/trace-binary.js";
import { parseTraceLine } from "../trace/trace-jsonl.js";
import {
  TRACE_LINE_MAX_BYTES,
  TraceError,
  type TraceOp,
  WRITE_MAX_BYTES,
} from "../trace/trace-op.js";
import { CliUsageError, fsReason, quote } from "./cli-error.js";
import { streamBytes } from "./stream-bytes.js";

const READ_SIZE = 1 << 20;
const NEWLINE = 0x0a;

export type TraceForm = "jsonl" | "binary";

export interface TraceReader {
  readonly name: string;
  /** The form, known once the first bytes are read (after the first fill). */
  form: TraceForm | undefined;
  /** Ops handed out so far. */
  readonly count: number;
  /** Where the op last handed out (or failing) sits, for messages: "line 3", "record 2 (byte 40)". */
  readonly where: string;
  /** True when the source is a regular file (it can be read twice: a check pass, then the run). */
  readonly rereadable: boolean;
  /** Reads more; false at the end of the input (an unfinished op there is a TraceError). */
  fill(): Promise<boolean>;
  /** The next op of what was read into `into`; false when more must be read first. */
  take(into: TraceOp): boolean;
  close(): Promise<void>;
}

interface ByteSource {
  read(into: Uint8Array): Promise<number>;
  close(): Promise<void>;
}

async function fileSource(path: string): Promise<ByteSource & { regular: boolean }> {
  let handle: FileHandle;
  let regular: boolean;
  try {
    const s = await stat(path);
    if (s.isDirectory())
      throw new CliUsageError(`trace: ${quote(path)} is a directory, not a trace`);
    regular = s.isFile();
    handle = await open(path, "r");
  } catch (error) {
    if (error instanceof CliUsageError) throw error;
    throw new CliUsageError(`trace: cannot read ${quote(path)}: ${fsReason(error)}`);
  }
  return {
    regular,
    async read(into) {
      try {
        return (await handle.read(into, 0, into.length, null)).bytesRead;
      } catch (error) {
        throw new CliUsageError(`trace: cannot read ${quote(path)}: ${fsReason(error)}`);
      }
    },
    close: () => handle.close(),
  };
}

function stdinSource(): ByteSource {
  return streamBytes(
    process.stdin,
    (error) => new CliUsageError(`trace: cannot read stdin: ${fsReason(error)}`),
  );
}

/** Opens a trace file, or stdin for "-". */
export async function openTraceReader(path: string): Promise<TraceReader> {
  const source = path === "-" ? { ...stdinSource(), regular: false } : await fileSource(path);
  return new StreamTraceReader(path === "-" ? "stdin" : quote(path), source, source.regular);
}

class StreamTraceReader implements TraceReader {
  form: TraceForm | undefined;
  count = 0;
  /** The last op's place: its line, or its record and byte (text made only when asked). */
  private lastLine = 0;
  private lastByte = -1;
  private buffer = new Uint8Array(READ_SIZE);
  private view = new DataView(this.buffer.buffer);
  /** Bytes [start, end) of the buffer are read and not yet handed out. */
  private start = 0;
  private end = 0;
  /** File offset of buffer[0] (binary messages), and the JSON line number of the next line. */
  private base = 0;
  private line = 1;
  private ended = false;
  private readonly decoder = new TextDecoder("utf-8", { fatal: false });

  constructor(
    readonly name: string,
    private readonly source: ByteSource,
    readonly rereadable: boolean,
  ) {}

  async fill(): Promise<boolean> {
    if (this.ended) return false;
    // Keep what is not handed out yet at the front, and grow the buffer for one long line.
    if (this.start > 0) {
      this.buffer.copyWithin(0, this.start, this.end);
      this.base += this.start;
      this.end -= this.start;
      this.start = 0;
    }
    if (this.end === this.buffer.length) {
      const bigger = new Uint8Array(this.buffer.length * 2);
      bigger.set(this.buffer);
      this.buffer = bigger;
      this.view = new DataView(bigger.buffer);
    }
    const n = await this.source.read(this.buffer.subarray(this.end));
    if (n === 0) {
      this.ended = true;
      this.finish();
      return this.end > this.start;
    }
    this.end += n;
    if (this.form === undefined) this.detectForm();
    return true;
  }

  /**
   * The form, from the first 8 bytes: the binary magic — or something binary that is not it (a
   * NUL byte, or "HVTRACE" with another last byte), so that a damaged or foreign binary file gets
   * the header's error rather than "line 1: not valid JSON" — or else JSON Lines.
   */
  private detectForm(): void {
    const magic = TRACE_MAGIC.length;
    if (this.end < magic && !this.ended) return;
    const head = this.buffer.subarray(0, Math.min(magic, this.end));
    const prefix = TRACE_MAGIC.subarray(0, magic - 1);
    const binaryLooking =
      (head.length >= prefix.length && prefix.every((b, i) => head[i] === b)) || head.includes(0);
    this.form = binaryLooking ? "binary" : "jsonl";
  }

  /** At the end of the input: what is left must be a last line (JSON Lines) or nothing. */
  private finish(): void {
    if (this.form === undefined) this.detectForm();
    if (this.form === "binary" && this.end > this.start) {
      if (this.base + this.start < TRACE_HEADER_SIZE) {
        throw new TraceError(
          "header",
          "",
          `the input ends inside the ${TRACE_HEADER_SIZE}-byte header`,
        );
      }
      throw new TraceError(
        `record ${this.count} (byte ${this.base + this.start})`,
        "",
        "the input ends inside this record",
      );
    }
  }

  take(into: TraceOp): boolean {
    if (this.form === "binary") return this.takeBinary(into);
    if (this.form === "jsonl") return this.takeLine(into);
    return false;
  }

  get where(): string {
    if (this.lastByte >= 0) return recordPlace(this.count - 1, this.lastByte);
    return this.lastLine === 0 ? "the start" : `line ${this.lastLine}`;
  }

  private takeBinary(into: TraceOp): boolean {
    if (this.base + this.start === 0) {
      if (this.end < TRACE_HEADER_SIZE) return false;
      checkTraceHeader(this.buffer);
      this.start = TRACE_HEADER_SIZE;
    }
    const at = this.base + this.start;
    const size = decodeTraceRecord(
      this.view,
      this.start,
      this.end,
      into,
      this.count,
      at,
      this.buffer,
    );
    if (size === 0) return false;
    this.lastByte = at;
    this.start += size;
    this.count++;
    return true;
  }

  /** A line longer than any op (a hostile or non-trace file): stop before buffering it all. */
  private lineTooLong(): never {
    throw new TraceError(
      `line ${this.line}`,
      "",
      `longer than ${TRACE_LINE_MAX_BYTES} bytes without a newline; a trace line is one op (a write is at most ${WRITE_MAX_BYTES} bytes)`,
    );
  }

  private takeLine(into: TraceOp): boolean {
    for (;;) {
      let nl = this.buffer.indexOf(NEWLINE, this.start);
      if (nl < 0 || nl >= this.end) {
        if (!this.ended || this.start >= this.end) {
          if (this.end - this.start > TRACE_LINE_MAX_BYTES) this.lineTooLong();
          return false;
        }
        nl = this.end; // the last line, without a newline
      }
      if (nl - this.start > TRACE_LINE_MAX_BYTES) this.lineTooLong();
      const text = this.decoder.decode(this.buffer.subarray(this.start, nl));
      this.start = Math.min(nl + 1, this.end);
      const lineNumber = this.line++;
      if (text.trim() === "") continue; // blank lines are not ops
      this.lastLine = lineNumber;
      parseTraceLine(text, this.where, into);
      this.count++;
      return true;
    }
  }

  close(): Promise<void> {
    return this.source.close();
  }
}
