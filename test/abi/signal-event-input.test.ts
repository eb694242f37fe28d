import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  HV_CONNECTION_ID,
  isValidConnectionId,
  splitConnectionId,
} from "../../src/abi/connection-id.js";
import {
  decodeSignalEventInput,
  encodeSignalEventInput,
  SIGNAL_EVENT_CONNECTION_ID,
  SIGNAL_EVENT_FLAG_NUMBER,
  SIGNAL_EVENT_INPUT_SIZE,
  SIGNAL_EVENT_RSVDZ,
  type SignalEventInput,
} from "../../src/abi/signal-event-input.js";
import { u64ToHalves } from "../../src/abi/u64.js";

const RUNS = { numRuns: 10_000 };

/**
 * The block read from the two u32 halves of the fast-call register RDX, through the word fields
 * the hot path uses (was signalEventInputFromRegister): ConnectionId bits 31:0, FlagNumber 47:32,
 * RsvdZ 63:48.
 */
function fromRegister(lo: number, hi: number): SignalEventInput {
  const words = [lo >>> 0, hi >>> 0];
  const read = (f: { word: number; shift: number; mask: number }) =>
    ((words[f.word]! >>> f.shift) & f.mask) >>> 0;
  return {
    connectionId: read(SIGNAL_EVENT_CONNECTION_ID),
    flagNumber: read(SIGNAL_EVENT_FLAG_NUMBER),
    rsvdZ: read(SIGNAL_EVENT_RSVDZ),
  };
}

describe("HvCallSignalEvent input block", () => {
  it("decodes by offset, little-endian", () => {
    const bytes = Uint8Array.from([0x13, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00]);
    expect(decodeSignalEventInput(bytes)).toEqual({ connectionId: 0x13, flagNumber: 5, rsvdZ: 0 });
    const all = Uint8Array.from([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]);
    expect(decodeSignalEventInput(all)).toEqual({
      connectionId: 0x04030201,
      flagNumber: 0x0605,
      rsvdZ: 0x0807,
    });
  });

  it("decodes at an offset inside a larger buffer and of a subarray", () => {
    const buf = new Uint8Array(24);
    buf.set([0xaa, 0xbb, 0xcc, 0x00, 0x34, 0x12, 0x00, 0x00], 8);
    const expected = { connectionId: 0xccbbaa, flagNumber: 0x1234, rsvdZ: 0 };
    expect(decodeSignalEventInput(buf, 8)).toEqual(expected);
    expect(decodeSignalEventInput(buf.subarray(8))).toEqual(expected);
  });

  it("reads the Linux VMBus fast-call register (connection 0x13, flag 0)", () => {
    // The word fields: ConnectionId is word 0, FlagNumber the low 16 bits of word 1, RsvdZ the high.
    expect(SIGNAL_EVENT_CONNECTION_ID).toEqual({ word: 0, shift: 0, mask: 0xffffffff });
    expect(SIGNAL_EVENT_FLAG_NUMBER).toEqual({ word: 1, shift: 0, mask: 0xffff });
    expect(SIGNAL_EVENT_RSVDZ).toEqual({ word: 1, shift: 16, mask: 0xffff });
    const { lo, hi } = u64ToHalves(0x0000_0000_0000_0013n);
    expect(fromRegister(lo, hi)).toEqual({ connectionId: 0x13, flagNumber: 0, rsvdZ: 0 });
    const r = u64ToHalves(0xbeef_0007_0100_0013n);
    expect(fromRegister(r.lo, r.hi)).toEqual({
      connectionId: 0x01000013,
      flagNumber: 7,
      rsvdZ: 0xbeef,
    });
  });

  it("reports a short input as undefined, not an exception", () => {
    // Was { ok: false, error: "short-input", length }: the decoder now answers undefined.
    expect(decodeSignalEventInput(new Uint8Array(7))).toBeUndefined();
    expect(decodeSignalEventInput(new Uint8Array(8), 4)).toBeUndefined();
    expect(decodeSignalEventInput(new Uint8Array(8), 40)).toBeUndefined();
    expect(decodeSignalEventInput(new Uint8Array(0))).toBeUndefined();
    expect(decodeSignalEventInput(new Uint8Array(8), 0)).toBeDefined();
    expect(decodeSignalEventInput(new Uint8Array(9), 1)).toBeDefined();
  });

  it("splits HV_CONNECTION_ID into 24-bit id and 8 reserved bits", () => {
    expect(splitConnectionId(0xff000013)).toEqual({ id: 0x13, reserved: 0xff });
    expect(splitConnectionId(0x00ffffff)).toEqual({ id: 0xffffff, reserved: 0 });
    expect(splitConnectionId(0x01000000)).toEqual({ id: 0, reserved: 1 });
    expect(isValidConnectionId(0x00ffffff)).toBe(true);
    expect(isValidConnectionId(0x01000000)).toBe(false);
  });

  test.prop([fc.uint8Array({ minLength: 8, maxLength: 8 })], RUNS)(
    "encode(decode(bytes)) = bytes over all 8-byte blocks",
    (bytes) => {
      const d = decodeSignalEventInput(bytes);
      if (d === undefined) throw new Error("8 bytes must decode");
      expect(encodeSignalEventInput(d)).toEqual(bytes);
    },
  );

  test.prop(
    [
      fc.record({
        connectionId: fc.integer({ min: 0, max: 0xffffffff }),
        flagNumber: fc.integer({ min: 0, max: 0xffff }),
        rsvdZ: fc.integer({ min: 0, max: 0xffff }),
      }),
    ],
    RUNS,
  )("decode(encode(fields)) = fields, and matches the register form", (input) => {
    const bytes = encodeSignalEventInput(input);
    expect(decodeSignalEventInput(bytes)).toEqual(input);
    const view = new DataView(bytes.buffer);
    expect(fromRegister(view.getUint32(0, true), view.getUint32(4, true))).toEqual(input);
  });

  test.prop(
    [fc.uint8Array({ minLength: 0, maxLength: 64 }), fc.integer({ min: -4, max: 70 })],
    RUNS,
  )("decode is total over byte arrays of any length and any offset", (bytes, offset) => {
    const d = decodeSignalEventInput(bytes, offset);
    expect(d !== undefined).toBe(offset >= 0 && bytes.length - offset >= SIGNAL_EVENT_INPUT_SIZE);
  });

  test.prop([fc.integer({ min: 0, max: 0xffffffff })], RUNS)(
    "connection id split round-trips",
    (raw) => {
      const parts = splitConnectionId(raw);
      // Was joinConnectionId(parts): the layout's encode joins the fields back.
      expect(HV_CONNECTION_ID.encode(parts)).toEqual({ lo: raw, hi: 0 });
      expect(isValidConnectionId(raw)).toBe(parts.reserved === 0);
    },
  );
});
