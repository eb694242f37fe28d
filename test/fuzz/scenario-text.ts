/**
 * Crash safety of the scenario loader: any text given as a scenario file makes parseScenarioText
 * either return a document (which loadMachine then loads and dumpScenario dumps, without
 * exception) or throw a ScenarioError with a one-line `path: reason` message — never anything
 * else. Generated texts: arbitrary strings and bytes, random JSON, and valid scenarios with a few
 * fields replaced, deleted or added (these get past JSON.parse and deep into the validator).
 */
import fc from "fast-check";
import { loadMachine } from "../../src/state/load-machine.js";
import { dumpScenario } from "../../src/state/scenario-dump.js";
import { ScenarioError } from "../../src/state/scenario-error.js";
import { parseScenarioText } from "../../src/state/scenario-schema.js";
import { scenarioArb } from "./scenario-arb.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Values that sit on the edges of the contract's field rules (frozen: generators share them). */
const EDGE_VALUES: readonly Json[] = deepFreeze<Json[]>([
  null,
  true,
  -1,
  0,
  1.5,
  -0,
  16,
  2047,
  2048,
  2049,
  65535,
  65536,
  0xffffff,
  0x1000000,
  0xffffffff,
  0x100000000,
  2 ** 53,
  1e308,
  "",
  "0x",
  "0xZZ",
  "0x10000000000000000",
  "0x1",
  "any",
  "event",
  "inactive",
  "SignalEvents",
  "signalevents",
  "1400000000000000",
  "0x14",
  "abc",
  [],
  {},
  [1],
  { "16": "0x1" },
]);

const KEYS = [
  "id",
  "state",
  "privileges",
  "privilegeMask",
  "vps",
  "ports",
  "connections",
  "memory",
  "index",
  "scontrol",
  "siefp",
  "simp",
  "sints",
  "type",
  "targetVp",
  "targetSint",
  "baseFlagNumber",
  "flagCount",
  "deleted",
  "portPartition",
  "portId",
  "gpa",
  "hex",
  "16",
  "__proto__",
  "constructor",
  "toString",
  "",
];

const jsonValue = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...EDGE_VALUES) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json> },
);

interface Mutation {
  pathPick: number;
  op: "replace" | "delete" | "add" | "duplicate";
  key: string;
  value: Json;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  pathPick: fc.nat(),
  op: fc.constantFrom<Mutation["op"]>("replace", "replace", "delete", "add", "duplicate"),
  key: fc.constantFrom(...KEYS),
  value: jsonValue,
});

/** Every container (object or array) in the document, with the document itself first. */
function containers(root: Json): (Json[] | { [key: string]: Json })[] {
  const out: (Json[] | { [key: string]: Json })[] = [];
  const visit = (v: Json) => {
    if (v === null || typeof v !== "object") return;
    out.push(v);
    for (const child of Array.isArray(v) ? v : Object.values(v)) visit(child);
  };
  visit(root);
  return out;
}

function mutate(root: Json, mutation: Mutation): void {
  // The generated value may be shared (constantFrom hands out the same object every time): insert
  // a copy, so that no mutation ever reaches the constants or makes a cycle.
  const m = { ...mutation, value: structuredClone(mutation.value) };
  const all = containers(root);
  const target = all[m.pathPick % all.length];
  if (target === undefined) return;
  if (Array.isArray(target)) {
    const i = target.length === 0 ? 0 : m.pathPick % target.length;
    if (m.op === "delete") target.splice(i, 1);
    else if (m.op === "add") target.push(m.value);
    else if (m.op === "duplicate" && target.length > 0) target.push(structuredClone(target[i]!));
    else target[i] = m.value;
    return;
  }
  const keys = Object.keys(target);
  const key = keys.length === 0 ? m.key : keys[m.pathPick % keys.length]!;
  if (m.op === "delete") delete target[key];
  else if (m.op === "add")
    Object.defineProperty(target, m.key, {
      value: m.value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  else target[key] = m.value;
}

const mutatedScenario = fc
  .tuple(scenarioArb, fc.array(mutation, { minLength: 1, maxLength: 3 }))
  .map(([scenario, mutations]) => {
    const doc = JSON.parse(JSON.stringify(scenario)) as Json;
    for (const m of mutations) mutate(doc, m);
    return JSON.stringify(doc);
  });

/** Scenario texts: mostly near-valid documents, also random JSON, strings and bytes. */
export const scenarioTextArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: mutatedScenario },
  { weight: 1, arbitrary: scenarioArb.map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
  {
    weight: 1,
    arbitrary: fc
      .array(jsonValue, { maxLength: 3 })
      .map((partitions) => JSON.stringify({ partitions })),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 64 }) },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => new TextDecoder().decode(b)),
  },
);

export interface TextOutcome {
  readonly accepted: boolean;
}

const LINE_BREAK = /[\n\r\u2028\u2029]/;

/** The check for one text; throws an Error describing the violation. */
export function checkScenarioText(text: string): TextOutcome {
  let doc: ReturnType<typeof parseScenarioText>;
  try {
    doc = parseScenarioText(text);
  } catch (error) {
    if (!(error instanceof ScenarioError)) {
      throw new Error(
        `parseScenarioText threw ${String(error)} (not a ScenarioError) for ${JSON.stringify(text)}`,
      );
    }
    if (LINE_BREAK.test(error.message)) {
      throw new Error(`ScenarioError message is not one line: ${JSON.stringify(error.message)}`);
    }
    if (error.path === "" || error.message !== `${error.path}: ${error.reason}`) {
      throw new Error(
        `ScenarioError message is not "path: reason": ${JSON.stringify(error.message)}`,
      );
    }
    return { accepted: false };
  }
  try {
    dumpScenario(loadMachine(doc));
  } catch (error) {
    throw new Error(
      `accepted scenario failed to load: ${String(error)} for ${JSON.stringify(text)}`,
    );
  }
  return { accepted: true };
}
