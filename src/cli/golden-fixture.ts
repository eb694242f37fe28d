/**
 * Golden fixtures (fixtures/golden/*.json; the format is documented in fixtures/README.md): a named
 * scenario, a list of hypercalls with the status and result value each must get, and the final
 * SIEF flags and interrupt counts of every VP. This module loads, validates, runs and writes them;
 * the golden test suite, `npm run fixtures:update` and any tool that adds fixtures (fuzzing
 * counterexamples) share it.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { z } from "zod";
import { HvStatus, hvStatusFromName, hvStatusName } from "../abi/hv-status.js";
import { resultHi, resultLo } from "../abi/hypercall-result.js";
import { formatU64Hex, u64ToHalves } from "../abi/u64.js";
import { HV_VP_INDEX_MAX } from "../abi/vp-index.js";
import { Dispatcher } from "../dispatch/dispatcher.js";
import { hypercall } from "../dispatch/hypercall.js";
import { loadMachine } from "../state/load-machine.js";
import type { Machine } from "../state/machine.js";
import type { ScenarioDocument } from "../state/scenario-document.js";
import { dumpScenario } from "../state/scenario-dump.js";
import { ScenarioError } from "../state/scenario-error.js";
import { parseScenario } from "../state/scenario-schema.js";
import { parseU64Hex, U64_HEX_HINT } from "./args.js";
import { CliUsageError } from "./cli-error.js";
import { formatJson } from "./json-text.js";
import { isFastControl } from "./session.js";

/** A fixture file that breaks the format: `${file}: ${path}: ${reason}`. */
export class FixtureError extends CliUsageError {
  constructor(where: string, path: string, reason: string) {
    super(`${where}: ${path}: ${reason}`);
    this.name = "FixtureError";
  }
}

export interface CallExpectation {
  /** "HV_STATUS_…" */
  readonly status: string;
  /** The 64-bit result value: "0x" and 16 lowercase hex digits. */
  readonly result: string;
}

/** One hypercall: `fast` (the input register of a fast call) or `inputGpa` (a memory call). */
export interface FixtureCall {
  readonly control: string;
  readonly fast?: string;
  readonly inputGpa?: string;
  /** Overrides the fixture's caller / vp for this call. */
  readonly caller?: number;
  readonly vp?: number;
  readonly note?: string;
  readonly expect?: CallExpectation;
}

/** One VP's final state, as `--dump-state` writes it (empty objects included). */
export interface FinalVpState {
  readonly partition: number;
  readonly vp: number;
  readonly siefFlags: Readonly<Record<string, readonly number[]>>;
  readonly sintAssertions: Readonly<Record<string, number>>;
}

export interface GoldenFixture {
  /** The file's name without `.json`: lowercase letters, digits and dashes. */
  readonly name: string;
  readonly description: string;
  /** A scenario file (cli-contract.md schema), as JSON. */
  readonly scenario: unknown;
  /** Default calling partition id and VP index of the calls. */
  readonly caller: number;
  readonly vp: number;
  readonly calls: readonly FixtureCall[];
  /** Every VP of every partition, in scenario order (VPs by ascending index). */
  readonly expectFinal?: readonly FinalVpState[];
}

/** What running a fixture gives, in the shape of its expectations. */
export interface FixtureRun {
  readonly calls: readonly CallExpectation[];
  readonly final: readonly FinalVpState[];
  /** Indexes of failed calls that changed the machine's state (must be empty). */
  readonly failedCallsThatChangedState: readonly number[];
}

const NAME_RE = /^[a-z0-9][a-z0-9-]*$/;
const RESULT_RE = /^0x[0-9a-f]{16}$/;

const hex64 = z.string().refine((s) => parseU64Hex(s) !== undefined, {
  error: `expected ${U64_HEX_HINT}`,
});
const partitionId = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const vpIndex = z.number().int().min(0).max(HV_VP_INDEX_MAX);
const count = z.number().int().min(0);

const callSchema = z
  .strictObject({
    control: hex64,
    fast: hex64.optional(),
    inputGpa: hex64.optional(),
    caller: partitionId.optional(),
    vp: vpIndex.optional(),
    note: z.string().optional(),
    expect: z
      .strictObject({
        status: z
          .string()
          .refine((s) => s.startsWith("HV_STATUS_") && hvStatusFromName(s) !== undefined, {
            error: 'expected a status name like "HV_STATUS_SUCCESS"',
          }),
        result: z.string().regex(RESULT_RE, { error: 'expected "0x" and 16 lowercase hex digits' }),
      })
      .optional(),
  })
  .refine((c) => (c.fast === undefined) !== (c.inputGpa === undefined), {
    error:
      'give exactly one of "fast" (a fast call\'s input register) or "inputGpa" (a memory call)',
  });

