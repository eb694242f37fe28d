import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PartitionPrivilegeBit } from "../../src/abi/partition-privilege.js";
import { EVENT_FLAGS_PER_SINT, SINT_COUNT } from "../../src/abi/sief-page.js";
import { SINT_RESET_VALUE } from "../../src/abi/synic-msr.js";
import { HV_ANY_VP } from "../../src/abi/vp-index.js";
import type { QueuedMessageSpec } from "../../src/state/queued-message-text.js";
import type { ScenarioDocument } from "../../src/state/scenario-document.js";
import { ScenarioError } from "../../src/state/scenario-error.js";
import { parseScenario, parseScenarioText } from "../../src/state/scenario-schema.js";

type Json = Record<string, unknown>;

const RESET = BigInt(SINT_RESET_VALUE);
const resetSints = (): bigint[] => new Array<bigint>(SINT_COUNT).fill(RESET);
/**
 * The dump-only fields of a VP that the file did not give: no flags, no assertions, no SIM slot
 * bytes (undefined = zeros), no queued messages.
 */
const noDump = () => ({
  siefFlags: Array.from({ length: SINT_COUNT }, (): number[] => []),
  sintAssertions: new Array<number>(SINT_COUNT).fill(0),
  simSlots: new Array<Uint8Array | undefined>(SINT_COUNT).fill(undefined),
  messageQueues: Array.from({ length: SINT_COUNT }, (): QueuedMessageSpec[] => []),
});

/** A one-partition scenario whose partition is `{ id: 1, ...partition }`. */
function one(partition: Json): Json {
  return { partitions: [{ id: 1, ...partition }] };
}

const eventPort = (fields: Json = {}): Json => ({
  id: 10,
  type: "event",
  targetVp: 0,
  targetSint: 2,
  flagCount: 64,
  ...fields,
});

/** The ScenarioError `input` is rejected with (fails the test if it is accepted). */
function rejection(input: unknown): ScenarioError {
  try {
    parseScenario(input);
  } catch (error) {
    if (error instanceof ScenarioError) return error;
    throw error;
  }
  throw new Error(`accepted: ${JSON.stringify(input)}`);
}

/** Asserts the rejection's exact path, and that the reason contains each of `words`. */
function expectRejected(input: unknown, path: string, ...words: string[]): ScenarioError {
  const error = rejection(input);
  expect(error.path).toBe(path);
  expect(error.message).toBe(`${path}: ${error.reason}`);
  expect(error.message).not.toMatch(/[\r\n]/);
  for (const word of words) expect(error.reason).toContain(word);
  return error;
}

describe("ScenarioError", () => {
  it("carries path and reason and prints them as one line", () => {
    const error = new ScenarioError("partitions[0].id", 'expected a positive integer, got "1"');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("ScenarioError");
    expect(error.path).toBe("partitions[0].id");
    expect(error.reason).toBe('expected a positive integer, got "1"');
    expect(error.message).toBe('partitions[0].id: expected a positive integer, got "1"');
  });
});

