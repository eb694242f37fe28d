import type { ScenarioDocument } from "./scenario-document.js";

/**
 * The documents parseScenario returned. loadMachine loads only those: they are checked field by
 * field (docs/cli.md §2), and a hand-made object would otherwise fail deep inside the load with a
 * message naming nothing. A WeakSet, so that a document is not kept alive by being checked.
 */
const PARSED = new WeakSet<object>();

export function markParsed(doc: ScenarioDocument): void {
  PARSED.add(doc);
}

/** True when `doc` came from parseScenario / parseScenarioText. */
export function isParsedScenario(doc: unknown): doc is ScenarioDocument {
  return typeof doc === "object" && doc !== null && PARSED.has(doc);
}
