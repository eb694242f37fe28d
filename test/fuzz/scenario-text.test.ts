/**
 * Crash safety of the scenario loader (issue 6, item 6): any text given as a scenario file gives a
 * document that loads, or a one-line ScenarioError naming a path — never another exception. And of
 * the trace readers: any trace line or binary record gives an op (which writes back to itself and
 * runs), or a one-line TraceError.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  propertyOf,
  scenarioTextCounts,
  scenarioTextProperty,
  traceTextCounts,
  traceTextProperty,
} from "./properties.js";
import { checkScenarioText } from "./scenario-text.js";
import { Tally } from "./tally.js";
import { checkTraceLine, checkTraceRecord } from "./trace-text.js";

describe("fuzz: scenario files", () => {
  it("parseScenarioText: a document or a ScenarioError, for any text", () => {
    fc.assert(propertyOf(scenarioTextProperty(), new Tally()), { numRuns: 3000 });
    console.log(
      `scenario texts: ${scenarioTextCounts.accepted} accepted, ${scenarioTextCounts.rejected} rejected with a ScenarioError`,
    );
    // Both outcomes must be exercised, or the generator has drifted off the interesting region.
    expect(scenarioTextCounts.accepted).toBeGreaterThan(100);
    expect(scenarioTextCounts.rejected).toBeGreaterThan(1000);
  });

  it("the checker itself flags what it should", () => {
    expect(checkScenarioText('{"partitions": [{"id": 1}]}')).toEqual({ accepted: true });
    expect(checkScenarioText("{")).toEqual({ accepted: false });
    expect(
      checkScenarioText('{"partitions": [{"id": 1, "vps": [{"index": 0, "siefp": "0xZZ"}]}]}'),
    ).toEqual({
      accepted: false,
    });
  });
});

describe("fuzz: trace lines and binary records", () => {
  it("parseTraceLine / decodeTraceRecord: an op or a TraceError, for any text or bytes", () => {
    fc.assert(propertyOf(traceTextProperty(), new Tally()), { numRuns: 3000 });
    console.log(
      `trace texts: ${traceTextCounts.accepted} read as ops, ${traceTextCounts.rejected} rejected or not whole`,
    );
    expect(traceTextCounts.accepted).toBeGreaterThan(300);
    expect(traceTextCounts.rejected).toBeGreaterThan(1000);
  });

  it("the checker itself flags what it should", () => {
    expect(checkTraceLine('{"op":"eoi"}')).toEqual({ accepted: true });
    expect(checkTraceLine('{"op":"eoi","partition":9}')).toEqual({ accepted: true }); // runs: host misuse
    expect(checkTraceLine('{"op":"nope"}')).toEqual({ accepted: false });
    expect(checkTraceRecord(Uint8Array.of(6, 0, 0, 0, 0, 0, 0, 0))).toEqual({ accepted: true });
    expect(checkTraceRecord(Uint8Array.of(6, 0, 0, 0))).toEqual({ accepted: false });
    expect(checkTraceRecord(Uint8Array.of(9, 0, 0, 0, 0, 0, 0, 0))).toEqual({ accepted: false });
    // A hypercall record whose body size (0) is too small for its fields, with bytes after it.
    expect(checkTraceRecord(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0))).toEqual({ accepted: false });
  });

  // Found by fuzzing (fixed): decodeTraceRecord read a record's fields before it checked the body
  // size against them, so a record whose declared body is too short, at the very end of the view,
  // read past it: a RangeError instead of a TraceError, and through the CLI exit 1 with a stack
  // trace instead of exit 2 with one line.
  for (const flags of [0, 4, 7]) {
    it(`a hypercall record (flags ${flags}) with body size 0, at the end of the view: a TraceError`, () => {
      expect(
        checkTraceRecord(Uint8Array.of(1, flags, 0, 0, 0, 0, 0, 0), new Uint8Array(0)),
      ).toEqual({ accepted: false });
    });
  }
  it("a write record with body size 8, at the end of the view: a TraceError", () => {
    expect(
      checkTraceRecord(
        Uint8Array.of(2, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        new Uint8Array(0),
      ),
    ).toEqual({ accepted: false });
  });
});