describe("parseScenario: rejections name the JSON path", () => {
  // --- the document and its partitions -------------------------------------------------------
  it("a document that is not an object → (root)", () => {
    expectRejected([1, 2], "(root)", "expected a scenario object", "got an array");
    expectRejected(null, "(root)", "got null");
  });

  it("an unknown top-level field → its name", () => {
    expectRejected({ partitions: [{ id: 1 }], partition: [] }, "partition", "unknown field");
  });

  it("no partitions field → partitions", () => {
    expectRejected({}, "partitions", "missing");
  });

  it("an empty partition list → partitions", () => {
    expectRejected({ partitions: [] }, "partitions", "at least one partition");
  });

  it("a partition that is not an object → partitions[i]", () => {
    expectRejected({ partitions: [{ id: 1 }, "two"] }, "partitions[1]", 'got "two"');
  });

  it('a partition id of the wrong type → exact message `expected a positive integer, got "1"`', () => {
    const error = rejection({ partitions: [{ id: "1" }] });
    expect(error.message).toBe('partitions[0].id: expected a positive integer, got "1"');
  });

  it("a partition id that is 0, fractional or beyond 2^53-1 → partitions[i].id", () => {
    expectRejected({ partitions: [{ id: 0 }] }, "partitions[0].id", "got 0");
    expectRejected({ partitions: [{ id: 1.5 }] }, "partitions[0].id", "got 1.5");
    // The message no longer prints 2^53's digits (JSON.parse has already rounded whatever the file
    // wrote): it says the integer is beyond 2^53-1 and why the digits cannot be trusted.
    expectRejected(
      { partitions: [{ id: 2 ** 53 }] },
      "partitions[0].id",
      "got an integer beyond 2^53-1 (JSON numbers that large are not exact)",
    );
  });

  it("a missing partition id → partitions[i].id", () => {
    expectRejected({ partitions: [{ state: "active" }] }, "partitions[0].id", "missing");
  });

  it("a duplicate partition id → the later one", () => {
    expectRejected(
      { partitions: [{ id: 7 }, { id: 8 }, { id: 7 }] },
      "partitions[2].id",
      "duplicate partition id 7",
      "partitions[0]",
    );
  });

  it("an unknown partition state → partitions[i].state", () => {
    expectRejected(one({ state: "running" }), "partitions[0].state", '"running"');
  });

  it("an unknown partition field → partitions[i].<field>", () => {
    expectRejected(one({ vp: [] }), "partitions[0].vp", "unknown field", "vps");
  });

  // --- privileges ------------------------------------------------------------------------------
  it("an unknown privilege name → partitions[i].privileges[j], naming it", () => {
    expectRejected(
      one({ privileges: ["PostMessages", "SignalEvent"] }),
      "partitions[0].privileges[1]",
      'unknown privilege name "SignalEvent"',
    );
    expectRejected(
      one({ privileges: ["signalevents"] }),
      "partitions[0].privileges[0]",
      'did you mean "SignalEvents"',
    );
  });

  it("a privilege name that is not a string → partitions[i].privileges[j]", () => {
    expectRejected(one({ privileges: [37] }), "partitions[0].privileges[0]", "got 37");
  });

  it("a duplicate privilege name → the later entry", () => {
    expectRejected(
      one({ privileges: ["SignalEvents", "PostMessages", "SignalEvents"] }),
      "partitions[0].privileges[2]",
      'duplicate privilege name "SignalEvents"',
    );
  });

  it("both privileges and privilegeMask → the one written second", () => {
    expectRejected(
      one({ privileges: ["SignalEvents"], privilegeMask: "0x0" }),
      "partitions[0].privilegeMask",
      "not both",
    );
    expectRejected(
      { partitions: [{ privilegeMask: "0x0", id: 1, privileges: [] }] },
      "partitions[0].privileges",
      "not both",
    );
  });

  it("a privilegeMask that is not a ≤ 64-bit hex string → partitions[i].privilegeMask", () => {
    expectRejected(
      one({ privilegeMask: "0x10000000000000000" }),
      "partitions[0].privilegeMask",
      'not a hex string: "0x10000000000000000"',
    );
    expectRejected(one({ privilegeMask: 5 }), "partitions[0].privilegeMask", "not a hex string: 5");
  });

  it("leading zeros do not count toward a hex string's 16 digits", () => {
    const doc = parseScenario(one({ privilegeMask: "0x000000000000000000002000000000" }));
    expect(doc.partitions[0]!.privilegeMask).toBe(1n << 37n);
    expectRejected(
      one({ privilegeMask: "0x0010000000000000000" }),
      "partitions[0].privilegeMask",
      "not a hex string",
    );
  });

  // --- VPs ------------------------------------------------------------------------------------
  it("vps that is not an array → partitions[i].vps", () => {
    expectRejected(one({ vps: { index: 0 } }), "partitions[0].vps", "expected an array");
  });

  it("a VP without an index → partitions[i].vps[j].index", () => {
    expectRejected(one({ vps: [{ scontrol: "0x1" }] }), "partitions[0].vps[0].index", "missing");
  });

  it("a VP index outside u32 → partitions[i].vps[j].index", () => {
    expectRejected(one({ vps: [{ index: -1 }] }), "partitions[0].vps[0].index", "got -1");
    expectRejected(one({ vps: [{ index: 2 ** 32 }] }), "partitions[0].vps[0].index", "4294967296");
  });

  it("a duplicate VP index → the later VP", () => {
    expectRejected(
      one({ vps: [{ index: 0 }, { index: 3 }, { index: 0 }] }),
      "partitions[0].vps[2].index",
      "duplicate VP index 0",
    );
  });

  it('an SIEFP that is not hex → exact message `... siefp: not a hex string: "0xZZ"`', () => {
    const error = rejection(one({ vps: [{ index: 0 }, { index: 1, siefp: "0xZZ" }] }));
    expect(error.message).toBe('partitions[0].vps[1].siefp: not a hex string: "0xZZ"');
  });

  it("SCONTROL / SIMP that are not hex strings → their paths", () => {
    expectRejected(
      one({ vps: [{ index: 0, scontrol: 1 }] }),
      "partitions[0].vps[0].scontrol",
      "not a hex string: 1",
    );
    expectRejected(
      one({ vps: [{ index: 0, simp: "10" }] }),
      "partitions[0].vps[0].simp",
      'not a hex string: "10"',
    );
    // "0X1" is accepted now (hex numbers take 0X too); the prefix is still required.
    expect(
      parseScenario(one({ vps: [{ index: 0, simp: "0X1" }] })).partitions[0]!.vps[0]!.simp,
    ).toBe(1n);
    expectRejected(one({ vps: [{ index: 0, simp: "X1" }] }), "partitions[0].vps[0].simp", '"X1"');
    expectRejected(one({ vps: [{ index: 0, simp: "0x" }] }), "partitions[0].vps[0].simp", '"0x"');
    expectRejected(one({ vps: [{ index: 0, simp: "0X" }] }), "partitions[0].vps[0].simp", '"0X"');
  });

  it("SINT index 16 → exact message `... sints.16: not a SINT: …`", () => {
    const error = rejection(
      one({ vps: [{ index: 0 }, { index: 1, sints: { "2": "0x50", "16": "0x1" } }] }),
    );
    expect(error.message).toBe(
      'partitions[0].vps[1].sints.16: not a SINT: the keys are the SINT numbers 0..15 in decimal, without leading zeros (e.g. "2")',
    );
  });

  it('SINT keys "02" and "x" → sints.02 / sints.x', () => {
    expectRejected(
      one({ vps: [{ index: 0, sints: { "02": "0x50" } }] }),
      "partitions[0].vps[0].sints.02",
      "0..15",
    );
    expectRejected(
      one({ vps: [{ index: 0, sints: { x: "0x50" } }] }),
      "partitions[0].vps[0].sints.x",
      "0..15",
    );
    expectRejected(
      one({ vps: [{ index: 0, sints: { "-1": "0x50" } }] }),
      'partitions[0].vps[0].sints["-1"]',
    );
  });

  it("a SINT value that is not hex → sints.<n>", () => {
    expectRejected(
      one({ vps: [{ index: 0, sints: { "2": "0x5G" } }] }),
      "partitions[0].vps[0].sints.2",
      '"0x5G"',
    );
  });

  it("sints that is not an object → partitions[i].vps[j].sints", () => {
    expectRejected(
      one({ vps: [{ index: 0, sints: ["0x50"] }] }),
      "partitions[0].vps[0].sints",
      "got an array",
    );
  });

  it("an unknown VP field → partitions[i].vps[j].<field>", () => {
    expectRejected(
      one({ vps: [{ index: 0, sietp: "0x1" }] }),
      "partitions[0].vps[0].sietp",
      "unknown field",
      "siefp",
    );
  });

  // --- ports ----------------------------------------------------------------------------------
  it("a duplicate port id → the later port", () => {
    expectRejected(
      one({ ports: [eventPort({ id: 10 }), eventPort({ id: 11 }), eventPort({ id: 10 })] }),
      "partitions[0].ports[2].id",
      "duplicate port id 10",
    );
  });

  it("a port id outside u32 → partitions[i].ports[j].id", () => {
    expectRejected(one({ ports: [eventPort({ id: 2 ** 32 })] }), "partitions[0].ports[0].id");
  });

  it("an unknown port type → partitions[i].ports[j].type", () => {
    expectRejected(
      one({ ports: [eventPort({ type: "events" })] }),
      "partitions[0].ports[0].type",
      '"events"',
    );
  });

  it('a target VP that is neither u32 nor "any" → partitions[i].ports[j].targetVp', () => {
    expectRejected(
      one({ ports: [eventPort({ targetVp: "all" })] }),
      "partitions[0].ports[0].targetVp",
      '"all"',
      '"any"',
    );
    expectRejected(
      one({ ports: [eventPort({ targetVp: 0.5 })] }),
      "partitions[0].ports[0].targetVp",
      "0.5",
    );
    expectRejected(
      one({ ports: [eventPort({ targetVp: 2 ** 32 })] }),
      "partitions[0].ports[0].targetVp",
    );
  });

  it("a target SINT outside 0..15 → partitions[i].ports[j].targetSint", () => {
    expectRejected(
      one({ ports: [eventPort({ targetSint: 16 })] }),
      "partitions[0].ports[0].targetSint",
      "0..15",
    );
    expectRejected(
      one({ ports: [eventPort({ targetSint: "2" })] }),
      "partitions[0].ports[0].targetSint",
      '"2"',
    );
  });

  it("baseFlagNumber + flagCount > 2048 → partitions[i].ports[j].flagCount, naming the sum", () => {
    expectRejected(
      one({ ports: [eventPort({ baseFlagNumber: 2000, flagCount: 49 })] }),
      "partitions[0].ports[0].flagCount",
      "2000 + 49 = 2049",
      String(EVENT_FLAGS_PER_SINT),
    );
    // Also when flagCount is written before baseFlagNumber.
    expectRejected(
      one({
        ports: [
          { id: 1, type: "event", targetVp: 0, targetSint: 0, flagCount: 2048, baseFlagNumber: 1 },
        ],
      }),
      "partitions[0].ports[0].flagCount",
      "= 2049",
    );
  });

  it("an event port without flagCount → partitions[i].ports[j].flagCount", () => {
    expectRejected(
      one({ ports: [{ id: 1, type: "event", targetVp: 0, targetSint: 0 }] }),
      "partitions[0].ports[0].flagCount",
      "missing",
    );
  });

  it("baseFlagNumber / flagCount outside u16 → their paths", () => {
    expectRejected(
      one({ ports: [eventPort({ baseFlagNumber: -1 })] }),
      "partitions[0].ports[0].baseFlagNumber",
      "0..65535",
    );
    expectRejected(
      one({ ports: [eventPort({ flagCount: 65536 })] }),
      "partitions[0].ports[0].flagCount",
      "65536",
    );
  });

  it("baseFlagNumber on a non-event port → partitions[i].ports[j].baseFlagNumber", () => {
    expectRejected(
      one({ ports: [{ id: 1, type: "message", targetVp: 0, targetSint: 0, baseFlagNumber: 0 }] }),
      "partitions[0].ports[0].baseFlagNumber",
      "only event ports",
    );
  });

  it("flagCount on a non-event port → partitions[i].ports[j].flagCount", () => {
    expectRejected(
      one({ ports: [{ id: 1, type: "monitor", targetVp: 0, targetSint: 0, flagCount: 1 }] }),
      "partitions[0].ports[0].flagCount",
      "only event ports",
      '"monitor"',
    );
  });

  it("a non-boolean deleted → partitions[i].ports[j].deleted", () => {
    expectRejected(
      one({ ports: [eventPort({ deleted: "no" })] }),
      "partitions[0].ports[0].deleted",
      '"no"',
    );
  });

  it("an unknown port field → partitions[i].ports[j].<field>", () => {
    expectRejected(
      one({ ports: [eventPort({ sint: 2 })] }),
      "partitions[0].ports[0].sint",
      "unknown field",
    );
  });

  // --- connections ----------------------------------------------------------------------------
  it("a connection id beyond 0xFFFFFF → partitions[i].connections[j].id", () => {
    expectRejected(
      one({ connections: [{ id: 0x1000000, portPartition: 1, portId: 1 }] }),
      "partitions[0].connections[0].id",
      "16777216",
    );
  });

  it("a duplicate connection id → the later connection", () => {
    expectRejected(
      one({
        connections: [
          { id: 20, portPartition: 1, portId: 1 },
          { id: 20, portPartition: 1, portId: 2 },
        ],
      }),
      "partitions[0].connections[1].id",
      "duplicate connection id 20",
    );
  });

  it("a connection naming an unknown partition → partitions[i].connections[j].portPartition", () => {
    expectRejected(
      one({ connections: [{ id: 20, portPartition: 3, portId: 1 }] }),
      "partitions[0].connections[0].portPartition",
      "no partition with id 3",
    );
  });

  it("a portId outside u32 or missing → partitions[i].connections[j].portId", () => {
    expectRejected(
      one({ connections: [{ id: 20, portPartition: 1, portId: -5 }] }),
      "partitions[0].connections[0].portId",
      "-5",
    );
    expectRejected(
      one({ connections: [{ id: 20, portPartition: 1 }] }),
      "partitions[0].connections[0].portId",
      "missing",
    );
  });

  // --- memory ---------------------------------------------------------------------------------
  it("a memory gpa that is not hex → partitions[i].memory[j].gpa", () => {
    expectRejected(
      one({ memory: [{ gpa: "2000", hex: "00" }] }),
      "partitions[0].memory[0].gpa",
      'not a hex string: "2000"',
    );
  });

  it("memory bytes with an odd digit count, a 0x prefix, no bytes or non-hex → memory[j].hex", () => {
    expectRejected(
      one({ memory: [{ gpa: "0x0", hex: "140" }] }),
      "partitions[0].memory[0].hex",
      "odd number",
    );
    expectRejected(
      one({ memory: [{ gpa: "0x0", hex: "0x14" }] }),
      "partitions[0].memory[0].hex",
      "0x prefix",
    );
    expectRejected(
      one({ memory: [{ gpa: "0x0", hex: "" }] }),
      "partitions[0].memory[0].hex",
      "at least one byte",
    );
    expectRejected(
      one({ memory: [{ gpa: "0x0", hex: "zz" }] }),
      "partitions[0].memory[0].hex",
      '"zz"',
    );
  });

  it("overlapping memory ranges → the later range", () => {
    expectRejected(
      one({
        memory: [
          { gpa: "0x3000", hex: "00" },
          { gpa: "0x2000", hex: "1400000000000000" },
          { gpa: "0x2007", hex: "ff00" },
        ],
      }),
      "partitions[0].memory[2]",
      "overlap memory[1]",
    );
    // The later range may also start below the earlier one.
    expectRejected(
      one({
        memory: [
          { gpa: "0x2004", hex: "00" },
          { gpa: "0x2000", hex: "0000000000" },
        ],
      }),
      "partitions[0].memory[1]",
      "overlap memory[0]",
    );
  });

  it("a memory range past 2^64 → partitions[i].memory[j]", () => {
    expectRejected(
      one({ memory: [{ gpa: "0xffffffffffffffff", hex: "0000" }] }),
      "partitions[0].memory[0]",
      "2^64",
    );
  });

  it("an unknown memory field → partitions[i].memory[j].<field>", () => {
    expectRejected(
      one({ memory: [{ gpa: "0x0", bytes: "00" }] }),
      "partitions[0].memory[0].bytes",
      "unknown field",
    );
  });

  // --- text -----------------------------------------------------------------------------------
  it("text that is not JSON → (root): not valid JSON", () => {
    let error: unknown;
    try {
      parseScenarioText('{"partitions": [\n  {"id": 1,}\n]}');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ScenarioError);
    const e = error as ScenarioError;
    expect(e.path).toBe("(root)");
    expect(e.reason.startsWith("not valid JSON: ")).toBe(true);
    expect(e.message).not.toMatch(/[\r\n]/);
  });
});

