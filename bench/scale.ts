/**
 * Scenario load at scale: 1,024 VPs, 65,536 ports and 65,536 connections (64 partitions of 16 VPs,
 * 1,024 ports and 1,024 connections each; every connection names a port of another partition).
 * Times parseScenarioText and loadMachine separately and measures the memory each keeps.
 */
import v8 from "node:v8";
import {
  SCONTROL_ENABLE_BIT,
  SYNIC_PAGE_ENABLE_BIT,
  SYNIC_PAGE_GPA_SHIFT,
} from "../src/abi/synic-msr.js";
import { loadMachine } from "../src/state/load-machine.js";
import type { Machine } from "../src/state/machine.js";
import type { ScenarioDocument } from "../src/state/scenario-document.js";
import { parseScenarioText } from "../src/state/scenario-schema.js";
import { hasGc, retainedBytes } from "./measure.js";
import { prng } from "./workload.js";

const PARTITIONS = 64;
const VPS_PER_PARTITION = 16;
const PORTS_PER_PARTITION = 1024;
const CONNECTIONS_PER_PARTITION = 1024;
const REPS = 5;

export interface ScaleResult {
  description: string;
  vps: number;
  ports: number;
  connections: number;
  fileMiB: number;
  /** Medians over REPS runs. */
  parseMs: number;
  loadMs: number;
  totalMs: number;
  parseMsRuns: number[];
  loadMsRuns: number[];
  /** Retained after a full GC (heap + array buffers). */
  documentMiB: number;
  machineMiB: number;
  /** Most heap + array-buffer memory in use at once during parse + load, above the baseline. */
  peakMiB: number;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

export function scaleScenarioText(): string {
  const rand = prng(7);
  const partitions = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const vps = Array.from({ length: VPS_PER_PARTITION }, (_, index) => ({
      index,
      scontrol: hex(SCONTROL_ENABLE_BIT),
      siefp: hex(((0x1000 + index) << SYNIC_PAGE_GPA_SHIFT) | SYNIC_PAGE_ENABLE_BIT),
      sints: { "0": "0x40", "1": "0x41", "2": "0x42" },
    }));
    const ports = Array.from({ length: PORTS_PER_PARTITION }, (_, k) => ({
      id: 0x10000 + k,
      type: "event",
      targetVp: k % 5 === 0 ? "any" : k % VPS_PER_PARTITION,
      targetSint: k % 3,
      baseFlagNumber: (k % 32) * 64,
      flagCount: 64,
    }));
    const connections = Array.from({ length: CONNECTIONS_PER_PARTITION }, (_, k) => ({
      id: 0x100000 + k,
      portPartition: 1 + ((p + 1 + (rand() % (PARTITIONS - 1))) % PARTITIONS),
      portId: 0x10000 + (rand() % PORTS_PER_PARTITION),
    }));
    partitions.push({ id: p + 1, privileges: ["SignalEvents"], vps, ports, connections });
  }
  return JSON.stringify({ partitions });
}

interface Held {
  doc: ScenarioDocument | undefined;
  machine: Machine | undefined;
  peakBytes: number;
}

/** Parses and loads once under the GC profiler: the peak is the most heap in use before any GC. */
function loadProfiled(text: string): Held {
  const profiler = new v8.GCProfiler();
  profiler.start();
  const heap0 = v8.getHeapStatistics().used_heap_size;
  const ab0 = process.memoryUsage().arrayBuffers;
  const doc = parseScenarioText(text);
  const machine = loadMachine(doc);
  const profile = profiler.stop();
  let peakHeap = v8.getHeapStatistics().used_heap_size;
  for (const s of profile.statistics)
    peakHeap = Math.max(peakHeap, s.beforeGC.heapStatistics.usedHeapSize);
  const arrayBuffers = process.memoryUsage().arrayBuffers - ab0;
  return { doc, machine, peakBytes: peakHeap - heap0 + arrayBuffers };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const MiB = 2 ** 20;

/** Times REPS parse + load runs; nothing they build outlives the call. */
function timeRuns(text: string): { parse: number[]; load: number[] } {
  const parse: number[] = [];
  const load: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = process.hrtime.bigint();
    const doc = parseScenarioText(text);
    parse.push(ms(t0));
    const t1 = process.hrtime.bigint();
    const machine = loadMachine(doc);
    load.push(ms(t1));
    if (machine.vpCount !== PARTITIONS * VPS_PER_PARTITION)
      throw new Error("scale scenario did not load as generated");
  }
  return { parse, load };
}

/** Retained memory of the document and of the machine, and the peak while both are built. */
async function measureMemory(
  text: string,
): Promise<{ documentMiB: number; machineMiB: number; peakMiB: number }> {
  const base = await retainedBytes();
  const held = loadProfiled(text);
  const withBoth = await retainedBytes();
  held.doc = undefined;
  const withMachine = await retainedBytes();
  if (held.machine?.vpCount !== PARTITIONS * VPS_PER_PARTITION)
    throw new Error("scale load failed");
  return {
    documentMiB: (withBoth - withMachine) / MiB,
    machineMiB: (withMachine - base) / MiB,
    peakMiB: held.peakBytes / MiB,
  };
}

export async function benchScale(): Promise<ScaleResult> {
  const text = scaleScenarioText();
  const { parse: parseRuns, load: loadRuns } = timeRuns(text);
  const memory = hasGc()
    ? await measureMemory(text)
    : { documentMiB: Number.NaN, machineMiB: Number.NaN, peakMiB: Number.NaN };
  return {
    description: `${PARTITIONS} partitions: ${PARTITIONS * VPS_PER_PARTITION} VPs, ${PARTITIONS * PORTS_PER_PARTITION} ports, ${PARTITIONS * CONNECTIONS_PER_PARTITION} connections (${(text.length / MiB).toFixed(1)} MiB of JSON)`,
    vps: PARTITIONS * VPS_PER_PARTITION,
    ports: PARTITIONS * PORTS_PER_PARTITION,
    connections: PARTITIONS * CONNECTIONS_PER_PARTITION,
    fileMiB: text.length / MiB,
    parseMs: median(parseRuns),
    loadMs: median(loadRuns),
    totalMs: median(parseRuns.map((p, i) => p + loadRuns[i]!)),
    parseMsRuns: parseRuns,
    loadMsRuns: loadRuns,
    ...memory,
  };
}
