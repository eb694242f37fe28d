import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  HV_STATUS_NAMES,
  HvStatus,
  type HvStatusCode,
  type HvStatusName,
  hvStatusFromName,
  hvStatusName,
  isKnownHvStatus,
} from "../../src/abi/hv-status.js";

/** The statuses the HvCallSignalEvent spec uses, written out by hand from the TLFS. */
const SIGNAL_EVENT_STATUSES: readonly (readonly [HvStatusName, number])[] = [
  ["SUCCESS", 0x0000],
  ["INVALID_HYPERCALL_CODE", 0x0002],
  ["INVALID_HYPERCALL_INPUT", 0x0003],
  ["INVALID_ALIGNMENT", 0x0004],
  ["INVALID_PARAMETER", 0x0005],
  ["ACCESS_DENIED", 0x0006],
  ["INVALID_PARTITION_STATE", 0x0007],
  ["OPERATION_DENIED", 0x0008],
  ["INVALID_VP_INDEX", 0x000e],
  ["INVALID_PORT_ID", 0x0011],
  ["INVALID_CONNECTION_ID", 0x0012],
  ["INSUFFICIENT_BUFFERS", 0x0013],
  ["INVALID_SYNIC_STATE", 0x0018],
];

describe("HvStatus table", () => {
  it.each(SIGNAL_EVENT_STATUSES)("%s is %i", (name, code) => {
    expect(HvStatus[name]).toBe(code);
    expect(hvStatusName(code)).toBe(`HV_STATUS_${name}`);
    expect(hvStatusFromName(name)).toBe(code);
    expect(hvStatusFromName(`HV_STATUS_${name}`)).toBe(code);
    expect(isKnownHvStatus(code)).toBe(true);
  });

  it("pins a sample of the later codes", () => {
    expect(HvStatus.INVALID_LP_INDEX).toBe(0x0041);
    expect(HvStatus.INVALID_REGISTER_VALUE).toBe(0x0050);
    expect(HvStatus.INVALID_VTL_STATE).toBe(0x0051);
    expect(HvStatus.INSUFFICIENT_BUFFER).toBe(0x0033);
    expect(HvStatus.OPERATION_FAILED).toBe(0x0071);
    expect(HvStatus.TIME_OUT).toBe(0x0078);
    expect(HvStatus.CALL_PENDING).toBe(0x0079);
    expect(HvStatus.VTL_ALREADY_ENABLED).toBe(0x0086);
  });

  it("holds every name once, in ascending code order, all 16-bit", () => {
    expect(HV_STATUS_NAMES).toEqual(Object.keys(HvStatus));
    expect(new Set(HV_STATUS_NAMES).size).toBe(HV_STATUS_NAMES.length);
    const codes = HV_STATUS_NAMES.map((name) => HvStatus[name]);
    expect(new Set(codes).size).toBe(codes.length);
    for (let i = 1; i < codes.length; i++) {
      expect(codes[i]).toBeGreaterThan(codes[i - 1] as number);
    }
    for (const code of codes) {
      expect(Number.isInteger(code) && code >= 0 && code <= 0xffff).toBe(true);
    }
    expect(HV_STATUS_NAMES.length).toBeGreaterThanOrEqual(50);
  });

  it("has no name carrying the HV_STATUS_ prefix", () => {
    for (const name of HV_STATUS_NAMES) expect(name.startsWith("HV_STATUS_")).toBe(false);
  });

  it("keeps the real UNKNOWN_* names apart from the fallback format", () => {
    expect(hvStatusName(HvStatus.UNKNOWN_PROPERTY)).toBe("HV_STATUS_UNKNOWN_PROPERTY");
    expect(hvStatusName(HvStatus.UNKNOWN_REGISTER_NAME)).toBe("HV_STATUS_UNKNOWN_REGISTER_NAME");
    expect(hvStatusFromName("HV_STATUS_UNKNOWN_PROPERTY")).toBe(0x0009);
  });

  it("leaves the reserved codes 0x0001 and 0x000F unnamed", () => {
    expect(isKnownHvStatus(0x0001)).toBe(false);
    expect(isKnownHvStatus(0x000f)).toBe(false);
  });

  it("freezes the name list", () => {
    expect(Object.isFrozen(HV_STATUS_NAMES)).toBe(true);
  });
});

describe("name <-> value round trip", () => {
  it.each(HV_STATUS_NAMES.map((name) => [name, HvStatus[name]] as const))(
    "%s <-> %i",
    (name, code) => {
      const full = hvStatusName(code);
      expect(full).toBe(`HV_STATUS_${name}`);
      expect(hvStatusFromName(full)).toBe(code);
      expect(hvStatusFromName(name)).toBe(code);
      expect(isKnownHvStatus(code)).toBe(true);
    },
  );

  it("returns the same precomputed string on every call", () => {
    const code: HvStatusCode = HvStatus.INVALID_SYNIC_STATE;
    expect(hvStatusName(code)).toBe(hvStatusName(code));
  });
});