describe("parseScenario: only the first problem, in document order", () => {
  it("reports the earlier of two type errors", () => {
    expectRejected(
      { partitions: [{ id: 1, vps: [{ index: "0" }] }, { id: "2" }] },
      "partitions[0].vps[0].index",
    );
  });

  it("a duplicate is reported before a later type error", () => {
    expectRejected(
      {
        partitions: [
          { id: 1, ports: [eventPort(), eventPort()] },
          { id: 2, state: 5 },
        ],
      },
      "partitions[0].ports[1].id",
    );
    // ... even within the same list (the duplicate at vps[1] precedes the bad vps[2]).
    expectRejected(
      one({ vps: [{ index: 0 }, { index: 0 }, { index: 1, siefp: "0xZZ" }] }),
      "partitions[0].vps[1].index",
    );
  });

  it("follows the order of the fields in the file, not of the schema", () => {
    expectRejected({ partitions: [{ ports: "none", id: "x" }] }, "partitions[0].ports");
    expectRejected({ partitions: [{ id: "x", ports: "none" }] }, "partitions[0].id");
  });

  it("a missing field counts as found at the end of its object", () => {
    expectRejected({ partitions: [{ vps: [{ index: -1 }] }] }, "partitions[0].vps[0].index");
    expectRejected({ partitions: [{ vps: [] }, { id: "2" }] }, "partitions[0].id", "missing");
  });

  it("a whole-record problem comes after that record's own fields", () => {
    expectRejected(
      one({
        memory: [
          { gpa: "0x0", hex: "00" },
          { gpa: "0x0", hex: "00", extra: 1 },
        ],
      }),
      "partitions[0].memory[1].extra",
    );
  });

  it("the first unknown field of several is named", () => {
    expectRejected(one({ zeta: 1, alpha: 2 }), "partitions[0].zeta");
  });
});

