/**
 * The benchmark's machine and record streams. Everything is generated from a fixed seed, so every
 * run (and every API measured in a run) sees the same bytes.
 *
 * Machine: partition 1 signals (one VP, SignalEvents) through 64 connections into 64 event ports of
 * partition 2, which has 16 VPs with SynIC and SIEF page enabled and SINTs 0..7 unmasked. A few
 * more connections lead to ports that fail each later check of the normative order (deleted,
 * message port, inactive owner, missing VP, masked SINT, missing port).
 */

import { HvCallCode } from "../src/abi/call-code.js";
import { CONNECTION_ID_MASK, CONNECTION_ID_RESERVED_MASK } from "../src/abi/connection-id.js";
import { CONTROL_FAST_BIT, CONTROL_NESTED_BIT } from "../src/abi/hypercall-control.js";
import {
  SCONTROL_ENABLE_BIT,
  SYNIC_PAGE_ENABLE_BIT,
  SYNIC_PAGE_GPA_SHIFT,
} from "../src/abi/synic-msr.js";
import {
  RECORD_CONTROL_HI,
  RECORD_CONTROL_LO,
  RECORD_INPUT_HI,
  RECORD_INPUT_LO,
  RECORD_SIZE,
  RECORD_WORDS,
} from "../src/dispatch/hypercall-record.js";

export const CALLER = 1;
export const RECEIVER = 2;
export const INACTIVE = 3;
export const CALLER_VP = 0;

export const CONNECTIONS = 64;
export const RECEIVER_VPS = 16;
export const USED_SINTS = 8;
/** Every good port has this many flags. */
export const FLAGS_PER_PORT = 64;

/** A masked SINT (not among the 8 used ones, so its reset value 0x10000 stays). */
const MASKED_SINT = 12;
/** A VP index partition 2 does not have. */
const MISSING_VP = 99;

/** Deterministic 32-bit PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

export interface BenchScenario {
  /** The scenario file text (cli-contract schema). */
  readonly text: string;
  /** Connection ids of the 64 good connections. */
  readonly goodConnections: readonly number[];
  /** Connection ids that fail at steps 7..10 and an id the caller does not own. */
  readonly bad: {
    readonly deletedPort: number;
    readonly messagePort: number;
    readonly missingPort: number;
    readonly inactiveOwner: number;
    readonly missingVp: number;
    readonly maskedSint: number;
    readonly unknown: number;
  };
}

const hex = (n: number): string => `0x${n.toString(16)}`;

export function benchScenario(): BenchScenario {
  const rand = prng(0x5d);
  const used = new Set<number>();
  const freshId = (): number => {
    for (;;) {
      const id = rand() & CONNECTION_ID_MASK;
      if (!used.has(id)) {
        used.add(id);
        return id;
      }
    }
  };

  const enabled = {
    scontrol: hex(SCONTROL_ENABLE_BIT),
    siefp: hex((0x100 << SYNIC_PAGE_GPA_SHIFT) | SYNIC_PAGE_ENABLE_BIT),
  };
  const sints: Record<string, string> = {};
  for (let s = 0; s < USED_SINTS; s++) sints[String(s)] = hex(0x40 + s);
  const receiverVps = Array.from({ length: RECEIVER_VPS }, (_, index) => ({
    index,
    ...enabled,
    sints,
  }));

  const ports: Record<string, unknown>[] = [];
  const goodConnections: number[] = [];
  const connections: Record<string, unknown>[] = [];
  for (let k = 0; k < CONNECTIONS; k++) {
    ports.push({
      id: 1000 + k,
      type: "event",
      targetVp: k % RECEIVER_VPS,
      targetSint: (k >> 1) % USED_SINTS,
      baseFlagNumber: (k >> 4) * FLAGS_PER_PORT,
      flagCount: FLAGS_PER_PORT,
    });
    const id = freshId();
    goodConnections.push(id);
    connections.push({ id, portPartition: RECEIVER, portId: 1000 + k });
  }
  const badPort = (id: number, extra: Record<string, unknown>) =>
    ports.push({
      id,
      type: "event",
      targetVp: 0,
      targetSint: 0,
      baseFlagNumber: 0,
      flagCount: 8,
      ...extra,
    });
  badPort(2000, { deleted: true });
  ports.push({ id: 2001, type: "message", targetVp: 0, targetSint: 0 });
  badPort(2002, { targetSint: MASKED_SINT });
  badPort(2003, { targetVp: MISSING_VP });

  const connect = (portPartition: number, portId: number): number => {
    const id = freshId();
    connections.push({ id, portPartition, portId });
    return id;
  };
  const bad = {
    deletedPort: connect(RECEIVER, 2000),
    messagePort: connect(RECEIVER, 2001),
    maskedSint: connect(RECEIVER, 2002),
    missingVp: connect(RECEIVER, 2003),
    missingPort: connect(RECEIVER, 9999),
    inactiveOwner: connect(INACTIVE, 3000),
    unknown: freshId(),
  };

  const doc = {
    partitions: [
      {
        id: CALLER,
        privileges: ["SignalEvents"],
        vps: [{ index: CALLER_VP, ...enabled }],
        connections,
      },
      { id: RECEIVER, privileges: [], vps: receiverVps, ports },
      {
        id: INACTIVE,
        state: "inactive",
        privileges: [],
        vps: [{ index: 0, ...enabled, sints }],
        ports: [
          { id: 3000, type: "event", targetVp: 0, targetSint: 0, baseFlagNumber: 0, flagCount: 8 },
        ],
      },
    ],
  };
  return { text: JSON.stringify(doc), goodConnections, bad };
}

