/**
 * The modeled machine of the trace model (signal-event.md §5, synic.md §1-§4): partitions, VPs with
 * their SynIC registers and their own SIEF / SIM page contents, ports, connections, page-granular
 * guest RAM; the scenario loader (cli-contract.md "Scenario file", v1 + v2); guest memory access
 * through overlay pages (synic.md §2).
 */
import {
  bit,
  bytesFromHex,
  HV_ANY_VP,
  PAGE_SHIFT,
  PAGE_SIZE,
  PAGE_SIZE_BIG,
  PRIVILEGE_BITS,
  parseHex64,
  SINT_COUNT,
  SINT_RESET_VALUE,
  U64_MAX,
  zeros,
} from "./trace-model-basics.js";

/** A posted message waiting in a (VP, SINT) queue; it holds one buffer of its port. */
export interface QueuedMessage {
  portId: number;
  messageType: number;
  /** The first PayloadSize bytes of the input payload. */
  payload: number[];
}

export interface Vp {
  index: number;
  scontrol: bigint;
  siefp: bigint;
  simp: bigint;
  /** SINT0..SINT15 MSR values, as written. */
  sints: bigint[];
  /** The VP's SIEF page contents (4096 bytes); they ARE the event flags. */
  sief: number[];
  /** The VP's SIM page contents (4096 bytes): 16 slots of 256 bytes. */
  sim: number[];
  /** Per SINT: interrupts asserted (events and messages). */
  assertions: number[];
  /** Per SINT: the FIFO of messages not yet delivered into the slot. */
  queues: QueuedMessage[][];
}

export interface Port {
  id: number;
  type: "event" | "message" | "monitor";
  /** A VP index, or HV_ANY_VP. */
  targetVp: number;
  targetSint: number;
  baseFlagNumber: number;
  flagCount: number;
  deleted: boolean;
}

export interface Connection {
  id: number;
  portPartition: number;
  portId: number;
}

export interface Partition {
  id: number;
  active: boolean;
  privilegeMask: bigint;
  /** Ascending VP index. */
  vps: Vp[];
  ports: Map<number, Port>;
  connections: Map<number, Connection>;
  /** Backed RAM pages by page number; each 4096 bytes. */
  ram: Map<bigint, number[]>;
}

export interface Machine {
  /** Scenario order. */
  partitions: Partition[];
}

// ---------------------------------------------------------------------------------------------
// Scenario loading (assumes a valid scenario; throws on shapes it cannot read)
// ---------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