describe("parseScenario: defaults and normalisation", () => {
  it("fills every default of a minimal partition", () => {
    expect(parseScenario({ partitions: [{ id: 1 }] })).toEqual({
      partitions: [
        {
          id: 1,
          state: "active",
          privilegeMask: 0n,
          vps: [],
          ports: [],
          connections: [],
          memory: [],
        },
      ],
    });
  });

  it("fills a VP's MSRs with 0 and its 16 SINTs with the reset value", () => {
    const doc = parseScenario(one({ vps: [{ index: 4 }] }));
    expect(doc.partitions[0]!.vps).toEqual([
      { index: 4, scontrol: 0n, siefp: 0n, simp: 0n, sints: resetSints(), ...noDump() },
    ]);
    expect(doc.partitions[0]!.vps[0]!.sints).toHaveLength(SINT_COUNT);
  });

  it("puts listed SINTs at their index and the reset value everywhere else", () => {
    const doc = parseScenario(
      one({ vps: [{ index: 0, sints: { "2": "0x50", "15": "0xAbCd", "0": "0x0" } }] }),
    );
    const expected = resetSints();
    expected[0] = 0n;
    expected[2] = 0x50n;
    expected[15] = 0xabcdn;
    expect(doc.partitions[0]!.vps[0]!.sints).toEqual(expected);
  });

  it("keeps 64-bit hex values exact", () => {
    const doc = parseScenario(
      one({ vps: [{ index: 0, siefp: "0xFFFFFFFFFFFFF001", simp: "0x0000000000000001" }] }),
    );
    expect(doc.partitions[0]!.vps[0]!.siefp).toBe(0xfffffffffffff001n);
    expect(doc.partitions[0]!.vps[0]!.simp).toBe(1n);
  });

  it('turns targetVp "any" into HV_ANY_VP (0xFFFFFFFF)', () => {
    const doc = parseScenario(one({ ports: [eventPort({ targetVp: "any" })] }));
    expect(doc.partitions[0]!.ports[0]!.targetVp).toBe(HV_ANY_VP);
    expect(doc.partitions[0]!.ports[0]!.targetVp).toBe(0xffffffff);
  });

  it('turns privileges ["SignalEvents"] into 1n << 37n', () => {
    const doc = parseScenario(one({ privileges: ["SignalEvents"] }));
    expect(doc.partitions[0]!.privilegeMask).toBe(1n << 37n);
  });

  it("ORs several privilege names into the mask", () => {
    const doc = parseScenario(
      one({ privileges: ["AccessVpIndex", "SignalEvents", "ConnectPort"] }),
    );
    expect(doc.partitions[0]!.privilegeMask).toBe(
      (1n << 6n) | (1n << 37n) | (1n << BigInt(PartitionPrivilegeBit.ConnectPort)),
    );
  });

  it("reads privilegeMask as hex, and an empty privilege list as 0", () => {
    expect(
      parseScenario(one({ privilegeMask: "0x0000002000000000" })).partitions[0]!.privilegeMask,
    ).toBe(1n << 37n);
    expect(parseScenario(one({ privileges: [] })).partitions[0]!.privilegeMask).toBe(0n);
  });

  it("defaults an event port's baseFlagNumber and every port's deleted; non-event ports get 0 flags", () => {
    const doc = parseScenario(
      one({
        ports: [eventPort({ id: 1 }), { id: 2, type: "message", targetVp: 3, targetSint: 4 }],
      }),
    );
    expect(doc.partitions[0]!.ports).toEqual([
      {
        id: 1,
        type: "event",
        targetVp: 0,
        targetSint: 2,
        baseFlagNumber: 0,
        flagCount: 64,
        deleted: false,
      },
      {
        id: 2,
        type: "message",
        targetVp: 3,
        targetSint: 4,
        baseFlagNumber: 0,
        flagCount: 0,
        deleted: false,
      },
    ]);
  });

  it("accepts base + count = 2048 exactly and an inactive partition", () => {
    const doc = parseScenario(
      one({ state: "inactive", ports: [eventPort({ baseFlagNumber: 2000, flagCount: 48 })] }),
    );
    expect(doc.partitions[0]!.state).toBe("inactive");
    expect(doc.partitions[0]!.ports[0]!.flagCount).toBe(48);
  });

  it("keeps ids unique per partition only, and lets a connection name a missing port", () => {
    const doc = parseScenario({
      partitions: [
        {
          id: 1,
          vps: [{ index: 0 }],
          ports: [eventPort()],
          connections: [{ id: 5, portPartition: 2, portId: 999 }],
        },
        {
          id: 2,
          vps: [{ index: 0 }],
          ports: [eventPort()],
          connections: [{ id: 5, portPartition: 1, portId: 10 }],
        },
      ],
    });
    expect(doc.partitions[0]!.connections).toEqual([{ id: 5, portPartition: 2, portId: 999 }]);
  });

  it("reads memory bytes in either case and lets ranges touch", () => {
    const doc = parseScenario(
      one({
        memory: [
          { gpa: "0x2000", hex: "14000000abCDef00" },
          { gpa: "0x2008", hex: "01" },
          { gpa: "0xffffffffffffffff", hex: "ff" },
        ],
      }),
    );
    expect(doc.partitions[0]!.memory).toEqual([
      { gpa: 0x2000n, bytes: new Uint8Array([0x14, 0, 0, 0, 0xab, 0xcd, 0xef, 0]) },
      { gpa: 0x2008n, bytes: new Uint8Array([1]) },
      { gpa: 0xffffffffffffffffn, bytes: new Uint8Array([0xff]) },
    ]);
    expect(doc.partitions[0]!.memory[0]!.bytes).toBeInstanceOf(Uint8Array);
  });

  it("parses the contract's two-partition example to the exact document", () => {
    const text = `{
      "partitions": [
        {
          "id": 1,
          "state": "active",
          "privileges": ["SignalEvents"],
          "vps": [{ "index": 0, "scontrol": "0x1", "siefp": "0x10001" }],
          "connections": [
            { "id": 20, "portPartition": 2, "portId": 10 },
            { "id": 21, "portPartition": 2, "portId": 11 }
          ],
          "memory": [{ "gpa": "0x2000", "hex": "1400000000000000" }]
        },
        {
          "id": 2,
          "privilegeMask": "0x0000002000000000",
          "vps": [
            { "index": 0, "scontrol": "0x1", "siefp": "0x10001", "sints": { "2": "0x50" } },
            { "index": 1 }
          ],
          "ports": [
            { "id": 10, "type": "event", "targetVp": 0, "targetSint": 2,
              "baseFlagNumber": 0, "flagCount": 64, "deleted": false },
            { "id": 11, "type": "message", "targetVp": "any", "targetSint": 3, "deleted": true }
          ]
        }
      ]
    }`;
    const sints = resetSints();
    sints[2] = 0x50n;
    const expected: ScenarioDocument = {
      partitions: [
        {
          id: 1,
          state: "active",
          privilegeMask: 1n << 37n,
          vps: [
            { index: 0, scontrol: 1n, siefp: 0x10001n, simp: 0n, sints: resetSints(), ...noDump() },
          ],
          ports: [],
          connections: [
            { id: 20, portPartition: 2, portId: 10 },
            { id: 21, portPartition: 2, portId: 11 },
          ],
          memory: [{ gpa: 0x2000n, bytes: new Uint8Array([0x14, 0, 0, 0, 0, 0, 0, 0]) }],
        },
        {
          id: 2,
          state: "active",
          privilegeMask: 0x2000000000n,
          vps: [
            { index: 0, scontrol: 1n, siefp: 0x10001n, simp: 0n, sints, ...noDump() },
            { index: 1, scontrol: 0n, siefp: 0n, simp: 0n, sints: resetSints(), ...noDump() },
          ],
          ports: [
            {
              id: 10,
              type: "event",
              targetVp: 0,
              targetSint: 2,
              baseFlagNumber: 0,
              flagCount: 64,
              deleted: false,
            },
            {
              id: 11,
              type: "message",
              targetVp: 0xffffffff,
              targetSint: 3,
              baseFlagNumber: 0,
              flagCount: 0,
              deleted: true,
            },
          ],
          connections: [],
          memory: [],
        },
      ],
    };
    expect(parseScenarioText(text)).toEqual(expected);
    expect(parseScenario(JSON.parse(text))).toEqual(expected);
  });

  it("gives every VP its own SINT array", () => {
    const doc = parseScenario(one({ vps: [{ index: 0 }, { index: 1 }] }));
    expect(doc.partitions[0]!.vps[0]!.sints).not.toBe(doc.partitions[0]!.vps[1]!.sints);
  });
});

