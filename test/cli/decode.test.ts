import { describe, expect, it } from "vitest";
import { splitConnectionId } from "../../src/abi/connection-id.js";
import { HV_HYPERCALL_CONTROL } from "../../src/abi/hypercall-control.js";
import { CliUsageError } from "../../src/cli/cli-error.js";
import { type Decoded, decode, formatDecoded, parseDecodeInput } from "../../src/cli/decode.js";
import { requireDist, runCli } from "./cli-harness.js";

requireDist();

const ofNumber = (hex: string) => decode(parseDecodeInput(hex));

/** The parts of a decode that every control value / record has (present, or the test fails). */
function parts(d: Decoded) {
  const { control, dispatch } = d;
  if (control === undefined || dispatch === undefined) throw new Error("not a control decode");
  return { control, dispatch };
}

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
    ["0x", "0x and up to 16 hex digits"],
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
    const { control, dispatch } = parts(ofNumber("0x1005d"));
    expect(ofNumber("0x1005d").kind).toBe("control");
    expect(control).toMatchObject({
      value: "0x000000000001005d",
      callCode: 0x5d,
      callCodeHex: "0x005d",
      callName: "HvCallSignalEvent",
      callClass: "simple",
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
    expect(dispatch).toMatchObject({
      status: null,
      decided: false,
      requiredPrivilege: "SignalEvents",
    });
    expect(dispatch.note).toContain("step 3");
  });

  it("lists every field of the control layout with its bits, in bit order", () => {
    const d = ofNumber("0x1005d");
    expect(d.fields.map((f) => f.name)).toEqual(HV_HYPERCALL_CONTROL.list.map((f) => f.name));
    expect(d.fields.find((f) => f.name === "variableHeaderSize")).toEqual({
      name: "variableHeaderSize",
      label: "variable header size",
      bits: "bits 26:17",
      value: 0,
      reservedSet: false,
    });
    expect(d.fields.filter((f) => f.reservedSet)).toEqual([]);
  });

  // The rule strings come from controlViolations() now (they used to be ControlRule names).
  it.each([
    [
      "0x3005d",
      "variableHeaderSize",
      1,
      "variable header size (bits 26:17) must be 0: HvCallSignalEvent has no variable header (it is 1)",
    ],
    ["0x801005d", "reserved27to30", 1, "RsvdZ bits 30:27 must be 0 (it is 1)"],
    [
      "0x8001005d",
      "isNested",
      true,
      "is nested (bit 31) must be 0: hvcall does not model a nested hypervisor (it is 1)",
    ],
    [
      "0xfff0001005d",
      "repCount",
      0xfff,
      "rep count (bits 43:32) must be 0: HvCallSignalEvent is a simple call (it is 4095)",
    ],
    ["0x80000001005d", "reserved44to47", 8, "RsvdZ bits 47:44 must be 0 (it is 8)"],
    [
      "0x100000001005d",
      "repStartIndex",
      1,
      "rep start index (bits 59:48) must be 0: HvCallSignalEvent is a simple call (it is 1)",
    ],
    ["0x800000000001005d", "reserved60to63", 8, "RsvdZ bits 63:60 must be 0 (it is 8)"],
  ] as const)(
    "%s: %s is set, the rule is named, the dispatcher's status is decided",
    (hex, field, value, rule) => {
      const { control, dispatch } = parts(ofNumber(hex));
      expect(control[field]).toBe(value);
      expect(control.rulesBroken).toEqual([rule]);
      expect(dispatch).toMatchObject({
        status: "HV_STATUS_INVALID_HYPERCALL_INPUT",
        decided: true,
      });
      const reserved = ofNumber(hex)
        .fields.filter((f) => f.reservedSet)
        .map((f) => f.name);
      expect(reserved).toEqual(field.startsWith("reserved") ? [field] : []);
    },
  );

  it("lists every broken rule in bit order", () => {
    expect(parts(ofNumber("0xf0000000f801005d")).control.rulesBroken).toEqual([
      "RsvdZ bits 30:27 must be 0 (it is 15)",
      "is nested (bit 31) must be 0: hvcall does not model a nested hypervisor (it is 1)",
      "RsvdZ bits 63:60 must be 0 (it is 15)",
    ]);
  });

  it("an unknown call code wins over reserved bits (check order step 1 before 2)", () => {
    const { control, dispatch } = parts(ofNumber("0x8801105c"));
    expect(control.callName).toBeNull();
    expect(control.callClass).toBeNull();
    expect(control.implemented).toBe(false);
    expect(control.rulesBroken.length).toBe(2);
    expect(dispatch).toMatchObject({ status: "HV_STATUS_INVALID_HYPERCALL_CODE", decided: true });
  });

  // Found in review: a code of no known call listed "this call has no variable header" and
  // "this call is a simple call" — rules of a call nobody knows. Only the call-independent remain.
  it("an unknown call code lists only the rules of every call (RsvdZ, is nested)", () => {
    const { control } = parts(ofNumber("0xffffffffffffffff"));
    expect(control.callClass).toBeNull();
    expect(control.rulesBroken).toEqual([
      "RsvdZ bits 30:27 must be 0 (it is 15)",
      "is nested (bit 31) must be 0: hvcall does not model a nested hypervisor (it is 1)",
      "RsvdZ bits 47:44 must be 0 (it is 15)",
      "RsvdZ bits 63:60 must be 0 (it is 15)",
    ]);
    expect(parts(ofNumber("0x0fff0fff07feffff")).control.rulesBroken).toEqual([]);
  });

  // HvCallPostMessage (0x005C) is implemented now, so the "named but not implemented" example is
  // HvCallDeletePort (0x0058).
  it("a TLFS call code hvcall does not implement keeps its name", () => {
    const { control, dispatch } = parts(ofNumber("0x10058"));
    expect(control).toMatchObject({ callName: "HvCallDeletePort", implemented: false });
    expect(dispatch).toMatchObject({ status: "HV_STATUS_INVALID_HYPERCALL_CODE", decided: true });
    expect(dispatch.note).toContain("generic.1");
  });

  it("HvCallPostMessage is implemented and memory-only: the fast bit is a broken rule", () => {
    const { control, dispatch } = parts(ofNumber("0x1005c"));
    expect(control).toMatchObject({ callName: "HvCallPostMessage", implemented: true });
    expect(control.rulesBroken).toEqual([
      "fast (bit 16) must be 0: HvCallPostMessage takes its input from guest memory only (it is 1)",
    ]);
    expect(dispatch).toMatchObject({ status: "HV_STATUS_INVALID_HYPERCALL_INPUT", decided: true });
    expect(parts(ofNumber("0x5c")).dispatch).toMatchObject({
      status: null,
      requiredPrivilege: "PostMessages",
    });
  });

  it("the text form shows each field with its bit range", () => {
    const text = formatDecoded(ofNumber("0x8001005d"));
    expect(text).toMatch(/^control value\s+0x000000008001005d$/m);
    expect(text).toMatch(
      /^ {2}bits 15:0\s+call code\s+0x005d {2}HvCallSignalEvent \(implemented\)$/m,
    );
    expect(text).toMatch(/^ {2}bit 16\s+fast\s+1 /m);
    expect(text).toMatch(/^ {2}bits 26:17\s+variable header size\s+0$/m);
    // "is nested" is a flag field now, not a reserved one: its rule is named under "rules broken".
    expect(text).toMatch(/^ {2}bit 31\s+is nested\s+1$/m);
    expect(text).toMatch(/^ {2}rules broken\s+is nested \(bit 31\) must be 0/m);
    expect(text).toMatch(/^ {2}bits 63:60\s+RsvdZ\s+0$/m);
    expect(text).toMatch(/^status\s+HV_STATUS_INVALID_HYPERCALL_INPUT$/m);
    // A reserved field that is set says so on its line.
    expect(formatDecoded(ofNumber("0x801005d"))).toMatch(
      /^ {2}bits 30:27\s+RsvdZ\s+1 {2}\(0x1\) must be 0$/m,
    );
  });
});