function asObject(value: unknown, path: string): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${path}: not an object`);
  }
  return value as Json;
}

function asArray(value: unknown, path: string): unknown[] {
  if (value === undefined) {
    return [];
  }
  if (!Array.isArray(value)) {
    throw new Error(`${path}: not an array`);
  }
  return value;
}

function asInteger(value: unknown, path: string): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new Error(`${path}: not an integer`);
  }
  return value;
}

function asString(value: unknown, path: string): string {
  if (typeof value !== "string") {
    throw new Error(`${path}: not a string`);
  }
  return value;
}

function hexOr(value: unknown, fallback: bigint, path: string): bigint {
  return value === undefined ? fallback : parseHex64(asString(value, path), path);
}

function loadVp(raw: unknown, path: string): Vp {
  const o = asObject(raw, path);
  const sints: bigint[] = [];
  for (let n = 0; n < SINT_COUNT; n++) {
    sints.push(SINT_RESET_VALUE);
  }
  if (o.sints !== undefined) {
    for (const [key, value] of Object.entries(asObject(o.sints, `${path}.sints`))) {
      const n = Number(key);
      if (!Number.isInteger(n) || n < 0 || n >= SINT_COUNT) {
        throw new Error(`${path}.sints: bad SINT index ${key}`);
      }
      sints[n] = parseHex64(asString(value, `${path}.sints.${key}`), `${path}.sints.${key}`);
    }
  }
  const queues: QueuedMessage[][] = [];
  for (let n = 0; n < SINT_COUNT; n++) {
    queues.push([]);
  }
  return {
    index: asInteger(o.index, `${path}.index`),
    scontrol: hexOr(o.scontrol, 0n, `${path}.scontrol`),
    siefp: hexOr(o.siefp, 0n, `${path}.siefp`),
    simp: hexOr(o.simp, 0n, `${path}.simp`),
    sints,
    sief: zeros(PAGE_SIZE),
    sim: zeros(PAGE_SIZE),
    assertions: zeros(SINT_COUNT),
    queues,
  };
}

function loadPort(raw: unknown, path: string): Port {
  const o = asObject(raw, path);
  const type = asString(o.type, `${path}.type`);
  if (type !== "event" && type !== "message" && type !== "monitor") {
    throw new Error(`${path}.type: unknown port type ${type}`);
  }
  const targetVp = o.targetVp === "any" ? HV_ANY_VP : asInteger(o.targetVp, `${path}.targetVp`);
  return {
    id: asInteger(o.id, `${path}.id`),
    type,
    targetVp,
    targetSint: asInteger(o.targetSint, `${path}.targetSint`),
    baseFlagNumber: o.baseFlagNumber === undefined ? 0 : asInteger(o.baseFlagNumber, path),
    flagCount: o.flagCount === undefined ? 0 : asInteger(o.flagCount, path),
    deleted: o.deleted === true,
  };
}

function loadPrivileges(o: Json, path: string): bigint {
  if (o.privileges !== undefined && o.privilegeMask !== undefined) {
    throw new Error(`${path}: both privileges and privilegeMask`);
  }
  if (o.privilegeMask !== undefined) {
    return parseHex64(asString(o.privilegeMask, path), `${path}.privilegeMask`);
  }
  let mask = 0n;
  asArray(o.privileges, `${path}.privileges`).forEach((name, i) => {
    const n = PRIVILEGE_BITS.get(asString(name, `${path}.privileges[${i}]`));
    if (n === undefined) {
      throw new Error(`${path}.privileges[${i}]: unknown privilege ${JSON.stringify(name)}`);
    }
    mask |= 1n << BigInt(n);
  });
  return mask;
}

/** Each entry backs every page its bytes touch (cli-contract.md v2); later entries win. */
function loadMemory(o: Json, path: string): Map<bigint, number[]> {
  const ram = new Map<bigint, number[]>();
  asArray(o.memory, `${path}.memory`).forEach((raw, i) => {
    const entry = asObject(raw, `${path}.memory[${i}]`);
    const gpa = parseHex64(asString(entry.gpa, `${path}.memory[${i}].gpa`), path);
    const bytes = bytesFromHex(asString(entry.hex, `${path}.memory[${i}].hex`), path);
    bytes.forEach((value, k) => {
      const address = gpa + BigInt(k);
      const pageNumber = address >> PAGE_SHIFT;
      let page = ram.get(pageNumber);
      if (page === undefined) {
        page = zeros(PAGE_SIZE);
        ram.set(pageNumber, page);
      }
      page[Number(address % PAGE_SIZE_BIG)] = value;
    });
  });
  return ram;
}

function loadPartition(raw: unknown, path: string): Partition {
  const o = asObject(raw, path);
  const state = o.state === undefined ? "active" : asString(o.state, `${path}.state`);
  const vps = asArray(o.vps, `${path}.vps`).map((v, i) => loadVp(v, `${path}.vps[${i}]`));
  vps.sort((a, b) => a.index - b.index);
  const ports = new Map<number, Port>();
  asArray(o.ports, `${path}.ports`).forEach((p, i) => {
    const port = loadPort(p, `${path}.ports[${i}]`);
    ports.set(port.id, port);
  });
  const connections = new Map<number, Connection>();
  asArray(o.connections, `${path}.connections`).forEach((c, i) => {
    const cp = `${path}.connections[${i}]`;
    const co = asObject(c, cp);
    const connection: Connection = {
      id: asInteger(co.id, `${cp}.id`),
      portPartition: asInteger(co.portPartition, `${cp}.portPartition`),
      portId: asInteger(co.portId, `${cp}.portId`),
    };
    connections.set(connection.id, connection);
  });
  return {
    id: asInteger(o.id, `${path}.id`),
    active: state === "active",
    privilegeMask: loadPrivileges(o, path),
    vps,
    ports,
    connections,
    ram: loadMemory(o, path),
  };
}

export function loadScenario(scenario: unknown): Machine {
  const root = asObject(scenario, "scenario");
  const partitions = asArray(root.partitions, "partitions").map((p, i) =>
    loadPartition(p, `partitions[${i}]`),
  );
  return { partitions };
}

// ---------------------------------------------------------------------------------------------
// Guest memory through overlay pages (synic.md §2)
// ---------------------------------------------------------------------------------------------

/**
 * The 4096 bytes a guest access to page `pageNumber` of partition `p` reaches: an enabled overlay
 * page of one of the partition's VPs (lowest VP index first; for one VP, SIEF before SIM), else
 * backed RAM, else undefined (unbacked).
 */
export function guestPage(p: Partition, pageNumber: bigint): number[] | undefined {
  for (const vp of p.vps) {
    if (bit(vp.siefp, 0) && vp.siefp >> PAGE_SHIFT === pageNumber) {
      return vp.sief;
    }
    if (bit(vp.simp, 0) && vp.simp >> PAGE_SHIFT === pageNumber) {
      return vp.sim;
    }
  }
  return p.ram.get(pageNumber);
}

/** The pages a byte range touches, in order, or undefined when any is unbacked. */
function guestSpan(p: Partition, gpa: bigint, length: number): number[][] | undefined {
  const pages: number[][] = [];
  if (length === 0) {
    return pages;
  }
  const last = gpa + BigInt(length - 1);
  if (last > U64_MAX) {
    return undefined;
  }
  for (let n = gpa >> PAGE_SHIFT; n <= last >> PAGE_SHIFT; n++) {
    const page = guestPage(p, n);
    if (page === undefined) {
      return undefined;
    }
    pages.push(page);
  }
  return pages;
}

/** A guest read: the bytes, or undefined when a touched page is unbacked. */
export function guestRead(p: Partition, gpa: bigint, length: number): number[] | undefined {
  const pages = guestSpan(p, gpa, length);
  if (pages === undefined) {
    return undefined;
  }
  const start = Number(gpa % PAGE_SIZE_BIG);
  const out: number[] = [];
  for (let i = 0; i < length; i++) {
    const at = start + i;
    const page = pages[Math.floor(at / PAGE_SIZE)]!;
    out.push(page[at % PAGE_SIZE]!);
  }
  return out;
}

/** A guest write, whole or nothing: false (nothing written) when a touched page is unbacked. */
export function guestWrite(p: Partition, gpa: bigint, bytes: readonly number[]): boolean {
  const pages = guestSpan(p, gpa, bytes.length);
  if (pages === undefined) {
    return false;
  }
  const start = Number(gpa % PAGE_SIZE_BIG);
  bytes.forEach((value, i) => {
    const at = start + i;
    const page = pages[Math.floor(at / PAGE_SIZE)]!;
    page[at % PAGE_SIZE] = value;
  });
  return true;
}
