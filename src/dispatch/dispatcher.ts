import { HV_PAGE_OFFSET_MASK, HV_PAGE_SIZE } from "../abi/hv-page.js";
import { HvStatus } from "../abi/hv-status.js";
import {
  CONTROL_CALL_CODE_MASK,
  CONTROL_FAST_BIT,
  CONTROL_REP_COUNT_MASK,
  CONTROL_REP_START_MASK,
  CONTROL_REP_START_SHIFT,
  CONTROL_VARIABLE_HEADER_MASK,
  CONTROL_VARIABLE_HEADER_SHIFT,
  VARIABLE_HEADER_UNIT_BYTES,
} from "../abi/hypercall-control.js";
import { FAST_INPUT_MAX_BYTES, HYPERCALL_INPUT_ALIGNMENT } from "../abi/hypercall-input.js";
import { outcomeReps, outcomeStatus, packOutcome } from "../abi/hypercall-result.js";
import { Machine } from "../state/machine.js";
import { HANDLER_TABLE } from "./handler-table.js";
import { HypercallFrame } from "./hypercall-frame.js";
import type { HypercallRow } from "./hypercall-row.js";
import { RegisteredRow } from "./registered-row.js";

const CALL_CODE_COUNT = CONTROL_CALL_CODE_MASK + 1;
const ALIGNMENT_MASK = HYPERCALL_INPUT_ALIGNMENT - 1;

/** The generic steps of every call's check order (docs/hypercall-abi.md §6). */
export const GenericStep = {
  CallCode: 1,
  ControlValue: 2,
  Privilege: 3,
  Fetch: 4,
} as const;

/**
 * The generic hypercall layer (docs/hypercall-abi.md §6): steps 1-4 of every call's check order,
 * sequenced once in `prepare` — call code, control value, privilege, input and output fetch —
 * then the row's handler, then the output block back into guest memory. Everything the per-call
 * API, the batch runner and the trace engine run goes through here. Allocation-free per call: the
 * input and output live in one reused {@link HypercallFrame}.
 *
 * A Dispatcher is not reentrant: use one per thread.
 */
export class Dispatcher {
  readonly machine: Machine;
  /** The call in flight, and after it the last call (read by explanations). */
  readonly frame = new HypercallFrame();
  /**
   * Call code -> position in `rows` (0: not implemented). A zero-filled typed array costs next to
   * nothing to create, unlike a 65,536-slot JS array.
   */
  private readonly rowOfCallCode = new Uint16Array(CALL_CODE_COUNT);
  private readonly rows: (RegisteredRow | undefined)[] = [undefined];
  private readonly vpPartition: Int32Array;
  private readonly partitionCount: number;

  constructor(machine: Machine, table: readonly HypercallRow[] = HANDLER_TABLE) {
    if (!(machine instanceof Machine))
      throw new TypeError("Dispatcher: expected a Machine (from loadMachine)");
    this.machine = machine;
    this.vpPartition = machine.tables.vpPartition;
    this.partitionCount = machine.partitionCount;
    for (const row of table) {
      const registered = new RegisteredRow(row); // checks the declaration, its call code included
      if (this.rowOfCallCode[row.callCode] !== 0) {
        throw new RangeError(`two handlers for call code 0x${row.callCode.toString(16)}`);
      }
      this.rowOfCallCode[row.callCode] = this.rows.length;
      this.rows.push(registered);
    }
  }

  /** The row for a call code, or undefined when the dispatcher does not implement it. */
  row(callCode: number): RegisteredRow | undefined {
    const i = this.rowOfCallCode[callCode & CONTROL_CALL_CODE_MASK]!;
    return i === 0 ? undefined : this.rows[i];
  }

  /** The row at an index `prepare` returned (or frame.rowIndex names). */
  rowAt(index: number): RegisteredRow | undefined {
    return index === 0 ? undefined : this.rows[index];
  }

