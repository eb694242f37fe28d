/**
 * The cross-field rules of the scenario file (docs/cli.md §2), checked on the raw
 * JSON and only on fields that are valid on their own: unique ids, exactly one of privileges /
 * privilegeMask, event-port flag ranges, connections naming an existing partition, memory ranges,
 * and a dump's queued messages naming message ports of their VP and SINT. Linear (memory ranges:
 * n log n), with Maps, Sets and bitmaps: 65,536-entry lists are an expected size.
 */
import { isPartitionPrivilegeName } from "../abi/partition-privilege.js";
import type { PortTypeName } from "../abi/port-type.js";
import { MESSAGE_BUFFERS_PER_PORT } from "./machine-tables.js";
import { queuedMessageOf } from "./queued-message-text.js";
import {
  FLAGS_PER_SINT,
  GPA_LIMIT,
  HEX_BYTES_RE,
  hexText,
  isHex,
  isIn,
  isObject,
  isPortTypeName,
  type JsonObject,
  RANGE,
  SINT_KEYS,
  show,
} from "./scenario-ranges.js";
import type { PathSegment, Problem } from "./scenario-report.js";

export function checkRelations(root: unknown, out: Problem[]): void {
  if (!isObject(root) || !Array.isArray(root.partitions)) return;
  const partitions: readonly unknown[] = root.partitions;
  const firstWithId = new Map<number, number>();
  for (let i = 0; i < partitions.length; i++) {
    const p = partitions[i];
    if (!isObject(p) || !isIn(p.id, RANGE.partitionId)) continue;
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
  checkQueuedMessages(p, at, out);
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
    if (isIn(index, RANGE.vpIndex) && seen.isRepeat(index)) {
      out.push(repeated(vps, j, "index", index, "VP index", at));
    }
    // A SIM slot holds a message or is empty: it cannot be in both lists of a dump.
    const slots = isObject(vp.simSlots) ? vp.simSlots : undefined;
    const residue = isObject(vp.simResidue) ? vp.simResidue : undefined;
    for (const sint of SINT_KEYS) {
      if (slots?.[sint] !== undefined && residue?.[sint] !== undefined) {
        out.push({
          path: [...at, j, "simResidue", sint],
          reason: `SINT ${sint} is in simSlots too: its slot either holds a message (simSlots) or is empty (simResidue), not both`,
        });
      }
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
    if (isIn(id, RANGE.portId) && seen.isRepeat(id)) {
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
          reason: `missing: event ports need flagCount, an integer ${RANGE.flagField.text} (baseFlagNumber + flagCount <= ${FLAGS_PER_SINT})`,
        });
      } else if (
        isIn(count, RANGE.flagField) &&
        (base === undefined || isIn(base, RANGE.flagField))
      ) {
        const b = base ?? 0;
        if (b + count > FLAGS_PER_SINT) {
          out.push({
            path: [...at, j, "flagCount"],
            reason: `baseFlagNumber + flagCount = ${b} + ${count} = ${b + count}, more than the ${FLAGS_PER_SINT} event flags of a SINT`,
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
    if (isIn(id, RANGE.connectionId) && seen.isRepeat(id)) {
      out.push(repeated(connections, j, "id", id, "connection id", at));
    }
    const target = c.portPartition;
    if (isIn(target, RANGE.partitionId) && !partitionIds.has(target)) {
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

interface QueuePort {
  readonly type: PortTypeName;
  readonly targetVp: unknown;
  readonly targetSint: unknown;
  readonly deleted: boolean;
}

/**
 * A dump's queued messages: each names (by OriginationId) a message port of the VP's own
 * partition that is not deleted and targets that VP (or any) and that SINT; no port holds more
 * than its 16 buffers; `queuedMessages` counts agree with the lists.
 */
function checkQueuedMessages(p: JsonObject, at: readonly PathSegment[], out: Problem[]): void {
  if (!Array.isArray(p.vps)) return;
  const ports = new Map<number, QueuePort>();
  if (Array.isArray(p.ports)) {
    for (const q of p.ports as readonly unknown[]) {
      if (isObject(q) && isIn(q.id, RANGE.portId) && isPortTypeName(q.type) && !ports.has(q.id)) {
        ports.set(q.id, {
          type: q.type,
          targetVp: q.targetVp,
          targetSint: q.targetSint,
          deleted: q.deleted === true,
        });
      }
    }
  }
  const buffers = new Map<number, number>();
  const vps: readonly unknown[] = p.vps;
  for (let j = 0; j < vps.length; j++) {
    const vp = vps[j];
    if (!isObject(vp)) continue;
    const queues = isObject(vp.messageQueues) ? vp.messageQueues : undefined;
    const counts = isObject(vp.queuedMessages) ? vp.queuedMessages : undefined;
    for (const sint of SINT_KEYS) {
      const list = queues?.[sint];
      const count = counts?.[sint];
      const here = [...at, "vps", j];
      if (isIn(count, RANGE.queuedMessages) && (list === undefined || Array.isArray(list))) {
        const listed = list === undefined ? 0 : (list as readonly unknown[]).length;
        if (count !== listed) {
          out.push({
            path: [...here, "queuedMessages", sint],
            reason: `${count} messages queued, but messageQueues["${sint}"] holds ${listed}: a dump gives both, and they agree`,
          });
        }
      }
      if (!Array.isArray(list)) continue;
      const items: readonly unknown[] = list;
      for (let k = 0; k < items.length; k++) {
        const text = items[k];
        if (typeof text !== "string") continue;
        const m = queuedMessageOf(text);
        if (typeof m === "string") continue;
        const path = [...here, "messageQueues", sint, k];
        const port = ports.get(m.portId);
        const why =
          port === undefined
            ? `its OriginationId names port ${m.portId}, which this partition does not own`
            : port.type !== "message"
              ? `its OriginationId names port ${m.portId}, a "${port.type}" port, not a message port`
              : port.deleted
                ? `its OriginationId names port ${m.portId}, which is deleted (a deletion drops queued messages)`
                : String(port.targetSint) !== sint
                  ? `port ${m.portId} targets SINT ${show(port.targetSint)}, not SINT ${sint}`
                  : port.targetVp !== "any" && port.targetVp !== vp.index
                    ? `port ${m.portId} targets VP ${show(port.targetVp)}, not VP ${show(vp.index)}`
                    : undefined;
        if (why !== undefined) {
          out.push({
            path,
            reason: `a queued message must come through a message port of its VP and SINT: ${why}`,
          });
          continue;
        }
        const held = (buffers.get(m.portId) ?? 0) + 1;
        buffers.set(m.portId, held);
        if (held > MESSAGE_BUFFERS_PER_PORT) {
          out.push({
            path,
            reason: `port ${m.portId} has only ${MESSAGE_BUFFERS_PER_PORT} message buffers; this is queued message ${held} of it`,
          });
        }
      }
    }
  }
}
