/**
 * The SIEF image (src/state/sief-image.ts), through its public API only: the byte geometry the
 * guest sees (TLFS HV_SYNIC_EVENT_FLAGS: flag k of SINT n on a VP is bit (k mod 8) of byte
 * n * 256 + floor(k / 8) of that VP's 4 KiB SIEF page), test-and-set semantics, clear, setFlags,
 * and its memory cost. Every case runs on a private and on a shared image.
 */
import { test as fcTest } from "@fast-check/vitest";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SiefImage } from "../../src/state/sief-image.js";
import { expectRangeError, load } from "./support.js";

// By hand: 4 KiB per VP, 256 bytes per SINT, 2048 flags per SINT, 16 SINTs.
const PAGE = 4096;
const SINT_BYTES = 256;
const FLAGS = 2048;
const SINTS = 16;

/** All bytes of the image (every VP's page, in slot order). */
function imageBytes(sief: SiefImage): Uint8Array {
  return new Uint8Array(sief.words.buffer, sief.words.byteOffset, sief.words.byteLength);
}

/** The non-zero bytes of the image as [offset, value] pairs. */
function nonZero(sief: SiefImage): [number, number][] {
  const out: [number, number][] = [];
  imageBytes(sief).forEach((b, i) => {
    if (b !== 0) out.push([i, b]);
  });
  return out;
}

/** A zeroed image of `vpCount` pages on the kind of buffer asked for. */
function image(vpCount: number, shared: boolean): SiefImage {
  const bytes = vpCount * PAGE;
  return new SiefImage(
    new Uint32Array(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes)),
  );
}

const images = [
  ["private", false],
  ["shared", true],
] as const;

