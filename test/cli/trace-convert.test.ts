/**
 * `hvcall trace convert` (help-text.ts "convert"): JSON Lines ↔ binary, lossless. Through the real
 * binary, plus a property over random ops on the codec functions themselves.
 */

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { quote } from "../../src/cli/cli-error.js";
import {
  decodeTraceRecord,
  encodeTraceOp,
  RECORD_HEADER_SIZE,
  TRACE_HEADER_SIZE,
  traceHeader,
} from "../../src/trace/trace-binary.js";
import { formatTraceOp, parseTraceObject } from "../../src/trace/trace-jsonl.js";
import { TraceOp, WRITE_MAX_BYTES } from "../../src/trace/trace-op.js";
import { expectUsageLine, requireDist, runCli, useTempDir, writeIn } from "./cli-harness.js";
import { type GeneratedOp, traceArb, traceOpArb } from "./trace-arbitraries.js";

requireDist();
const tmp = useTempDir();
const unique = () => Math.random().toString(36).slice(2);

/** Encodes one op through the library's binary codec and decodes it back. */
function binaryRoundTrip(op: TraceOp): { bytes: Uint8Array; back: TraceOp; size: number } {
  const bytes = encodeTraceOp(op);
  const back = new TraceOp();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = decodeTraceRecord(view, 0, bytes.length, back, 0, TRACE_HEADER_SIZE);
  return { bytes, back, size };
}

describe("the trace codecs, over random valid ops (fast-check)", () => {
  test.prop([traceOpArb], { numRuns: 2000 })(
    "JSON → op → canonical line is the contract's canonical form; binary → op gives it back",
    (g: GeneratedOp) => {
      const op = parseTraceObject(g.json, "line 1");
      expect(formatTraceOp(op)).toBe(g.canonical);
      const { bytes, back, size } = binaryRoundTrip(op);
      expect(size).toBe(bytes.length);
      expect(bytes.length % 8).toBe(0);
      expect(formatTraceOp(back)).toBe(g.canonical);
      // The canonical line reads back to the same op, and encodes to the very same bytes.
      const again = parseTraceObject(JSON.parse(g.canonical), "line 1");
      expect(Buffer.from(encodeTraceOp(again)).equals(Buffer.from(bytes))).toBe(true);
    },
  );

  test.prop([traceOpArb], { numRuns: 300 })(
    "a record cut short is not decoded (size 0: read more)",
    (g) => {
      const bytes = encodeTraceOp(parseTraceObject(g.json, "line 1"));
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (const end of [0, RECORD_HEADER_SIZE - 1, bytes.length - 1]) {
        if (end < 0 || end >= bytes.length) continue;
        expect(decodeTraceRecord(view, 0, end, new TraceOp(), 0, TRACE_HEADER_SIZE)).toBe(0);
      }
    },
  );
});

