import { HV_PAGE_SIZE } from "../abi/hv-page.js";
import {
  allowedControlBits,
  CONTROL_CALL_CODE_MASK,
  VARIABLE_HEADER_UNIT_BYTES,
} from "../abi/hypercall-control.js";
import { FAST_INPUT_MAX_BYTES, HYPERCALL_INPUT_ALIGNMENT } from "../abi/hypercall-input.js";
import type { HypercallRow } from "./hypercall-row.js";

const BITS_PER_WORD = 32;
const PRIVILEGE_BITS = 64;

/**
 * A table row compiled for the hot path: the control-value bits the row allows, as masks over the
 * two halves (derived from the control value's field table), the privilege bit as (half, mask),
 * and the sizes of its blocks. Constructing one checks the declaration (host code): a bad row is a
 * RangeError when the dispatcher is built, never a guest-visible surprise.
 */
export class RegisteredRow {
  readonly row: HypercallRow;
  /** Control bits 31:0 and 63:32 the call may set. */
  readonly controlLoAllowed: number;
  readonly controlHiAllowed: number;
  /** The privilege bit is in mask bits 63:32 (else 31:0), and its mask in that half. */
  readonly privilegeHigh: boolean;
  readonly privilegeMask: number;
  readonly isRep: boolean;
  /** Bytes of the fixed input, of one rep input element, of the output (one rep element). */
  readonly inputSize: number;
  readonly repInputSize: number;
  readonly outputSize: number;

  constructor(row: HypercallRow) {
    const name = row.name;
    if (
      !(
        Number.isInteger(row.callCode) &&
        row.callCode >= 0 &&
        row.callCode <= CONTROL_CALL_CODE_MASK
      )
    ) {
      throw new RangeError(`${name}: call code ${row.callCode} is not a u16`);
    }
    if (
      !(
        Number.isInteger(row.requiredPrivilege) &&
        row.requiredPrivilege >= 0 &&
        row.requiredPrivilege < PRIVILEGE_BITS
      )
    ) {
      throw new RangeError(
        `${name}: required privilege ${row.requiredPrivilege} is not a bit 0..63`,
      );
    }
    const sizes = [row.input.size, row.repInput?.size ?? 0, row.output?.size ?? 0];
    for (const size of sizes) {
      if (size % HYPERCALL_INPUT_ALIGNMENT !== 0 || size > HV_PAGE_SIZE) {
        throw new RangeError(`${name}: block size ${size} is not a multiple of 8 within a page`);
      }
    }
    if (row.kind !== "rep" && row.repInput !== undefined) {
      throw new RangeError(`${name}: a simple call has no rep input list`);
    }
    if (row.fastAllowed && row.output !== undefined) {
      throw new RangeError(`${name}: a fast call has no output block (docs/hypercall-abi.md §4)`);
    }
    if (row.fastAllowed && row.input.size > FAST_INPUT_MAX_BYTES) {
      throw new RangeError(
        `${name}: a fast call carries at most ${FAST_INPUT_MAX_BYTES} input bytes`,
      );
    }
    this.row = row;
    const allowed = allowedControlBits(row);
    this.controlLoAllowed = allowed.lo;
    this.controlHiAllowed = allowed.hi;
    this.privilegeHigh = row.requiredPrivilege >= BITS_PER_WORD;
    this.privilegeMask = (1 << (row.requiredPrivilege % BITS_PER_WORD)) >>> 0;
    this.isRep = row.kind === "rep";
    this.inputSize = row.input.size;
    this.repInputSize = row.repInput?.size ?? 0;
    this.outputSize = row.output?.size ?? 0;
  }

  /** Total input bytes of a call: fixed block, variable header, rep list. */
  inputBytesFor(variableHeaderUnits: number, repCount: number): number {
    return (
      this.inputSize +
      variableHeaderUnits * VARIABLE_HEADER_UNIT_BYTES +
      repCount * this.repInputSize
    );
  }

  /** Output bytes of a call: the block, or one element per rep. */
  outputBytesFor(repCount: number): number {
    return this.isRep ? repCount * this.outputSize : this.outputSize;
  }
}
