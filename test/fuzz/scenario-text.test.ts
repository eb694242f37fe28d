/**
 * Crash safety of the scenario loader (issue 6, item 6): any text given as a scenario file gives a
 * document that loads, or a one-line ScenarioError naming a path — never another exception.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { propertyOf, scenarioTextCounts, scenarioTextProperty } from "./properties.js";
import { checkScenarioText } from "./scenario-text.js";
import { Tally } from "./tally.js";

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