describe.concurrent("hvcall trace convert (CLI)", () => {
  const EXAMPLE = [
    '{"op":"hypercall","control":"0X1005D","rdx":"0x14"}',
    "",
    '{"rdx":"0x0","op":"hypercall","control":"0x5c","r8":"0x0","vp":1,"partition":2}',
    '{"op":"write","gpa":"0x20300","hex":"00000000ABcd"}',
    '{"op":"read","gpa":"0x20300","length":16}',
    '{"op":"wrmsr","msr":1073741956,"value":"0x0"}',
    '{"op":"rdmsr","msr":"0x40000081","partition":1}',
    '{"op":"eoi"}',
  ].join("\n");
  const CANONICAL = [
    '{"op":"hypercall","control":"0x000000000001005d","rdx":"0x0000000000000014"}',
    '{"op":"hypercall","partition":2,"vp":1,"control":"0x000000000000005c","rdx":"0x0000000000000000","r8":"0x0000000000000000"}',
    '{"op":"write","gpa":"0x0000000000020300","hex":"00000000abcd"}',
    '{"op":"read","gpa":"0x0000000000020300","length":16}',
    '{"op":"wrmsr","msr":"0x40000084","value":"0x0000000000000000"}',
    '{"op":"rdmsr","partition":1,"msr":"0x40000081"}',
    '{"op":"eoi"}',
  ];

  it("JSON Lines → binary → JSON Lines gives the canonical lines (blank lines dropped)", async () => {
    const jsonl = await writeIn(tmp(), "example.jsonl", EXAMPLE);
    const bin = join(tmp(), "example.bin");
    const a = await runCli(["trace", "convert", jsonl, bin]);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe("");
    expect(a.stderr).toBe("");
    const b = await runCli(["trace", "convert", bin, "-"]);
    expect(b.code).toBe(0);
    expect(b.stdout).toBe(`${CANONICAL.join("\n")}\n`);
    // --to jsonl on a JSON Lines input canonicalizes it directly.
    const c = await runCli(["trace", "convert", "--to", "jsonl", jsonl, "-"]);
    expect(c.stdout).toBe(b.stdout);
  });

  it("binary → JSON Lines → binary is byte-identical; binary → binary too", async () => {
    const jsonl = await writeIn(tmp(), "bb.jsonl", EXAMPLE);
    const bin = join(tmp(), "bb.bin");
    const back = join(tmp(), "bb-back.jsonl");
    const bin2 = join(tmp(), "bb2.bin");
    const bin3 = join(tmp(), "bb3.bin");
    expect((await runCli(["trace", "convert", jsonl, bin])).code).toBe(0);
    expect((await runCli(["trace", "convert", bin, back])).code).toBe(0);
    expect((await runCli(["trace", "convert", back, bin2])).code).toBe(0);
    expect((await runCli(["trace", "convert", "--to", "binary", bin, bin3])).code).toBe(0);
    const bytes = await readFile(bin);
    expect(bytes.subarray(0, TRACE_HEADER_SIZE).equals(Buffer.from(traceHeader()))).toBe(true);
    expect((await readFile(bin2)).equals(bytes)).toBe(true);
    expect((await readFile(bin3)).equals(bytes)).toBe(true);
    // From stdin to stdout, the same bytes.
    const piped = await runCli(["trace", "convert", "--to", "binary", "-", "-"], {
      stdin: EXAMPLE,
    });
    expect(piped.stdoutRaw.equals(bytes)).toBe(true);
  });

  it("an empty trace is a header alone, and back to no lines", async () => {
    const empty = await writeIn(tmp(), "empty.jsonl", "\n\n");
    const bin = join(tmp(), "empty.bin");
    expect((await runCli(["trace", "convert", "--to", "binary", empty, bin])).code).toBe(0);
    expect((await readFile(bin)).equals(Buffer.from(traceHeader()))).toBe(true);
    const back = await runCli(["trace", "convert", bin, "-"]);
    expect(back.code).toBe(0);
    expect(back.stdout).toBe("");
  });

  test.prop([traceArb], { numRuns: 12 })(
    "lossless both ways for random traces (real binary)",
    async (ops) => {
      const id = unique();
      const jsonl = await writeIn(
        tmp(),
        `p-${id}.jsonl`,
        ops.map((o) => o.json),
      );
      const bin = join(tmp(), `p-${id}.bin`);
      const back = join(tmp(), `p-${id}-back.jsonl`);
      const bin2 = join(tmp(), `p-${id}-2.bin`);
      expect((await runCli(["trace", "convert", jsonl, bin])).code).toBe(0);
      expect((await runCli(["trace", "convert", bin, back])).code).toBe(0);
      expect(await readFile(back, "utf8")).toBe(`${ops.map((o) => o.canonical).join("\n")}\n`);
      expect((await runCli(["trace", "convert", back, bin2])).code).toBe(0);
      expect((await readFile(bin2)).equals(await readFile(bin))).toBe(true);
    },
  );

  it("the output may not be the input: exit 2, the input unchanged", async () => {
    const jsonl = await writeIn(tmp(), "self.jsonl", EXAMPLE);
    const r = await runCli(["trace", "convert", jsonl, jsonl]);
    expect(expectUsageLine(r)).toContain("output");
    expect(await readFile(jsonl, "utf8")).toBe(EXAMPLE);
  });

  it("a bad JSON line: exit 2 naming the line and field, and OUT is not written", async () => {
    const jsonl = await writeIn(
      tmp(),
      "bad-line.jsonl",
      `{"op":"eoi"}\n{"op":"read","gpa":"0x0"}\n`,
    );
    const out = join(tmp(), "bad-line.bin");
    const line = expectUsageLine(await runCli(["trace", "convert", jsonl, out]));
    expect(line).toBe(
      `hvcall: trace: ${quote(jsonl)}: line 2: length: missing: expected an integer 1..4096 (${quote(out)} is unchanged)`,
    );
    await expect(readFile(out)).rejects.toThrow(/ENOENT/);
  });
});

