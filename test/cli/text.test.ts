import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { formatJson } from "../../src/cli/json-text.js";
import { ResultLineEncoder, resultLine } from "../../src/cli/result-lines.js";
import { unifiedDiff } from "../../src/cli/text-diff.js";

describe("formatJson", () => {
  it("keeps short values on one line and breaks long ones", () => {
    expect(formatJson({ a: [1, 2], b: {} }, 100)).toBe('{ "a": [1, 2], "b": {} }\n');
    expect(formatJson({ a: [1, 2], b: { c: "x" } }, 20)).toBe(
      '{\n  "a": [1, 2],\n  "b": { "c": "x" }\n}\n',
    );
  });

  it("leaves out undefined members, as JSON.stringify does", () => {
    expect(formatJson({ a: undefined, b: 1 })).toBe('{ "b": 1 }\n');
  });

  test.prop([fc.jsonValue(), fc.integer({ min: 1, max: 120 })], { numRuns: 500 })(
    "parses back to what JSON.stringify gives, at any width",
    (value, width) => {
      expect(JSON.parse(formatJson(value, width))).toEqual(JSON.parse(JSON.stringify(value)));
    },
  );

  test.prop([fc.jsonValue()], { numRuns: 300 })(
    "with room enough, any value is one line",
    (value) => {
      expect(formatJson(value, 1e9).split("\n")).toHaveLength(2);
    },
  );
});

describe("unifiedDiff", () => {
  it("is empty for equal texts", () => {
    expect(unifiedDiff("a\nb\n", "a\nb\n", "x", "y")).toBe("");
  });

  it("shows a changed line with three lines of context", () => {
    const before = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
    const after = "1\n2\n3\n4\nFIVE\n6\n7\n8\n9\n";
    expect(unifiedDiff(before, after, "a/f", "b/f")).toBe(
      "--- a/f\n+++ b/f\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+FIVE\n 6\n 7\n 8\n",
    );
  });

  it("splits distant changes into separate hunks", () => {
    const lines = Array.from({ length: 30 }, (_, i) => String(i));
    const changed = lines.map((l, i) => (i === 2 || i === 25 ? `${l}!` : l));
    const diff = unifiedDiff(`${lines.join("\n")}\n`, `${changed.join("\n")}\n`, "a", "b");
    expect(diff.match(/^@@ /gm)).toHaveLength(2);
    expect(diff).toContain("@@ -1,6 +1,6 @@");
    expect(diff).toContain("@@ -23,7 +23,7 @@");
  });

  test.prop(
    [
      fc.array(fc.constantFrom("a", "b", "c", "d"), { maxLength: 30 }),
      fc.array(fc.constantFrom("a", "b", "c", "d"), { maxLength: 30 }),
    ],
    { numRuns: 500 },
  )(
    "with full context, the hunk's old side is the old text and its new side the new text",
    (a, b) => {
      const before = a.map((l) => `${l}\n`).join("");
      const after = b.map((l) => `${l}\n`).join("");
      const diff = unifiedDiff(before, after, "x", "y", 1000);
      if (before === after) {
        expect(diff).toBe("");
        return;
      }
      const body = diff.split("\n").slice(3, -1);
      expect(body.filter((l) => !l.startsWith("+")).map((l) => l.slice(1))).toEqual(a);
      expect(body.filter((l) => !l.startsWith("-")).map((l) => l.slice(1))).toEqual(b);
    },
  );
});

describe("ResultLineEncoder", () => {
  test.prop(
    [
      fc.array(fc.tuple(fc.nat(0xffff), fc.constantFrom(0, 0, 0, 1, 0xffffffff)), {
        minLength: 1,
        maxLength: 50,
      }),
      fc.nat(Number.MAX_SAFE_INTEGER - 100),
    ],
    { numRuns: 300 },
  )("writes exactly what resultLine() formats", (pairs, first) => {
    const results = new Uint32Array(pairs.flat());
    const out = new Uint8Array(pairs.length * 160);
    const n = new ResultLineEncoder().encode(first, results, 0, pairs.length, out);
    const expected = pairs.map(([lo, hi], i) => resultLine(first + i, lo, hi)).join("");
    expect(Buffer.from(out.subarray(0, n)).toString("latin1")).toBe(expected);
  });

  it("formats the contract's example line", () => {
    expect(resultLine(0, 0, 0)).toBe(
      '{"index":0,"status":"HV_STATUS_SUCCESS","result":"0x0000000000000000"}\n',
    );
    expect(resultLine(7, 0x12, 0)).toBe(
      '{"index":7,"status":"HV_STATUS_INVALID_CONNECTION_ID","result":"0x0000000000000012"}\n',
    );
  });
});
