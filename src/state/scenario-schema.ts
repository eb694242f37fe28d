/**
 * Loader / validator for the scenario file of the CLI contract (cli-contract.md, "Scenario file").
 *
 * Two passes over the parsed JSON, both linear (memory ranges: n log n):
 *  1. a zod schema checks every field on its own (types, ranges, hex syntax, unknown field names)
 *     and normalises it into a {@link ScenarioDocument} (defaults, bigints, "any" -> HV_ANY_VP,
 *     SINT arrays, privilege masks);
 *  2. {@link checkRelations} checks the rules that span fields or records (unique ids, exactly one
 *     of privileges / privilegeMask, event-port flag range, connections naming an existing
 *     partition, memory ranges) with Maps, Sets and bitmaps, on the raw JSON, looking only at
 *     fields that are valid on their own.
 * Of all the problems both passes find, the first in document order is reported as one
 * {@link ScenarioError}.
 *
 * Document order is the order of the parsed JSON: array elements by index, object members in
 * property enumeration order (JSON.parse keeps the file's order, except that integer-like keys such
 * as SINT numbers come first). A required field that is missing is located at the end of its object
 * (that is where a reader notices it is absent); a problem with a whole record (memory ranges) is
 * located after all of that record's fields.
 */
import { z } from "zod";
import { CONNECTION_ID_MAX } from "../abi/connection-id.js";
import {
  isPartitionPrivilegeName,
  PARTITION_PRIVILEGE_NAMES,
  privilegeMaskOf,
} from "../abi/partition-privilege.js";
import { PORT_TYPE_NAMES, type PortTypeName } from "../abi/port-type.js";
import { EVENT_FLAGS_PER_SINT, SINT_COUNT } from "../abi/sief-page.js";
import { SINT_RESET_VALUE } from "../abi/synic-msr.js";
import { HV_ANY_VP, HV_VP_INDEX_MAX } from "../abi/vp-index.js";
import type { MemorySpec, PartitionSpec, ScenarioDocument, VpSpec } from "./scenario-document.js";
import { SCENARIO_ROOT_PATH, ScenarioError } from "./scenario-error.js";

// ---------------------------------------------------------------------------------------------
// Ranges (type bounds of the contract; TLFS numbers come from src/abi)
// ---------------------------------------------------------------------------------------------

/** HV_PORT_ID and portId fields: u32. */
const U32_MAX = 0xffff_ffff;
/** BaseFlagNumber / FlagCount: u16 each. */
const U16_MAX = 0xffff;
/** HV_PARTITION_ID in the file: a positive integer that a JSON number holds exactly. */
const PARTITION_ID_MAX = Number.MAX_SAFE_INTEGER;
/** Guest physical addresses are 64-bit: a memory range must end at or below 2^64. */
const GPA_LIMIT = 1n << 64n;

/** A 64-bit register value: `0x` and 1..16 hex digits. */
/** 0x and at most 16 significant hex digits (leading zeros are free). */
const HEX_RE = /^0x0*[0-9a-fA-F]{1,16}$/;
/** Memory contents: hex byte pairs, no prefix, at least one byte. */
const HEX_BYTES_RE = /^(?:[0-9a-fA-F]{2})+$/;
/** A field name that can be written after a dot in a path (SINT keys such as `16` included). */
const PLAIN_KEY_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$|^[0-9]+$/;

const SINT_RESET = BigInt(SINT_RESET_VALUE);
const SINT_KEYS: readonly string[] = Array.from({ length: SINT_COUNT }, (_, i) => String(i));
const PORT_TYPES = Object.keys(PORT_TYPE_NAMES) as [PortTypeName, ...PortTypeName[]];
const PRIVILEGE_NAMES_LOWER = new Map(PARTITION_PRIVILEGE_NAMES.map((n) => [n.toLowerCase(), n]));

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

const SHOWN_STRING_MAX = 48;

