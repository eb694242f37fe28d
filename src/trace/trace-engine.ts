import { hvStatusName } from "../abi/hv-status.js";
import { outcomeStatus, resultHi, resultLo } from "../abi/hypercall-result.js";
import type { Dispatcher } from "../dispatch/dispatcher.js";
import { explainLastCall } from "../dispatch/explain.js";
import type { Machine } from "../state/machine.js";
import { rescanMessages } from "../state/message-queues.js";
import { guestReadMsrInto, guestWriteMsr, type MsrValue } from "../state/synic-msr-access.js";
import {
  actsAsVp,
  NOT_GIVEN,
  READ_MAX_BYTES,
  TraceError,
  type TraceOp,
  TraceOpCode,
} from "./trace-op.js";

/** The partition and VP an op uses when it names none (--caller, --vp). */
export interface TraceDefaults {
  readonly partition: number;
  readonly vp: number;
}

/** Where an op sits (a line, a binary record, a fixture path), named in a TraceError. */
export interface TracePlace {
  readonly where: string;
}

/** What one op did: a hypercall's outcome, or a guest action's outcome (reused per op). */
export class TraceResult {
  code = 0;
  /** hypercall: the outcome (status | reps << 16) and the result value's halves. */
  outcome = 0;
  resultLo = 0;
  resultHi = 0;
  /** write / read / wrmsr / rdmsr / eoi. */
  action: "ok" | "unbacked" | "#GP" = "ok";
  /** read: the bytes are readBuffer[0, readLength) when ok (the buffer is reused per op). */
  readonly readBuffer = new Uint8Array(READ_MAX_BYTES);
  readLength = 0;
  /** rdmsr: the value. */
  valueLo = 0;
  valueHi = 0;
  /** With explain, for a hypercall. */
  check = "";
  why = "";

  /** A read's bytes (a view, made when asked), or undefined for another op or an unbacked read. */
  get bytes(): Uint8Array | undefined {
    return this.code === TraceOpCode.read && this.action === "ok"
      ? this.readBuffer.subarray(0, this.readLength)
      : undefined;
  }

  get statusName(): string {
    return hvStatusName(outcomeStatus(this.outcome));
  }
}

/**
 * Runs guest trace ops against a machine (docs/cli.md §5, docs/synic.md §6): hypercalls
 * through the dispatcher, the guest actions through the machine's guest paths. An op naming a
 * partition or VP the machine does not have is host misuse: a TraceError, before anything runs
 * for that op (`check` finds it without running anything).
 */
export class TraceEngine {
  constructor(
    readonly machine: Machine,
    readonly dispatcher: Dispatcher,
    private readonly defaults: TraceDefaults,
    private readonly explain = false,
  ) {}

  /** The slots resolve() found: the partition, and the VP (-1 for a write or read naming none). */
  private partitionSlot = 0;
  private readonly msrValue: MsrValue = { lo: 0, hi: 0 };
  private vpSlot = -1;

  /**
   * Finds the partition and VP slots an op acts on (kept for run()). Throws a TraceError naming
   * `at.where` — read only then, so a place can build its text lazily.
   */
  resolve(op: TraceOp, at: TracePlace): void {
    const m = this.machine;
    const id = op.partition === NOT_GIVEN ? this.defaults.partition : op.partition;
    const p = m.partitionSlot(id);
    if (p < 0) {
      throw new TraceError(
        at.where,
        op.partition === NOT_GIVEN ? "partition (--caller)" : "partition",
        `no partition with id ${id} in the scenario`,
      );
    }
    this.partitionSlot = p;
    this.vpSlot = -1;
    if (!actsAsVp(op.code) && op.vp === NOT_GIVEN) return;
    const index = op.vp === NOT_GIVEN ? this.defaults.vp : op.vp;
    const v = m.vpSlot(p, index);
    if (v < 0) {
      const field = op.vp === NOT_GIVEN ? "vp (--vp)" : "vp";
      throw new TraceError(at.where, field, `partition ${id} has no VP with index ${index}`);
    }
    this.vpSlot = v;
  }

  /** Runs one op; the result goes to `out`. */
  run(op: TraceOp, at: TracePlace, out: TraceResult): void {
    this.resolve(op, at);
    const p = this.partitionSlot;
    const v = this.vpSlot;
    const m = this.machine;
    out.code = op.code;
    out.action = "ok";
    switch (op.code) {
      case TraceOpCode.hypercall: {
        const outcome = this.dispatcher.dispatch(
          p,
          v,
          op.controlLo,
          op.controlHi,
          op.rdxLo,
          op.rdxHi,
          op.r8Lo,
          op.r8Hi,
        );
        out.outcome = outcome;
        out.resultLo = resultLo(outcome);
        out.resultHi = resultHi(outcome);
        if (this.explain) {
          const e = explainLastCall(this.dispatcher);
          out.check = e.check;
          out.why = e.why;
        }
        return;
      }
      case TraceOpCode.write:
        out.action = m.memory[p]!.writeAt(op.gpaLo, op.gpaHi, op.data, op.dataOffset, op.length)
          ? "ok"
          : "unbacked";
        return;
      case TraceOpCode.read:
        out.readLength = op.length;
        out.action = m.memory[p]!.readInto(op.gpaLo, op.gpaHi, op.length, out.readBuffer)
          ? "ok"
          : "unbacked";
        return;
      case TraceOpCode.wrmsr:
        out.action = guestWriteMsr(m, v, op.msr, op.valueLo, op.valueHi);
        return;
      case TraceOpCode.rdmsr:
        if (!guestReadMsrInto(m, v, op.msr, this.msrValue)) out.action = "#GP";
        else {
          out.valueLo = this.msrValue.lo;
          out.valueHi = this.msrValue.hi;
        }
        return;
      default:
        rescanMessages(m, v);
    }
  }
}