const finalSchema = z.strictObject({
  partition: partitionId,
  vp: vpIndex,
  siefFlags: z.record(z.string(), z.array(count)),
  sintAssertions: z.record(z.string(), count),
});

const fixtureSchema = z.strictObject({
  name: z.string().regex(NAME_RE, { error: "expected lowercase letters, digits and dashes" }),
  description: z.string(),
  scenario: z.unknown(),
  caller: partitionId,
  vp: vpIndex,
  calls: z.array(callSchema).min(1, { error: "at least one call" }),
  expectFinal: z.array(finalSchema).optional(),
});

function pathText(path: readonly PropertyKey[]): string {
  let text = "";
  for (const s of path)
    text += typeof s === "number" ? `[${s}]` : text === "" ? String(s) : `.${String(s)}`;
  return text === "" ? "(root)" : text;
}

/**
 * Validates a parsed fixture. `where` names it in messages (the file path). The scenario is
 * validated too, so a fixture that loads also runs.
 */
export function parseFixture(json: unknown, where: string): GoldenFixture {
  const parsed = fixtureSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path =
      issue.code === "unrecognized_keys" ? [...issue.path, issue.keys[0] ?? ""] : issue.path;
    throw new FixtureError(where, pathText(path), issue.message);
  }
  const fixture = parsed.data as GoldenFixture;
  scenarioOf(fixture, where);
  return fixture;
}

function scenarioOf(fixture: GoldenFixture, where: string): ScenarioDocument {
  try {
    return parseScenario(fixture.scenario);
  } catch (error) {
    if (error instanceof ScenarioError) {
      const path = error.path.startsWith("(") ? "scenario" : `scenario.${error.path}`;
      throw new FixtureError(where, path, error.reason);
    }
    throw error;
  }
}

/** Reads and validates one fixture file; its `name` must be the file's name. */
export async function loadFixture(path: string): Promise<GoldenFixture> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new FixtureError(path, "(root)", error instanceof Error ? error.message : String(error));
  }
  const fixture = parseFixture(json, path);
  const expected = basename(path, ".json");
  if (fixture.name !== expected) {
    throw new FixtureError(
      path,
      "name",
      `is "${fixture.name}", the file is ${expected}.json: make them match`,
    );
  }
  return fixture;
}

/** The `.json` files of a directory, sorted, as paths. */
export async function fixturePaths(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names
    .filter((n) => n.endsWith(".json"))
    .sort()
    .map((n) => join(dir, n));
}

/** The part of a `--dump-state` document (or of dumpScenario's result) that final states come from. */
export interface StateDump {
  readonly partitions: readonly {
    readonly id: number;
    readonly vps: readonly {
      readonly index: number;
      readonly siefFlags: Readonly<Record<string, readonly number[]>>;
      readonly sintAssertions: Readonly<Record<string, number>>;
    }[];
  }[];
}

/** Every VP's SIEF flags and interrupt counts from a dump, in its order. */
export function finalStateOfDump(dump: StateDump): FinalVpState[] {
  return dump.partitions.flatMap((p) =>
    p.vps.map((vp) => ({
      partition: p.id,
      vp: vp.index,
      siefFlags: vp.siefFlags,
      sintAssertions: vp.sintAssertions,
    })),
  );
}

/** Every VP's SIEF flags and interrupt counts, as `--dump-state` writes them. */
export function finalState(machine: Machine): FinalVpState[] {
  return finalStateOfDump(dumpScenario(machine));
}

export interface RunOptions {
  /**
   * Which library API issues the calls: `hypercall` (the per-call BigInt API, the default) or
   * `dispatch` (the allocation-free u32-halves hot path).
   */
  readonly api?: "hypercall" | "dispatch";
  /** Names the fixture in messages. */
  readonly where?: string;
}

/**
 * Runs the calls in order against a fresh machine. Throws a {@link FixtureError} for host mistakes
 * in the fixture (a caller or VP the scenario lacks, `fast` given for a memory call); every
 * guest-side value gets a status.
 */
