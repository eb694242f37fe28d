/**
 * Model-based testing (fc.commands / fc.modelRun): SignalEvent calls from any partition that has a
 * VP, mixed with the state changes an emulator makes between calls — the guest clears an event
 * flag (Machine.clearSiefFlag), masks / unmasks a SINT or disables the SynIC / SIEF page
 * (Machine.writeMsr), a port is deleted (Machine.deletePort), a partition goes inactive
 * (Machine.setPartitionActive), its privileges change (Machine.setPrivilegeMask).
 *
 * After every command the real machine and the test model must agree on the status (for calls) and
 * on every SIEF flag and SINT assertion count of every VP.
 */
import fc from "fast-check";
import { hvStatusName } from "../../src/abi/hv-status.js";
import { PartitionPrivilegeBit } from "../../src/abi/partition-privilege.js";
import { EVENT_FLAGS_PER_SINT, SINT_COUNT } from "../../src/abi/sief-page.js";
import {
  HvSynicMsr,
  SCONTROL_ENABLE_BIT,
  SINT_MASKED_BIT,
  SYNIC_PAGE_ENABLE_BIT,
  sintMsr,
} from "../../src/abi/synic-msr.js";
import type { Machine } from "../../src/state/machine.js";
import type { ScenarioFile } from "../model/scenario-file.js";
import {
  buildModel,
  type FinalState,
  type ModelMachine,
  modelClearFlag,
  modelDeletePort,
  modelFinalState,
  modelMapPage,
  modelSetActive,
  modelSetPrivilegeMask,
  modelWriteMemory,
  modelWriteMsr,
} from "../model/signal-event-model.js";
import { type CallSpec, callSpecArb } from "./arbitraries.js";
import {
  type Case,
  describeCall,
  INPUT_GPA,
  inputPagesFor,
  pickCaller,
  placeBlocks,
  resolveCall,
  SCRATCH_GPA,
} from "./cases.js";
import { canonicalJson, modelCall, RealSide } from "./harness.js";
import type { Tally } from "./tally.js";

export interface ModelState {
  readonly m: ModelMachine;
  readonly scenario: ScenarioFile;
  readonly tally: Tally | undefined;
  /** Next input-region slot for a memory-form call's block (cycles through one page). */
  slot: number;
}

export interface RealState {
  readonly side: RealSide;
}

export type Cmd = fc.Command<ModelState, RealState>;

const SLOTS = 512;
const BLOCK_BYTES = 8;

/** Every (partition id, VP index) of the scenario. */
function allVps(scenario: ScenarioFile): [number, number][] {
  return scenario.partitions.flatMap((p) =>
    (p.vps ?? []).map((v): [number, number] => [p.id, v.index]),
  );
}

function allPorts(scenario: ScenarioFile): [number, number][] {
  return scenario.partitions.flatMap((p) =>
    (p.ports ?? []).map((q): [number, number] => [p.id, q.id]),
  );
}

/** The real machine's flags and assertion counts, through Machine's public accessors. */
export function realFinalState(machine: Machine, scenario: ScenarioFile): FinalState {
  const out: FinalState = {};
  for (const p of scenario.partitions) {
    const vps: FinalState[string] = {};
    for (const vp of p.vps ?? []) {
      const siefFlags: Record<string, number[]> = {};
      const sintAssertions: Record<string, number> = {};
      for (let s = 0; s < SINT_COUNT; s++) {
        const flags = machine.siefFlags(p.id, vp.index, s);
        if (flags.length > 0) siefFlags[String(s)] = flags;
        const n = machine.sintAssertionCount(p.id, vp.index, s);
        if (n > 0) sintAssertions[String(s)] = n;
      }
      vps[String(vp.index)] = { siefFlags, sintAssertions };
    }
    out[String(p.id)] = vps;
  }
  return out;
}

function assertSameState(model: ModelState, real: RealState, after: string): void {
  const want = canonicalJson(modelFinalState(model.m));
  const got = canonicalJson(realFinalState(real.side.machine, model.scenario));
  if (want !== got)
    throw new Error(`after ${after}: state differs\n  real  ${got}\n  model ${want}`);
}

