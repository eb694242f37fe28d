/**
 * The observed results `hvcall check` holds against hvcall's (docs/cli.md §7): JSON
 * Lines in the shape of `replay` / `run` output — at least `index` and `result` per line, `status`
 * optional; for a trace's other ops `outcome` (and `hex`, `value`) — or a binary file of 8-byte
 * result values, one per record or per hypercall op. Read as a stream, like the trace reader.
 */
import { type FileHandle, open, stat } from "node:fs/promises";
import { hvStatusFromName, hvStatusName, isKnownHvStatus } from "../abi/hv-status.js";
import { RESULT_STATUS_MASK } from "../abi/hypercall-result.js";
import { formatU64Hex, u64Hi, u64Lo } from "../abi/u64.js";
import {
  BYTES_HEX_HINT,
  hexBytesProblem,
  parseHexBytes,
  parseU64Hex,
  U64_HEX_HINT,
} from "../text/hex-text.js";
import { CliUsageError, fsReason, quote } from "./cli-error.js";
import { type StreamBytes, streamBytes } from "./stream-bytes.js";

const READ_SIZE = 1 << 20;
const NEWLINE = 0x0a;
const BOM = [0xef, 0xbb, 0xbf] as const;
/** The longest observed line: far above any result line (a read's 8 KiB of hex is the longest). */
const LINE_MAX_BYTES = 1 << 20;

export type ObservedForm = "jsonl" | "bin";

/** One observed result (reused). */
export class Observed {
  index = 0;
  /** The result value, or resultGiven false (an action line). */
  resultLo = 0;
  resultHi = 0;
  resultGiven = false;
  status: string | undefined;
  /** The op the line names (`run` output has it), checked against the trace's op. */
  op: string | undefined;
  outcome: string | undefined;
  hex: string | undefined;
  value: string | undefined;
}

export class ObservedError extends Error {}

export class ObservedReader {
  form: ObservedForm | undefined;
  /** Lines (or values) handed out. */
  count = 0;
  where = "the start";
  private buffer = new Uint8Array(READ_SIZE);
  private start = 0;
  private end = 0;
  private line = 1;
  private ended = false;
  private readonly decoder = new TextDecoder();

  private constructor(
    readonly name: string,
    private readonly handle: FileHandle | undefined,
    private readonly forced: ObservedForm | undefined,
    readonly rereadable: boolean,
  ) {}

  static async open(path: string, form?: ObservedForm): Promise<ObservedReader> {
    if (path === "-") return new ObservedReader("stdin", undefined, form, false);
    try {
      const s = await stat(path);
      if (s.isDirectory()) throw new CliUsageError(`--observed ${quote(path)} is a directory`);
      return new ObservedReader(quote(path), await open(path, "r"), form, s.isFile());
    } catch (error) {
      if (error instanceof CliUsageError) throw error;
      throw new CliUsageError(`--observed: cannot read ${quote(path)}: ${fsReason(error)}`);
    }
  }

  private stdin: StreamBytes | undefined;

  private async readSome(into: Uint8Array): Promise<number> {
    if (this.handle !== undefined) {
      try {
        return (await this.handle.read(into, 0, into.length, null)).bytesRead;
      } catch (error) {
        throw new CliUsageError(`--observed: cannot read ${this.name}: ${fsReason(error)}`);
      }
    }
    this.stdin ??= streamBytes(
      process.stdin,
      (error) => new CliUsageError(`--observed: cannot read stdin: ${fsReason(error)}`),
    );
    return this.stdin.read(into);
  }