  /** Every implemented row, in table order. */
  get registeredRows(): readonly RegisteredRow[] {
    return this.rows.slice(1) as RegisteredRow[];
  }

  /**
   * Steps 1-4 for one call, all 64-bit values as u32 halves (u32 or the int32 with the same bits):
   * the row's index (> 0) when the handler may run, with the input fetched into the frame; or the
   * failing outcome (the status; for a rep call failing step 4 also the reps completed, its rep
   * start index), negated. `frame.step` says which step decided.
   */
  prepare(
    callerSlot: number,
    vpSlot: number,
    controlLo: number,
    controlHi: number,
    rdxLo: number,
    rdxHi: number,
    r8Lo: number,
    r8Hi: number,
  ): number {
    // Host precondition, checked cheaply: the slots name a partition and one of its VPs.
    if (!(callerSlot >>> 0 < this.partitionCount) || this.vpPartition[vpSlot] !== callerSlot) {
      throw new RangeError(
        `dispatch: caller slot ${callerSlot} / VP slot ${vpSlot} do not name a partition and one of its VPs (get them from machine.requirePartition / requireVp)`,
      );
    }
    const f = this.frame;
    f.callerSlot = callerSlot;
    f.vpSlot = vpSlot;
    f.controlLo = controlLo;
    f.controlHi = controlHi;
    f.rdxLo = rdxLo;
    f.rdxHi = rdxHi;
    f.r8Lo = r8Lo;
    f.r8Hi = r8Hi;
    f.repCount = 0;
    f.repStart = 0;
    f.variableHeaderBytes = 0;
    f.note = 0;

    // 1. The call code must be implemented.
    const index = this.rowOfCallCode[controlLo & CONTROL_CALL_CODE_MASK]!;
    f.rowIndex = index;
    f.step = GenericStep.CallCode;
    if (index === 0) return -HvStatus.INVALID_HYPERCALL_CODE;
    const row = this.rows[index]!;

    // 2. The control value sets only what the row allows; a rep call's rep fields make sense;
    // a fast call's input fits its registers.
    f.step = GenericStep.ControlValue;
    if ((controlLo & ~row.controlLoAllowed) !== 0 || (controlHi & ~row.controlHiAllowed) !== 0) {
      return -HvStatus.INVALID_HYPERCALL_INPUT;
    }
    const units = (controlLo >>> CONTROL_VARIABLE_HEADER_SHIFT) & CONTROL_VARIABLE_HEADER_MASK;
    let reps = 0;
    if (row.isRep) {
      reps = controlHi & CONTROL_REP_COUNT_MASK;
      const start = (controlHi >>> CONTROL_REP_START_SHIFT) & CONTROL_REP_START_MASK;
      if (reps === 0 || start >= reps) return -HvStatus.INVALID_HYPERCALL_INPUT;
      f.repCount = reps;
      f.repStart = start;
    }
    f.variableHeaderBytes = units * VARIABLE_HEADER_UNIT_BYTES;
    const inputSize = row.inputBytesFor(units, reps);
    f.inputSize = inputSize;
    f.outputSize = row.outputBytesFor(reps);
    const fast = (controlLo & CONTROL_FAST_BIT) !== 0;
    if (fast && inputSize > FAST_INPUT_MAX_BYTES) return -HvStatus.INVALID_HYPERCALL_INPUT;

    // 3. The caller holds the call's privilege.
    f.step = GenericStep.Privilege;
    const t = this.machine.tables;
    const held = row.privilegeHigh ? t.privilegeHi[callerSlot]! : t.privilegeLo[callerSlot]!;
    if ((held & row.privilegeMask) === 0) return -HvStatus.ACCESS_DENIED;

    // 4. The input: the registers of a fast call, or the block at the input GPA; the output
    // block's GPA (R8) must be usable too.
    f.step = GenericStep.Fetch;
    if (fast) {
      const words = f.input;
      words[0] = rdxLo;
      words[1] = rdxHi;
      words[2] = r8Lo;
      words[3] = r8Hi;
      return index;
    }
    if (
      !this.fetchMemory(callerSlot, inputSize, rdxLo, rdxHi) ||
      (f.outputSize !== 0 && this.outputPage(callerSlot, f.outputSize, r8Lo, r8Hi) === undefined)
    ) {
      // A rep call's reps completed count from its start index: none of its elements ran.
      return -packOutcome(HvStatus.INVALID_ALIGNMENT, f.repStart);
    }
    return index;
  }