abstract class BaseCommand implements Cmd {
  /** What the command did, once it ran (picks resolved); shown in counterexamples. */
  protected done: string | undefined;
  abstract check(m: Readonly<ModelState>): boolean;
  abstract apply(model: ModelState, real: RealState): string;
  abstract describe(): string;

  run(model: ModelState, real: RealState): void {
    this.done = this.apply(model, real);
    assertSameState(model, real, this.done);
  }

  toString(): string {
    return this.done ?? this.describe();
  }
}

export class SignalCommand extends BaseCommand {
  constructor(
    readonly callerPick: number,
    readonly vpPick: number,
    readonly spec: CallSpec,
  ) {
    super();
  }

  check(): boolean {
    return true;
  }

  describe(): string {
    return `signal(caller#${this.callerPick}, ${JSON.stringify(this.spec, (_k, v: unknown) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v))})`;
  }

  apply(model: ModelState, real: RealState): string {
    const caller = pickCaller(model.scenario, this.callerPick);
    const vps = caller.vps ?? [];
    const vp = vps[this.vpPick % vps.length]!.index;
    const call = resolveCall(model.scenario, caller, this.spec, 1);
    if (call.block !== undefined) {
      const slot = INPUT_GPA + BigInt((model.slot++ % SLOTS) * BLOCK_BYTES);
      real.side.machine.memory[real.side.machine.requirePartition(caller.id)]!.write(
        slot,
        Uint8Array.from(call.block),
      );
      modelWriteMemory(model.m, caller.id, slot, call.block);
      call.rdx = slot + BigInt(call.slotOffset ?? 0);
    }
    if (call.front === "batch") modelMapPage(model.m, caller.id, SCRATCH_GPA);
    const expected = modelCall(model.m, caller.id, call);
    const got = real.side.run(caller.id, vp, [call])[0]!;
    model.tally?.add(expected.status, expected.check);
    const text = `signal(caller ${caller.id} vp ${vp}: ${describeCall(call)}) -> ${hvStatusName(expected.status)}`;
    if (got !== expected.status) {
      const shown = typeof got === "string" ? got : hvStatusName(got);
      throw new Error(`${text}: real ${shown} (model check ${expected.check})`);
    }
    return text;
  }
}

class ClearFlagCommand extends BaseCommand {
  constructor(
    readonly vpPick: number,
    readonly fromSet: boolean,
    readonly sintPick: number,
    readonly flagPick: number,
  ) {
    super();
  }

  check(m: Readonly<ModelState>): boolean {
    return allVps(m.scenario).length > 0;
  }

  describe(): string {
    return `clearFlag(vp#${this.vpPick}, ${this.fromSet ? "a set flag" : "any flag"} #${this.sintPick}/${this.flagPick})`;
  }

  apply(model: ModelState, real: RealState): string {
    const vps = allVps(model.scenario);
    const [pid, index] = vps[this.vpPick % vps.length]!;
    let sint = this.sintPick % SINT_COUNT;
    let flag = this.flagPick % EVENT_FLAGS_PER_SINT;
    if (this.fromSet) {
      const vp = model.m.partitions.find((p) => p.id === pid)!.vps.find((v) => v.index === index)!;
      const set = vp.flags.flatMap((f, s) => [...f].map((k): [number, number] => [s, k]));
      if (set.length > 0) [sint, flag] = set[this.flagPick % set.length]!;
    }
    const want = modelClearFlag(model.m, pid, index, sint, flag);
    const got = real.side.machine.clearSiefFlag(pid, index, sint, flag);
    const text = `clearSiefFlag(${pid}, ${index}, ${sint}, ${flag}) -> ${want}`;
    if (got !== want) throw new Error(`${text}: real returned ${got}`);
    return text;
  }
}

type MsrChange = "mask" | "unmask" | "scontrol-off" | "scontrol-on" | "siefp-off" | "siefp-on";

class WriteMsrCommand extends BaseCommand {
  constructor(
    readonly vpPick: number,
    readonly change: MsrChange,
    readonly sintPick: number,
  ) {
    super();
  }

