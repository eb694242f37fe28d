/**
 * A record list: the readable source of a binary record file (fixtures/examples/records.json →
 * records.bin). Each entry is one 16-byte record, its input block given either as the u64 the
 * record's bytes 8..15 hold (`"input": "0x…"`, the fast-call register) or as HvCallSignalEvent fields
 * (`"connectionId"`, `"flagNumber"`, optional `"rsvdZ"`), with the status replay is expected to print.
 *
 * ```json
 * { "description": "…", "scenario": "scenario.json", "caller": 1, "vp": 0,
 *   "records": [ { "control": "0x1005d", "connectionId": "0x1001", "flagNumber": 0,
 *                  "expect": "HV_STATUS_SUCCESS", "note": "…" } ] }
 * ```
 */
import { hvStatusFromName } from "../src/abi/hv-status.js";
import { encodeSignalEventInput } from "../src/abi/signal-event-input.js";
import { CliUsageError } from "../src/cli/cli-error.js";
import { encodeRecord, RECORD_SIZE } from "../src/dispatch/hypercall-record.js";
import { parseU64Hex, U64_HEX_HINT } from "../src/text/hex-text.js";

export interface RecordList {
  readonly description: string;
  /** The scenario file the records are meant for, relative to the list. */
  readonly scenario: string;
  readonly caller: number;
  readonly vp: number;
  /** The records, concatenated: what the .bin file holds. */
  readonly bytes: Uint8Array;
  /** The status each record is expected to get, in order. */
  readonly expect: readonly string[];
}

type Json = Readonly<Record<string, unknown>>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const U32_MAX = 0xffff_ffffn;

function u16(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffff;
}

/** Validates a parsed record list; `where` names it in messages. */
export function parseRecordList(json: unknown, where: string): RecordList {
  function fail(path: string, reason: string): never {
    throw new CliUsageError(`${where}: ${path}: ${reason}`);
  }
  if (!isObject(json)) fail("(root)", "expected an object");
  const { description, scenario, caller, vp, records } = json;
  if (typeof description !== "string") fail("description", "expected a string");
  if (typeof scenario !== "string") fail("scenario", "expected the scenario file's path");
  if (typeof caller !== "number" || !Number.isSafeInteger(caller) || caller < 1) {
    fail("caller", "expected a partition id");
  }
  if (typeof vp !== "number" || !Number.isSafeInteger(vp) || vp < 0)
    fail("vp", "expected a VP index");
  if (!Array.isArray(records)) fail("records", "expected an array");
  const list: readonly unknown[] = records;
  const bytes = new Uint8Array(list.length * RECORD_SIZE);
  const expect: string[] = [];
  for (let i = 0; i < list.length; i++) {
    const at = `records[${i}]`;
    const r = list[i];
    if (!isObject(r)) fail(at, "expected an object");
    const control = typeof r.control === "string" ? parseU64Hex(r.control) : undefined;
    if (control === undefined) fail(`${at}.control`, `expected ${U64_HEX_HINT}`);
    let input: bigint | Uint8Array;
    if (r.input !== undefined) {
      const value = typeof r.input === "string" ? parseU64Hex(r.input) : undefined;
      if (value === undefined) fail(`${at}.input`, `expected ${U64_HEX_HINT}`);
      if (r.connectionId !== undefined || r.flagNumber !== undefined || r.rsvdZ !== undefined) {
        fail(at, 'give either "input" or the SignalEvent fields, not both');
      }
      input = value;
    } else {
      const connectionId =
        typeof r.connectionId === "string" ? parseU64Hex(r.connectionId) : undefined;
      if (connectionId === undefined || connectionId > U32_MAX) {
        fail(`${at}.connectionId`, "expected a u32 as 0x and 1 to 8 hex digits");
      }
      if (!u16(r.flagNumber)) fail(`${at}.flagNumber`, "expected an integer 0..65535");
      const rsvdZ = r.rsvdZ ?? 0;
      if (!u16(rsvdZ)) fail(`${at}.rsvdZ`, "expected an integer 0..65535");
      input = encodeSignalEventInput({
        connectionId: Number(connectionId),
        flagNumber: r.flagNumber,
        rsvdZ,
      });
    }
    if (typeof r.expect !== "string" || hvStatusFromName(r.expect) === undefined) {
      fail(`${at}.expect`, 'expected a status name like "HV_STATUS_SUCCESS"');
    }
    if (r.note !== undefined && typeof r.note !== "string") fail(`${at}.note`, "expected a string");
    bytes.set(encodeRecord(control, input), i * RECORD_SIZE);
    expect.push(r.expect);
  }
  return { description, scenario, caller, vp, bytes, expect };
}
