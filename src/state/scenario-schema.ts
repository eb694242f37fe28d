/**
 * Loader / validator for the scenario file of the CLI contract (docs/cli.md §2).
 *
 * Two passes over the parsed JSON, both linear (memory ranges: n log n):
 *  1. the field schemas (scenario-fields.ts) check every field on its own and normalise it into a
 *     {@link ScenarioDocument};
 *  2. the cross-field rules (scenario-relations.ts) check what spans fields or records, on the raw
 *     JSON, looking only at fields that are valid on their own.
 * Of all the problems both passes find, the first in document order is reported as one
 * {@link ScenarioError} (scenario-report.ts).
 */
import { markParsed } from "./scenario-brand.js";
import type { ScenarioDocument } from "./scenario-document.js";
import { SCENARIO_ROOT_PATH, ScenarioError } from "./scenario-error.js";
import { SCENARIO_SCHEMA } from "./scenario-fields.js";
import { checkRelations } from "./scenario-relations.js";
import { fail, oneLine, type Problem, reportFirst, zodProblems } from "./scenario-report.js";

/**
 * Validates a parsed scenario file and returns it normalised. Throws a {@link ScenarioError} naming
 * the first problem in document order (and nothing else, whatever `json` is).
 */
export function parseScenario(json: unknown): ScenarioDocument {
  const result = SCENARIO_SCHEMA.safeParse(json);
  const problems: Problem[] = [];
  if (!result.success) zodProblems(result.error.issues, problems);
  checkRelations(json, problems);
  reportFirst(json, problems);
  if (result.success) {
    markParsed(result.data);
    return result.data;
  }
  return fail({ path: [], reason: "not a valid scenario" });
}

/** A UTF-8 byte order mark, which some editors put at the start of a file. */
const BOM = "\ufeff";

/**
 * Parses the text of a scenario file (JSON) and validates it as {@link parseScenario} does. A
 * leading UTF-8 byte order mark is skipped.
 */
export function parseScenarioText(text: string): ScenarioDocument {
  if (typeof text !== "string") {
    throw new TypeError(
      `parseScenarioText: expected the file's text (a string), got ${typeof text}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text.startsWith(BOM) ? text.slice(BOM.length) : text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new ScenarioError(SCENARIO_ROOT_PATH, oneLine(`not valid JSON: ${detail}`));
  }
  return parseScenario(json);
}