describe("hvStatusFromName", () => {
  it("is case-sensitive", () => {
    expect(hvStatusFromName("success")).toBeUndefined();
    expect(hvStatusFromName("hv_status_success")).toBeUndefined();
    expect(hvStatusFromName("HV_STATUS_success")).toBeUndefined();
  });

  it("rejects unknown, malformed and inherited names", () => {
    expect(hvStatusFromName("")).toBeUndefined();
    expect(hvStatusFromName("HV_STATUS_")).toBeUndefined();
    expect(hvStatusFromName("NOT_A_STATUS")).toBeUndefined();
    expect(hvStatusFromName("HV_STATUS_HV_STATUS_SUCCESS")).toBeUndefined();
    expect(hvStatusFromName(" SUCCESS")).toBeUndefined();
    expect(hvStatusFromName("SUCCESS ")).toBeUndefined();
    expect(hvStatusFromName("constructor")).toBeUndefined();
    expect(hvStatusFromName("__proto__")).toBeUndefined();
    expect(hvStatusFromName("toString")).toBeUndefined();
    expect(hvStatusFromName("HV_STATUS_UNKNOWN_0x1234")).toBeUndefined();
  });
});

describe("unknown codes", () => {
  it("formats as four or more uppercase hex digits", () => {
    expect(hvStatusName(0x0001)).toBe("HV_STATUS_UNKNOWN_0x0001");
    expect(hvStatusName(0x000f)).toBe("HV_STATUS_UNKNOWN_0x000F");
    expect(hvStatusName(0x1234)).toBe("HV_STATUS_UNKNOWN_0x1234");
    expect(hvStatusName(0xabcd)).toBe("HV_STATUS_UNKNOWN_0xABCD");
    expect(hvStatusName(0xffff)).toBe("HV_STATUS_UNKNOWN_0xFFFF");
    expect(hvStatusName(0x10000)).toBe("HV_STATUS_UNKNOWN_0x10000");
    expect(hvStatusName(0x1_0000_0002)).toBe("HV_STATUS_UNKNOWN_0x100000002");
  });

  it("does not mask to 16 bits", () => {
    expect(hvStatusName(0x10000)).not.toBe(hvStatusName(0));
    expect(isKnownHvStatus(0x10000)).toBe(false);
    expect(isKnownHvStatus(0x10002)).toBe(false);
  });

  it("handles numbers that are not code indices without throwing", () => {
    expect(hvStatusName(-1)).toBe("HV_STATUS_UNKNOWN_-1");
    expect(hvStatusName(1.5)).toBe("HV_STATUS_UNKNOWN_1.5");
    expect(hvStatusName(Number.NaN)).toBe("HV_STATUS_UNKNOWN_NaN");
    expect(hvStatusName(Number.POSITIVE_INFINITY)).toBe("HV_STATUS_UNKNOWN_Infinity");
    expect(hvStatusName(Number.NEGATIVE_INFINITY)).toBe("HV_STATUS_UNKNOWN_-Infinity");
    expect(hvStatusName(-0)).toBe("HV_STATUS_SUCCESS");
    for (const code of [-1, 1.5, 2.0000001, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(isKnownHvStatus(code)).toBe(false);
    }
  });
});

describe("properties", () => {
  const namedCodes = HV_STATUS_NAMES.map((name) => HvStatus[name]);

  it("hvStatusName never throws for any 16-bit code and names it consistently", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), (code) => {
        const name = hvStatusName(code);
        expect(name.startsWith("HV_STATUS_")).toBe(true);
        if (isKnownHvStatus(code)) {
          // UNKNOWN_PROPERTY and UNKNOWN_REGISTER_NAME are real names; only "UNKNOWN_0x" is the fallback.
          expect(name.startsWith("HV_STATUS_UNKNOWN_0x")).toBe(false);
          expect(hvStatusFromName(name)).toBe(code);
        } else {
          expect(name).toBe(
            `HV_STATUS_UNKNOWN_0x${code.toString(16).toUpperCase().padStart(4, "0")}`,
          );
          expect(hvStatusFromName(name)).toBeUndefined();
        }
      }),
      { numRuns: 10000 },
    );
  });

  it("hvStatusFromName(hvStatusName(c)) === c for every named code", () => {
    fc.assert(
      fc.property(fc.constantFrom(...namedCodes), (code) => {
        expect(hvStatusFromName(hvStatusName(code))).toBe(code);
      }),
      { numRuns: 10000 },
    );
  });

  it("hvStatusName never throws for any double", () => {
    fc.assert(
      fc.property(fc.double(), (code) => {
        expect(typeof hvStatusName(code)).toBe("string");
      }),
      { numRuns: 10000 },
    );
  });
});