  check(m: Readonly<ModelState>): boolean {
    return allVps(m.scenario).length > 0;
  }

  describe(): string {
    return `writeMsr(vp#${this.vpPick}, ${this.change}, sint#${this.sintPick})`;
  }

  apply(model: ModelState, real: RealState): string {
    const vps = allVps(model.scenario);
    const [pid, index] = vps[this.vpPick % vps.length]!;
    const vp = model.m.partitions.find((p) => p.id === pid)!.vps.find((v) => v.index === index)!;
    // Prefer a SINT some port of this partition targets.
    const targeted = [
      ...new Set(
        (model.scenario.partitions.find((p) => p.id === pid)!.ports ?? []).map((q) => q.targetSint),
      ),
    ];
    const sint =
      targeted.length > 0 ? targeted[this.sintPick % targeted.length]! : this.sintPick % SINT_COUNT;
    let msr: number;
    let value: bigint;
    switch (this.change) {
      case "mask":
      case "unmask":
        msr = sintMsr(sint);
        value =
          this.change === "mask"
            ? vp.sints[sint]! | BigInt(SINT_MASKED_BIT)
            : vp.sints[sint]! & ~BigInt(SINT_MASKED_BIT);
        break;
      case "scontrol-off":
      case "scontrol-on":
        msr = HvSynicMsr.SCONTROL;
        value =
          this.change === "scontrol-on"
            ? vp.scontrol | BigInt(SCONTROL_ENABLE_BIT)
            : vp.scontrol & ~BigInt(SCONTROL_ENABLE_BIT);
        break;
      default:
        msr = HvSynicMsr.SIEFP;
        value =
          this.change === "siefp-on"
            ? vp.siefp | BigInt(SYNIC_PAGE_ENABLE_BIT)
            : vp.siefp & ~BigInt(SYNIC_PAGE_ENABLE_BIT);
    }
    const machine = real.side.machine;
    const text = `writeMsr(${pid}, ${index}, 0x${msr.toString(16)}, 0x${value.toString(16)})`;
    const before = machine.readMsr(pid, index, msr);
    const modelBefore =
      msr === HvSynicMsr.SCONTROL
        ? vp.scontrol
        : msr === HvSynicMsr.SIEFP
          ? vp.siefp
          : vp.sints[sint]!;
    if (before !== modelBefore) {
      throw new Error(
        `${text}: MSR read 0x${before.toString(16)}, model 0x${modelBefore.toString(16)}`,
      );
    }
    machine.writeMsr(pid, index, msr, value);
    modelWriteMsr(model.m, pid, index, msr, value);
    if (machine.readMsr(pid, index, msr) !== value) throw new Error(`${text}: read back differs`);
    return text;
  }
}

class DeletePortCommand extends BaseCommand {
  constructor(readonly portPick: number) {
    super();
  }

  check(m: Readonly<ModelState>): boolean {
    return allPorts(m.scenario).length > 0;
  }

  describe(): string {
    return `deletePort(#${this.portPick})`;
  }

  apply(model: ModelState, real: RealState): string {
    const ports = allPorts(model.scenario);
    const [pid, id] = ports[this.portPick % ports.length]!;
    real.side.machine.deletePort(pid, id);
    modelDeletePort(model.m, pid, id);
    return `deletePort(${pid}, ${id})`;
  }
}

class SetActiveCommand extends BaseCommand {
  constructor(
    readonly partitionPick: number,
    readonly active: boolean,
  ) {
    super();
  }

  check(): boolean {
    return true;
  }

  describe(): string {
    return `setPartitionActive(#${this.partitionPick}, ${this.active})`;
  }

  apply(model: ModelState, real: RealState): string {
    const ps = model.scenario.partitions;
    const pid = ps[this.partitionPick % ps.length]!.id;
    real.side.machine.setPartitionActive(pid, this.active);
    modelSetActive(model.m, pid, this.active);
    if (real.side.machine.isPartitionActive(pid) !== this.active) {
      throw new Error(`setPartitionActive(${pid}, ${this.active}) did not stick`);
    }
    return `setPartitionActive(${pid}, ${this.active})`;
  }
}

