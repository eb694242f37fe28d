/**
 * CI budget of the fuzz properties. Every property that makes hypercalls runs here, in one file,
 * so that the calls can be counted across them: the count is printed and must reach 50,000, and
 * every status of both tables (signal-event.md §3 as §6 uses it, post-message.md §3) and every
 * (check, detail) pair the trace model can report must come up. The distribution is printed.
 *
 * The long campaign over the same properties is `npm run fuzz -- --seconds N`.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  controlsProperty,
  differentialProperty,
  type FuzzProperty,
  guestBytesProperty,
  modelBasedProperty,
  propertyOf,
  recordsProperty,
} from "./properties.js";
import { Tally } from "./tally.js";

/** Calls the CI run must make across the properties. */
const MIN_CALLS = 50_000;

const total = new Tally();

function budget<T>(p: FuzzProperty<T>, numRuns: number): void {
  it(`${p.name}: ${numRuns} runs`, () => {
    const tally = new Tally();
    const started = performance.now();
    const cpu = process.cpuUsage();
    try {
      fc.assert(propertyOf(p, tally), { numRuns });
    } finally {
      total.merge(tally);
      const ms = Math.round(performance.now() - started);
      const used = process.cpuUsage(cpu);
      const cpuMs = Math.round((used.user + used.system) / 1000);
      console.log(`${tally.format(p.name)}\n  (${ms} ms, ${cpuMs} ms of CPU)`);
    }
  });
}

describe("fuzz: generated traces, SignalEvent and PostMessage (CI budget)", () => {
  budget(differentialProperty(80), 700);
  budget(modelBasedProperty(60), 150);
  budget(recordsProperty(30), 250);
  budget(controlsProperty(30), 250);
  budget(guestBytesProperty(60), 200);

  it(`made at least ${MIN_CALLS.toLocaleString("en-US")} calls and reached every status`, () => {
    console.log(total.format("fuzz total"));
    expect(total.calls).toBeGreaterThanOrEqual(MIN_CALLS);
    expect(total.missingStatuses()).toEqual([]);
  });

  it("reached every (check, detail) pair the trace model can report, and no other", () => {
    expect(total.missingDetails()).toEqual([]);
    expect(total.unknownDetails()).toEqual([]);
  });
});

afterAll(() => {
  console.log(`fuzz: ${total.calls.toLocaleString("en-US")} generated calls in this run`);
});
