/**
 * Golden fixtures, format version 2 (docs/golden-fixtures.md): a named scenario, a guest trace
 * whose ops carry the answer each must get, and the final state every VP must end in. This module
 * validates, formats and writes them; fixture-run.ts runs them. hvcall's own fixtures/golden/ and
 * a user's suite go through the same code.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { hvStatusFromName } from "../../abi/hv-status.js";
import { HANDLER_TABLE } from "../../dispatch/handler-table.js";
import type { ScenarioDocument } from "../../state/scenario-document.js";
import { ScenarioError } from "../../state/scenario-error.js";
import { SINT_KEY_PROBLEM } from "../../state/scenario-ranges.js";
import { parseScenario } from "../../state/scenario-schema.js";
import { parseTraceObject } from "../../trace/trace-jsonl.js";
import { TraceError, type TraceOp, TraceOpCode } from "../../trace/trace-op.js";
import { CliUsageError, fsReason } from "../cli-error.js";
import { formatJson } from "../json-text.js";

/** The value of the `format` field: the format and its version. */
export const FIXTURE_FORMAT = "hvcall-golden/2";

/** A fixture file that breaks the format: `${file}: ${path}: ${reason}`. */
export class FixtureError extends CliUsageError {
  constructor(where: string, path: string, reason: string) {
    super(`${where}: ${path}: ${reason}`);
    this.name = "FixtureError";
  }
}

/** What a hypercall op must give, or what a guest action must give. */
export type OpExpectation =
  | { readonly status: string; readonly result: string; readonly check?: string }
  | { readonly outcome: string; readonly hex?: string; readonly value?: string };

/** One VP's final state, as `--dump-state` writes it (empty objects included). */
export interface FinalVpState {
  readonly partition: number;
  readonly vp: number;
  readonly siefFlags: Readonly<Record<string, readonly number[]>>;
  readonly sintAssertions: Readonly<Record<string, number>>;
  readonly simSlots: Readonly<Record<string, string>>;
  readonly queuedMessages: Readonly<Record<string, number>>;
}

/** One trace entry: the op as a trace line writes it, and optionally a note and its answer. */
export interface FixtureEntry {
  /** The op's JSON object (without note and expect), as in the file. */
  readonly op: Readonly<Record<string, unknown>>;
  readonly note?: string;
  readonly expect?: OpExpectation;
}

export interface GoldenFixture {
  readonly name: string;
  readonly description: string;
  /** A scenario file, as JSON. */
  readonly scenario: unknown;
  /** Default partition and VP of the ops (as --caller, --vp); undefined: the first partition, 0. */
  readonly caller?: number;
  readonly vp?: number;
  readonly trace: readonly FixtureEntry[];
  /** Every VP of every partition, in scenario order (VPs by ascending index). */
  readonly expectFinal?: readonly FinalVpState[];
}

const NAME_RE = /^[a-z0-9][a-z0-9-]*$/;
const RESULT_RE = /^0x[0-9a-f]{16}$/;
const BOM = "\uFEFF";

/** A deciding step: `generic.N` or a family of a call hvcall implements (docs/cli.md §8). */
const CHECK_RE = new RegExp(
  `^(?:${["generic", ...new Set(HANDLER_TABLE.map((row) => row.checkFamily))].join("|")})\\.[1-9][0-9]*$`,
);
const HEX_BYTES_RE = /^(?:[0-9a-f]{2})*$/;
const SLOT_RE = /^[0-9a-f]{512}$/;
const SINT_KEY_RE = /^(?:[0-9]|1[0-5])$/;
const TOP_KEYS = [
  "format",
  "name",
  "description",
  "scenario",
  "caller",
  "vp",
  "trace",
  "expectFinal",
];
const FINAL_KEYS = ["partition", "vp", "siefFlags", "sintAssertions", "simSlots", "queuedMessages"];

type Json = Readonly<Record<string, unknown>>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function shown(v: unknown): string {
  return v === undefined ? "nothing" : (JSON.stringify(v) ?? String(v));
}

/** A validating reader over one file's JSON: every error names the path of the field. */
class Checker {
  constructor(readonly where: string) {}

  fail(path: string, reason: string): never {
    throw new FixtureError(this.where, path, reason);
  }

