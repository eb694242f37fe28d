/** The path that names the whole scenario document rather than one field of it. */
export const SCENARIO_ROOT_PATH = "(root)";

/**
 * A scenario file that breaks a rule of the CLI contract ("Scenario file"). The message is one
 * line, `${path}: ${reason}`, e.g. `partitions[0].vps[1].siefp: not a hex string: "0xZZ"`; the CLI
 * prints it after `scenario: ` and exits with code 2.
 */
export class ScenarioError extends Error {
  /** JSON path of the offending field, e.g. `partitions[0].vps[1].siefp`, or `(root)`. */
  readonly path: string;
  /** What is wrong (and, when short, how to fix it). */
  readonly reason: string;

  constructor(path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.name = "ScenarioError";
    this.path = path;
    this.reason = reason;
  }
}