/** A value as the message shows it: JSON for scalars (strings quoted), a word for containers. */
function show(value: unknown): string {
  switch (typeof value) {
    case "string":
      return value.length > SHOWN_STRING_MAX
        ? `${JSON.stringify(value.slice(0, SHOWN_STRING_MAX))}… (${value.length} characters)`
        : JSON.stringify(value);
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
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

/** The error-map argument as far as these messages need it. */
interface IssueInput {
  readonly code?: string;
  readonly input?: unknown;
}

type Describe = (issue: IssueInput) => string;

/**
 * `expected WHAT, got VALUE`; `missing: expected WHAT` for an absent field. An integer that is
 * only out of range also gets the range, when WHAT does not already say it.
 */
function expected(what: string, range?: string): { readonly error: Describe } {
  return {
    error: (issue) => {
      const v = issue.input;
      if (v === undefined) return `missing: expected ${what}`;
      if (range !== undefined && Number.isInteger(v))
        return `expected ${what} in ${range}, got ${show(v)}`;
      return `expected ${what}, got ${show(v)}`;
    },
  };
}

const hexError: Describe = (issue) =>
  issue.input === undefined
    ? 'missing: expected a hex string like "0x2000"'
    : `not a hex string: ${show(issue.input)}`;

const hexBytesError: Describe = (issue) => {
  const v = issue.input;
  if (v === undefined) return 'missing: expected hex bytes like "1400000000000000"';
  if (typeof v !== "string")
    return `expected a string of hex bytes like "1400000000000000", got ${show(v)}`;
  if (v.length === 0) return "no bytes: give at least one byte as two hex digits";
  if (/^0[xX]/.test(v)) return `not hex bytes: ${show(v)} (write the bytes without a 0x prefix)`;
  if (/^[0-9a-fA-F]*$/.test(v))
    return `odd number of hex digits (${v.length}): each byte is two digits`;
  return `not hex bytes: ${show(v)}`;
};

const privilegeError: Describe = (issue) => {
  const v = issue.input;
  if (typeof v !== "string") return `expected a privilege name (a string), got ${show(v)}`;
  const near = PRIVILEGE_NAMES_LOWER.get(v.toLowerCase());
  return near !== undefined
    ? `unknown privilege name ${show(v)} (did you mean "${near}"?)`
    : `unknown privilege name ${show(v)} (names are the HV_PARTITION_PRIVILEGE_MASK bits, e.g. "SignalEvents")`;
};

/** A strict object: members not in the shape are reported one by one, as `unknownField`. */
function record<const S extends z.core.$ZodLooseShape>(
  what: string,
  shape: S,
  unknownField?: string,
) {
  const unknown = unknownField ?? `unknown field (allowed here: ${Object.keys(shape).join(", ")})`;
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys" ? unknown : `expected ${what}, got ${show(issue.input)}`,
  });
}

function integer(min: number, max: number, what: string, range?: string) {
  const e = expected(what, range);
  return z.number(e).int(e).min(min, e).max(max, e);
}

// ---------------------------------------------------------------------------------------------
// Field schemas (built once, at module load; the only callbacks are error maps and transforms)
// ---------------------------------------------------------------------------------------------

const U32_TEXT = `an integer 0..${U32_MAX}`;

const partitionId = integer(1, PARTITION_ID_MAX, "a positive integer", "1..2^53-1");
const portPartitionId = integer(
  1,
  PARTITION_ID_MAX,
  "a partition id (a positive integer)",
  "1..2^53-1",
);
// The contract says u32, so 0xFFFFFFFF is a valid VP index although a port naming it means
// HV_ANY_VP (such a VP is reached through "any" only).
const vpIndex = integer(0, HV_VP_INDEX_MAX, `a VP index, ${U32_TEXT}`);
const portId = integer(0, U32_MAX, `a port id, ${U32_TEXT}`);
const sintIndex = integer(0, SINT_COUNT - 1, `a SINT index, an integer 0..${SINT_COUNT - 1}`);
const flagField = integer(0, U16_MAX, `an integer 0..${U16_MAX} (u16)`);
const connectionId = integer(
  0,
  CONNECTION_ID_MAX,
  `a connection id, an integer 0..${CONNECTION_ID_MAX} (0x${CONNECTION_ID_MAX.toString(16).toUpperCase()})`,
);

