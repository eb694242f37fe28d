/**
 * Crash-safety checks over arbitrary guest input: whatever the record, control value or input
 * register, a call never throws, a failed call leaves the machine bit-for-bit unchanged
 * (Machine.snapshot / equals), and a successful one changes exactly the addressed flag — one bit
 * of one SIEF byte, at SINT × 256 + ⌊flag / 8⌋, bit flag mod 8 (spec §5) — plus that SINT's
 * assertion count when the bit was clear. Nothing else anywhere in the machine moves.
 */

import { HvStatus, hvStatusName } from "../../src/abi/hv-status.js";
import { EVENT_FLAGS_BYTES_PER_SINT, SINT_COUNT } from "../../src/abi/sief-page.js";
import type { Machine } from "../../src/state/machine.js";
import type { ModelMachine, ModelOutcome } from "../model/signal-event-model.js";
import { describeCall, type ResolvedCall } from "./cases.js";
import { modelCall, type RealSide } from "./harness.js";

const BITS_PER_BYTE = 8;

/** Tables of the machine that are derived caches, not state. */
const DERIVED = new Set(["anyVpCache"]);
/** Tables checked bit by bit on their own (the SIEF image and the assertion counters). */
const FLAG_TABLES = new Set(["siefBuffer", "sintAssertions"]);

/** Byte copies of every table of the machine but the SIEF image, the counters and caches. */
function otherTables(machine: Machine): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const visit = (prefix: string, value: unknown) => {
    if (ArrayBuffer.isView(value)) {
      out.set(prefix, new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice());
    } else if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) {
        if (!DERIVED.has(k) && !FLAG_TABLES.has(k)) visit(prefix === "" ? k : `${prefix}.${k}`, v);
      }
    }
  };
  visit("", machine.tables);
  return out;
}

function siefBytes(machine: Machine): Uint8Array[] {
  return Array.from({ length: machine.vpCount }, (_, v) => machine.sief.page(v).slice());
}

function assertionCounts(machine: Machine, vps: readonly [number, number][]): number[] {
  return vps.flatMap(([p, i]) =>
    Array.from({ length: SINT_COUNT }, (_, s) => machine.sintAssertionCount(p, i, s)),
  );
}

/**
 * Runs one call on the real side under the safety checks, and on the model; returns the model's
 * outcome. Throws (an Error naming the call) on any violation, including a status that differs
 * from the model's.
 */
export function checkedCall(
  real: RealSide,
  model: ModelMachine,
  caller: number,
  vp: number,
  call: ResolvedCall,
  vps: readonly [number, number][],
): ModelOutcome {
  const machine = real.machine;
  const snapshot = machine.snapshot();
  const sief = siefBytes(machine);
  const counts = assertionCounts(machine, vps);
  const others = otherTables(machine);
  const what = describeCall(call);

  let got: number | string;
  try {
    got = real.run(caller, vp, [call])[0]!;
  } catch (error) {
    throw new Error(`${what}: threw ${String(error)}`);
  }
  const expected = modelCall(model, caller, call);
  if (got !== expected.status) {
    const shown = typeof got === "string" ? got : hvStatusName(got);
    throw new Error(
      `${what}: real ${shown}, model ${hvStatusName(expected.status)} (${expected.check})`,
    );
  }

  if (expected.status !== HvStatus.SUCCESS) {
    if (!machine.equals(snapshot)) {
      throw new Error(`${what}: failed with ${hvStatusName(got)} but changed the machine's state`);
    }
    return expected;
  }

  // Success: only the addressed bit, and its SINT's counter.
  const t = expected.target!;
  const slot = machine.requireVp(t.partitionId, t.vpIndex);
  const at = t.sint * EVENT_FLAGS_BYTES_PER_SINT + Math.floor(t.flag / BITS_PER_BYTE);
  const bit = 1 << (t.flag % BITS_PER_BYTE);
  const after = siefBytes(machine);
  for (let v = 0; v < after.length; v++) {
    const a = sief[v]!;
    const b = after[v]!;
    for (let i = 0; i < b.length; i++) {
      if (a[i] === b[i]) continue;
      const addressed = v === slot && i === at && (a[i]! ^ b[i]!) === bit && (b[i]! & bit) !== 0;
      if (!addressed || !t.newlySet) {
        throw new Error(
          `${what}: SIEF byte ${i} of VP slot ${v} went 0x${a[i]!.toString(16)} -> 0x${b[i]!.toString(16)}; the call addressed flag ${t.flag} of SINT ${t.sint} (byte ${at}, bit mask 0x${bit.toString(16)}) of VP ${t.vpIndex} of partition ${t.partitionId}`,
        );
      }
    }
  }
  if (t.newlySet && (sief[slot]![at]! & bit) !== 0) {
    throw new Error(`${what}: model says the flag was clear, the SIEF byte had it set`);
  }
  if (t.newlySet && (after[slot]![at]! & bit) === 0) {
    throw new Error(`${what}: SUCCESS but flag ${t.flag} of SINT ${t.sint} is not set`);
  }
  const countsAfter = assertionCounts(machine, vps);
  vps.forEach(([p, i], k) => {
    for (let s = 0; s < SINT_COUNT; s++) {
      const j = k * SINT_COUNT + s;
      const addressed = p === t.partitionId && i === t.vpIndex && s === t.sint;
      const want = counts[j]! + (addressed && t.newlySet ? 1 : 0);
      if (countsAfter[j] !== want) {
        throw new Error(
          `${what}: SINT ${s} of VP ${i} of partition ${p} asserted ${countsAfter[j]} times, expected ${want}`,
        );
      }
    }
  });
  for (const [name, bytes] of otherTables(machine)) {
    const before = others.get(name)!;
    if (Buffer.compare(before, bytes) !== 0) throw new Error(`${what}: table ${name} changed`);
  }
  return expected;
}
