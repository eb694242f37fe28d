/**
 * Call codes (src/abi/call-code.ts): the SynIC family as signal-event.md §1 lists it, by hand, and
 * every code of the tables named, both ways, without duplicates.
 */
import { describe, expect, it } from "vitest";
import {
  HV_CALL_CODES,
  HV_EXT_CALL_CODES,
  HvCallCode,
  hvCallClass,
  hvCallCodeName,
} from "../../src/abi/call-code.js";

/** signal-event.md §1, "Call codes of the SynIC family", by hand. */
const SYNIC_FAMILY: readonly (readonly [string, number])[] = [
  ["HvCallDeletePort", 0x0058],
  ["HvCallGetPortProperty", 0x005a],
  ["HvCallDisconnectPort", 0x005b],
  ["HvCallPostMessage", 0x005c],
  ["HvCallSignalEvent", 0x005d],
  ["HvCallCreatePort", 0x0095],
  ["HvCallConnectPort", 0x0096],
  ["HvCallStartVirtualProcessor", 0x0099],
  ["HvCallGetVpIndexFromApicId", 0x009a],
  ["HvCallSignalEventDirect", 0x00c0],
  ["HvCallPostMessageDirect", 0x00c1],
];

describe("call codes", () => {
  it.each(SYNIC_FAMILY)("%s has call code %i", (name, code) => {
    expect(hvCallCodeName(code)).toBe(name);
    const short = name.slice("HvCall".length) as keyof typeof HvCallCode;
    expect(HvCallCode[short]).toBe(code);
  });

  it("0x0097 and 0x0098 are not port calls; the old port numbers are gone", () => {
    // The old table had DeletePort 0x0096 .. DisconnectPort 0x0099 (signal-event.md §1: they are not).
    for (const code of [0x0097, 0x0098]) expect(hvCallCodeName(code)).toBeUndefined();
    expect(hvCallCodeName(0x0096)).toBe("HvCallConnectPort");
    expect(hvCallCodeName(0x0099)).toBe("HvCallStartVirtualProcessor");
    const portCalls = HV_CALL_CODES.filter(([n]) => n.endsWith("Port") || n === "GetPortProperty");
    expect(portCalls.map(([n, c]) => [n, c])).toEqual([
      ["DeletePort", 0x0058],
      ["GetPortProperty", 0x005a],
      ["DisconnectPort", 0x005b],
      ["CreatePort", 0x0095],
      ["ConnectPort", 0x0096],
    ]);
  });

  it("every code in the tables is named, both ways, and no code or name repeats", () => {
    const codes = new Set<number>();
    const names = new Set<string>();
    for (const [name, code, kind] of HV_CALL_CODES) {
      expect(hvCallCodeName(code)).toBe(`HvCall${name}`);
      expect(HvCallCode[name]).toBe(code);
      expect(hvCallClass(code)).toBe(kind);
      expect(codes.has(code), `code 0x${code.toString(16)} repeats`).toBe(false);
      expect(names.has(name), `${name} repeats`).toBe(false);
      codes.add(code);
      names.add(name);
    }
    for (const [name, code, kind] of HV_EXT_CALL_CODES) {
      expect(hvCallCodeName(code)).toBe(`HvExtCall${name}`);
      expect(hvCallClass(code)).toBe(kind);
      expect(codes.has(code)).toBe(false);
      codes.add(code);
    }
    expect(Object.keys(HvCallCode)).toHaveLength(HV_CALL_CODES.length);
    // Every code fits the 16-bit call code field.
    for (const code of codes) expect(code >>> 16).toBe(0);
  });

  it("the SynIC family's call classes", () => {
    for (const [name, code] of SYNIC_FAMILY) {
      expect(hvCallClass(code), name).toBe(
        name === "HvCallGetVpIndexFromApicId" ? "rep" : "simple",
      );
    }
  });

  it("an unnamed code has no name and no class", () => {
    let named = 0;
    for (let code = 0; code <= 0xffff; code++) if (hvCallCodeName(code) !== undefined) named++;
    expect(named).toBe(HV_CALL_CODES.length + HV_EXT_CALL_CODES.length);
    for (const code of [0x0000, 0x005e, 0x0100, 0xffff, 0x8000]) {
      expect(hvCallCodeName(code)).toBeUndefined();
      expect(hvCallClass(code)).toBeUndefined();
    }
  });
});
