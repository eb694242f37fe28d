/**
 * A fuzz case: a scenario, one caller (partition id + VP index) and a sequence of raw hypercalls
 * (RCX, RDX). This is exactly what a golden fixture holds, so a failing case can be saved as one.
 *
 * Memory-form calls read their input block from an "input region" of the caller's guest memory
 * declared in the scenario: the k-th memory-form call's block sits at INPUT_GPA + 8k. The batch
 * front end puts its block in BatchRunner's scratch page instead; the status is the same (the GPA
 * is aligned and backed either way), and the fixture uses the input-region slot.
 */
import { HvCallCode } from "../../src/abi/call-code.js";
import { CONNECTION_ID_BITS, CONNECTION_ID_MAX } from "../../src/abi/connection-id.js";
import { HV_PAGE_SHIFT } from "../../src/abi/hv-page.js";
import { CONTROL_CALL_CODE_MASK, CONTROL_FAST_BIT } from "../../src/abi/hypercall-control.js";
import { SIGNAL_EVENT_INPUT_SIZE } from "../../src/abi/signal-event-input.js";
import type { ScenarioFile, ScenarioPartition } from "../model/scenario-file.js";
import { encodeModelInput, inputToRegister } from "../model/signal-event-model.js";
import { type CallSpec, type CaseSpec, type Front, hex, U64_MAX } from "./arbitraries.js";

/** First GPA of the input region (page-aligned). */
export const INPUT_GPA = 0x10000n;
/** BatchRunner's scratch page (above 4 GiB, so the GPA's high half is not zero). */
export const SCRATCH_GPA = 0x1_0000_0000n;

export interface ResolvedCall {
  front: Front;
  /** RCX. */
  control: bigint;
  /** RDX: the input block of a fast call, the input GPA of a memory call. */
  rdx: bigint;
  /**
   * A memory-form call whose block lives in guest memory: its 8 bytes. The block gets a slot in
   * the input region (placeBlocks) and RDX = slot + slotOffset; the batch front end copies the
   * block into its scratch page instead.
   */
  block?: number[];
  /** 0 for an aligned GPA, 1..7 for a misaligned one (same backed page). */
  slotOffset?: number;
}

export interface Case {
  scenario: ScenarioFile;
  caller: number;
  vp: number;
  calls: ResolvedCall[];
}

export function isFast(control: bigint): boolean {
  return (control & BigInt(CONTROL_FAST_BIT)) !== 0n;
}

const PAGE_SHIFT = BigInt(HV_PAGE_SHIFT);

/** Partitions that can call (the host needs a VP of the caller). */
export function callers(scenario: ScenarioFile): ScenarioPartition[] {
  return scenario.partitions.filter((p) => (p.vps ?? []).length > 0);
}

/** The (event) FlagCount of the port the caller's connection `id` leads to, or 0. */
function flagCountBehind(scenario: ScenarioFile, caller: ScenarioPartition, id: number): number {
  const conn = (caller.connections ?? []).find((c) => c.id === id);
  if (conn === undefined) return 0;
  const owner = scenario.partitions.find((p) => p.id === conn.portPartition);
  const port = (owner?.ports ?? []).find((q) => q.id === conn.portId);
  return port?.type === "event" ? (port.flagCount ?? 0) : 0;
}

function connectionIdOf(scenario: ScenarioFile, caller: ScenarioPartition, spec: CallSpec): number {
  const c = spec.conn;
  if (c.kind === "own") {
    const own = caller.connections ?? [];
    if (own.length > 0) return own[c.pick % own.length]!.id;
    return c.pick % (CONNECTION_ID_MAX + 1);
  }
  if (c.kind === "other") {
    const others = scenario.partitions
      .filter((p) => p !== caller)
      .flatMap((p) => (p.connections ?? []).map((x) => x.id));
    if (others.length > 0) return others[c.pick % others.length]!;
    return c.pick % (CONNECTION_ID_MAX + 1);
  }
  return c.value;
}

function flagNumberOf(spec: CallSpec, count: number): number {
  const f = spec.flag;
  if (f.kind === "random") return f.value;
  if (f.kind === "inside") return Math.floor(f.fraction * count);
  switch (f.edge) {
    case "zero":
      return 0;
    case "last":
      return Math.max(count - 1, 0);
    case "count":
      return count;
    case "after":
      return count + 1;
  }
}

