/**
 * Turns generated step specs (op-arb.ts) into trace steps against a scenario. The resolver keeps
 * a shadow of what the trace has written to every VP's SCONTROL / SIEFP / SIMP / SINT registers
 * (synic.md §1: stored as written; an unmasked SINT with a vector below 16 is refused), so that an
 * op aimed at "the caller's SIM slot of a SINT a port targets" lands at that slot's GPA where the
 * page is now. The shadow only aims ops: nothing is checked against it.
 */
import type {
  ConnSpec,
  GpaSpec,
  InputCommon,
  OpSpec,
  PostSpec,
  SignalSpec,
  SintPick,
  SlotPick,
  StepSpec,
  Who,
} from "./op-arb.js";
import {
  bytesHex,
  controlValue,
  FAST,
  flagNumber,
  hostSteps,
  le,
  MSR_EOM,
  MSR_SCONTROL,
  MSR_SIEFP,
  MSR_SIMP,
  MSR_SINT0,
  maskOf,
  msrWrite,
  type PartitionView,
  POST_MESSAGE,
  payloadOf,
  SIGNAL_EVENT,
  type VpRegs,
} from "./resolve-parts.js";
import { hex, offScratch, PAGE, RAM_GPA } from "./scenario-arb.js";
import type { ScenarioFile, ScenarioPort, Step, TraceCase, TraceOpJson } from "./scenario-types.js";

/** The default caller of a scenario: the first partition (it always has a VP) and its first VP. */
export function defaultsOf(scenario: ScenarioFile): { caller: number; vp: number } {
  const first = scenario.partitions[0]!;
  return { caller: first.id, vp: first.vps![0]!.index };
}

export class Resolver {
  private readonly parts: PartitionView[];
  private readonly callers: PartitionView[];

  constructor(
    scenario: ScenarioFile,
    private readonly defaults: { caller: number; vp: number },
  ) {
    this.parts = scenario.partitions.map((p) => ({
      id: p.id,
      vps: [...(p.vps ?? [])]
        .sort((a, b) => a.index - b.index)
        .map((v) => ({
          index: v.index,
          scontrol: BigInt(v.scontrol ?? "0x0"),
          siefp: BigInt(v.siefp ?? "0x0"),
          simp: BigInt(v.simp ?? "0x0"),
          sints: Array.from({ length: 16 }, (_, s) => BigInt(v.sints?.[String(s)] ?? "0x10000")),
        })),
      ports: p.ports ?? [],
      connections: p.connections ?? [],
      mask: p.privilegeMask !== undefined ? BigInt(p.privilegeMask) : maskOf(p.privileges ?? []),
    }));
    this.callers = this.parts.filter((p) => p.vps.length > 0);
  }

  resolve(spec: StepSpec): Step[] {
    if (spec.kind === "host") return hostSteps(this.parts, spec.host);
    return this.op(spec).map(
      (s): Step => ("kind" in s ? s : { kind: "op", op: s, front: "engine" }),
    );
  }

  // ---- who, and the fields an op names ---------------------------------------------------------

  who(w: Who): { p: PartitionView; vp: VpRegs } {
    const p = this.callers[w.partitionPick % this.callers.length]!;
    return { p, vp: p.vps[w.vpPick % p.vps.length]! };
  }

  /** `partition` and `vp` as an op carries them: left out when they are the defaults. */
  names(p: PartitionView, vp?: VpRegs): { partition?: number; vp?: number } {
    const out: { partition?: number; vp?: number } = {};
    if (p.id !== this.defaults.caller) out.partition = p.id;
    if (vp !== undefined && vp.index !== this.defaults.vp) out.vp = vp.index;
    return out;
  }

  private sint(p: PartitionView, pick: SintPick): number {
    if (pick.kind === "any") return pick.sint;
    const targeted = [...new Set(p.ports.map((q) => q.targetSint))];
    return targeted.length === 0 ? pick.pick % 16 : targeted[pick.pick % targeted.length]!;
  }

  /** A VP and SINT: named by `who`, or the target of a message port (else of any port). */
  private slot(pick: SlotPick): { p: PartitionView; vp: VpRegs; sint: number } {
    if (pick.kind === "who") {
      const { p, vp } = this.who(pick.who);
      return { p, vp, sint: this.sint(p, pick.sint) };
    }
    const all = this.callers.flatMap((p) => p.ports.map((port) => ({ p, port })));
    const messages = all.filter((x) => x.port.type === "message");
    const pool = messages.length > 0 ? messages : all;
    if (pool.length === 0) {
      const p = this.callers[0]!;
      return { p, vp: p.vps[0]!, sint: pick.pick % 16 };
    }
    const { p, port } = pool[pick.pick % pool.length]!;
    return {
      p,
      vp: p.vps.find((v) => v.index === port.targetVp) ?? p.vps[0]!,
      sint: port.targetSint,
    };
  }

