import { describe, expect, it } from "vitest";
import { CONTROL_RULE_NAMES, ControlRule } from "../../src/abi/hypercall-control.js";
import { CliUsageError } from "../../src/cli/cli-error.js";
import { type Decoded, decode, formatDecoded, parseDecodeInput } from "../../src/cli/decode.js";
import { requireDist, runCli } from "./cli-harness.js";

requireDist();

const ofNumber = (hex: string) => decode(parseDecodeInput(hex));

describe("decode input forms", () => {
  it("0x… is the control value as a number; bare digits are bytes in file order", () => {
    expect(Buffer.from(parseDecodeInput("0x1005d")).toString("hex")).toBe("5d00010000000000");
    expect(Buffer.from(parseDecodeInput("5d00010000000000")).toString("hex")).toBe(
      "5d00010000000000",
    );
    expect(
      Buffer.from(parseDecodeInput(" 5d000100 00000000\t1400000005000000 ")).toString("hex"),
    ).toBe("5d000100000000001400000005000000");
  });

  it.each([
    ["0x", "after 0x give 1 to 16 hex digits"],
    ["0x5d000100000000001400000005000000", "written without 0x"],
    ["5d00", "4 hex digits"],
    ["5d0001000000000", "15 hex digits"],
    ["zz00010000000000", "not hex"],
  ])("rejects %j", (text, message) => {
    expect(() => parseDecodeInput(text)).toThrow(CliUsageError);
    expect(() => parseDecodeInput(text)).toThrow(message);
  });
});

describe("decode of a control value", () => {
  it("names every field of the Linux VMBus fast SignalEvent control value", () => {
    const d = ofNumber("0x1005d");
    expect(d.kind).toBe("control");
    expect(d.control).toMatchObject({
      value: "0x000000000001005d",
      callCode: 0x5d,
      callCodeHex: "0x005d",
      callName: "HvCallSignalEvent",
      implemented: true,
      fast: true,
      variableHeaderSize: 0,
      reserved27to30: 0,
      isNested: false,
      repCount: 0,
      reserved44to47: 0,
      repStartIndex: 0,
      reserved60to63: 0,
      rulesBroken: [],
    });
    expect(d.dispatch).toMatchObject({
      status: null,
      decided: false,
      requiredPrivilege: "SignalEvents",
    });
    expect(d.dispatch.note).toContain("step 3");
  });

  it.each([
    ["0x3005d", "variableHeaderSize", 1, ControlRule.VariableHeaderNotZero],
    ["0x801005d", "reserved27to30", 1, ControlRule.Reserved27to30NotZero],
    ["0x8001005d", "isNested", true, ControlRule.IsNestedSet],
    ["0xfff0001005d", "repCount", 0xfff, ControlRule.RepCountNotZero],
    ["0x80000001005d", "reserved44to47", 8, ControlRule.Reserved44to47NotZero],
    ["0x100000001005d", "repStartIndex", 1, ControlRule.RepStartIndexNotZero],
    ["0x800000000001005d", "reserved60to63", 8, ControlRule.Reserved60to63NotZero],
  ] as const)(
    "%s: %s is set, the rule is named, the dispatcher's status is decided",
    (hex, field, value, rule) => {
      const d = ofNumber(hex);
      expect(d.control[field]).toBe(value);
      expect(d.control.rulesBroken).toEqual([CONTROL_RULE_NAMES[rule]]);
      expect(d.dispatch).toMatchObject({
        status: "HV_STATUS_INVALID_HYPERCALL_INPUT",
        decided: true,
      });
    },
  );

  it("lists every broken rule in bit order", () => {
    const d = ofNumber("0xf0000000f801005d");
    expect(d.control.rulesBroken).toEqual([
      CONTROL_RULE_NAMES[ControlRule.Reserved27to30NotZero],
      CONTROL_RULE_NAMES[ControlRule.IsNestedSet],
      CONTROL_RULE_NAMES[ControlRule.Reserved60to63NotZero],
    ]);
  });

  it("an unknown call code wins over reserved bits (check order step 1 before 2)", () => {
    const d = ofNumber("0x8801105c");
    expect(d.control.callName).toBeNull();
    expect(d.control.implemented).toBe(false);
    expect(d.control.rulesBroken.length).toBe(2);
    expect(d.dispatch).toMatchObject({ status: "HV_STATUS_INVALID_HYPERCALL_CODE", decided: true });
  });

  it("a TLFS call code hvcall does not implement keeps its name", () => {
    const d = ofNumber("0x1005c");
    expect(d.control).toMatchObject({ callName: "HvCallPostMessage", implemented: false });
    expect(d.dispatch.status).toBe("HV_STATUS_INVALID_HYPERCALL_CODE");
  });

  it("the text form shows each field with its bit range", () => {
    const text = formatDecoded(ofNumber("0x8001005d"));
    expect(text).toMatch(/^control value\s+0x000000008001005d$/m);
    expect(text).toMatch(
      /^ {2}bits 15:0\s+call code\s+0x005d {2}HvCallSignalEvent \(implemented\)$/m,
    );
    expect(text).toMatch(/^ {2}bit 16\s+fast\s+1 /m);
    expect(text).toMatch(/^ {2}bits 26:17\s+variable header size\s+0$/m);
    expect(text).toMatch(/^ {2}bit 31\s+is nested\s+1 {2}\(0x1\) must be 0$/m);
    expect(text).toMatch(/^ {2}bits 63:60\s+RsvdZ\s+0$/m);
    expect(text).toMatch(/^status\s+HV_STATUS_INVALID_HYPERCALL_INPUT$/m);
  });
});