  /** Reads more; false at the end. */
  async fill(): Promise<boolean> {
    if (this.ended) return false;
    if (this.start > 0) {
      this.buffer.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (this.end === this.buffer.length) {
      const bigger = new Uint8Array(this.buffer.length * 2);
      bigger.set(this.buffer);
      this.buffer = bigger;
    }
    const n = await this.readSome(this.buffer.subarray(this.end));
    if (n === 0) {
      this.ended = true;
      if (this.form === "bin" && this.end - this.start !== 0) {
        throw new ObservedError(
          `${this.count * 8 + (this.end - this.start)} bytes: a binary results file is 8 bytes per result value`,
        );
      }
      return this.end > this.start;
    }
    this.end += n;
    if (this.form === undefined && this.start === 0 && this.end >= BOM.length) {
      // A UTF-8 byte order mark before JSON Lines is skipped, as for scenarios and traces.
      if (BOM.every((b, i) => this.buffer[i] === b)) this.start = BOM.length;
    }
    if (this.form === undefined) {
      const first = this.buffer
        .subarray(this.start, this.end)
        .find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
      // JSON Lines start with "{"; a binary file is 8-byte values (told apart by --observed-form).
      this.form = this.forced ?? (first === 0x7b ? "jsonl" : "bin");
    }
    return true;
  }

  /** The next observed result into `into`; false when more must be read. Throws ObservedError. */
  take(into: Observed): boolean {
    if (this.form === "bin") {
      if (this.end - this.start < 8) return false;
      const b = this.buffer;
      const at = this.start;
      into.index = this.count;
      into.resultLo = (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
      into.resultHi =
        (b[at + 4]! | (b[at + 5]! << 8) | (b[at + 6]! << 16) | (b[at + 7]! << 24)) >>> 0;
      into.resultGiven = true;
      into.status = into.op = into.outcome = into.hex = into.value = undefined;
      this.where = `value ${this.count} (byte ${this.count * 8})`;
      this.start += 8;
      this.count++;
      return true;
    }
    if (this.form !== "jsonl") return false;
    for (;;) {
      let nl = this.buffer.indexOf(NEWLINE, this.start);
      if (nl < 0 || nl >= this.end) {
        if (!this.ended || this.start >= this.end) {
          if (this.end - this.start > LINE_MAX_BYTES) this.lineTooLong();
          return false;
        }
        nl = this.end;
      }
      if (nl - this.start > LINE_MAX_BYTES) this.lineTooLong();
      const text = this.decoder.decode(this.buffer.subarray(this.start, nl));
      this.start = Math.min(nl + 1, this.end);
      const n = this.line++;
      if (text.trim() === "") continue;
      this.where = `line ${n}`;
      parseObservedLine(text, this.where, into);
      this.count++;
      return true;
    }
  }

  /** A line longer than any result line (not a results file): stop before buffering it all. */
  private lineTooLong(): never {
    throw new ObservedError(
      `line ${this.line}: longer than ${LINE_MAX_BYTES} bytes without a newline; an observed line is one result`,
    );
  }

  async close(): Promise<void> {
    await this.handle?.close();
    await this.stdin?.close();
  }
}

function parseObservedLine(text: string, where: string, into: Observed): void {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ObservedError(`${where}: not a JSON object (not valid JSON)`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new ObservedError(`${where}: not a JSON object`);
  const o = json as Readonly<Record<string, unknown>>;
  if (typeof o.index !== "number" || !Number.isSafeInteger(o.index) || o.index < 0) {
    throw new ObservedError(
      `${where}: index: expected a non-negative integer, got ${JSON.stringify(o.index) ?? "nothing"}`,
    );
  }
  into.index = o.index;
  into.resultGiven = o.result !== undefined;
  if (into.resultGiven) {
    const value = typeof o.result === "string" ? parseU64Hex(o.result) : undefined;
    if (value === undefined)
      throw new ObservedError(
        `${where}: result: expected a 64-bit hex string like "0x0000000000000000"`,
      );
    into.resultLo = u64Lo(value);
    into.resultHi = u64Hi(value);
  }
  into.status = stringField(o, "status", where);
  if (into.status !== undefined) checkStatus(into, where);
  into.op = stringField(o, "op", where);
  into.outcome = stringField(o, "outcome", where);
  into.hex = stringField(o, "hex", where);
  into.value = stringField(o, "value", where);
  checkActionFields(into, where);
  if (
    !into.resultGiven &&
    into.outcome === undefined &&
    into.hex === undefined &&
    into.value === undefined
  ) {
    throw new ObservedError(
      `${where}: result: missing (a hypercall's line needs its result; a guest action's its outcome, hex or value)`,
    );
  }
}

/**
 * A line's `status` must be an HV_STATUS name (as hvcall prints them, `HV_STATUS_UNKNOWN_0x…` for
 * a code without one) and, beside a `result`, the name of that result's bits 15:0 — a line that
 * contradicts itself is a broken file, not a disagreement.
 */
function checkStatus(into: Observed, where: string): void {
  const status = into.status!;
  const unknown = /^HV_STATUS_UNKNOWN_0x([0-9A-F]{4})$/.exec(status);
  const code =
    hvStatusFromName(status) ?? (unknown === null ? undefined : Number.parseInt(unknown[1]!, 16));
  if (code === undefined) {
    throw new ObservedError(
      `${where}: status: ${JSON.stringify(status)} is not an HV_STATUS name (e.g. "HV_STATUS_SUCCESS")`,
    );
  }
  if (unknown !== null && isKnownHvStatus(code)) {
    throw new ObservedError(
      `${where}: status: ${status} is the form of a code without a name, but 0x${unknown[1]} is ${hvStatusName(code)}`,
    );
  }
  const fromResult = into.resultLo & RESULT_STATUS_MASK;
  if (into.resultGiven && code !== fromResult) {
    throw new ObservedError(
      `${where}: status: ${status} contradicts result ${formatU64Hex(into.resultLo, into.resultHi)}, whose bits 15:0 are ${hvStatusName(fromResult)}`,
    );
  }
}

const OUTCOMES: readonly string[] = ["ok", "unbacked", "#GP"];

/**
 * A guest action's fields follow the one hex rule (docs/cli.md §1) and `run`'s outcomes: a
 * malformed one is a broken file (exit 2), not a disagreement.
 */
function checkActionFields(into: Observed, where: string): void {
  if (into.outcome !== undefined && !OUTCOMES.includes(into.outcome)) {
    throw new ObservedError(
      `${where}: outcome: ${JSON.stringify(into.outcome)} is not one of ${OUTCOMES.map((x) => `"${x}"`).join(", ")}`,
    );
  }
  if (into.hex !== undefined && parseHexBytes(into.hex) === undefined) {
    throw new ObservedError(
      `${where}: hex: ${hexBytesProblem(into.hex)} (${BYTES_HEX_HINT}): ${JSON.stringify(into.hex)}`,
    );
  }
  if (into.value !== undefined && parseU64Hex(into.value) === undefined) {
    throw new ObservedError(
      `${where}: value: expected a 64-bit hex number (${U64_HEX_HINT}), got ${JSON.stringify(into.value)}`,
    );
  }
}

function stringField(
  o: Readonly<Record<string, unknown>>,
  key: string,
  where: string,
): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw new ObservedError(`${where}: ${key}: expected a string`);
  return v;
}