const TARGET_VP_TEXT = `a VP index (${U32_TEXT}) or "any"`;
// Only the "any" branch transforms: a numeric target VP costs no callback.
const targetVp = z.union(
  [
    integer(0, HV_VP_INDEX_MAX, TARGET_VP_TEXT),
    z.literal("any").transform((): number => HV_ANY_VP),
  ],
  expected(TARGET_VP_TEXT),
);

const hex = z.string({ error: hexError }).regex(HEX_RE, { error: hexError }).transform(BigInt);

const hexBytes = z
  .string({ error: hexBytesError })
  .regex(HEX_BYTES_RE, { error: hexBytesError })
  .transform(bytesOfHex);

/** The bytes of a string HEX_BYTES_RE has accepted (a plain Uint8Array, not a Buffer). */
function bytesOfHex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "hex"));
}

const sints = record(
  'an object of SINT values like {"2": "0x50"}',
  Object.fromEntries(SINT_KEYS.map((k) => [k, hex.optional()])),
  `SINT index must be 0..${SINT_COUNT - 1}`,
);

function sintArray(values: Readonly<Record<string, bigint | undefined>> | undefined): bigint[] {
  const out = new Array<bigint>(SINT_COUNT).fill(SINT_RESET);
  if (values !== undefined) {
    for (let i = 0; i < SINT_COUNT; i++) {
      const v = values[SINT_KEYS[i]!];
      if (v !== undefined) out[i] = v;
    }
  }
  return out;
}

// A dump (`--dump-state`) carries the SIEF flags set and the interrupts asserted per SINT; loading
// it again restores them, so a dump is also a scenario.
const flagNumber = integer(
  0,
  EVENT_FLAGS_PER_SINT - 1,
  `a SIEF flag number, an integer 0..${EVENT_FLAGS_PER_SINT - 1}`,
);
const siefFlags = record(
  'an object of set flag lists like {"2": [0, 5]}',
  Object.fromEntries(
    SINT_KEYS.map((k) => [k, z.array(flagNumber, expected("a list of flag numbers")).optional()]),
  ),
  `SINT index must be 0..${SINT_COUNT - 1}`,
);
const assertionCount = integer(0, U32_MAX, `an assertion count, ${U32_TEXT}`);
const sintAssertions = record(
  'an object of interrupt counts like {"2": 1}',
  Object.fromEntries(SINT_KEYS.map((k) => [k, assertionCount.optional()])),
  `SINT index must be 0..${SINT_COUNT - 1}`,
);

function perSint<T, D>(
  values: Readonly<Record<string, T | undefined>> | undefined,
  empty: () => D,
): (T | D)[] {
  const out: (T | D)[] = [];
  for (let i = 0; i < SINT_COUNT; i++) out.push(values?.[SINT_KEYS[i]!] ?? empty());
  return out;
}

const vp = record("a VP object", {
  index: vpIndex,
  scontrol: hex.default(0n),
  siefp: hex.default(0n),
  simp: hex.default(0n),
  sints: sints.optional(),
  siefFlags: siefFlags.optional(),
  sintAssertions: sintAssertions.optional(),
}).transform(
  (v): VpSpec => ({
    index: v.index,
    scontrol: v.scontrol,
    siefp: v.siefp,
    simp: v.simp,
    sints: sintArray(v.sints),
    siefFlags: perSint<number[], number[]>(v.siefFlags, () => []),
    sintAssertions: perSint<number, number>(v.sintAssertions, () => 0),
  }),
);

// No record-level transform: the output already has the PortSpec shape. Whether the file gave
// baseFlagNumber / flagCount at all is checked on the raw JSON (checkPorts).
const port = record("a port object", {
  id: portId,
  type: z.enum(PORT_TYPES, expected(PORT_TYPES.map((t) => `"${t}"`).join(" | "))),
  targetVp,
  targetSint: sintIndex,
  baseFlagNumber: flagField.default(0),
  flagCount: flagField.default(0),
  deleted: z.boolean(expected("true or false")).default(false),
});