describe("decode of a record", () => {
  const record = (hex: string): Decoded => decode(parseDecodeInput(hex));

  it("decodes the input block: ConnectionId (id and reserved bits), FlagNumber, RsvdZ", () => {
    const d = record("5d00010000000000 1400000005000000");
    expect(d.kind).toBe("record");
    expect(d.inputBlock).toEqual({
      bytes: "1400000005000000",
      register: "0x0000000500000014",
      form: "fast",
      signalEvent: {
        connectionId: "0x00000014",
        connection: { id: 0x14, reserved: 0 },
        flagNumber: 5,
        rsvdZ: 0,
      },
      rulesBroken: [],
    });
    expect(d.dispatch).toMatchObject({ status: null, decided: false });
  });

  it("names the broken input rules and the status they lead to", () => {
    const d = record("5d00000000000000 140000ab05000100");
    expect(d.inputBlock?.form).toBe("memory");
    expect(d.inputBlock?.signalEvent?.connection).toEqual({ id: 0x14, reserved: 0xab });
    expect(d.inputBlock?.signalEvent?.rsvdZ).toBe(1);
    expect(d.inputBlock?.rulesBroken).toHaveLength(2);
    expect(d.dispatch).toMatchObject({
      status: "HV_STATUS_INVALID_HYPERCALL_INPUT",
      decided: false,
    });
    expect(d.dispatch.note).toContain("HV_STATUS_ACCESS_DENIED");
  });

  it("a record whose control value fails is decided by the control value", () => {
    const d = record("5d00010001000000 1400000005000100");
    expect(d.dispatch).toMatchObject({
      status: "HV_STATUS_INVALID_HYPERCALL_INPUT",
      decided: true,
    });
  });

  it("does not name input fields for another call code", () => {
    const d = record("5c00010000000000 1400000005000000");
    expect(d.inputBlock?.signalEvent).toBeUndefined();
    expect(d.dispatch.status).toBe("HV_STATUS_INVALID_HYPERCALL_CODE");
  });
});

describe.concurrent("hvcall decode (CLI)", () => {
  it("prints the fields, exit 0", async () => {
    const r = await runCli(["decode", "0x1005d"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(formatDecoded(ofNumber("0x1005d")));
    expect(r.stdout).toContain("HvCallSignalEvent");
  });

  it("--json prints one JSON object; a record may come as two arguments", async () => {
    const r = await runCli(["decode", "--json", "5d00010000000000", "1400000005000000"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split("\n")).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toEqual(
      JSON.parse(JSON.stringify(decode(parseDecodeInput("5d000100000000001400000005000000")))),
    );
  });

  it("bad hex: exit 2, one line", async () => {
    const r = await runCli(["decode", "0xnope"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^hvcall: decode: "0xnope" is not a 64-bit control value/);
  });

  it("internal error: exit 1 with the stack", async () => {
    const r = await runCli(["decode", "0x1005d"], { env: { HVCALL_TEST_INTERNAL_ERROR: "1" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^hvcall: internal error: /);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});
