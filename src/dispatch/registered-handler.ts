import { HV_PAGE_SIZE } from "../abi/hv-page.js";
import {
  CONTROL_CALL_CODE_MASK,
  CONTROL_FAST_BIT,
  CONTROL_REP_COUNT_MASK,
  CONTROL_REP_START_MASK,
  CONTROL_REP_START_SHIFT,
  CONTROL_VARIABLE_HEADER_MASK,
  CONTROL_VARIABLE_HEADER_SHIFT,
} from "../abi/hypercall-control.js";
import { FAST_INPUT_MAX_BYTES, HYPERCALL_INPUT_ALIGNMENT } from "../abi/hypercall-input.js";
import type { HypercallHandler } from "./hypercall-handler.js";

const BITS_PER_WORD = 32;

/**
 * A table row compiled for the hot path: the control-value bits the row allows, as masks over the
 * two halves, and the privilege bit as (word, mask).
 */
export class RegisteredHandler {
  readonly handler: HypercallHandler;
  /** Control bits 31:0 the call may set. */
  readonly controlLoAllowed: number;
  /** Control bits 63:32 the call may set. */
  readonly controlHiAllowed: number;
  /** 0: privilege bit in mask bits 31:0; 1: in bits 63:32. */
  readonly privilegeHigh: boolean;
  readonly privilegeMask: number;

  constructor(handler: HypercallHandler) {
    if (
      !Number.isInteger(handler.callCode) ||
      handler.callCode < 0 ||
      handler.callCode > CONTROL_CALL_CODE_MASK
    ) {
      throw new RangeError(`${handler.name}: call code ${handler.callCode} is not a u16`);
    }
    if (
      handler.inputSize < 0 ||
      handler.inputSize % HYPERCALL_INPUT_ALIGNMENT !== 0 ||
      handler.inputSize > HV_PAGE_SIZE
    ) {
      throw new RangeError(
        `${handler.name}: input size ${handler.inputSize} is not a multiple of 8 within a page`,
      );
    }
    if (handler.fastAllowed && handler.inputSize > FAST_INPUT_MAX_BYTES) {
      throw new RangeError(
        `${handler.name}: a fast call carries at most ${FAST_INPUT_MAX_BYTES} input bytes`,
      );
    }
    this.handler = handler;
    this.controlLoAllowed =
      (CONTROL_CALL_CODE_MASK |
        (handler.fastAllowed ? CONTROL_FAST_BIT : 0) |
        (handler.variableHeaderAllowed
          ? CONTROL_VARIABLE_HEADER_MASK << CONTROL_VARIABLE_HEADER_SHIFT
          : 0)) >>>
      0;
    this.controlHiAllowed =
      handler.kind === "rep"
        ? (CONTROL_REP_COUNT_MASK | (CONTROL_REP_START_MASK << CONTROL_REP_START_SHIFT)) >>> 0
        : 0;
    this.privilegeHigh = handler.requiredPrivilege >= BITS_PER_WORD;
    this.privilegeMask = (1 << (handler.requiredPrivilege % BITS_PER_WORD)) >>> 0;
  }
}