const connection = record("a connection object", {
  id: connectionId,
  portPartition: portPartitionId,
  portId,
});

const memoryRange = record("a memory object", { gpa: hex, hex: hexBytes }).transform(
  (m): MemorySpec => ({ gpa: m.gpa, bytes: m.hex }),
);

function listOf<T extends z.core.SomeType>(element: T, what: string) {
  return z.array(element, expected(`an array of ${what}`)).default(() => []);
}

const partition = record("a partition object", {
  id: partitionId,
  state: z.enum(["active", "inactive"], expected('"active" | "inactive"')).default("active"),
  privileges: z
    .array(
      z.enum(PARTITION_PRIVILEGE_NAMES, { error: privilegeError }),
      expected('an array of privilege names like ["SignalEvents"]'),
    )
    .optional(),
  privilegeMask: hex.optional(),
  vps: listOf(vp, "VP objects"),
  ports: listOf(port, "port objects"),
  connections: listOf(connection, "connection objects"),
  memory: listOf(memoryRange, 'memory objects like {"gpa": "0x2000", "hex": "14000000"}'),
}).transform(
  (p): PartitionSpec => ({
    id: p.id,
    state: p.state,
    privilegeMask:
      p.privileges !== undefined ? privilegeMaskOf(p.privileges) : (p.privilegeMask ?? 0n),
    vps: p.vps,
    ports: p.ports,
    connections: p.connections,
    memory: p.memory,
  }),
);

/**
 * The whole file. `z.compile` gives it an ahead-of-time compiled fast path for valid input (about
 * 4x faster on the 131k-record scenario of the issue tracker: ~35 ms instead of ~140 ms warm);
 * invalid input falls back to the regular parser, so the issues and messages are the same.
 */
const scenario = z.compile(
  record('a scenario object like {"partitions": [...]}', {
    partitions: z
      .array(partition, expected("an array of partition objects"))
      .min(1, { error: "at least one partition is required" }),
  }),
);

// ---------------------------------------------------------------------------------------------
// Cross-field rules, on the raw JSON
// ---------------------------------------------------------------------------------------------

type PathSegment = string | number;

interface Problem {
  readonly path: readonly PathSegment[];
  readonly reason: string;
  /** The problem is the record as a whole: it sits after all of the record's fields. */
  readonly wholeRecord?: boolean;
}

type JsonObject = Readonly<Record<string, unknown>>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isIntIn(v: unknown, min: number, max: number): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
}

function isHex(v: unknown): v is string {
  return typeof v === "string" && HEX_RE.test(v);
}

function isPortTypeName(v: unknown): v is PortTypeName {
  return typeof v === "string" && Object.hasOwn(PORT_TYPE_NAMES, v);
}

function checkRelations(root: unknown, out: Problem[]): void {
  if (!isObject(root) || !Array.isArray(root.partitions)) return;
  const partitions: readonly unknown[] = root.partitions;
  const firstWithId = new Map<number, number>();
  for (let i = 0; i < partitions.length; i++) {
    const p = partitions[i];
    if (!isObject(p) || !isIntIn(p.id, 1, PARTITION_ID_MAX)) continue;
    const first = firstWithId.get(p.id);
    if (first === undefined) firstWithId.set(p.id, i);
    else {
      out.push({
        path: ["partitions", i, "id"],
        reason: `duplicate partition id ${p.id} (partitions[${first}] has it already)`,
      });
    }
  }
  for (let i = 0; i < partitions.length; i++) {
    const p = partitions[i];
    if (isObject(p)) checkPartition(p, ["partitions", i], firstWithId, out);
  }
}