function controlOf(spec: CallSpec): bigint {
  const good = BigInt(HvCallCode.SignalEvent | (spec.memory ? 0 : CONTROL_FAST_BIT));
  const c = spec.control;
  switch (c.kind) {
    case "good":
      return good;
    case "bit":
      return good | (1n << BigInt(c.bit));
    case "code":
      return (c.high & ~BigInt(CONTROL_CALL_CODE_MASK) & U64_MAX) | BigInt(c.code);
    case "random":
      return c.value;
  }
}

/** Keeps a generated "unbacked" GPA off the pages the case backs. */
function offBackedPages(gpa: bigint, inputPages: number): bigint {
  const page = gpa >> PAGE_SHIFT;
  const first = INPUT_GPA >> PAGE_SHIFT;
  if ((page >= first && page < first + BigInt(inputPages)) || page === SCRATCH_GPA >> PAGE_SHIFT) {
    return gpa ^ (1n << 63n);
  }
  return gpa;
}

/**
 * Resolves one generated call against the scenario, for `caller`. A memory-form call with an
 * aligned or misaligned GPA gets `block` (its GPA is set when the block is placed); one with an
 * unbacked GPA gets that GPA.
 */
export function resolveCall(
  scenario: ScenarioFile,
  caller: ScenarioPartition,
  s: CallSpec,
  inputPages: number,
): ResolvedCall {
  const id = connectionIdOf(scenario, caller, s);
  const input = {
    connectionId: (id | (s.connReserved << CONNECTION_ID_BITS)) >>> 0,
    flagNumber: flagNumberOf(s, flagCountBehind(scenario, caller, id)),
    rsvdZ: s.rsvdZ,
  };
  const control = controlOf(s);
  if (isFast(control)) return { front: s.front, control, rdx: inputToRegister(input) };
  const block = encodeModelInput(input);
  // The batch front end always passes an aligned, backed GPA (its scratch page).
  const g = s.front === "batch" ? ({ kind: "input" } as const) : s.gpa;
  if (g.kind === "input") return { front: s.front, control, rdx: 0n, block, slotOffset: 0 };
  if (g.kind === "misaligned") {
    return { front: s.front, control, rdx: 0n, block, slotOffset: g.offset };
  }
  return { front: s.front, control, rdx: offBackedPages(g.gpa, inputPages) };
}

/** Pages the input region needs for `blocks` blocks (one spare). */
export function inputPagesFor(blocks: number): number {
  return Math.ceil((blocks * SIGNAL_EVENT_INPUT_SIZE) / Number(1n << PAGE_SHIFT)) + 1;
}

/**
 * Gives every call that carries a block its slot in the input region (RDX = slot + offset) and
 * declares the region in the caller's scenario memory. Mutates `scenario` and `calls`.
 */
export function placeBlocks(scenario: ScenarioFile, callerId: number, calls: ResolvedCall[]): void {
  const bytes: number[] = [];
  for (const call of calls) {
    if (call.block === undefined) continue;
    call.rdx = INPUT_GPA + BigInt(bytes.length) + BigInt(call.slotOffset ?? 0);
    bytes.push(...call.block);
  }
  if (bytes.length === 0) return;
  const caller = scenario.partitions.find((p) => p.id === callerId)!;
  caller.memory = [
    ...(caller.memory ?? []),
    { gpa: hex(INPUT_GPA), hex: Buffer.from(bytes).toString("hex") },
  ];
}

/** Resolves the picks of a generated case against its scenario. */
export function resolveCase(spec: CaseSpec): Case {
  const scenario: ScenarioFile = structuredClone(spec.scenario);
  const caller = pickCaller(scenario, spec.callerPick);
  const vps = caller.vps ?? [];
  const vp = vps[spec.vpPick % vps.length]!.index;
  const inputPages = inputPagesFor(spec.calls.length);
  const calls = spec.calls.map((s) => resolveCall(scenario, caller, s, inputPages));
  placeBlocks(scenario, caller.id, calls);
  return { scenario, caller: caller.id, vp, calls };
}

export function pickCaller(scenario: ScenarioFile, pick: number): ScenarioPartition {
  const able = callers(scenario);
  return able[pick % able.length]!;
}

export function formatHex64(value: bigint): string {
  return `0x${(value & U64_MAX).toString(16).padStart(16, "0")}`;
}

/** One line per call, for failure messages. */
export function describeCall(call: ResolvedCall): string {
  const form = isFast(call.control) ? "fast" : "memory";
  return `${call.front} control=${formatHex64(call.control)} ${form} rdx=${formatHex64(call.rdx)}`;
}
