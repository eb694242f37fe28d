import { u64ToHalves } from "../abi/u64.js";
import {
  bytesHex,
  hexBytesProblem,
  parseHexBytes,
  parseU64Hex,
  U64_HEX_HINT,
} from "../text/hex-text.js";
import {
  anOp,
  NOT_GIVEN,
  READ_MAX_BYTES,
  TRACE_OP_NAMES,
  TraceError,
  TraceOp,
  TraceOpCode,
  type TraceOpName,
  WRITE_MAX_BYTES,
} from "./trace-op.js";

/**
 * The JSON Lines form of a guest trace (docs/cli.md §5): one op per line, e.g.
 * `{"op":"hypercall","control":"0x1005d","rdx":"0x14"}`. Each op carries only the fields its row
 * names, plus `partition` and `vp`.
 */
const FIELDS: Readonly<Record<TraceOpName, readonly string[]>> = {
  hypercall: ["control", "rdx", "r8"],
  write: ["gpa", "hex"],
  read: ["gpa", "length"],
  wrmsr: ["msr", "value"],
  rdmsr: ["msr"],
  eoi: [],
};
const COMMON = ["op", "partition", "vp"];
const U32_MAX = 0xffff_ffff;

function show(value: unknown): string {
  if (typeof value === "string")
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return String(value);
}

/** Reads one trace line into `into` (reused). Throws a TraceError naming `where` and the field. */
export function parseTraceLine(text: string, where: string, into = new TraceOp()): TraceOp {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    // Not even a start of an object: say what a line is, and what a binary trace starts with.
    const hint = text.trimStart().startsWith("{")
      ? ""
      : '; a trace line is a JSON object like {"op": "eoi"}, and a binary trace starts with its "HVTRACE" header';
    throw new TraceError(where, "", `not valid JSON (${detail})${hint}`);
  }
  return parseTraceObject(json, where, into);
}

/** Reads one op given as a parsed JSON value; `extra` names fields the caller allows besides. */
export function parseTraceObject(
  json: unknown,
  where: string,
  into = new TraceOp(),
  extra: readonly string[] = [],
): TraceOp {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new TraceError(
      where,
      "",
      `expected a JSON object like {"op": "hypercall", …}, got ${show(json)}`,
    );
  }
  const o = json as Readonly<Record<string, unknown>>;
  const name = o.op;
  if (typeof name !== "string" || !(TRACE_OP_NAMES as readonly string[]).includes(name)) {
    const got = name === undefined ? "nothing" : show(name);
    throw new TraceError(where, "op", `expected one of ${TRACE_OP_NAMES.join(", ")}, got ${got}`);
  }
  const op = name as TraceOpName;
  const allowed = FIELDS[op];
  for (const key of Object.keys(o)) {
    if (!COMMON.includes(key) && !allowed.includes(key) && !extra.includes(key)) {
      const list = [...allowed, "partition", "vp"].join(", ");
      throw new TraceError(where, key, `not a field of ${anOp(op)} op (its fields: ${list})`);
    }
  }
  into.reset(TraceOpCode[op]);
  if (o.partition !== undefined)
    into.partition = integer(o.partition, where, "partition", 1, Number.MAX_SAFE_INTEGER);
  if (o.vp !== undefined) into.vp = integer(o.vp, where, "vp", 0, U32_MAX);
  switch (op) {
    case "hypercall": {
      [into.controlLo, into.controlHi] = u64(o, "control", where);
      [into.rdxLo, into.rdxHi] = u64(o, "rdx", where);
      if (o.r8 !== undefined) {
        [into.r8Lo, into.r8Hi] = u64(o, "r8", where);
        into.r8Given = true;
      }
      break;
    }
    case "write": {
      [into.gpaLo, into.gpaHi] = u64(o, "gpa", where);
      const hex = o.hex;
      if (typeof hex !== "string")
        throw new TraceError(
          where,
          "hex",
          `expected a string of hex bytes, got ${hex === undefined ? "nothing" : show(hex)}`,
        );
      if (hex.length > 2 * WRITE_MAX_BYTES)
        throw new TraceError(
          where,
          "hex",
          `${hex.length} hex digits; a write is at most ${WRITE_MAX_BYTES} bytes (split it into several writes)`,
        );
      const bytes = parseHexBytes(hex);
      if (bytes === undefined)
        throw new TraceError(where, "hex", `${hexBytesProblem(hex)}: ${show(hex)}`);
      into.setBytes(bytes);
      break;
    }
    case "read":
      [into.gpaLo, into.gpaHi] = u64(o, "gpa", where);
      into.length = integer(o.length, where, "length", 1, READ_MAX_BYTES);
      break;
    case "wrmsr":
      into.msr = msr(o.msr, where);
      [into.valueLo, into.valueHi] = u64(o, "value", where);
      break;
    case "rdmsr":
      into.msr = msr(o.msr, where);
      break;
    case "eoi":
      break;
  }
  return into;
}