describe("parseScenario: large scenarios stay linear", () => {
  /** The issue-tracker size: 65,536 ports, 65,536 connections, 1,024 VPs. */
  function big(): Json {
    const vps = Array.from({ length: 1024 }, (_, i) => ({
      index: i,
      scontrol: "0x1",
      siefp: "0x10001",
      sints: { "2": "0x50" },
    }));
    const ports = Array.from({ length: 65536 }, (_, i) =>
      i % 2 === 0
        ? {
            id: i,
            type: "event",
            targetVp: i % 1024,
            targetSint: 2,
            baseFlagNumber: 0,
            flagCount: 64,
          }
        : { id: i, type: "message", targetVp: "any", targetSint: 3 },
    );
    const connections = Array.from({ length: 65536 }, (_, i) => ({
      id: i,
      portPartition: 1,
      portId: i,
    }));
    return {
      partitions: [
        { id: 1, vps, ports },
        { id: 2, privileges: ["SignalEvents"], vps: [{ index: 0 }], connections },
      ],
    };
  }

  it("loads the issue-tracker scenario (generous bound: catches quadratic work, not a benchmark)", () => {
    const text = JSON.stringify(big());
    const t0 = performance.now();
    const doc = parseScenarioText(text);
    const elapsed = performance.now() - t0;
    expect(doc.partitions[0]!.ports).toHaveLength(65536);
    expect(doc.partitions[0]!.ports[1]!.targetVp).toBe(HV_ANY_VP);
    expect(doc.partitions[1]!.connections).toHaveLength(65536);
    expect(doc.partitions[0]!.vps).toHaveLength(1024);
    expect(elapsed).toBeLessThan(2000);
  });

  it("finds a duplicate at the end of a 65,536-entry list", () => {
    const doc = big();
    const partitions = doc.partitions as Json[];
    const connections = partitions[1]!.connections as Json[];
    connections.push({ id: 123, portPartition: 1, portId: 0 });
    expectRejected(
      doc,
      "partitions[1].connections[65536].id",
      "duplicate connection id 123",
      "connections[123]",
    );
  });

  it("checks 20,000 memory ranges for overlap without quadratic work", () => {
    const memory: Json[] = Array.from({ length: 20000 }, (_, i) => ({
      gpa: `0x${(0x100000 - i * 16).toString(16)}`,
      hex: "00000000",
    }));
    expect(parseScenario(one({ memory })).partitions[0]!.memory).toHaveLength(20000);
    memory.push({ gpa: "0x100002", hex: "00" });
    expectRejected(one({ memory }), "partitions[0].memory[20000]", "overlap memory[0]");
  });
});

