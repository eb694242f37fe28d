/**
 * `hvcall decode` through the real binary: --result (a result value), the name of every call code
 * of src/abi/call-code.ts, and the corrected numbers of the SynIC port family.
 */
import { describe, expect, it } from "vitest";
import { HV_CALL_CODES, HV_EXT_CALL_CODES } from "../../src/abi/call-code.js";
import { requireDist, runCli } from "./cli-harness.js";

requireDist();

interface ResultJson {
  kind: string;
  fields: { name: string; value: number; reservedSet: boolean }[];
  result: {
    value: string;
    status: number;
    statusName: string;
    known: boolean;
    repsCompleted: number;
    reservedBitsSet: string[];
  };
}

interface ControlJson {
  kind: string;
  control: {
    callCode: number;
    callName: string | null;
    callClass: string | null;
    implemented: boolean;
  };
  dispatch: { status: string | null; decided: boolean };
}

async function decodeJson<T>(...args: string[]): Promise<T> {
  const r = await runCli(["decode", "--json", ...args]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout.trimEnd().split("\n")).toHaveLength(1);
  return JSON.parse(r.stdout) as T;
}

const hex4 = (code: number) => `0x${code.toString(16).padStart(4, "0")}`;

describe.concurrent("decode --result", () => {
  it("names the status of a plain result value; no reps, no reserved bits", async () => {
    const d = await decodeJson<ResultJson>("--result", "0x0000000000000011");
    expect(d.kind).toBe("result");
    expect(d.result).toEqual({
      value: "0x0000000000000011",
      status: 0x11,
      statusName: "HV_STATUS_INVALID_PORT_ID",
      known: true,
      repsCompleted: 0,
      reservedBitsSet: [],
    });
    expect(d.fields.map((f) => f.name)).toEqual([
      "status",
      "reserved16to31",
      "repsCompleted",
      "reserved44to63",
    ]);
  });

  it("reads the reps completed (bits 43:32)", async () => {
    const d = await decodeJson<ResultJson>("--result", "0x0000000300000004");
    expect(d.result).toMatchObject({
      statusName: "HV_STATUS_INVALID_ALIGNMENT",
      repsCompleted: 3,
      reservedBitsSet: [],
    });
    const max = await decodeJson<ResultJson>("--result", "0x00000fff00000000");
    expect(max.result).toMatchObject({
      statusName: "HV_STATUS_SUCCESS",
      repsCompleted: 0xfff,
      reservedBitsSet: [],
    });
  });

  it("names the reserved bits that are set (31:16 and 63:44)", async () => {
    const d = await decodeJson<ResultJson>("--result", "0xf0000003ffff0011");
    expect(d.result).toMatchObject({ status: 0x11, repsCompleted: 3 });
    expect(d.result.reservedBitsSet).toEqual([
      "RsvdZ bits 31:16 must be 0",
      "RsvdZ bits 63:44 must be 0",
    ]);
    expect(d.fields.filter((f) => f.reservedSet).map((f) => [f.name, f.value])).toEqual([
      ["reserved16to31", 0xffff],
      ["reserved44to63", 0xf0000],
    ]);
    const low = await decodeJson<ResultJson>("--result", "0x0000000000010000");
    expect(low.result.reservedBitsSet).toEqual(["RsvdZ bits 31:16 must be 0"]);
  });

  it("a status the TLFS table does not name is shown by number", async () => {
    const d = await decodeJson<ResultJson>("--result", "0x1234");
    expect(d.result).toMatchObject({
      status: 0x1234,
      statusName: "HV_STATUS_UNKNOWN_0x1234",
      known: false,
    });
  });

  it("the 8 bytes in file order give the same value as the 0x number", async () => {
    expect(await decodeJson<ResultJson>("--result", "1100000003000000")).toEqual(
      await decodeJson<ResultJson>("--result", "0x0000000300000011"),
    );
  });

  it("the text form names the status and the reserved bits set", async () => {
    const r = await runCli(["decode", "--result", "0x0000000300010011"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^result value\s+0x0000000300010011$/m);
    expect(r.stdout).toMatch(/^ {2}bits 15:0\s+HV_STATUS\s+0x0011 {2}HV_STATUS_INVALID_PORT_ID$/m);
    expect(r.stdout).toMatch(/^ {2}bits 31:16\s+RsvdZ\s+1 {2}\(0x1\) must be 0$/m);
    expect(r.stdout).toMatch(/^ {2}bits 43:32\s+reps completed\s+3$/m);
    expect(r.stdout).toMatch(/^ {2}reserved bits set\s+RsvdZ bits 31:16 must be 0$/m);
    const clean = await runCli(["decode", "--result", "0x0"]);
    expect(clean.stdout).toMatch(/^ {2}reserved bits set\s+none$/m);
  });

  it("a record is not a result value: exit 2, one line", async () => {
    const r = await runCli(["decode", "--result", "5d000100000000001400000005000000"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "hvcall: decode --result: give one 64-bit result value (0x… or its 8 bytes), not a record\n",
    );
  });
});

describe.concurrent("decode names every call code of src/abi/call-code.ts", () => {
  const implemented = new Set([0x005c, 0x005d]);
  it.each([
    ...HV_CALL_CODES.map(([name, code, kind]) => [`HvCall${name}`, code, kind] as const),
    ...HV_EXT_CALL_CODES.map(([name, code, kind]) => [`HvExtCall${name}`, code, kind] as const),
  ])("%s (%i, %s)", async (name, code, kind) => {
    const d = await decodeJson<ControlJson>(hex4(code));
    expect(d.control).toMatchObject({ callCode: code, callName: name, callClass: kind });
    expect(d.control.implemented).toBe(implemented.has(code));
    if (!implemented.has(code)) {
      expect(d.dispatch).toMatchObject({
        status: "HV_STATUS_INVALID_HYPERCALL_CODE",
        decided: true,
      });
    }
    const text = await runCli(["decode", hex4(code)]);
    expect(text.stdout).toContain(
      `${hex4(code)}  ${name} (${implemented.has(code) ? "" : "not "}implemented)`,
    );
  });

  it("a code no table names has no name and is INVALID_HYPERCALL_CODE", async () => {
    for (const code of [0x0000, 0x0097, 0x0098, 0xffff]) {
      const d = await decodeJson<ControlJson>(hex4(code));
      expect(d.control).toMatchObject({
        callCode: code,
        callName: null,
        callClass: null,
        implemented: false,
      });
      expect(d.dispatch.status).toBe("HV_STATUS_INVALID_HYPERCALL_CODE");
    }
  });
});

describe.concurrent("the SynIC port family has the corrected numbers (signal-event.md §1)", () => {
  it.each([
    [0x0058, "HvCallDeletePort"],
    [0x005a, "HvCallGetPortProperty"],
    [0x005b, "HvCallDisconnectPort"],
    [0x005c, "HvCallPostMessage"],
    [0x005d, "HvCallSignalEvent"],
    [0x0095, "HvCallCreatePort"],
    [0x0096, "HvCallConnectPort"],
    [0x0099, "HvCallStartVirtualProcessor"],
    [0x009a, "HvCallGetVpIndexFromApicId"],
    [0x00c0, "HvCallSignalEventDirect"],
    [0x00c1, "HvCallPostMessageDirect"],
  ] as const)("0x%s is %s", async (code, name) => {
    const d = await decodeJson<ControlJson>(hex4(code));
    expect(d.control.callName).toBe(name);
  });

  it("0x0096..0x0099 are not DeletePort, ConnectPort, GetPortProperty or DisconnectPort", async () => {
    const names = await Promise.all(
      [0x96, 0x97, 0x98, 0x99].map(
        async (c) => (await decodeJson<ControlJson>(hex4(c))).control.callName,
      ),
    );
    expect(names).toEqual(["HvCallConnectPort", null, null, "HvCallStartVirtualProcessor"]);
  });
});