describe.each(images)("SiefImage (%s)", (_name, shared) => {
  const make = (vpCount: number) => image(vpCount, shared);

  it("is backed by the kind of buffer asked for", () => {
    const sief = make(2);
    expect(sief.shared).toBe(shared);
    expect(sief.words.buffer instanceof SharedArrayBuffer).toBe(shared);
    expect(sief.vpCount).toBe(2);
    expect(sief.words.byteLength).toBe(2 * PAGE);
    expect(nonZero(sief)).toEqual([]);
  });

  describe("geometry: flag k of SINT n on VP slot s is bit k mod 8 of byte s*4096 + n*256 + k/8", () => {
    const slots = [0, 1, 2];
    const sints = [0, 15];
    const flags = [0, 7, 8, 31, 32, 2047];
    const cases = slots.flatMap((s) => sints.flatMap((n) => flags.map((k) => [s, n, k] as const)));

    it.each(cases)("slot %i, SINT %i, flag %i", (s, n, k) => {
      const sief = make(3);
      const byte = n * SINT_BYTES + Math.floor(k / 8);
      const bit = 1 << (k % 8);

      expect(sief.testAndSet(s, n, k)).toBe(true);
      // Exactly one bit in the whole image, where the TLFS puts it.
      expect(nonZero(sief)).toEqual([[s * PAGE + byte, bit]]);
      expect(sief.page(s)[byte]).toBe(bit);
      expect(sief.isSet(s, n, k)).toBe(true);
      expect(sief.setFlags(s, n)).toEqual([k]);

      expect(sief.clear(s, n, k)).toBe(true);
      expect(nonZero(sief)).toEqual([]);
      expect(sief.isSet(s, n, k)).toBe(false);
    });
  });

  it("page(s) is a live view of the guest's bytes: guest writes show up as flags, and back", () => {
    const sief = make(3);
    const page = sief.page(1);
    expect(page.byteLength).toBe(PAGE);
    // The guest sets bit 7 of the last byte of SINT 15's area: flag 2047.
    page[15 * SINT_BYTES + 255] = 0x80;
    // And bits 0 and 1 of byte 4 of SINT 3: flags 32 and 33.
    page[3 * SINT_BYTES + 4] = 0x03;
    expect(sief.isSet(1, 15, 2047)).toBe(true);
    expect(sief.setFlags(1, 15)).toEqual([2047]);
    expect(sief.setFlags(1, 3)).toEqual([32, 33]);
    expect(sief.setFlags(0, 15)).toEqual([]);
    expect(sief.setFlags(2, 3)).toEqual([]);
    // A flag the guest already set is not a 0 -> 1 transition.
    expect(sief.testAndSet(1, 3, 33)).toBe(false);
    expect(sief.clear(1, 15, 2047)).toBe(true);
    expect(page[15 * SINT_BYTES + 255]).toBe(0);
    expect(sief.testAndSet(1, 3, 34)).toBe(true);
    expect(page[3 * SINT_BYTES + 4]).toBe(0x07);
  });

  it("each SINT's 2048 flags fill exactly its own 256 bytes", () => {
    const sief = make(3);
    for (let k = 0; k < FLAGS; k++) expect(sief.testAndSet(1, 5, k)).toBe(true);
    const bytes = imageBytes(sief);
    const start = PAGE + 5 * SINT_BYTES;
    bytes.forEach((b, i) => {
      if (b !== (i >= start && i < start + SINT_BYTES ? 0xff : 0)) {
        expect.fail(`byte ${i} is 0x${b.toString(16)}`);
      }
    });
    expect(sief.setFlags(1, 5)).toEqual(Array.from({ length: FLAGS }, (_, k) => k));
    expect(sief.setFlags(1, 4)).toEqual([]);
    expect(sief.setFlags(1, 6)).toEqual([]);
    expect(sief.setFlags(0, 5)).toEqual([]);
    expect(sief.setFlags(2, 5)).toEqual([]);
  });

  it("testAndSet reports clear -> set only once; clear makes it report again", () => {
    const sief = make(1);
    expect(sief.testAndSet(0, 9, 31)).toBe(true);
    expect(sief.testAndSet(0, 9, 31)).toBe(false);
    expect(sief.testAndSet(0, 9, 31)).toBe(false);
    // Neighbours in the same 32-bit word are independent.
    expect(sief.testAndSet(0, 9, 30)).toBe(true);
    expect(sief.testAndSet(0, 9, 0)).toBe(true);
    expect(sief.testAndSet(0, 9, 32)).toBe(true);
    expect(sief.clear(0, 9, 31)).toBe(true);
    expect(sief.clear(0, 9, 31)).toBe(false);
    expect(sief.isSet(0, 9, 30)).toBe(true);
    expect(sief.testAndSet(0, 9, 31)).toBe(true);
    expect(sief.setFlags(0, 9)).toEqual([0, 30, 31, 32]);
  });

  it("setFlags lists the flags ascending whatever order they were set in", () => {
    const sief = make(2);
    for (const k of [2047, 0, 33, 31, 32, 1000, 7, 8, 1023, 1024, 63, 64]) {
      sief.testAndSet(1, 14, k);
    }
    expect(sief.setFlags(1, 14)).toEqual([0, 7, 8, 31, 32, 33, 63, 64, 1000, 1023, 1024, 2047]);
  });

  fcTest.prop(
    [
      fc.array(
        fc.record({
          op: fc.constantFrom("set", "clear", "isSet"),
          sint: fc.integer({ min: 0, max: SINTS - 1 }),
          // Bias towards a few words so operations meet on the same word.
          flag: fc.oneof(
            fc.integer({ min: 0, max: FLAGS - 1 }),
            fc.integer({ min: 0, max: 70 }),
            fc.constantFrom(31, 32, 2047),
          ),
        }),
        { maxLength: 200 },
      ),
    ],
    { numRuns: 100 },
  )("agrees with a set model on any sequence of operations", (ops) => {
    const sief = make(2);
    const model = new Set<number>();
    const key = (sint: number, flag: number) => sint * FLAGS + flag;
    for (const { op, sint, flag } of ops) {
      const had = model.has(key(sint, flag));
      if (op === "set") {
        expect(sief.testAndSet(1, sint, flag)).toBe(!had);
        model.add(key(sint, flag));
      } else if (op === "clear") {
        expect(sief.clear(1, sint, flag)).toBe(had);
        model.delete(key(sint, flag));
      } else {
        expect(sief.isSet(1, sint, flag)).toBe(had);
      }
    }
    for (let n = 0; n < SINTS; n++) {
      const expected = [...model]
        .filter((k) => Math.floor(k / FLAGS) === n)
        .map((k) => k % FLAGS)
        .sort((a, b) => a - b);
      expect(sief.setFlags(1, n)).toEqual(expected);
      expect(sief.setFlags(0, n)).toEqual([]);
    }
  });

  it("1,024 VPs cost exactly 4 MiB, and setting flags allocates nothing more", () => {
    const sief = make(1024);
    expect(sief.words.byteLength).toBe(4 * 1024 * 1024);
    const buffer = sief.words.buffer;
    // The very last bit of the image is flag 2047 of SINT 15 of the last VP.
    expect(sief.testAndSet(1023, 15, 2047)).toBe(true);
    expect(nonZero(sief)).toEqual([[4 * 1024 * 1024 - 1, 0x80]]);
    expect(sief.page(1023)[PAGE - 1]).toBe(0x80);
    for (let i = 0; i < 100_000; i++) {
      sief.testAndSet(i % 1024, (i >>> 10) % SINTS, (i * 7) % FLAGS);
    }
    expect(sief.words.buffer).toBe(buffer);
    expect(sief.words.byteLength).toBe(4 * 1024 * 1024);
    expect(buffer.byteLength).toBe(4 * 1024 * 1024);
  });

  it("rejects coordinates outside the image, naming them", () => {
    const sief = make(3);
    expectRangeError(() => sief.page(3), "3");
    expectRangeError(() => sief.page(-1), "-1");
    expectRangeError(() => sief.isSet(3, 0, 0), "3");
    expectRangeError(() => sief.isSet(0, 16, 0), "16");
    expectRangeError(() => sief.isSet(0, 0, 2048), "2048");
    expectRangeError(() => sief.clear(0, -1, 0), "-1");
    expectRangeError(() => sief.clear(0, 0, 1.5), "1.5");
    expectRangeError(() => sief.setFlags(0, 16), "16");
    expectRangeError(() => sief.setFlags(7, 0), "7");
    expect(nonZero(sief)).toEqual([]);
  });
});