describe("parseScenarioText never throws anything but a one-line ScenarioError", () => {
  function outcome(run: () => unknown): void {
    try {
      run();
    } catch (error) {
      if (!(error instanceof ScenarioError)) throw error;
      expect(error.message).not.toMatch(/[\r\n\u2028\u2029]/);
      expect(error.message).toBe(`${error.path}: ${error.reason}`);
      expect(error.path.length).toBeGreaterThan(0);
    }
  }

  it("for arbitrary strings", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => outcome(() => parseScenarioText(text))),
      { numRuns: 2000 },
    );
  });

  it("for arbitrary JSON text (fc.json)", () => {
    fc.assert(
      fc.property(fc.json(), (text) => outcome(() => parseScenarioText(text))),
      { numRuns: 2000 },
    );
  });

  it("for arbitrary JSON values (fc.jsonValue), as text and as values", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        outcome(() => parseScenarioText(JSON.stringify(value)));
        outcome(() => parseScenario(value));
      }),
      { numRuns: 2000 },
    );
  });

  it("for near-valid scenarios (every field drawn from good and bad values)", () => {
    const anyOf = <T>(...values: T[]) => fc.constantFrom(...values);
    const junk = fc.oneof(
      fc.jsonValue(),
      anyOf<unknown>("0xZZ", "any", -1, 2 ** 32, 1.5, "", "0x1", 16),
    );
    const field = <T>(good: fc.Arbitrary<T>) =>
      fc.option(fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: junk }), {
        nil: undefined,
      });
    const hexText = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((v) => `0x${v.toString(16)}`);
    const vp = fc.record(
      {
        index: field(fc.nat(4)),
        scontrol: field(hexText),
        siefp: field(hexText),
        sints: field(fc.dictionary(anyOf("0", "2", "15", "16", "x"), hexText)),
      },
      { requiredKeys: [] },
    );
    const port = fc.record(
      {
        id: field(fc.nat(4)),
        type: field(anyOf("event", "message", "monitor")),
        targetVp: field(fc.oneof(fc.nat(4), fc.constant("any"))),
        targetSint: field(fc.nat(16)),
        baseFlagNumber: field(fc.nat(2100)),
        flagCount: field(fc.nat(2100)),
        deleted: field(fc.boolean()),
      },
      { requiredKeys: [] },
    );
    const connection = fc.record(
      { id: field(fc.nat(4)), portPartition: field(fc.nat(4)), portId: field(fc.nat(4)) },
      { requiredKeys: [] },
    );
    const memory = fc.record(
      {
        gpa: field(anyOf("0x0", "0x4", "0xfffffffffffffffe")),
        hex: field(anyOf("00", "0000", "000000000000", "0")),
      },
      { requiredKeys: [] },
    );
    const partition = fc.record(
      {
        id: field(fc.nat(4)),
        state: field(anyOf("active", "inactive")),
        privileges: field(
          fc.array(anyOf("SignalEvents", "PostMessages", "Nope"), { maxLength: 3 }),
        ),
        privilegeMask: field(hexText),
        vps: field(fc.array(vp, { maxLength: 3 })),
        ports: field(fc.array(port, { maxLength: 3 })),
        connections: field(fc.array(connection, { maxLength: 3 })),
        memory: field(fc.array(memory, { maxLength: 3 })),
      },
      { requiredKeys: [] },
    );
    const document = fc.record(
      { partitions: field(fc.array(partition, { maxLength: 3 })) },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(document, (doc) => {
        const text = JSON.stringify(doc);
        outcome(() => parseScenarioText(text));
      }),
      { numRuns: 2000 },
    );
  });
});