  /**
   * One hypercall. RDX and R8 are the input registers of a fast call, or the input and output
   * GPAs of a memory call. Returns the outcome: the HV_STATUS in bits 15:0 and the reps completed
   * from bit 16 (see packOutcome) — for a simple call, the status itself.
   *
   * `callerSlot` and `vpSlot` must name a partition and one of its VPs (Machine.requireVp); a
   * RangeError otherwise. Everything else is guest-controlled and never throws.
   */
  dispatch(
    callerSlot: number,
    vpSlot: number,
    controlLo: number,
    controlHi: number,
    rdxLo: number,
    rdxHi: number,
    r8Lo = 0,
    r8Hi = 0,
  ): number {
    const prepared = this.prepare(
      callerSlot,
      vpSlot,
      controlLo,
      controlHi,
      rdxLo,
      rdxHi,
      r8Lo,
      r8Hi,
    );
    const f = this.frame;
    if (prepared < 0) {
      f.outcome = -prepared;
      return -prepared;
    }
    const row = this.rows[prepared]!;
    const outcome = row.row.execute(this.machine, f);
    if (f.outputSize !== 0) this.writeOutput(row, outcome);
    f.outcome = outcome;
    return outcome;
  }

  /** Copies `size` bytes at the GPA into the frame's input; false when misaligned, split or unbacked. */
  private fetchMemory(callerSlot: number, size: number, gpaLo: number, gpaHi: number): boolean {
    if ((gpaLo & ALIGNMENT_MASK) !== 0) return false;
    const offset = gpaLo & HV_PAGE_OFFSET_MASK;
    if (offset + size > HV_PAGE_SIZE) return false;
    const page = this.machine.memory[callerSlot]!.pageAt(gpaLo, gpaHi);
    if (page === undefined) return false;
    // A byte loop, not set(subarray()): no view is allocated per call.
    const input = this.frame.inputBytes;
    for (let i = 0; i < size; i++) input[i] = page[offset + i]!;
    return true;
  }

  /** The page an output block of `size` bytes at the GPA lands in, or undefined. */
  private outputPage(
    callerSlot: number,
    size: number,
    gpaLo: number,
    gpaHi: number,
  ): Uint8Array | undefined {
    if ((gpaLo & ALIGNMENT_MASK) !== 0) return undefined;
    if ((gpaLo & HV_PAGE_OFFSET_MASK) + size > HV_PAGE_SIZE) return undefined;
    return this.machine.memory[callerSlot]!.pageAt(gpaLo, gpaHi);
  }

  /**
   * The output back into guest memory at R8: a simple call's block when it succeeded; for a rep
   * call the elements it completed, from the rep start index on.
   */
  private writeOutput(row: RegisteredRow, outcome: number): void {
    const f = this.frame;
    let from = 0;
    let to = f.outputSize;
    if (row.isRep) {
      from = f.repStart * row.outputSize;
      to = Math.max(from, outcomeReps(outcome) * row.outputSize);
    } else if (outcomeStatus(outcome) !== HvStatus.SUCCESS) {
      return;
    }
    const page = this.outputPage(f.callerSlot, f.outputSize, f.r8Lo, f.r8Hi);
    if (page === undefined) return;
    const offset = f.r8Lo & HV_PAGE_OFFSET_MASK;
    const output = f.outputBytes;
    for (let i = from; i < to; i++) page[offset + i] = output[i]!;
  }
}