describe.concurrent("a bad binary trace: exit 2, one line naming where", () => {
  /** A good two-op binary trace: header (16), a hypercall record (8 + 16 bytes), an eoi record (8). */
  const good = () => {
    const ops = [{ op: "hypercall", control: "0x1005d", rdx: "0x14" }, { op: "eoi" }].map((o) =>
      encodeTraceOp(parseTraceObject(o, "line 1")),
    );
    return Buffer.concat([traceHeader(), ...ops]);
  };
  const convert = async (bytes: Uint8Array) => {
    const path = await writeIn(tmp(), `bad-${unique()}.bin`, bytes);
    const out = join(tmp(), `out-${unique()}.jsonl`);
    return { path, out, r: await runCli(["trace", "convert", path, out]) };
  };

  it("a good file converts (the base of the cases below)", async () => {
    const { r } = await convert(good());
    expect(r.code).toBe(0);
  });

  it("wrong version: the header's version field", async () => {
    const b = good();
    b.writeUInt16LE(2, 8);
    const { path, out, r } = await convert(b);
    expect(expectUsageLine(r)).toBe(
      `hvcall: trace: ${quote(path)}: header: version: binary trace version 2; this hvcall reads version 1 (${quote(out)} is unchanged)`,
    );
  });

  it("a header with a wrong size or reserved field", async () => {
    const b = good();
    b.writeUInt32LE(1, 12);
    const { r } = await convert(b);
    expect(expectUsageLine(r)).toMatch(
      /: header: a version 1 header is 16 bytes with its reserved field 0/,
    );
  });

  // Found in review (fixed): a damaged magic used to be read as JSON Lines ("line 1: not valid
  // JSON"); a file that looks binary now gets the header's error.
  it("wrong magic: the header's error, not a JSON Lines one", async () => {
    const b = good();
    b[6] = 0x58; // "HVTRACX\0"
    const { r } = await convert(b);
    expect(expectUsageLine(r)).toMatch(
      /: header: not a binary hvcall trace \(it does not start with "HVTRACE\\0"\)/,
    );
  });

  it("an unknown op code: the record and its byte", async () => {
    const b = good();
    b[TRACE_HEADER_SIZE + 24] = 9; // the second record's op byte
    const { path, out, r } = await convert(b);
    expect(expectUsageLine(r)).toBe(
      `hvcall: trace: ${quote(path)}: record 1 (byte 40): op: unknown op code 9 (1 hypercall … 6 eoi) (${quote(out)} is unchanged)`,
    );
  });

  it("unknown flags, and a body size that does not fit the op", async () => {
    const flags = good();
    flags[TRACE_HEADER_SIZE + 1] = 0x80;
    expect(expectUsageLine((await convert(flags)).r)).toMatch(
      /: record 0 \(byte 16\): flags: flags 0x80/,
    );
    const size = good();
    size.writeUInt32LE(8, TRACE_HEADER_SIZE + 4);
    expect(expectUsageLine((await convert(size)).r)).toMatch(
      /: record 0 \(byte 16\): size: body size 8; a hypercall record/,
    );
  });

  it("a reserved u16 that is not 0: its own message, not the flags'", async () => {
    const b = good();
    b.writeUInt16LE(1, TRACE_HEADER_SIZE + 2);
    expect(expectUsageLine((await convert(b)).r)).toMatch(
      /: record 0 \(byte 16\): reserved: the reserved u16 after the flags must be 0 \(/,
    );
  });

  it("a body size not a multiple of 8, and one larger than any record: two messages", async () => {
    const odd = good();
    odd.writeUInt32LE(20, TRACE_HEADER_SIZE + 4);
    expect(expectUsageLine((await convert(odd)).r)).toMatch(
      /: size: body size 20 is not a multiple of 8 \(/,
    );
    const huge = good();
    huge.writeUInt32LE(0xffff_fff8, TRACE_HEADER_SIZE + 4);
    expect(expectUsageLine((await convert(huge)).r)).toMatch(
      /: size: body size 4294967288 is larger than any record \(at most 1048640: a write of 1048576 bytes\)/,
    );
  });

  it("a write record longer than 1 MiB is refused by its length", async () => {
    const length = WRITE_MAX_BYTES + 8;
    const record = Buffer.alloc(8 + 16 + length);
    record[0] = 2; // write
    record.writeUInt32LE(16 + length, 4);
    record.writeUInt32LE(length, 8 + 8);
    const b = Buffer.concat([traceHeader(), record]);
    expect(expectUsageLine((await convert(b)).r)).toMatch(
      /: record 0 \(byte 16\): length: a write is at most 1048576 bytes, not 1048584 \(/,
    );
  });

  it("a truncated record: the record and the byte it starts at", async () => {
    const { path, out, r } = await convert(good().subarray(0, TRACE_HEADER_SIZE + 20));
    expect(expectUsageLine(r)).toBe(
      `hvcall: trace: ${quote(path)}: record 0 (byte 16): the input ends inside this record (${quote(out)} is unchanged)`,
    );
    const second = await convert(good().subarray(0, TRACE_HEADER_SIZE + 24 + 4));
    expect(expectUsageLine(second.r)).toMatch(
      /: record 1 \(byte 40\): the input ends inside this record/,
    );
  });

  it("a truncated header", async () => {
    const { r } = await convert(good().subarray(0, 12));
    expect(expectUsageLine(r)).toMatch(/: header: the input ends inside the 16-byte header/);
  });

  it("run reports a bad binary trace the same way, before any op runs", async () => {
    const b = good();
    b[TRACE_HEADER_SIZE + 24] = 0;
    const path = await writeIn(tmp(), "run-bad.bin", b);
    const scenario = await writeIn(tmp(), "s.json", {
      partitions: [{ id: 1, vps: [{ index: 0 }] }],
    });
    const line = expectUsageLine(await runCli(["run", "--scenario", scenario, path]));
    expect(line).toMatch(/: record 1 \(byte 40\): op: unknown op code 0/);
  });
});
