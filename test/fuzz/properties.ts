/**
 * The fuzz properties, shared by the CI tests (test/fuzz/*.test.ts, small budgets) and the
 * campaign (`npm run fuzz`, scripts/fuzz.ts, huge run counts). No vitest in here.
 */
import fc from "fast-check";
import { HvCallCode } from "../../src/abi/call-code.js";
import { CONTROL_CALL_CODE_MASK, CONTROL_FAST_BIT } from "../../src/abi/hypercall-control.js";
import { RECORD_INPUT_OFFSET, RECORD_SIZE } from "../../src/dispatch/hypercall-record.js";
import type { ScenarioFile } from "../model/scenario-file.js";
import { buildModel, modelMapPage } from "../model/signal-event-model.js";
import {
  type CallSpec,
  type CaseSpec,
  callSpecArb,
  caseSpecArb,
  scenarioArb,
  U64_MAX,
} from "./arbitraries.js";
import {
  type Case,
  inputPagesFor,
  isFast,
  pickCaller,
  placeBlocks,
  type ResolvedCall,
  resolveCall,
  resolveCase,
  SCRATCH_GPA,
} from "./cases.js";
import { type Cmd, commandsArb, commandsAsCase, runCommands } from "./commands.js";
import { RealSide, runCase } from "./harness.js";
import { checkedCall } from "./safety.js";
import { checkScenarioText, scenarioTextArb } from "./scenario-text.js";
import type { Tally } from "./tally.js";

export interface FuzzProperty<T> {
  readonly name: string;
  readonly arbitrary: fc.Arbitrary<T>;
  /** Runs one generated value; throws on a violation. Counts calls in `tally`. */
  run(value: T, tally: Tally): void;
  /**
   * The case to save as a golden fixture when this value fails (call properties; undefined when
   * the value has no fixture form).
   */
  toCase?(value: T): Case | undefined;
}

/** fc.property over a FuzzProperty. */
export function propertyOf<T>(p: FuzzProperty<T>, tally: Tally): fc.IProperty<[T]> {
  return fc.property(p.arbitrary, (value) => p.run(value, tally));
}

// ---------------------------------------------------------------------------------------------
// 1. Differential: real dispatcher vs model, statuses and final state
// ---------------------------------------------------------------------------------------------

export function differentialProperty(maxCalls: number): FuzzProperty<CaseSpec> {
  return {
    name: "differential",
    arbitrary: caseSpecArb(maxCalls),
    run(spec, tally) {
      const r = runCase(resolveCase(spec), tally);
      if (r.mismatch !== undefined) throw new Error(r.mismatch.message);
    },
    toCase: resolveCase,
  };
}

// ---------------------------------------------------------------------------------------------
// 2. Model-based: calls mixed with emulator state changes
// ---------------------------------------------------------------------------------------------

export function modelBasedProperty(
  maxCommands: number,
): FuzzProperty<[ScenarioFile, Iterable<Cmd>]> {
  return {
    name: "model-based",
    arbitrary: fc.tuple(scenarioArb, commandsArb(maxCommands)),
    run([scenario, cmds], tally) {
      runCommands(scenario, cmds, tally);
    },
    toCase: ([scenario, cmds]) => commandsAsCase(scenario, cmds),
  };
}

// ---------------------------------------------------------------------------------------------
// 3. Crash safety: any 16-byte record, any control value
// ---------------------------------------------------------------------------------------------

type RecordSpec =
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "good-control"; fast: boolean; input: bigint }
  | { kind: "call"; spec: CallSpec };

const recordSpec: fc.Arbitrary<RecordSpec> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc
      .uint8Array({ minLength: RECORD_SIZE, maxLength: RECORD_SIZE })
      .map((bytes) => ({ kind: "bytes" as const, bytes })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: U64_MAX }))
      .map(([fast, input]) => ({ kind: "good-control" as const, fast, input })),
  },
  { weight: 3, arbitrary: callSpecArb.map((spec) => ({ kind: "call" as const, spec })) },
);

function le64(bytes: Uint8Array, offset: number): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset + offset, 8).getBigUint64(0, true);
}

/** A record as a batch call: RCX from bytes 0..7; bytes 8..15 are RDX (fast) or the block. */
function recordCall(control: bigint, input: bigint): ResolvedCall {
  if (isFast(control)) return { front: "batch", control, rdx: input };
  const block = Array.from({ length: RECORD_SIZE - RECORD_INPUT_OFFSET }, (_, i) =>
    Number((input >> BigInt(8 * i)) & 0xffn),
  );
  return { front: "batch", control, rdx: 0n, block, slotOffset: 0 };
}

interface SafetyCase {
  scenario: ScenarioFile;
  callerPick: number;
  vpPick: number;
}

const safetyBase = fc.record({ scenario: scenarioArb, callerPick: fc.nat(), vpPick: fc.nat() });

