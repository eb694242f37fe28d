/**
 * The scenario file of the CLI contract (shared/spec/cli-contract.md, "Scenario file", v1 + v2),
 * as plain JSON types. The fuzz generators produce these objects; the real machine loads them
 * through parseScenario + loadMachine, the trace model (test/model/trace-model.ts) through its own
 * loader. (Moved here from test/model/scenario-file.ts when the old SignalEvent-only model went.)
 */
export interface ScenarioFile {
  partitions: ScenarioPartition[];
}

export interface ScenarioPartition {
  id: number;
  state?: "active" | "inactive";
  privileges?: string[];
  privilegeMask?: string;
  vps?: ScenarioVp[];
  ports?: ScenarioPort[];
  connections?: ScenarioConnection[];
  memory?: ScenarioMemory[];
}

export interface ScenarioVp {
  index: number;
  scontrol?: string;
  siefp?: string;
  simp?: string;
  sints?: Record<string, string>;
}

export interface ScenarioPort {
  id: number;
  type: "event" | "message" | "monitor";
  targetVp: number | "any";
  targetSint: number;
  baseFlagNumber?: number;
  flagCount?: number;
  deleted?: boolean;
}

export interface ScenarioConnection {
  id: number;
  portPartition: number;
  portId: number;
}

export interface ScenarioMemory {
  gpa: string;
  hex: string;
}

/** One op of a guest trace, exactly as a line of `hvcall run` input (cli-contract.md). */
export type TraceOpJson =
  | { op: "hypercall"; partition?: number; vp?: number; control: string; rdx: string; r8?: string }
  | { op: "write"; partition?: number; gpa: string; hex: string }
  | { op: "read"; partition?: number; gpa: string; length: number }
  | { op: "wrmsr"; partition?: number; vp?: number; msr: string | number; value: string }
  | { op: "rdmsr"; partition?: number; vp?: number; msr: string | number }
  | { op: "eoi"; partition?: number; vp?: number };

/** What the host (the emulator) does between guest ops; a trace file cannot say these. */
export type HostAction =
  | { host: "deletePort"; partition: number; port: number }
  | { host: "setPartitionActive"; partition: number; active: boolean }
  | { host: "setPrivilegeMask"; partition: number; mask: bigint };

/** Which API of src runs a hypercall op: TraceEngine.run, Dispatcher.dispatch, hypercall(). */
export type CallFront = "engine" | "dispatch" | "hypercall";

/**
 * One step of a fuzz trace: a guest op (a hypercall through one of the per-call fronts), a batch
 * record (BatchRunner.run: RCX and the 8 input bytes of a 16-byte record), or a host action.
 */
export type Step =
  | { kind: "op"; op: TraceOpJson; front: CallFront }
  | { kind: "record"; partition: number; vp: number; control: bigint; input: bigint }
  | { kind: "host"; action: HostAction };

/**
 * An assertion listener on the real machine (host code): none; one that only listens; one that
 * throws (its error must go to onError, the call completing regardless); or one that changes the
 * machine when told of an event interrupt — masks that SINT, makes the target partition inactive,
 * takes SignalEvents from the caller — which the model then does too, after the same call (so a
 * batch must drop what it cached about routes and privileges).
 */
export type ListenerMode = "none" | "quiet" | "throw" | "mask" | "deactivate" | "revoke";

/** A scenario, the default partition / VP of ops that name none (--caller, --vp), and steps. */
export interface TraceCase {
  scenario: ScenarioFile;
  caller: number;
  vp: number;
  steps: Step[];
  /** The listener of the real machine (default none). */
  listener?: ListenerMode;
}
