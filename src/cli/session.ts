/**
 * What `replay` and `exec` share: the scenario file, the calling partition and VP, the fast bit
 * and `--dump-state`. Every host mistake becomes a {@link CliUsageError} (exit 2, one line).
 */
import { constants } from "node:fs";
import { access, readFile, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { CONTROL_FAST_BIT } from "../abi/hypercall-control.js";
import { u64ToHalves } from "../abi/u64.js";
import type { Machine } from "../state/machine.js";
import type { ScenarioDocument } from "../state/scenario-document.js";
import { dumpScenario } from "../state/scenario-dump.js";
import { ScenarioError } from "../state/scenario-error.js";
import { parseScenarioText } from "../state/scenario-schema.js";
import { CliUsageError, fsReason, quote } from "./cli-error.js";
import { formatJson } from "./json-text.js";

/** Reads and validates a scenario file; any problem is a one-line `scenario: …` usage error. */
export async function readScenarioFile(path: string): Promise<ScenarioDocument> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new CliUsageError(`scenario: cannot read ${quote(path)}: ${fsReason(error)}`);
  }
  try {
    return parseScenarioText(text);
  } catch (error) {
    if (error instanceof ScenarioError) throw new CliUsageError(`scenario: ${error.message}`);
    throw error;
  }
}

/** True when a control value asks for a fast (register) call: bit 16. */
export function isFastControl(control: bigint): boolean {
  return (u64ToHalves(control).lo & CONTROL_FAST_BIT) !== 0;
}

export interface Caller {
  /** Partition id. */
  readonly caller: number;
  /** VP index. */
  readonly vp: number;
}

function listOf(values: readonly number[]): string {
  return values.length === 0 ? "none" : values.join(", ");
}

/**
 * The calling partition and VP: `--caller` (default: the first partition of the file) and `--vp`
 * (default 0), checked against the scenario.
 */
export function resolveCaller(doc: ScenarioDocument, caller?: number, vp?: number): Caller {
  const partition =
    caller === undefined ? doc.partitions[0] : doc.partitions.find((p) => p.id === caller);
  if (partition === undefined) {
    const ids = doc.partitions.map((p) => p.id);
    throw new CliUsageError(
      `--caller ${caller}: no partition with that id in the scenario (its partitions: ${listOf(ids)})`,
    );
  }
  const index = vp ?? 0;
  if (!partition.vps.some((v) => v.index === index)) {
    const indexes = partition.vps.map((v) => v.index).sort((a, b) => a - b);
    const which = vp === undefined ? "the default --vp 0" : `--vp ${index}`;
    throw new CliUsageError(
      `${which}: partition ${partition.id} has no VP with index ${index} (its VPs: ${listOf(indexes)}); ` +
        "a hypercall is issued by one of the caller's VPs",
    );
  }
  return { caller: partition.id, vp: index };
}

/**
 * Checks up front that `--dump-state OUT` can be written (its directory exists and is writable, OUT
 * is not a directory), so that a bad path fails before any call runs, without creating a file.
 */
export async function checkDumpTarget(path: string): Promise<void> {
  if (path === "-" || path === "") {
    throw new CliUsageError(
      `--dump-state ${quote(path)}: give a file path (stdout carries the result lines)`,
    );
  }
  try {
    const s = await stat(path);
    if (s.isDirectory()) throw new CliUsageError(`--dump-state ${quote(path)}: is a directory`);
  } catch (error) {
    if (error instanceof CliUsageError) throw error;
    // A file that does not exist yet is fine; its directory must be writable.
  }
  try {
    await access(dirname(path), constants.W_OK);
  } catch (error) {
    throw new CliUsageError(`--dump-state ${quote(path)}: cannot write there: ${fsReason(error)}`);
  }
}

/** Writes the final state: the scenario schema plus `siefFlags` and `sintAssertions` per VP. */
export async function writeDump(path: string, machine: Machine): Promise<void> {
  try {
    await writeFile(path, formatJson(dumpScenario(machine)));
  } catch (error) {
    throw new CliUsageError(`--dump-state ${quote(path)}: cannot write: ${fsReason(error)}`);
  }
}