  private connectionId(p: PartitionView, c: ConnSpec, type: ScenarioPort["type"]): number {
    if (c.kind === "typed") {
      const typed = p.connections.filter((x) => this.portBehind(p, x.id)?.type === type);
      const pool = typed.length > 0 ? typed : p.connections;
      if (pool.length > 0) return pool[c.pick % pool.length]!.id;
    }
    if (c.kind === "own" && p.connections.length > 0) {
      return p.connections[c.pick % p.connections.length]!.id;
    }
    if (c.kind === "other") {
      const others = this.parts
        .filter((q) => q !== p)
        .flatMap((q) => q.connections.map((x) => x.id));
      if (others.length > 0) return others[c.pick % others.length]!;
    }
    return c.kind === "random" ? c.value : c.pick % 0x1000000;
  }

  private portBehind(p: PartitionView, id: number): ScenarioPort | undefined {
    const conn = p.connections.find((c) => c.id === id);
    if (conn === undefined) return undefined;
    return this.parts
      .find((q) => q.id === conn.portPartition)
      ?.ports.find((q) => q.id === conn.portId);
  }

  pageGpa(msr: bigint): bigint {
    return offScratch((msr >> 12n) << 12n);
  }

  private gpa(g: GpaSpec, size: number, vp: VpRegs): bigint {
    const page = Number(PAGE);
    const slots = (page - size) / 8 + 1;
    switch (g.kind) {
      case "ram":
        return RAM_GPA + BigInt(g.page) * PAGE + BigInt((g.slot % slots) * 8);
      case "ram-end":
        return RAM_GPA + PAGE - BigInt(size);
      case "crossing":
        // Into the next RAM page: aligned for a 256-byte block, misaligned for an 8-byte one.
        return size > 8
          ? RAM_GPA + PAGE - BigInt(size) + BigInt(8 * ((g.back % (size / 8 - 1)) + 1))
          : RAM_GPA + PAGE - 8n + BigInt((g.back % 7) + 1);
      case "misaligned":
        return RAM_GPA + BigInt((g.slot % slots) * 8 + g.offset);
      case "overlay":
        return this.pageGpa(g.page === "sief" ? vp.siefp : vp.simp) + BigInt((g.slot % slots) * 8);
      case "unbacked":
        return offScratch(g.gpa);
    }
  }

  // ---- guest ops ---------------------------------------------------------------------------------

  private op(spec: OpSpec): (TraceOpJson | Step)[] {
    switch (spec.kind) {
      case "signal":
        return this.signal(spec);
      case "post":
        return this.post(spec);
      case "empty-slot": {
        const { p, vp, sint } = this.slot(spec.slot);
        const gpa = this.pageGpa(vp.simp) + BigInt(sint * 256);
        const out: TraceOpJson[] = [
          { op: "write", ...this.names(p), gpa: hex(gpa), hex: "00000000" },
        ];
        if (spec.after === "eom") out.push(this.wrmsr(p, vp, MSR_EOM, 0n));
        if (spec.after === "eoi") out.push({ op: "eoi", ...this.names(p, vp) });
        return out;
      }
      case "page-write": {
        const { p, vp } = this.who(spec.who);
        const base = this.pageGpa(spec.page === "sief" ? vp.siefp : vp.simp);
        const gpa = base + BigInt(this.sint(p, spec.sint) * 256 + spec.offset);
        return [{ op: "write", ...this.names(p), gpa: hex(gpa), hex: bytesHex(spec.bytes) }];
      }
      case "eom": {
        const { p, vp } = this.who(spec.who);
        return [this.wrmsr(p, vp, MSR_EOM, spec.value)];
      }
      case "eoi": {
        const { p, vp } = this.who(spec.who);
        return [{ op: "eoi", ...this.names(p, vp) }];
      }
      case "wrmsr": {
        const { p, vp } = this.who(spec.who);
        const sint = spec.change.reg === "sint" ? this.sint(p, spec.change.sint) : 0;
        const [msr, value] = msrWrite(p, vp, spec.change, spec.upper, sint);
        return [this.wrmsr(p, vp, msr, value)];
      }
      case "rdmsr": {
        const { p, vp } = this.who(spec.who);
        return [{ op: "rdmsr", ...this.names(p, vp), msr: hex(spec.msr) }];
      }
      case "read": {
        const { p, vp, sint } = this.slot(spec.slot);
        const s = BigInt(sint * 256);
        const gpa =
          spec.where === "sim-slot"
            ? this.pageGpa(vp.simp) + s
            : spec.where === "sief-area"
              ? this.pageGpa(vp.siefp) + s
              : spec.where === "ram"
                ? RAM_GPA + s
                : offScratch(0xdead_0000n + s);
        return [{ op: "read", ...this.names(p), gpa: hex(gpa), length: spec.length }];
      }
    }
  }