class SetPrivilegeCommand extends BaseCommand {
  constructor(
    readonly partitionPick: number,
    readonly signalEvents: boolean,
  ) {
    super();
  }

  check(): boolean {
    return true;
  }

  describe(): string {
    return `setPrivilege(#${this.partitionPick}, SignalEvents=${this.signalEvents})`;
  }

  apply(model: ModelState, real: RealState): string {
    const ps = model.m.partitions;
    const p = ps[this.partitionPick % ps.length]!;
    const bit = 1n << BigInt(PartitionPrivilegeBit.SignalEvents);
    const mask = this.signalEvents ? p.privilegeMask | bit : p.privilegeMask & ~bit;
    const machine = real.side.machine;
    if (machine.privilegeMask(p.id) !== p.privilegeMask) {
      throw new Error(
        `privilege mask of ${p.id}: real 0x${machine.privilegeMask(p.id).toString(16)}`,
      );
    }
    machine.setPrivilegeMask(p.id, mask);
    modelSetPrivilegeMask(model.m, p.id, mask);
    return `setPrivilegeMask(${p.id}, 0x${mask.toString(16)})`;
  }
}

const commandArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc
      .tuple(fc.nat(), fc.nat(), callSpecArb)
      .map(([c, v, spec]): Cmd => new SignalCommand(c, v, spec)),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.nat(), fc.boolean(), fc.nat(), fc.nat())
      .map(([v, fromSet, s, f]): Cmd => new ClearFlagCommand(v, fromSet, s, f)),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.nat(),
        fc.constantFrom<MsrChange>(
          "mask",
          "unmask",
          "scontrol-off",
          "scontrol-on",
          "siefp-off",
          "siefp-on",
        ),
        fc.nat(),
      )
      .map(([v, change, s]): Cmd => new WriteMsrCommand(v, change, s)),
  },
  { weight: 1, arbitrary: fc.nat().map((q): Cmd => new DeletePortCommand(q)) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.nat(), fc.boolean())
      .map(([p, active]): Cmd => new SetActiveCommand(p, active)),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.nat(), fc.boolean())
      .map(([p, on]): Cmd => new SetPrivilegeCommand(p, on)),
  },
);

export function commandsArb(maxCommands: number): fc.Arbitrary<Iterable<Cmd>> {
  return fc.commands([commandArb], { maxCommands, size: "max" });
}

/** Runs one command sequence against a fresh machine and model for the scenario. */
export function runCommands(scenario: ScenarioFile, cmds: Iterable<Cmd>, tally?: Tally): void {
  const setup = () => ({
    model: { m: buildModel(scenario), scenario, tally, slot: 0 },
    real: { side: new RealSide(scenario) },
  });
  fc.modelRun(setup, cmds);
}

/**
 * A command sequence as a fuzz case (and so as a golden fixture), when it can be one: only
 * SignalEvent calls, all from one caller VP. A sequence with emulator state changes between calls
 * has no fixture form; undefined then.
 */
export function commandsAsCase(scenario: ScenarioFile, cmds: Iterable<Cmd>): Case | undefined {
  const list = [...cmds];
  if (list.length === 0 || !list.every((c) => c instanceof SignalCommand)) return undefined;
  const signals = list as SignalCommand[];
  const copy = structuredClone(scenario);
  const who = signals.map((c) => {
    const caller = pickCaller(copy, c.callerPick);
    const vps = caller.vps ?? [];
    return { caller, vp: vps[c.vpPick % vps.length]!.index };
  });
  const first = who[0]!;
  if (!who.every((w) => w.caller.id === first.caller.id && w.vp === first.vp)) return undefined;
  const pages = inputPagesFor(signals.length);
  const calls = signals.map((c) => resolveCall(copy, first.caller, c.spec, pages));
  placeBlocks(copy, first.caller.id, calls);
  return { scenario: copy, caller: first.caller.id, vp: first.vp, calls };
}
