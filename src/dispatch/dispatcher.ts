import { HV_PAGE_OFFSET_MASK, HV_PAGE_SIZE } from "../abi/hv-page.js";
import { HvStatus } from "../abi/hv-status.js";
import { CONTROL_CALL_CODE_MASK, CONTROL_FAST_BIT } from "../abi/hypercall-control.js";
import { HYPERCALL_INPUT_ALIGNMENT } from "../abi/hypercall-input.js";
import type { Machine } from "../state/machine.js";
import { HANDLER_TABLE } from "./handler-table.js";
import type { HypercallHandler } from "./hypercall-handler.js";
import { RegisteredHandler } from "./registered-handler.js";

const CALL_CODE_COUNT = CONTROL_CALL_CODE_MASK + 1;
const ALIGNMENT_MASK = HYPERCALL_INPUT_ALIGNMENT - 1;

/**
 * The generic hypercall layer: validates the control value, checks the caller's privilege, fetches
 * the input (from the register halves of a fast call, or from the caller's guest memory) and routes
 * the call code to its handler. Allocation-free per call: the input is copied into one scratch
 * buffer owned by the dispatcher.
 *
 * A Dispatcher is not reentrant: use one per thread.
 */
export class Dispatcher {
  readonly machine: Machine;
  /**
   * Call code -> position in `rows` (0: not implemented). A zero-filled typed array costs next to
   * nothing to create, unlike a 65,536-slot JS array; `rows` holds one entry per registered call.
   */
  private readonly rowOfCallCode = new Uint16Array(CALL_CODE_COUNT);
  private readonly rows: (RegisteredHandler | undefined)[] = [undefined];
  /** Scratch input block: one page, as bytes and as u32 words over the same memory. */
  readonly inputBytes = new Uint8Array(HV_PAGE_SIZE);
  readonly inputWords = new Uint32Array(this.inputBytes.buffer);
  /** The registered row of the last dispatched call code (undefined when not implemented). */
  lastRow: RegisteredHandler | undefined;

  constructor(machine: Machine, handlers: readonly HypercallHandler[] = HANDLER_TABLE) {
    this.machine = machine;
    for (const h of handlers) {
      const row = new RegisteredHandler(h); // validates the row, its call code included
      if (this.rowOfCallCode[h.callCode] !== 0) {
        throw new RangeError(`two handlers for call code 0x${h.callCode.toString(16)}`);
      }
      this.rowOfCallCode[h.callCode] = this.rows.length;
      this.rows.push(row);
    }
  }

  /** The handler row for a call code, or undefined when the dispatcher does not implement it. */
  row(callCode: number): RegisteredHandler | undefined {
    return this.rows[this.rowOfCallCode[callCode & CONTROL_CALL_CODE_MASK]!];
  }

  /**
   * Steps 1-3 of the check order, on the control value alone and the caller's privileges: the
   * status the call gets before any input is looked at, or SUCCESS when it may proceed.
   */
  checkControl(callerSlot: number, controlLo: number, controlHi: number): number {
    const row = this.rows[this.rowOfCallCode[controlLo & CONTROL_CALL_CODE_MASK]!];
    this.lastRow = row;
    if (row === undefined) return HvStatus.INVALID_HYPERCALL_CODE;
    if ((controlLo & ~row.controlLoAllowed) !== 0 || (controlHi & ~row.controlHiAllowed) !== 0) {
      return HvStatus.INVALID_HYPERCALL_INPUT;
    }
    const t = this.machine.tables;
    const held = row.privilegeHigh ? t.privilegeHi[callerSlot]! : t.privilegeLo[callerSlot]!;
    if ((held & row.privilegeMask) === 0) return HvStatus.ACCESS_DENIED;
    return HvStatus.SUCCESS;
  }

  /**
   * Step 4 for a memory call: copies the input block at the GPA (halves) into the scratch buffer.
   * SUCCESS, or INVALID_ALIGNMENT when the GPA is misaligned, the block crosses a page, or the page
   * is not backed.
   */
  fetchMemoryInput(callerSlot: number, size: number, gpaLo: number, gpaHi: number): number {
    if ((gpaLo & ALIGNMENT_MASK) !== 0) return HvStatus.INVALID_ALIGNMENT;
    const offset = gpaLo & HV_PAGE_OFFSET_MASK;
    if (offset + size > HV_PAGE_SIZE) return HvStatus.INVALID_ALIGNMENT;
    const page = this.machine.memory[callerSlot]!.pageAt(gpaLo, gpaHi);
    if (page === undefined) return HvStatus.INVALID_ALIGNMENT;
    // A byte loop, not set(subarray()): no view is allocated per call.
    const input = this.inputBytes;
    for (let i = 0; i < size; i++) input[i] = page[offset + i]!;
    return HvStatus.SUCCESS;
  }

  /**
   * One hypercall, all 64-bit values as u32 halves. `inputLo/inputHi` is the first input register
   * (RDX): the input block itself for a fast call, the input GPA for a memory call; `input2Lo/Hi`
   * is the second (R8), for fast calls with 16 bytes of input. Returns the HV_STATUS; the result
   * value is (status, reps completed 0) for every simple call.
   *
   * `callerSlot` and `vpSlot` must be valid slots (the host checks them once, see
   * Machine.requireVp); everything else is guest-controlled and never throws. Only the bits of a
   * half count: it may be given as a u32 or as the int32 with the same bits (`x | 0`).
   */
  dispatch(
    callerSlot: number,
    vpSlot: number,
    controlLo: number,
    controlHi: number,
    inputLo: number,
    inputHi: number,
    input2Lo = 0,
    input2Hi = 0,
  ): number {
    const status = this.checkControl(callerSlot, controlLo, controlHi);
    if (status !== HvStatus.SUCCESS) return status;
    const row = this.lastRow!;
    const fetched = this.fetchInput(
      callerSlot,
      row,
      controlLo,
      inputLo,
      inputHi,
      input2Lo,
      input2Hi,
    );
    if (fetched !== HvStatus.SUCCESS) return fetched;
    return row.handler.execute(this.machine, callerSlot, vpSlot, this.inputWords);
  }

  /**
   * Step 4: puts the input block into the scratch buffer, from the registers of a fast call or from
   * guest memory at the GPA of a memory call.
   */
  fetchInput(
    callerSlot: number,
    row: RegisteredHandler,
    controlLo: number,
    inputLo: number,
    inputHi: number,
    input2Lo: number,
    input2Hi: number,
  ): number {
    if ((controlLo & CONTROL_FAST_BIT) !== 0) {
      const words = this.inputWords;
      words[0] = inputLo;
      words[1] = inputHi;
      words[2] = input2Lo;
      words[3] = input2Hi;
      return HvStatus.SUCCESS;
    }
    return this.fetchMemoryInput(callerSlot, row.handler.inputSize, inputLo, inputHi);
  }
}