export function runFixture(fixture: GoldenFixture, options: RunOptions = {}): FixtureRun {
  const where = options.where ?? `${fixture.name}.json`;
  const machine = loadMachine(scenarioOf(fixture, where));
  const dispatcher = new Dispatcher(machine);
  const calls: CallExpectation[] = [];
  const changed: number[] = [];
  fixture.calls.forEach((call, i) => {
    const at = `calls[${i}]`;
    const caller = call.caller ?? fixture.caller;
    const vp = call.vp ?? fixture.vp;
    const callerSlot = machine.partitionSlot(caller);
    if (callerSlot < 0) {
      throw new FixtureError(
        where,
        call.caller === undefined ? "caller" : `${at}.caller`,
        `no partition with id ${caller} in the scenario`,
      );
    }
    const vpSlot = machine.vpSlot(callerSlot, vp);
    if (vpSlot < 0) {
      throw new FixtureError(
        where,
        call.vp === undefined ? "vp" : `${at}.vp`,
        `partition ${caller} has no VP with index ${vp}`,
      );
    }
    const control = parseU64Hex(call.control)!;
    const fast = isFastControl(control);
    if (fast !== (call.fast !== undefined)) {
      throw new FixtureError(
        where,
        at,
        fast
          ? `control ${call.control} has the fast bit (16) set: give the input register as "fast", not "inputGpa"`
          : `control ${call.control} has the fast bit (16) clear: give the input address as "inputGpa", not "fast"`,
      );
    }
    const input = parseU64Hex(call.fast ?? call.inputGpa ?? "")!;
    const before = machine.snapshot();
    let status: number;
    let lo: number;
    let hi: number;
    if (options.api === "dispatch") {
      const c = u64ToHalves(control);
      const r = u64ToHalves(input);
      status = dispatcher.dispatch(callerSlot, vpSlot, c.lo, c.hi, r.lo, r.hi);
      // The result value of a simple call: the status, reps completed 0.
      lo = resultLo(status);
      hi = resultHi(0);
    } else {
      const outcome = hypercall(dispatcher, { caller, vp, control, input });
      status = outcome.status;
      lo = outcome.resultLo;
      hi = outcome.resultHi;
    }
    if (status !== HvStatus.SUCCESS && !machine.equals(before)) changed.push(i);
    calls.push({ status: hvStatusName(status), result: formatU64Hex(lo, hi) });
  });
  return { calls, final: finalState(machine), failedCallsThatChangedState: changed };
}

/** What the fixture expects, in the shape {@link runFixture} returns (for a deep comparison). */
export function expectedRun(fixture: GoldenFixture): FixtureRun {
  return {
    calls: fixture.calls.map((c) => c.expect ?? { status: "(no expectation)", result: "(none)" }),
    final: fixture.expectFinal ?? [],
    failedCallsThatChangedState: [],
  };
}

/** The fixture with its expectations replaced by what a run gave (for fixtures:update). */
export function withExpectations(fixture: GoldenFixture, run: FixtureRun): GoldenFixture {
  return {
    name: fixture.name,
    description: fixture.description,
    scenario: fixture.scenario,
    caller: fixture.caller,
    vp: fixture.vp,
    calls: fixture.calls.map((call, i) => ({ ...call, expect: run.calls[i]! })),
    expectFinal: run.final,
  };
}

/** The file text of a fixture: fixed key order, short values on one line. */
/** Fixture files allow longer lines than code: a port or a call with its expectation fits on one. */
const FIXTURE_WIDTH = 130;

export function formatFixture(fixture: GoldenFixture): string {
  return formatJson(
    {
      name: fixture.name,
      description: fixture.description,
      scenario: fixture.scenario,
      caller: fixture.caller,
      vp: fixture.vp,
      calls: fixture.calls.map((c) => ({
        control: c.control,
        fast: c.fast,
        inputGpa: c.inputGpa,
        caller: c.caller,
        vp: c.vp,
        note: c.note,
        expect: c.expect,
      })),
      expectFinal: fixture.expectFinal,
    },
    FIXTURE_WIDTH,
  );
}

/** Writes `${dir}/${name}.json`; returns the path. */
export async function writeFixture(dir: string, fixture: GoldenFixture): Promise<string> {
  const path = join(dir, `${fixture.name}.json`);
  await writeFile(path, formatFixture(fixture));
  return path;
}
