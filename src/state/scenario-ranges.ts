/**
 * The ranges and text forms of the scenario file (the CLI contract; docs/cli.md §2),
 * each defined once: the field schemas and the cross-field checks both use these. TLFS numbers come
 * from src/abi.
 */
import { CONNECTION_ID_MAX } from "../abi/connection-id.js";
import { HV_MESSAGE_PAYLOAD_MAX } from "../abi/hv-message.js";
import { PORT_TYPE_NAMES, type PortTypeName } from "../abi/port-type.js";
import { EVENT_FLAGS_PER_SINT, SINT_COUNT } from "../abi/sief-page.js";
import { HV_VP_INDEX_MAX } from "../abi/vp-index.js";

/** An integer range of the file, with how messages write it. */
export interface IntRange {
  readonly min: number;
  readonly max: number;
  /** e.g. "0..4294967295", "1..2^53-1" */
  readonly text: string;
}

function range(min: number, max: number, text = `${min}..${max}`): IntRange {
  return { min, max, text };
}

const U32_MAX = 0xffff_ffff;

export const RANGE = {
  /** HV_PARTITION_ID in the file: a positive integer that a JSON number holds exactly. */
  partitionId: range(1, Number.MAX_SAFE_INTEGER, "1..2^53-1"),
  /** HV_VP_INDEX: u32. (0xFFFFFFFF is a valid index, though a port naming it means HV_ANY_VP.) */
  vpIndex: range(0, HV_VP_INDEX_MAX),
  /** HV_PORT_ID and portId fields: u32. */
  portId: range(0, U32_MAX),
  sint: range(0, SINT_COUNT - 1),
  /** BaseFlagNumber / FlagCount: u16 each. */
  flagField: range(0, 0xffff),
  connectionId: range(0, CONNECTION_ID_MAX),
  /** A SIEF flag number inside one SINT's HV_SYNIC_EVENT_FLAGS. */
  flagNumber: range(0, EVENT_FLAGS_PER_SINT - 1),
  /** Interrupt assertion counts: u32 (they wrap). */
  count: range(0, U32_MAX),
  /**
   * Messages queued on one (VP, SINT): each holds one of its port's 16 buffers, and several ports
   * may target one SINT; the cross-field rules check the per-port limit.
   */
  queuedMessages: range(0, 0xffff_ffff),
  payloadSize: range(0, HV_MESSAGE_PAYLOAD_MAX),
} as const;

/** Flags of one SINT: base + count must stay within them. */
export const FLAGS_PER_SINT = EVENT_FLAGS_PER_SINT;

/** Guest physical addresses are 64-bit: a memory range must end at or below 2^64. */
export const GPA_LIMIT = 1n << 64n;

/** A 64-bit value: `0x` (or `0X`) and at most 16 significant hex digits (leading zeros free). */
export const HEX_RE = /^0[xX]0*[0-9a-fA-F]{1,16}$/;
/** Byte strings: at least one hex byte pair, no prefix (either case). */
export const HEX_BYTES_RE = /^(?:[0-9a-fA-F]{2})+$/;

export const SINT_KEYS: readonly string[] = Array.from({ length: SINT_COUNT }, (_, i) => String(i));
export const PORT_TYPES = Object.keys(PORT_TYPE_NAMES) as [PortTypeName, ...PortTypeName[]];

export type JsonObject = Readonly<Record<string, unknown>>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function isIn(v: unknown, r: IntRange): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= r.min && v <= r.max;
}

export function isHex(v: unknown): v is string {
  return typeof v === "string" && HEX_RE.test(v);
}

export function isPortTypeName(v: unknown): v is PortTypeName {
  return typeof v === "string" && Object.hasOwn(PORT_TYPE_NAMES, v);
}

const SHOWN_STRING_MAX = 48;

/** A value as a message shows it: JSON for scalars (strings quoted), a word for containers. */
export function show(value: unknown): string {
  switch (typeof value) {
    case "string":
      return value.length > SHOWN_STRING_MAX
        ? `${JSON.stringify(value.slice(0, SHOWN_STRING_MAX))}… (${value.length} characters)`
        : JSON.stringify(value);
    case "number":
      if (Object.is(value, -0)) return "-0";
      // JSON.parse rounds integers beyond 2^53 - 1: the file's digits are not this number.
      if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
        return `${value < 0 ? "an integer below -(2^53-1)" : "an integer beyond 2^53-1"} (JSON numbers that large are not exact)`;
      }
      return String(value);
    case "boolean":
      return String(value);
    case "bigint":
      return `${value}n`;
    case "undefined":
      return "nothing";
    case "object":
      if (value === null) return "null";
      return Array.isArray(value) ? "an array" : "an object";
    default:
      return `a ${typeof value}`;
  }
}

export function hexText(v: bigint): string {
  return `0x${v.toString(16)}`;
}

/** Why an object key is not a SINT (scenario and fixture objects keyed by SINT number). */
export const SINT_KEY_PROBLEM = `not a SINT: the keys are the SINT numbers ${RANGE.sint.text} in decimal, without leading zeros (e.g. "2")`;
