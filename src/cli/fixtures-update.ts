/**
 * `npm run fixtures:update` (node dist/cli/fixtures-update.js [--check]): regenerates, from the
 * current code,
 *  - the expectations of every golden fixture in fixtures/golden/ (each call's status and result,
 *    the final state of every VP), printing a unified diff of each file that changes;
 *  - fixtures/examples/records.bin from its readable source fixtures/examples/records.json.
 * With --check nothing is written and the exit code is 1 when something would change.
 * Exit code 2: a fixture or record list that breaks its format (one line naming the field).
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CliUsageError, fsReason } from "./cli-error.js";
import {
  fixturePaths,
  formatFixture,
  loadFixture,
  runFixture,
  withExpectations,
} from "./golden-fixture.js";
import { parseRecordList } from "./record-list.js";
import { unifiedDiff } from "./text-diff.js";

export interface UpdateOptions {
  readonly goldenDir: string;
  readonly examplesDir: string;
  /** Report what would change, write nothing. */
  readonly check: boolean;
  /** Where the report goes (diffs and summary). */
  readonly print: (text: string) => void;
}

export interface UpdateReport {
  readonly fixtures: number;
  /** Fixture files whose text changed (or would change, with check). */
  readonly changed: readonly string[];
  /** Fixtures where a failed call changed state: a library bug, never written into expectations. */
  readonly stateChangedOnFailure: readonly string[];
  readonly exampleChanged: boolean;
}

async function readOptional(path: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(path);
  } catch {
    return undefined;
  }
}

/** Regenerates the example's records.bin from records.json; true when it changed. */
async function updateExample(options: UpdateOptions): Promise<boolean> {
  const source = join(options.examplesDir, "records.json");
  const target = join(options.examplesDir, "records.bin");
  let json: unknown;
  try {
    json = JSON.parse(await readFile(source, "utf8"));
  } catch (error) {
    throw new CliUsageError(`${source}: ${fsReason(error)}`);
  }
  const list = parseRecordList(json, source);
  const old = await readOptional(target);
  const same = old !== undefined && Buffer.compare(old, list.bytes) === 0;
  if (same) return false;
  if (!options.check) await writeFile(target, list.bytes);
  options.print(
    `${target}: ${options.check ? "out of date" : "regenerated"} from ${source} ` +
      `(${list.expect.length} records, ${list.bytes.length} bytes; was ${old?.length ?? "missing"})\n`,
  );
  return true;
}

export async function updateFixtures(options: UpdateOptions): Promise<UpdateReport> {
  const exampleChanged = await updateExample(options);
  const paths = await fixturePaths(options.goldenDir);
  const changed: string[] = [];
  const broken: string[] = [];
  for (const path of paths) {
    const fixture = await loadFixture(path);
    const run = runFixture(fixture, { where: path });
    if (run.failedCallsThatChangedState.length > 0) {
      broken.push(path);
      options.print(
        `${path}: calls ${run.failedCallsThatChangedState.join(", ")} failed but changed the ` +
          "machine's state: a library bug; this file is left as it is\n",
      );
      continue;
    }
    const before = await readFile(path, "utf8");
    const after = formatFixture(withExpectations(fixture, run));
    if (before === after) continue;
    changed.push(path);
    if (!options.check) await writeFile(path, after);
    options.print(unifiedDiff(before, after, `a/${path}`, `b/${path}`));
  }
  const verb = options.check ? "would change" : "changed";
  options.print(
    `fixtures:update: ${changed.length} of ${paths.length} golden fixtures ${verb}` +
      `${exampleChanged ? `; ${join(options.examplesDir, "records.bin")} ${verb}` : ""}` +
      `${broken.length > 0 ? `; ${broken.length} left alone (state changed on a failed call)` : ""}\n`,
  );
  return { fixtures: paths.length, changed, stateChangedOnFailure: broken, exampleChanged };
}

async function cli(argv: readonly string[]): Promise<number> {
  const unknown = argv.filter((a) => a !== "--check");
  if (unknown.length > 0) {
    process.stderr.write(`fixtures:update: unknown argument ${unknown[0]} (usage: [--check])\n`);
    return 2;
  }
  try {
    const report = await updateFixtures({
      goldenDir: join("fixtures", "golden"),
      examplesDir: join("fixtures", "examples"),
      check: argv.includes("--check"),
      print: (text) => process.stdout.write(text),
    });
    if (report.stateChangedOnFailure.length > 0) return 1;
    const dirty = report.changed.length > 0 || report.exampleChanged;
    return argv.includes("--check") && dirty ? 1 : 0;
  } catch (error) {
    if (error instanceof CliUsageError) {
      process.stderr.write(`fixtures:update: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await cli(process.argv.slice(2));
}