export interface Workload {
  readonly name: string;
  readonly description: string;
  /** RECORD_SIZE bytes per record, 4-byte aligned. */
  readonly records: Uint8Array;
  readonly count: number;
}

const SIGNAL_FAST = (HvCallCode.SignalEvent | CONTROL_FAST_BIT) >>> 0;
const SIGNAL_MEMORY = HvCallCode.SignalEvent;

/** Record storage; a SharedArrayBuffer so the threaded mode can use the same bytes without a copy. */
function allocRecords(count: number): { bytes: Uint8Array; words: Uint32Array } {
  const buffer = new SharedArrayBuffer(count * RECORD_SIZE);
  return { bytes: new Uint8Array(buffer), words: new Uint32Array(buffer) };
}

/** 100 % successful fast SignalEvent calls, spread over the 64 connections and their flags. */
export function signalsWorkload(s: BenchScenario, count: number): Workload {
  const rand = prng(1);
  const { bytes, words } = allocRecords(count);
  for (let i = 0, w = 0; i < count; i++, w += RECORD_WORDS) {
    const r = rand();
    words[w + RECORD_CONTROL_LO] = SIGNAL_FAST;
    words[w + RECORD_CONTROL_HI] = 0;
    words[w + RECORD_INPUT_LO] = s.goodConnections[r % CONNECTIONS]!;
    words[w + RECORD_INPUT_HI] = (r >>> 8) % FLAGS_PER_PORT;
  }
  return {
    name: "signals",
    description: "fast SignalEvent, all successful, 64 connections -> 16 VPs x 8 SINTs",
    records: bytes,
    count,
  };
}

/** The kinds of bad record in the mixed workload, one per failing check. */
const BAD_KINDS = 13;

/**
 * 85 % good fast calls, 5 % good memory-form calls, 10 % bad input spread evenly over the failing
 * checks of the normative order (every status the batch caller can get).
 */
export function mixedWorkload(s: BenchScenario, count: number): Workload {
  const rand = prng(2);
  const { bytes, words } = allocRecords(count);
  for (let i = 0, w = 0; i < count; i++, w += RECORD_WORDS) {
    const r = rand();
    const pick = r % 100;
    let cLo = SIGNAL_FAST;
    let cHi = 0;
    let conn = s.goodConnections[(r >>> 7) % CONNECTIONS]!;
    let flagWord = (r >>> 13) % FLAGS_PER_PORT;
    if (pick >= 85 && pick < 90) {
      cLo = SIGNAL_MEMORY;
    } else if (pick >= 90) {
      switch ((r >>> 19) % BAD_KINDS) {
        case 0:
          cLo = (SIGNAL_FAST + 1) >>> 0; // a call code the dispatcher does not implement
          break;
        case 1:
          cHi = 1; // rep count
          break;
        case 2:
          cLo = (cLo | CONTROL_NESTED_BIT) >>> 0;
          break;
        case 3:
          flagWord |= 1 << 16; // RsvdZ
          break;
        case 4:
          conn = (conn | CONNECTION_ID_RESERVED_MASK) >>> 0;
          break;
        case 5:
          conn = s.bad.unknown;
          break;
        case 6:
          conn = s.bad.deletedPort;
          break;
        case 7:
          conn = s.bad.messagePort;
          break;
        case 8:
          conn = s.bad.missingPort;
          break;
        case 9:
          conn = s.bad.inactiveOwner;
          break;
        case 10:
          flagWord = FLAGS_PER_PORT + (flagWord % 7); // FlagNumber >= FlagCount
          break;
        case 11:
          conn = s.bad.missingVp;
          break;
        default:
          conn = s.bad.maskedSint;
          flagWord &= 7;
          break;
      }
    }
    words[w + RECORD_CONTROL_LO] = cLo;
    words[w + RECORD_CONTROL_HI] = cHi;
    words[w + RECORD_INPUT_LO] = conn;
    words[w + RECORD_INPUT_HI] = flagWord;
  }
  return {
    name: "mixed",
    description: "85 % fast + 5 % memory-form good calls, 10 % bad input over 13 failing checks",
    records: bytes,
    count,
  };
}