function checkPartition(
  p: JsonObject,
  at: readonly PathSegment[],
  partitionIds: ReadonlyMap<number, number>,
  out: Problem[],
): void {
  if (p.privileges !== undefined && p.privilegeMask !== undefined) {
    const keys = Object.keys(p);
    const later =
      keys.indexOf("privileges") > keys.indexOf("privilegeMask") ? "privileges" : "privilegeMask";
    out.push({
      path: [...at, later],
      reason: 'give either "privileges" or "privilegeMask", not both',
    });
  }
  if (Array.isArray(p.privileges)) {
    const names: readonly unknown[] = p.privileges;
    const seen = new Map<string, number>();
    for (let j = 0; j < names.length; j++) {
      const name = names[j];
      if (typeof name !== "string" || !isPartitionPrivilegeName(name)) continue;
      const first = seen.get(name);
      if (first === undefined) seen.set(name, j);
      else {
        out.push({
          path: [...at, "privileges", j],
          reason: `duplicate privilege name ${show(name)} (privileges[${first}] has it already)`,
        });
      }
    }
  }
  checkVps(p.vps, [...at, "vps"], out);
  checkPorts(p.ports, [...at, "ports"], out);
  checkConnections(p.connections, [...at, "connections"], partitionIds, out);
  checkMemory(p.memory, [...at, "memory"], out);
}

// Each list is checked in its own loop with literal field names, so that the property reads stay
// monomorphic: 65,536-entry lists are an expected size.

/** Lists at least this long track their small ids in a bitmap rather than a hash set. */
const BITMAP_LIST_MIN = 4096;
/** Ids below this go in the bitmap (128 KiB); larger ones in the set. */
const BITMAP_IDS = 1 << 20;

/** A set of u32 ids: `isRepeat` adds one and tells whether it was there already. */
class IdSet {
  private readonly bits: Uint32Array | undefined;
  private readonly others = new Set<number>();

  constructor(listLength: number) {
    this.bits = listLength >= BITMAP_LIST_MIN ? new Uint32Array(BITMAP_IDS >>> 5) : undefined;
  }

  isRepeat(id: number): boolean {
    const bits = this.bits;
    if (bits !== undefined && id < BITMAP_IDS) {
      const word = id >>> 5;
      const bit = 1 << (id & 31);
      const old = bits[word]!;
      bits[word] = old | bit;
      return (old & bit) !== 0;
    }
    const size = this.others.size;
    return this.others.add(id).size === size;
  }
}

/** The problem for `at[j].key` repeating `value`, naming the element that had it first. */
function repeated(
  items: readonly unknown[],
  j: number,
  key: string,
  value: number,
  what: string,
  at: readonly PathSegment[],
): Problem {
  let first = 0;
  while (!isObject(items[first]) || (items[first] as JsonObject)[key] !== value) first++;
  const list = String(at[at.length - 1]);
  return {
    path: [...at, j, key],
    reason: `duplicate ${what} ${value} (${list}[${first}] has it already; it must be unique within the partition)`,
  };
}

function checkVps(list: unknown, at: readonly PathSegment[], out: Problem[]): void {
  if (!Array.isArray(list)) return;
  const vps: readonly unknown[] = list;
  const seen = new IdSet(vps.length);
  for (let j = 0; j < vps.length; j++) {
    const vp = vps[j];
    if (!isObject(vp)) continue;
    const index = vp.index;
    if (isIntIn(index, 0, HV_VP_INDEX_MAX) && seen.isRepeat(index)) {
      out.push(repeated(vps, j, "index", index, "VP index", at));
    }
  }
}

function checkPorts(list: unknown, at: readonly PathSegment[], out: Problem[]): void {
  if (!Array.isArray(list)) return;
  const ports: readonly unknown[] = list;
  const seen = new IdSet(ports.length);
  for (let j = 0; j < ports.length; j++) {
    const port = ports[j];
    if (!isObject(port)) continue;
    const id = port.id;
    if (isIntIn(id, 0, U32_MAX) && seen.isRepeat(id)) {
      out.push(repeated(ports, j, "id", id, "port id", at));
    }
    const type = port.type;
    if (!isPortTypeName(type)) continue;
    const base = port.baseFlagNumber;
    const count = port.flagCount;
    if (type === "event") {
      if (count === undefined) {
        out.push({
          path: [...at, j, "flagCount"],
          reason: `missing: event ports need flagCount, an integer 0..${U16_MAX} (baseFlagNumber + flagCount <= ${EVENT_FLAGS_PER_SINT})`,
        });
      } else if (isIntIn(count, 0, U16_MAX) && (base === undefined || isIntIn(base, 0, U16_MAX))) {
        const b = base ?? 0;
        if (b + count > EVENT_FLAGS_PER_SINT) {
          out.push({
            path: [...at, j, "flagCount"],
            reason: `baseFlagNumber + flagCount = ${b} + ${count} = ${b + count}, more than the ${EVENT_FLAGS_PER_SINT} event flags of a SINT`,
          });
        }
      }
    } else {
      if (base !== undefined) out.push(eventOnly(at, j, "baseFlagNumber", type));
      if (count !== undefined) out.push(eventOnly(at, j, "flagCount", type));
    }
  }
}

