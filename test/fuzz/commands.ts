/**
 * Model-based testing (fc.commands / fc.modelRun): guest ops from any partition that has a VP —
 * SignalEvent and PostMessage calls, slot emptying, EOM and EOI, SynIC MSR writes, writes into the
 * SIEF / SIM pages, reads — mixed with the host's actions between them (Machine.deletePort,
 * setPartitionActive, setPrivilegeMask). Each command is resolved when it runs, against the SynIC
 * registers the commands before it wrote, and its steps go to the real machine and the trace model
 * alike: every output line must agree, the state of every VP must agree after every host action
 * and after every "check state" command, and at the end.
 */
import fc from "fast-check";
import { canonicalJson, TraceRunner } from "./harness.js";
import { type HostSpec, hostSpecArb, type OpSpec, opSpecArb } from "./op-arb.js";
import { defaultsOf, Resolver } from "./resolve.js";
import type { ScenarioFile, Step, TraceCase } from "./scenario-types.js";
import type { Tally } from "./tally.js";

export interface ModelState {
  readonly resolver: Resolver;
}

export interface RealState {
  readonly runner: TraceRunner;
}

export type Cmd = fc.Command<ModelState, RealState>;

function show(steps: readonly Step[]): string {
  return steps.length === 0
    ? "(nothing)"
    : steps
        .map((s) => canonicalJson(s.kind === "op" ? { ...s.op, front: s.front } : s))
        .join(" ; ");
}

abstract class StepsCommand implements Cmd {
  /** The steps the command resolved to when it last ran; shown in counterexamples. */
  protected done: Step[] | undefined;
  abstract readonly spec: OpSpec | HostSpec | undefined;
  abstract resolve(resolver: Resolver): Step[];

  check(): boolean {
    return true;
  }

  run(model: ModelState, real: RealState): void {
    this.done = this.resolve(model.resolver);
    for (const s of this.done) real.runner.step(s);
    this.after(real.runner);
  }

  protected after(_runner: TraceRunner): void {}

  toString(): string {
    return this.done !== undefined ? show(this.done) : canonicalJson(this.spec);
  }
}

export class OpCommand extends StepsCommand {
  constructor(readonly spec: OpSpec) {
    super();
  }

  resolve(resolver: Resolver): Step[] {
    return resolver.resolve(this.spec);
  }
}

export class HostCommand extends StepsCommand {
  constructor(readonly spec: HostSpec) {
    super();
  }

  resolve(resolver: Resolver): Step[] {
    return resolver.resolve({ kind: "host", host: this.spec });
  }

  protected override after(runner: TraceRunner): void {
    runner.assertSameState(`after ${show(this.done ?? [])}`);
  }
}

export class CheckStateCommand extends StepsCommand {
  readonly spec = undefined;

  resolve(): Step[] {
    return [];
  }

  protected override after(runner: TraceRunner): void {
    runner.assertSameState("at a state check");
  }

  override toString(): string {
    return "checkState";
  }
}

const commandArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 30, arbitrary: opSpecArb.map((s): Cmd => new OpCommand(s)) },
  { weight: 2, arbitrary: hostSpecArb.map((s): Cmd => new HostCommand(s)) },
  { weight: 1, arbitrary: fc.constant<Cmd>(new CheckStateCommand()) },
);

export function commandsArb(maxCommands: number): fc.Arbitrary<Iterable<Cmd>> {
  return fc.commands([commandArb], { maxCommands, size: "max" });
}

/** Runs one command sequence against a fresh machine and model for the scenario. */
export function runCommands(scenario: ScenarioFile, cmds: Iterable<Cmd>, tally?: Tally): void {
  const defaults = defaultsOf(scenario);
  let runner: TraceRunner | undefined;
  const setup = () => {
    runner = new TraceRunner({ scenario, ...defaults }, tally === undefined ? {} : { tally });
    return { model: { resolver: new Resolver(scenario, defaults) }, real: { runner } };
  };
  fc.modelRun(setup, cmds);
  runner?.assertSameState("at the end");
}

/** A command sequence as a case (for a golden fixture): the commands' steps, resolved afresh. */
export function commandsAsCase(scenario: ScenarioFile, cmds: Iterable<Cmd>): TraceCase {
  const defaults = defaultsOf(scenario);
  const resolver = new Resolver(scenario, defaults);
  const steps = [...cmds].flatMap((c) => (c instanceof StepsCommand ? c.resolve(resolver) : []));
  return { scenario, ...defaults, steps };
}
