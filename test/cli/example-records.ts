/** The bundled example's record list (fixtures/examples/records.json), parsed. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseRecordList, type RecordList } from "../../scripts/record-list.js";
import { ROOT } from "./cli-harness.js";

export const EXAMPLE_LIST_PATH = join(ROOT, "fixtures", "examples", "records.json");

export function exampleList(): RecordList {
  return parseRecordList(JSON.parse(readFileSync(EXAMPLE_LIST_PATH, "utf8")), EXAMPLE_LIST_PATH);
}

/** The example's records repeated `times` times, as one buffer. */
export function tiledRecords(list: RecordList, times: number): Buffer {
  const out = Buffer.alloc(list.bytes.length * times);
  for (let i = 0; i < times; i++) out.set(list.bytes, i * list.bytes.length);
  return out;
}
