/**
 * CI budget of the fuzz properties (issue 6). All the properties that make hypercalls run here, in
 * one file, so that the calls can be counted across them: the count is printed and must reach
 * 50,000, and every status of the seed's table plus the generic layer's must come up (the
 * distribution, by status and by check of the spec's order, is printed).
 *
 * The long campaign over the same properties is `npm run fuzz -- --seconds N`.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { hvStatusName } from "../../src/abi/hv-status.js";
import { MODEL_CHECKS } from "../model/signal-event-model.js";
import {
  controlsProperty,
  differentialProperty,
  type FuzzProperty,
  modelBasedProperty,
  propertyOf,
  recordsProperty,
} from "./properties.js";
import { Tally, UNREACHABLE_CHECKS } from "./tally.js";

/** Calls the CI run must make across the properties. */
const MIN_CALLS = 50_000;

const total = new Tally();

function budget<T>(p: FuzzProperty<T>, numRuns: number): void {
  it(`${p.name}: ${numRuns} runs`, () => {
    const tally = new Tally();
    const started = performance.now();
    try {
      fc.assert(propertyOf(p, tally), { numRuns });
    } finally {
      total.merge(tally);
      const ms = Math.round(performance.now() - started);
      console.log(`${tally.format(`${p.name}`)}\n  (${ms} ms)`);
    }
  });
}

describe("fuzz: generated SignalEvent calls (CI budget)", () => {
  budget(differentialProperty(80), 1500);
  budget(modelBasedProperty(60), 300);
  budget(recordsProperty(30), 400);
  budget(controlsProperty(30), 400);

  it(`made at least ${MIN_CALLS.toLocaleString("en-US")} calls and reached every status`, () => {
    console.log(total.format("fuzz total"));
    expect(total.calls).toBeGreaterThanOrEqual(MIN_CALLS);
    expect(total.missingStatuses().map(hvStatusName)).toEqual([]);
  });

  it("reached every check of the spec's order that a call can reach", () => {
    const missing = MODEL_CHECKS.filter(
      (c) => !UNREACHABLE_CHECKS.includes(c) && !total.checks.has(c),
    );
    expect(missing).toEqual([]);
  });
});

afterAll(() => {
  console.log(`fuzz: ${total.calls.toLocaleString("en-US")} generated calls in this run`);
});
