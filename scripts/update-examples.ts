/**
 * Part of `npm run fixtures:update`: regenerates fixtures/examples/records.bin from its readable
 * source fixtures/examples/records.json (scripts/record-list.ts), and fixtures/examples/trace.bin
 * from trace.jsonl by `hvcall trace convert`. Prints what changed. (The golden fixtures are
 * rewritten by `hvcall golden update fixtures/golden`, which the npm script runs first.)
 */
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseRecordList } from "./record-list.js";

const EXAMPLES = join("fixtures", "examples");

function update(target: string, bytes: Uint8Array): void {
  let old: Buffer | undefined;
  try {
    old = readFileSync(target);
  } catch {
    old = undefined;
  }
  if (old !== undefined && Buffer.compare(old, bytes) === 0) {
    process.stdout.write(`${target}: unchanged\n`);
    return;
  }
  writeFileSync(target, bytes);
  process.stdout.write(
    `${target}: rewritten (${bytes.length} bytes; was ${old?.length ?? "missing"})\n`,
  );
}

const source = join(EXAMPLES, "records.json");
update(
  join(EXAMPLES, "records.bin"),
  parseRecordList(JSON.parse(readFileSync(source, "utf8")), source).bytes,
);
const converted = join(EXAMPLES, ".trace.bin.tmp");
execFileSync(process.execPath, [
  "bin/hvcall.js",
  "trace",
  "convert",
  "--to",
  "binary",
  join(EXAMPLES, "trace.jsonl"),
  converted,
]);
update(join(EXAMPLES, "trace.bin"), readFileSync(converted));
rmSync(converted);