  object(v: unknown, path: string, keys: readonly string[]): Json {
    if (!isObject(v)) this.fail(path, `expected an object, got ${shown(v)}`);
    for (const k of Object.keys(v))
      if (!keys.includes(k))
        this.fail(`${path}.${k}`, `unknown field (allowed: ${keys.join(", ")})`);
    return v;
  }

  string(v: unknown, path: string, re?: RegExp, what = "a string"): string {
    if (typeof v !== "string" || (re !== undefined && !re.test(v)))
      this.fail(path, `expected ${what}, got ${shown(v)}`);
    return v;
  }

  integer(v: unknown, path: string, min: number, max: number): number {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
      this.fail(path, `expected an integer ${min}..${max}, got ${shown(v)}`);
    return v;
  }

  perSint<T>(
    v: unknown,
    path: string,
    value: (x: unknown, p: string) => T,
  ): Readonly<Record<string, T>> {
    const o = this.object(v, path, Object.keys(isObject(v) ? v : {}));
    const out: Record<string, T> = {};
    for (const [k, x] of Object.entries(o)) {
      if (!SINT_KEY_RE.test(k)) this.fail(`${path}.${k}`, SINT_KEY_PROBLEM);
      out[k] = value(x, `${path}.${k}`);
    }
    return out;
  }
}

