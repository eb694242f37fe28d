/**
 * What the commands that run a machine share: the scenario file, the calling partition and VP,
 * and `--dump-state`. Every host mistake becomes a {@link CliUsageError} (exit 2, one line).
 */
import { readFile } from "node:fs/promises";
import type { Machine } from "../state/machine.js";
import type { ScenarioDocument } from "../state/scenario-document.js";
import { dumpScenario } from "../state/scenario-dump.js";
import { ScenarioError } from "../state/scenario-error.js";
import { parseScenarioText } from "../state/scenario-schema.js";
import { CliUsageError, fsReason, quote } from "./cli-error.js";
import { readStdinText } from "./input-text.js";
import { formatJson } from "./json-text.js";
import { writeFileAtomically } from "./output-file.js";

/** The options every machine-running command takes. */
export interface MachineFlags {
  readonly scenario: string;
  readonly caller?: number;
  readonly vp?: number;
  readonly dumpState?: string;
}

/** The text of a scenario file ("-": stdin). */
export async function readScenarioText(path: string): Promise<string> {
  try {
    return path === "-" ? await readStdinText() : await readFile(path, "utf8");
  } catch (error) {
    throw new CliUsageError(
      `scenario: cannot read ${path === "-" ? "stdin" : quote(path)}: ${fsReason(error)}`,
    );
  }
}

/** Validates a scenario's text; any problem is a one-line `scenario: …` error. */
export function scenarioOfText(text: string): ScenarioDocument {
  try {
    return parseScenarioText(text);
  } catch (error) {
    if (error instanceof ScenarioError) throw new CliUsageError(`scenario: ${error.message}`);
    throw error;
  }
}

/** Reads and validates a scenario file ("-": stdin). */
export async function readScenarioFile(path: string): Promise<ScenarioDocument> {
  return scenarioOfText(await readScenarioText(path));
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
 * (default 0), checked against the scenario. With `vpRequired` false (a trace, whose ops may name
 * their own VP) a default VP the partition lacks is not an error until an op uses it.
 */
export function resolveCaller(
  doc: ScenarioDocument,
  caller?: number,
  vp?: number,
  vpRequired = true,
): Caller {
  const partition =
    caller === undefined ? doc.partitions[0] : doc.partitions.find((p) => p.id === caller);
  if (partition === undefined) {
    const ids = doc.partitions.map((p) => p.id);
    throw new CliUsageError(
      `--caller ${caller}: no partition with that id in the scenario (its partitions: ${listOf(ids)})`,
    );
  }
  const index = vp ?? 0;
  if ((vpRequired || vp !== undefined) && !partition.vps.some((v) => v.index === index)) {
    const indexes = partition.vps.map((v) => v.index).sort((a, b) => a - b);
    const which = vp === undefined ? "the default --vp 0" : `--vp ${index}`;
    throw new CliUsageError(
      `${which}: partition ${partition.id} has no VP with index ${index} (its VPs: ${listOf(indexes)}); ` +
        "a hypercall is issued by one of the caller's VPs",
    );
  }
  return { caller: partition.id, vp: index };
}

/** Writes the final state (docs/cli.md §3) to OUT, atomically. */
export async function writeDump(path: string, machine: Machine): Promise<void> {
  await writeFileAtomically("--dump-state", path, formatJson(dumpScenario(machine)));
}