describe("decode of a record", () => {
  const record = (hex: string): Decoded => decode(parseDecodeInput(hex));

  it("decodes the input block: ConnectionId, FlagNumber, RsvdZ", () => {
    const d = record("5d00010000000000 1400000005000000");
    expect(d.kind).toBe("record");
    expect(d.inputBlock).toEqual({
      bytes: "1400000005000000",
      register: "0x0000000500000014",
      form: "fast",
      fields: { connectionId: 0x14, flagNumber: 5, rsvdZ: 0 },
      rulesBroken: [],
    });
    expect(parts(d).dispatch).toMatchObject({ status: null, decided: false });
  });

  it("names the broken input rules and the status they lead to", () => {
    const d = record("5d00000000000000 140000ab05000100");
    expect(d.inputBlock?.form).toBe("memory");
    // The JSON carries the raw ConnectionId now; its id and reserved bits split as before.
    const raw = d.inputBlock?.fields?.connectionId;
    expect(raw).toBe(0xab000014);
    expect(splitConnectionId(raw ?? 0)).toEqual({ id: 0x14, reserved: 0xab });
    expect(d.inputBlock?.fields?.rsvdZ).toBe(1);
    expect(d.inputBlock?.rulesBroken).toEqual([
      "ConnectionId Reserved bits 31:24 must be 0",
      "RsvdZ (bytes 6..7) must be 0",
    ]);
    const { dispatch } = parts(d);
    expect(dispatch).toMatchObject({
      status: "HV_STATUS_INVALID_HYPERCALL_INPUT",
      decided: false,
    });
    expect(dispatch.note).toContain("HV_STATUS_ACCESS_DENIED");
  });

  it("a record whose control value fails is decided by the control value", () => {
    const d = record("5d00010001000000 1400000005000100");
    expect(parts(d).dispatch).toMatchObject({
      status: "HV_STATUS_INVALID_HYPERCALL_INPUT",
      decided: true,
    });
  });

  it("a PostMessage record names the first 8 bytes' fields and says the block is 256 bytes", () => {
    const d = record("5c00000000000000 1000000000000000");
    expect(d.inputBlock?.fields).toEqual({ connectionId: 0x10, rsvdZ: 0 });
    expect(d.inputBlock?.note).toContain("256-byte input block");
    expect(parts(d).dispatch).toMatchObject({ status: null, requiredPrivilege: "PostMessages" });
  });

  // 0x005C was the "other call code" here; it is implemented now, so 0x0058 (DeletePort) is.
  it("does not name input fields for a call code hvcall does not implement", () => {
    const d = record("5800010000000000 1400000005000000");
    expect(d.inputBlock?.fields).toBeUndefined();
    expect(d.inputBlock?.rulesBroken).toEqual([]);
    expect(parts(d).dispatch.status).toBe("HV_STATUS_INVALID_HYPERCALL_CODE");
    expect(formatDecoded(d)).toMatch(/^ {2}fields\s+not an implemented call/m);
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
    // "control value" became "number": with --result the same text is a result value.
    expect(r.stderr).toMatch(/^hvcall: decode: "0xnope" is not a 64-bit number/);
  });

  it("bare digits of a wrong count: the 0x hint only when the digits make a 64-bit number", () => {
    expect(() => parseDecodeInput("5d00010000000000000")).toThrow(
      /19 hex digits without 0x are read as bytes in file order: 16 digits \(a 64-bit value\) or 32 \(a record\)$/,
    );
    expect(() => parseDecodeInput("1005d")).toThrow(
      /; a number is written with 0x, e\.g\. 0x1005d$/,
    );
  });

  it("internal error: exit 1 with the stack", async () => {
    const r = await runCli(["decode", "0x1005d"], { env: { HVCALL_TEST_INTERNAL_ERROR: "1" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^hvcall: internal error: /);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});