function safetyCase(
  base: SafetyCase,
  resolve: (scenario: ScenarioFile, caller: number) => ResolvedCall[],
): Case {
  const scenario = structuredClone(base.scenario);
  const caller = pickCaller(scenario, base.callerPick);
  const vps = caller.vps ?? [];
  const calls = resolve(scenario, caller.id);
  placeBlocks(scenario, caller.id, calls);
  return { scenario, caller: caller.id, vp: vps[base.vpPick % vps.length]!.index, calls };
}

/** Runs every call of a case under the safety checks (one call at a time). */
function runSafety(c: Case, tally: Tally): void {
  const real = new RealSide(c.scenario);
  const model = buildModel(c.scenario);
  real.runner(c.caller, c.vp);
  modelMapPage(model, c.caller, SCRATCH_GPA);
  const vps = c.scenario.partitions.flatMap((p) =>
    (p.vps ?? []).map((v): [number, number] => [p.id, v.index]),
  );
  c.calls.forEach((call, i) => {
    try {
      const o = checkedCall(real, model, c.caller, c.vp, call, vps);
      tally.add(o.status, o.check);
    } catch (error) {
      throw new Error(`call ${i}: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
}

export function recordsProperty(maxRecords: number): FuzzProperty<[SafetyCase, RecordSpec[]]> {
  const toCase = ([base, records]: [SafetyCase, RecordSpec[]]): Case =>
    safetyCase(base, (scenario, callerId) => {
      const caller = scenario.partitions.find((p) => p.id === callerId)!;
      const pages = inputPagesFor(records.length);
      return records.map((r): ResolvedCall => {
        if (r.kind === "bytes")
          return recordCall(le64(r.bytes, 0), le64(r.bytes, RECORD_INPUT_OFFSET));
        if (r.kind === "good-control") {
          return recordCall(
            BigInt(HvCallCode.SignalEvent | (r.fast ? CONTROL_FAST_BIT : 0)),
            r.input,
          );
        }
        return resolveCall(scenario, caller, { ...r.spec, front: "batch" }, pages);
      });
    });
  return {
    name: "records",
    arbitrary: fc.tuple(
      safetyBase,
      fc.array(recordSpec, { minLength: 1, maxLength: maxRecords, size: "max" }),
    ),
    run(value, tally) {
      runSafety(toCase(value), tally);
    },
    toCase,
  };
}

interface ControlCallSpec {
  front: "dispatch" | "hypercall";
  control: bigint;
  rdx: { kind: "random"; value: bigint } | { kind: "call"; spec: CallSpec };
}

const u64 = fc.bigInt({ min: 0n, max: U64_MAX });

/** Any control value: uniform, or SignalEvent's code with any upper bits. */
const anyControl = fc.oneof(
  u64,
  u64.map((v) => (v & ~BigInt(CONTROL_CALL_CODE_MASK)) | BigInt(HvCallCode.SignalEvent)),
  fc
    .tuple(fc.boolean(), fc.array(fc.integer({ min: 0, max: 63 }), { maxLength: 3 }))
    .map(([fast, bits]) =>
      bits.reduce(
        (c, b) => c | (1n << BigInt(b)),
        BigInt(HvCallCode.SignalEvent | (fast ? CONTROL_FAST_BIT : 0)),
      ),
    ),
);

const controlCallSpec: fc.Arbitrary<ControlCallSpec> = fc.record({
  front: fc.constantFrom<ControlCallSpec["front"]>("dispatch", "hypercall"),
  control: anyControl,
  rdx: fc.oneof(
    u64.map((value) => ({ kind: "random" as const, value })),
    callSpecArb.map((spec) => ({ kind: "call" as const, spec })),
  ),
});

export function controlsProperty(maxCalls: number): FuzzProperty<[SafetyCase, ControlCallSpec[]]> {
  const toCase = ([base, specs]: [SafetyCase, ControlCallSpec[]]): Case =>
    safetyCase(base, (scenario, callerId) => {
      const caller = scenario.partitions.find((p) => p.id === callerId)!;
      const pages = inputPagesFor(specs.length);
      return specs.map((s): ResolvedCall => {
        if (s.rdx.kind === "random")
          return { front: s.front, control: s.control, rdx: s.rdx.value };
        // The input a resolved call would pass (a block in memory or a register), under any control.
        const r = resolveCall(scenario, caller, { ...s.rdx.spec, front: s.front }, pages);
        return { ...r, control: s.control };
      });
    });
  return {
    name: "controls",
    arbitrary: fc.tuple(
      safetyBase,
      fc.array(controlCallSpec, { minLength: 1, maxLength: maxCalls, size: "max" }),
    ),
    run(value, tally) {
      runSafety(toCase(value), tally);
    },
    toCase,
  };
}

// ---------------------------------------------------------------------------------------------
// 4. Scenario files: any text
// ---------------------------------------------------------------------------------------------

/** Counts of accepted / rejected scenario texts. */
export const scenarioTextCounts = { accepted: 0, rejected: 0 };

export function scenarioTextProperty(): FuzzProperty<string> {
  return {
    name: "scenario-text",
    arbitrary: scenarioTextArb,
    run(text) {
      const o = checkScenarioText(text);
      if (o.accepted) scenarioTextCounts.accepted++;
      else scenarioTextCounts.rejected++;
    },
  };
}