function eventOnly(
  at: readonly PathSegment[],
  j: number,
  field: string,
  type: PortTypeName,
): Problem {
  return {
    path: [...at, j, field],
    reason: `only event ports have ${field} (this port is a "${type}" port): remove it`,
  };
}

function checkConnections(
  list: unknown,
  at: readonly PathSegment[],
  partitionIds: ReadonlyMap<number, number>,
  out: Problem[],
): void {
  if (!Array.isArray(list)) return;
  const connections: readonly unknown[] = list;
  const seen = new IdSet(connections.length);
  for (let j = 0; j < connections.length; j++) {
    const c = connections[j];
    if (!isObject(c)) continue;
    const id = c.id;
    if (isIntIn(id, 0, CONNECTION_ID_MAX) && seen.isRepeat(id)) {
      out.push(repeated(connections, j, "id", id, "connection id", at));
    }
    const target = c.portPartition;
    if (isIntIn(target, 1, PARTITION_ID_MAX) && !partitionIds.has(target)) {
      out.push({
        path: [...at, j, "portPartition"],
        reason: `no partition with id ${target} in this scenario`,
      });
    }
  }
}

/** A memory entry that is valid on its own: bytes `start` .. `end - 1`, from `memory[index]`. */
interface GpaRange {
  readonly start: bigint;
  readonly end: bigint;
  readonly index: number;
}

const byStart = (a: GpaRange, b: GpaRange): number =>
  a.start < b.start ? -1 : a.start > b.start ? 1 : 0;

/** True when two of `ranges[0 .. count - 1]` overlap. O(count log count). */
function anyOverlap(ranges: readonly GpaRange[], count: number): boolean {
  const sorted = ranges.slice(0, count).sort(byStart);
  for (let k = 1; k < sorted.length; k++) {
    // Sorted by start and disjoint so far, so only the previous range can reach this one.
    if (sorted[k]!.start < sorted[k - 1]!.end) return true;
  }
  return false;
}

/**
 * Memory ranges: inside the 64-bit GPA space (each one reported), and pairwise disjoint: the first
 * range in the file that overlaps an earlier one is reported, naming the earlier one. One sort when
 * the ranges are disjoint; a binary search over prefixes (O(n log² n)) finds the culprit otherwise.
 */
function checkMemory(list: unknown, at: readonly PathSegment[], out: Problem[]): void {
  if (!Array.isArray(list)) return;
  const entries: readonly unknown[] = list;
  const ranges: GpaRange[] = [];
  for (let j = 0; j < entries.length; j++) {
    const m = entries[j];
    if (!isObject(m) || !isHex(m.gpa) || typeof m.hex !== "string" || !HEX_BYTES_RE.test(m.hex)) {
      continue;
    }
    const start = BigInt(m.gpa);
    const length = m.hex.length >>> 1;
    const end = start + BigInt(length);
    if (end > GPA_LIMIT) {
      out.push({
        path: [...at, j],
        reason: `${length} bytes at ${hexText(start)} run past the top of the 64-bit address space (gpa + length must be <= 2^64)`,
        wholeRecord: true,
      });
    } else {
      ranges.push({ start, end, index: j });
    }
  }
  if (!anyOverlap(ranges, ranges.length)) return;
  // The shortest prefix with an overlap ends with the culprit.
  let lo = 2;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (anyOverlap(ranges, mid)) hi = mid;
    else lo = mid + 1;
  }
  const later = ranges[lo - 1]!;
  const earlier = ranges.find((r) => r.start < later.end && later.start < r.end)!;
  out.push({
    path: [...at, later.index],
    reason: `bytes ${span(later)} overlap ${String(at[at.length - 1])}[${earlier.index}] (${span(earlier)}); memory ranges must not overlap`,
    wholeRecord: true,
  });
}