function parseExpect(c: Checker, v: unknown, path: string, op: TraceOp): OpExpectation {
  if (op.code === TraceOpCode.hypercall) {
    const o = c.object(v, path, ["status", "result", "check"]);
    const status = c.string(
      o.status,
      `${path}.status`,
      /^HV_STATUS_/,
      'a status name like "HV_STATUS_SUCCESS"',
    );
    if (
      hvStatusFromName(status) === undefined &&
      !/^HV_STATUS_UNKNOWN_0x[0-9A-F]{4}$/.test(status)
    ) {
      c.fail(`${path}.status`, `unknown status name ${shown(status)}`);
    }
    const result = c.string(
      o.result,
      `${path}.result`,
      RESULT_RE,
      '"0x" and 16 lowercase hex digits',
    );
    if (o.check === undefined) return { status, result };
    return {
      status,
      result,
      check: c.string(
        o.check,
        `${path}.check`,
        CHECK_RE,
        'a check like "signal-event.8" (generic.N or a family of a call hvcall implements)',
      ),
    };
  }
  const o = c.object(v, path, ["outcome", "hex", "value"]);
  const outcome = c.string(
    o.outcome,
    `${path}.outcome`,
    /^(?:ok|unbacked|#GP)$/,
    '"ok", "unbacked" or "#GP"',
  );
  const out: { outcome: string; hex?: string; value?: string } = { outcome };
  if (o.hex !== undefined)
    out.hex = c.string(o.hex, `${path}.hex`, HEX_BYTES_RE, "lowercase hex bytes");
  if (o.value !== undefined)
    out.value = c.string(o.value, `${path}.value`, RESULT_RE, '"0x" and 16 lowercase hex digits');
  return out;
}

function parseFinal(c: Checker, v: unknown, path: string): FinalVpState {
  const o = c.object(v, path, FINAL_KEYS);
  return {
    partition: c.integer(o.partition, `${path}.partition`, 1, Number.MAX_SAFE_INTEGER),
    vp: c.integer(o.vp, `${path}.vp`, 0, 0xffffffff),
    siefFlags: c.perSint(o.siefFlags ?? {}, `${path}.siefFlags`, (x, p) => {
      if (!Array.isArray(x)) c.fail(p, "expected a list of flag numbers");
      return x.map((f, i) => c.integer(f, `${p}[${i}]`, 0, 2047));
    }),
    sintAssertions: c.perSint(o.sintAssertions ?? {}, `${path}.sintAssertions`, (x, p) =>
      c.integer(x, p, 1, 0xffffffff),
    ),
    simSlots: c.perSint(o.simSlots ?? {}, `${path}.simSlots`, (x, p) =>
      c.string(x, p, SLOT_RE, "512 lowercase hex digits"),
    ),
    queuedMessages: c.perSint(o.queuedMessages ?? {}, `${path}.queuedMessages`, (x, p) =>
      c.integer(x, p, 1, 0xffffffff),
    ),
  };
}

/**
 * Validates a parsed fixture; `where` names it in messages (the file path). The scenario and
 * every op are validated too, so a fixture that loads also runs.
 */
export function parseFixture(json: unknown, where: string): GoldenFixture {
  const c = new Checker(where);
  const o = c.object(json, "(root)", TOP_KEYS);
  if (o.format !== FIXTURE_FORMAT) {
    c.fail(
      "format",
      `expected "${FIXTURE_FORMAT}" (this hvcall reads golden fixtures of version 2), got ${shown(o.format)}`,
    );
  }
  const name = c.string(o.name, "name", NAME_RE, "lowercase letters, digits and dashes");
  const description = c.string(o.description, "description");
  if (!Array.isArray(o.trace) || o.trace.length === 0)
    c.fail("trace", "expected a list of at least one op");
  const trace = (o.trace as readonly unknown[]).map((e, i): FixtureEntry => {
    const path = `trace[${i}]`;
    let op: TraceOp;
    try {
      op = parseTraceObject(e, path, undefined, ["note", "expect"]);
    } catch (error) {
      if (error instanceof TraceError)
        c.fail(error.field === "" ? path : `${path}.${error.field}`, error.reason);
      throw error;
    }
    const { note, expect, ...rest } = e as Json;
    return {
      op: rest,
      ...(note === undefined ? {} : { note: c.string(note, `${path}.note`) }),
      ...(expect === undefined ? {} : { expect: parseExpect(c, expect, `${path}.expect`, op) }),
    };
  });
  const fixture: GoldenFixture = {
    name,
    description,
    scenario: o.scenario,
    ...(o.caller === undefined
      ? {}
      : { caller: c.integer(o.caller, "caller", 1, Number.MAX_SAFE_INTEGER) }),
    ...(o.vp === undefined ? {} : { vp: c.integer(o.vp, "vp", 0, 0xffffffff) }),
    trace,
    ...(o.expectFinal === undefined
      ? {}
      : {
          expectFinal: Array.isArray(o.expectFinal)
            ? o.expectFinal.map((f, i) => parseFinal(c, f, `expectFinal[${i}]`))
            : c.fail("expectFinal", "expected a list of VP states"),
        }),
  };
  scenarioOf(fixture, where);
  return fixture;
}

export function scenarioOf(fixture: GoldenFixture, where: string): ScenarioDocument {
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
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new CliUsageError(`${path}: cannot read: ${fsReason(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text.startsWith(BOM) ? text.slice(BOM.length) : text); // a BOM is skipped, as for scenarios
  } catch (error) {
    throw new FixtureError(
      path,
      "(root)",
      `not valid JSON (${error instanceof Error ? error.message : String(error)})`,
    );
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
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw new CliUsageError(
      `golden: cannot read the directory ${JSON.stringify(dir)}: ${fsReason(error)}`,
    );
  }
  const paths = names
    .filter((n) => n.endsWith(".json"))
    .sort()
    .map((n) => join(dir, n));
  // A FIFO or device named *.json would block the read or never end: refused, naming it.
  for (const path of paths) {
    let regular: boolean;
    try {
      regular = (await stat(path)).isFile();
    } catch (error) {
      throw new CliUsageError(`${path}: cannot read: ${fsReason(error)}`);
    }
    if (!regular) {
      throw new CliUsageError(
        `${path}: not a regular file; a fixture is a .json file (move it out of the directory)`,
      );
    }
  }
  return paths;
}

/** Fixture files allow longer lines than code: an op with its expectation fits on one. */
const FIXTURE_WIDTH = 130;

/** The file text of a fixture: fixed key order, short values on one line. */
export function formatFixture(fixture: GoldenFixture): string {
  return formatJson(
    {
      format: FIXTURE_FORMAT,
      name: fixture.name,
      description: fixture.description,
      scenario: fixture.scenario,
      caller: fixture.caller,
      vp: fixture.vp,
      trace: fixture.trace.map((e) => ({ ...e.op, note: e.note, expect: e.expect })),
      expectFinal: fixture.expectFinal,
    },
    FIXTURE_WIDTH,
  );
}