function integer(value: unknown, where: string, field: string, min: number, max: number): number {
  if (value === undefined)
    throw new TraceError(where, field, `missing: expected an integer ${min}..${max}`);
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const shown =
      typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value)
        ? "an integer JSON cannot carry exactly"
        : show(value);
    throw new TraceError(where, field, `expected an integer ${min}..${max}, got ${shown}`);
  }
  return value;
}

function u64(o: Readonly<Record<string, unknown>>, field: string, where: string): [number, number] {
  const text = o[field];
  if (text === undefined)
    throw new TraceError(where, field, `missing: expected a 64-bit hex number (${U64_HEX_HINT})`);
  const value = typeof text === "string" ? parseU64Hex(text) : undefined;
  if (value === undefined) {
    throw new TraceError(
      where,
      field,
      `expected a 64-bit hex number (${U64_HEX_HINT}) as a string, got ${show(text)}`,
    );
  }
  const { lo, hi } = u64ToHalves(value);
  return [lo, hi];
}

function msr(value: unknown, where: string): number {
  if (typeof value === "string") {
    const n = parseU64Hex(value);
    if (n !== undefined && n <= BigInt(U32_MAX)) return Number(n);
    throw new TraceError(
      where,
      "msr",
      `expected an MSR number (a u32: an integer or a hex string like "0x40000080"), got ${show(value)}`,
    );
  }
  if (value === undefined)
    throw new TraceError(where, "msr", 'missing: expected an MSR number like "0x40000080"');
  return integer(value, where, "msr", 0, U32_MAX);
}

function hexOf(lo: number, hi: number): string {
  return `0x${(hi >>> 0).toString(16).padStart(8, "0")}${(lo >>> 0).toString(16).padStart(8, "0")}`;
}

/** The canonical JSON line of an op (what `hvcall trace convert` writes), without the newline. */
export function formatTraceOp(op: TraceOp): string {
  const parts: string[] = [`"op":"${op.name}"`];
  if (op.partition !== NOT_GIVEN) parts.push(`"partition":${op.partition}`);
  if (op.vp !== NOT_GIVEN) parts.push(`"vp":${op.vp}`);
  switch (op.code) {
    case TraceOpCode.hypercall:
      parts.push(
        `"control":"${hexOf(op.controlLo, op.controlHi)}"`,
        `"rdx":"${hexOf(op.rdxLo, op.rdxHi)}"`,
      );
      if (op.r8Given) parts.push(`"r8":"${hexOf(op.r8Lo, op.r8Hi)}"`);
      break;
    case TraceOpCode.write:
      parts.push(`"gpa":"${hexOf(op.gpaLo, op.gpaHi)}"`, `"hex":"${bytesHex(op.bytes)}"`);
      break;
    case TraceOpCode.read:
      parts.push(`"gpa":"${hexOf(op.gpaLo, op.gpaHi)}"`, `"length":${op.length}`);
      break;
    case TraceOpCode.wrmsr:
      parts.push(
        `"msr":"0x${op.msr.toString(16).padStart(8, "0")}"`,
        `"value":"${hexOf(op.valueLo, op.valueHi)}"`,
      );
      break;
    case TraceOpCode.rdmsr:
      parts.push(`"msr":"0x${op.msr.toString(16).padStart(8, "0")}"`);
      break;
  }
  return `{${parts.join(",")}}`;
}
