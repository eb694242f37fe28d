/**
 * One batch record run the per-call way, for comparing BatchRunner with hypercall(): a fast record
 * passes its 8 input bytes in RDX; a memory-form record's 8 bytes are put at the scratch GPA of an
 * otherwise zero page that exists only for the length of the call (BatchRunner maps its own
 * scratch page only while run() lasts, and the rest of it reads 0), through the host's RAM API.
 */
import { CONTROL_FAST_BIT } from "../../../src/abi/hypercall-control.js";
import { u64Lo } from "../../../src/abi/u64.js";
import {
  type Dispatcher,
  type HypercallOutcome,
  hypercall,
  type Machine,
} from "../../../src/index.js";
import { GuestMemory } from "../../../src/state/guest-memory.js";

const FAST = BigInt(CONTROL_FAST_BIT);
const PAGE_OFFSET_MASK = 0xfff;

function u64OfBytes(bytes: Uint8Array): bigint {
  const block = new Uint8Array(8);
  block.set(bytes.subarray(0, 8));
  return new DataView(block.buffer).getBigUint64(0, true);
}

export interface RecordCall {
  readonly caller: number;
  readonly vp: number;
  readonly scratchGpa: bigint;
  readonly control: bigint;
  /** The record's bytes 8..15. */
  readonly input: Uint8Array;
}

export function hypercallAsRecord(d: Dispatcher, call: RecordCall): HypercallOutcome {
  const request = { caller: call.caller, vp: call.vp, control: call.control };
  if ((call.control & FAST) !== 0n)
    return hypercall(d, { ...request, input: u64OfBytes(call.input) });
  const machine = d.machine;
  const memory = machine.memory[machine.requirePartition(call.caller)]!;
  const saved = memory.ramPage(GuestMemory.pageOfGpa(call.scratchGpa))?.slice();
  const page = memory.mapPage(call.scratchGpa);
  page.fill(0);
  page.set(call.input.subarray(0, 8), u64Lo(call.scratchGpa) & PAGE_OFFSET_MASK);
  try {
    return hypercall(d, { ...request, input: call.scratchGpa });
  } finally {
    if (saved === undefined) memory.unmapPage(call.scratchGpa);
    else page.set(saved);
  }
}

/** The bytes a guest access finds at the scratch page (undefined: nothing there). */
export function scratchView(
  machine: Machine,
  caller: number,
  scratchGpa: bigint,
): Buffer | undefined {
  const bytes = machine.guestRead(caller, scratchGpa & ~BigInt(PAGE_OFFSET_MASK), 4096);
  return bytes === undefined ? undefined : Buffer.from(bytes);
}
