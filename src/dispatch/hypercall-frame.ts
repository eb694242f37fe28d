import { HV_PAGE_SIZE } from "../abi/hv-page.js";

/**
 * One hypercall in flight: what the generic layer fetched and decided, reused from call to call
 * (one per Dispatcher, so nothing is allocated per call). A handler reads its input from `input`
 * and writes its output to `output`; both are one page, as bytes and as u32 words over the same
 * memory.
 */
export class HypercallFrame {
  callerSlot = 0;
  vpSlot = 0;
  controlLo = 0;
  controlHi = 0;
  /** RDX and R8 as u32 halves. */
  rdxLo = 0;
  rdxHi = 0;
  r8Lo = 0;
  r8Hi = 0;
  /** The call's rep count and rep start index (0 for a simple call). */
  repCount = 0;
  repStart = 0;
  /** Bytes of variable header after the fixed input block. */
  variableHeaderBytes = 0;
  /** Bytes of input fetched and of output to write back. */
  inputSize = 0;
  outputSize = 0;
  /** The row that ran (its index in the dispatcher), 0 when the call code is not implemented. */
  rowIndex = 0;
  /** The step of the normative order that decided the call (1-4 generic, then the call's own). */
  step = 0;
  /** The outcome dispatch returned (status | reps << 16). */
  outcome = 0;
  /** Scratch a handler may fill for its explanation (e.g. the VP slot a flag went to). */
  note = 0;
  readonly inputBytes = new Uint8Array(HV_PAGE_SIZE);
  readonly input = new Uint32Array(this.inputBytes.buffer);
  readonly outputBytes = new Uint8Array(HV_PAGE_SIZE);
  readonly output = new Uint32Array(this.outputBytes.buffer);
}
