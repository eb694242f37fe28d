/**
 * The assertion listener a fuzz case may put on the real machine (host code, see ListenerMode),
 * and the model's side of it: what the listener did for each event interrupt, the model does after
 * the same call. The listener must be told of exactly the event interrupts the model asserts, in
 * order, and a listener that throws must have every error reach onError.
 */
import type { Machine } from "../../src/state/machine.js";
import type { ModelLine, TraceModel } from "../model/trace-model.js";
import { hex } from "./scenario-arb.js";
import type { ListenerMode, TraceOpJson } from "./scenario-types.js";

/** What the listener did for one event interrupt. */
type HeardEvent =
  | { kind: "none" }
  | { kind: "wrmsr"; op: TraceOpJson }
  | { kind: "active"; partition: number }
  | { kind: "mask"; partition: number; mask: bigint };

const SINT0 = 0x40000090;
const MASKED = 0x10000n;
const SIGNAL_EVENTS = 1n << 37n;

export class ListenerTap {
  /** The partition issuing the hypercall in flight ("revoke" acts on it). */
  caller = 0;
  private readonly heard: HeardEvent[] = [];
  private errors = 0;
  private calls = 0;

  constructor(
    private readonly machine: Machine,
    readonly mode: ListenerMode,
  ) {
    if (mode !== "none")
      machine.onSintAsserted(
        (...a) => this.told(...a),
        () => this.errors++,
      );
  }

  private told(partition: number, vp: number, sint: number, _vector: number, source: string): void {
    const m = this.machine;
    this.calls++;
    if (this.mode === "throw") throw new Error("a listener that throws");
    if (source !== "event") return;
    if (this.mode === "mask") {
      const msr = SINT0 + sint;
      const value = m.readMsr(partition, vp, msr) | MASKED;
      m.writeMsr(partition, vp, msr, value);
      this.heard.push({
        kind: "wrmsr",
        op: { op: "wrmsr", partition, vp, msr: hex(msr), value: hex(value) },
      });
    } else if (this.mode === "deactivate") {
      m.setPartitionActive(partition, false);
      this.heard.push({ kind: "active", partition });
    } else if (this.mode === "revoke") {
      const mask = m.privilegeMask(this.caller) & ~SIGNAL_EVENTS;
      m.setPrivilegeMask(this.caller, mask);
      this.heard.push({ kind: "mask", partition: this.caller, mask });
    } else {
      this.heard.push({ kind: "none" });
    }
  }

  /** The model's side, after a hypercall line of the model; `where` names the step. */
  mirror(
    line: ModelLine,
    model: TraceModel,
    defaults: { partition: number; vp: number },
    where: string,
  ): void {
    if (this.mode === "none" || this.mode === "throw") return;
    if (line.detail !== "signal-event.11:set") return;
    const e = this.heard.shift();
    if (e === undefined)
      throw new Error(
        `${where}: the model asserted an event interrupt the listener was not told of`,
      );
    if (e.kind === "wrmsr") model.step(e.op, -1, defaults);
    else if (e.kind === "active") model.setPartitionActive(e.partition, false);
    else if (e.kind === "mask") model.setPrivilegeMask(e.partition, e.mask);
  }

  /** At a state check: nothing left over, and every error of a throwing listener reached onError. */
  check(when: string): void {
    if (this.heard.length > 0) {
      throw new Error(
        `${when}: the listener was told of ${this.heard.length} event interrupt(s) the model did not assert`,
      );
    }
    if (this.errors !== (this.mode === "throw" ? this.calls : 0)) {
      throw new Error(
        `${when}: ${this.errors} listener errors reached onError, of ${this.calls} calls`,
      );
    }
  }
}