function span(range: GpaRange): string {
  return `${hexText(range.start)}..${hexText(range.end - 1n)}`;
}

function hexText(v: bigint): string {
  return `0x${v.toString(16)}`;
}

// ---------------------------------------------------------------------------------------------
// Choosing and reporting the first problem
// ---------------------------------------------------------------------------------------------

/** Where `segment` sits among the members of `container`; a missing member sits at the end. */
function rank(container: unknown, segment: PathSegment): number {
  if (Array.isArray(container)) return typeof segment === "number" ? segment : container.length;
  if (isObject(container)) {
    const i = Object.keys(container).indexOf(String(segment));
    return i < 0 ? Number.POSITIVE_INFINITY : i;
  }
  return Number.POSITIVE_INFINITY;
}

function member(container: unknown, segment: PathSegment): unknown {
  if (Array.isArray(container) || isObject(container)) {
    return (container as Readonly<Record<PathSegment, unknown>>)[segment];
  }
  return undefined;
}

/** Negative when `a` comes before `b` in the document. Equal places compare 0. */
function compareInDocument(root: unknown, a: Problem, b: Problem): number {
  const common = Math.min(a.path.length, b.path.length);
  let node = root;
  for (let d = 0; d < common; d++) {
    const sa = a.path[d]!;
    const sb = b.path[d]!;
    if (sa !== sb) {
      const ra = rank(node, sa);
      const rb = rank(node, sb);
      return ra < rb ? -1 : ra > rb ? 1 : 0;
    }
    node = member(node, sa);
  }
  // Same path, or one names a record that holds the other: a problem with the record's own type
  // comes before its fields, a whole-record problem after them.
  const place = (p: Problem): number =>
    p.path.length > common ? 0 : p.wholeRecord === true ? 1 : -1;
  return place(a) - place(b);
}

function formatPath(path: readonly PathSegment[]): string {
  if (path.length === 0) return SCENARIO_ROOT_PATH;
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else if (PLAIN_KEY_RE.test(segment)) text += text === "" ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

/** Escapes line breaks (and the other C0 controls) so a message is one line, whatever it quotes. */
function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

function fail(problem: Problem): never {
  throw new ScenarioError(oneLine(formatPath(problem.path)), oneLine(problem.reason));
}

function zodProblems(issues: readonly z.core.$ZodIssue[], out: Problem[]): void {
  for (const issue of issues) {
    const path = issue.path.map((s) => (typeof s === "number" ? s : String(s)));
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) out.push({ path: [...path, key], reason: issue.message });
    } else {
      out.push({ path, reason: issue.message });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------------

/**
 * Validates a parsed scenario file and returns it normalised. Throws a {@link ScenarioError} naming
 * the first problem in document order (and nothing else, whatever `json` is).
 */
export function parseScenario(json: unknown): ScenarioDocument {
  const result = scenario.safeParse(json);
  const problems: Problem[] = [];
  if (!result.success) zodProblems(result.error.issues, problems);
  checkRelations(json, problems);
  if (problems.length === 0) {
    if (result.success) return result.data;
    fail({ path: [], reason: "not a valid scenario" });
  }
  let first = problems[0]!;
  for (let i = 1; i < problems.length; i++) {
    const p = problems[i]!;
    if (compareInDocument(json, p, first) < 0) first = p;
  }
  return fail(first);
}

/** Parses the text of a scenario file (JSON) and validates it as {@link parseScenario} does. */
export function parseScenarioText(text: string): ScenarioDocument {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new ScenarioError(SCENARIO_ROOT_PATH, oneLine(`not valid JSON: ${detail}`));
  }
  return parseScenario(json);
}