describe("SiefImage construction", () => {
  it("takes a given buffer of the right size, shared or not", () => {
    const sab = new SharedArrayBuffer(2 * PAGE);
    // Was new SiefImage(2, { buffer }): the image is now over a u32 view the caller makes.
    const a = new SiefImage(new Uint32Array(sab));
    const b = new SiefImage(new Uint32Array(sab));
    expect(a.shared).toBe(true);
    expect(a.vpCount).toBe(2);
    expect(a.testAndSet(1, 2, 3)).toBe(true);
    // Two images over one buffer see each other's flags.
    expect(b.isSet(1, 2, 3)).toBe(true);
    expect(b.testAndSet(1, 2, 3)).toBe(false);
    const plain = new SiefImage(new Uint32Array(new ArrayBuffer(PAGE)));
    expect(plain.shared).toBe(false);
    expect(plain.vpCount).toBe(1);
  });

  it("over a subarray: pages and flags are relative to the view, not to the buffer", () => {
    const words = new Uint32Array(new ArrayBuffer(3 * PAGE));
    const sief = new SiefImage(words.subarray(PAGE / 4));
    expect(sief.vpCount).toBe(2);
    expect(sief.testAndSet(0, 0, 0)).toBe(true);
    expect(words[PAGE / 4]).toBe(1);
    expect(words[0]).toBe(0);
    sief.page(1)[PAGE - 1] = 0x80;
    expect(words[3 * (PAGE / 4) - 1]).toBe(0x8000_0000);
    expect(sief.isSet(1, 15, 2047)).toBe(true);
    expectRangeError(() => sief.page(2), "2");
  });

  it("rejects a buffer that is not whole pages, naming the page size", () => {
    // Was "needs 8192 bytes for 2 VPs": the VP count now follows from the array, so only a
    // length that is not a whole number of 4096-byte pages can be wrong.
    expectRangeError(() => new SiefImage(new Uint32Array(new ArrayBuffer(PAGE + 4))), "4096");
    expectRangeError(
      () => new SiefImage(new Uint32Array(new SharedArrayBuffer(2 * PAGE - 4))),
      "4096",
    );
    expectRangeError(() => new SiefImage(new Uint32Array(1)), "4096");
    expect(new SiefImage(new Uint32Array(0)).vpCount).toBe(0);
  });

  it.each([false, true])(
    "a loaded machine of 1,024 VPs has a 4 MiB SIEF image (shared %s)",
    (shared) => {
      const vps = Array.from({ length: 1024 }, (_, index) => ({ index }));
      const m = load(
        {
          partitions: [
            { id: 1, vps: vps.slice(0, 1000) },
            { id: 2, vps: vps.slice(1000) },
          ],
        },
        shared,
      );
      expect(m.vpCount).toBe(1024);
      expect(m.sief.vpCount).toBe(1024);
      expect(m.sief.words.byteLength).toBe(4 * 1024 * 1024);
      // Was tables.siefBuffer: the SIEF image is the table tables.sief (1024 words per VP).
      expect(m.tables.sief.byteLength).toBe(4 * 1024 * 1024);
      expect(m.tables.sief.length).toBe(1024 * 1024);
      expect(m.sief.shared).toBe(shared);
      expect(m.tables.sief.buffer instanceof SharedArrayBuffer).toBe(shared);
      // The machine's image is the one over its tables' array.
      expect(m.sief.words).toBe(m.tables.sief);
      // Partition 2 holds VP indexes 1000..1023; index 1023 is slot 1023, the last page.
      expect(m.requireVp(2, 1023)).toBe(1023);
      m.sief.testAndSet(1023, 15, 2047);
      expect(m.isSiefFlagSet(2, 1023, 15, 2047)).toBe(true);
      expect(m.sief.page(1023)[PAGE - 1]).toBe(0x80);
      expect(m.tables.sief[1024 * 1024 - 1]).toBe(0x8000_0000);
    },
  );
});