  /** A wrmsr op; the shadow registers take the value unless the write is refused (#GP). */
  wrmsr(p: PartitionView, vp: VpRegs, msr: number, value: bigint): TraceOpJson {
    if (msr === MSR_SCONTROL) vp.scontrol = value;
    else if (msr === MSR_SIEFP) vp.siefp = value;
    else if (msr === MSR_SIMP) vp.simp = value;
    else if (msr >= MSR_SINT0 && msr < MSR_SINT0 + 16) {
      const refused = (value & 0x10000n) === 0n && (value & 0xffn) < 16n;
      if (!refused) vp.sints[msr - MSR_SINT0] = value;
    }
    const number = msr % 3 === 0 ? msr : hex(msr);
    return { op: "wrmsr", ...this.names(p, vp), msr: number, value: hex(value) };
  }

  private inputFor(
    spec: InputCommon,
    type: ScenarioPort["type"],
  ): { p: PartitionView; vp: VpRegs; id: number; conn: number } {
    const { p, vp } = this.who(spec.who);
    const id = this.connectionId(p, spec.conn, type);
    return { p, vp, id, conn: (id | (spec.connReserved << 24)) >>> 0 };
  }

  /** The op(s) of a hypercall whose input block is `block` (memory form: a write first). */
  private call(
    spec: InputCommon,
    p: PartitionView,
    vp: VpRegs,
    control: bigint,
    block: number[],
    repeat: number,
  ): (TraceOpJson | Step)[] {
    const lo = block.slice(0, 8).reduce((v, b, i) => v | (BigInt(b) << BigInt(8 * i)), 0n);
    if (spec.front === "batch") {
      const record: Step = { kind: "record", partition: p.id, vp: vp.index, control, input: lo };
      return Array.from({ length: repeat }, () => record);
    }
    const front = spec.front;
    const fast = (control & BigInt(FAST)) !== 0n;
    const gpa = this.gpa(spec.gpa, block.length, vp);
    const hc: TraceOpJson = {
      op: "hypercall",
      ...this.names(p, vp),
      control: hex(control),
      rdx: hex(fast ? lo : gpa),
      ...(spec.r8 === null ? {} : { r8: hex(spec.r8) }),
    };
    const calls: Step[] = Array.from({ length: repeat }, () => ({ kind: "op", op: hc, front }));
    if (fast) return calls;
    return [{ op: "write", ...this.names(p), gpa: hex(gpa), hex: bytesHex(block) }, ...calls];
  }

  private signal(spec: SignalSpec): (TraceOpJson | Step)[] {
    const { p, vp, id, conn } = this.inputFor(spec, "event");
    const port = this.portBehind(p, id);
    const count = port?.type === "event" ? (port.flagCount ?? 0) : 0;
    const flag = flagNumber(spec.flag, count) & 0xffff;
    const block = [...le(BigInt(conn), 4), ...le(BigInt(flag), 2), ...le(BigInt(spec.rsvdZ), 2)];
    return this.call(
      spec,
      p,
      vp,
      controlValue(spec.control, SIGNAL_EVENT, spec.fast),
      block,
      spec.repeat,
    );
  }

  private post(spec: PostSpec): (TraceOpJson | Step)[] {
    const { p, vp, id, conn } = this.inputFor(spec, "message");
    const payload = payloadOf(spec.payloadSeed);
    const block = [
      ...le(BigInt(conn), 4),
      ...le(BigInt(spec.rsvdZ), 4),
      ...le(BigInt(spec.messageType), 4),
      ...le(BigInt(spec.payloadSize), 4),
      ...payload,
    ];
    const control = controlValue(spec.control, POST_MESSAGE, spec.fast);
    const ops = this.call(spec, p, vp, control, block, spec.repeat);
    const slot = spec.emptyFirst ? this.slotOf(p, id) : undefined;
    return slot === undefined ? ops : [slot, ...ops];
  }

  /** The write that empties the SIM slot a message through connection `id` is headed for. */
  private slotOf(p: PartitionView, id: number): TraceOpJson | undefined {
    const conn = p.connections.find((c) => c.id === id);
    const owner = this.parts.find((q) => q.id === conn?.portPartition);
    const port = owner?.ports.find((q) => q.id === conn?.portId);
    if (owner === undefined || port === undefined || owner.vps.length === 0) return undefined;
    const ready = owner.vps.find((v) => (v.scontrol & v.simp & 1n) === 1n) ?? owner.vps[0]!;
    const vp = owner.vps.find((v) => v.index === port.targetVp) ?? ready;
    const gpa = this.pageGpa(vp.simp) + BigInt(port.targetSint * 256);
    return { op: "write", ...this.names(owner), gpa: hex(gpa), hex: "00000000" };
  }
}

/** A generated case: the scenario, its defaults, and every spec resolved in order. */
export function resolveCase(scenario: ScenarioFile, specs: readonly StepSpec[]): TraceCase {
  const defaults = defaultsOf(scenario);
  const r = new Resolver(scenario, defaults);
  return { scenario, ...defaults, steps: specs.flatMap((s) => r.resolve(s)) };
}
