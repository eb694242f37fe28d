/**
 * GuestMemory (src/state/guest-memory.ts): RAM, overlay pages over it, the batch scratch page over
 * both, guest accesses that are whole or nothing (synic.md §5: a range touching an unbacked page
 * writes nothing), the top of the 64-bit GPA space, and RAM snapshots.
 */
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { GuestMemory, PAGE_NUMBER_LIMIT } from "../../src/state/guest-memory.js";

const PAGE = 4096;
const TOP_PAGE = 2 ** 52 - 1;
const filled = (value: number, length = PAGE) => new Uint8Array(length).fill(value);
const gpaOf = (page: number, offset = 0) => BigInt(page) * 4096n + BigInt(offset);

/** RAM pages 1 and 2 backed (filled 0x11 and 0x22); page 3 not. */
function memory(): GuestMemory {
  const g = new GuestMemory();
  g.writeRam(gpaOf(1), filled(0x11));
  g.writeRam(gpaOf(2), filled(0x22));
  return g;
}

describe("RAM", () => {
  it("writeRam backs every page it touches; the rest of a new page reads 0", () => {
    const g = new GuestMemory();
    g.writeRam(gpaOf(5, 4094), Uint8Array.of(1, 2, 3, 4));
    expect(g.backedPages()).toEqual([5, 6]);
    expect(g.isBacked(gpaOf(6, 100))).toBe(true);
    expect(g.isBacked(gpaOf(7))).toBe(false);
    expect(g.ramPage(5)![4094]).toBe(1);
    expect(g.ramPage(6)!.subarray(0, 3)).toEqual(Uint8Array.of(3, 4, 0));
    expect(g.guestRead(gpaOf(5, 4092), 8)).toEqual(Uint8Array.of(0, 0, 1, 2, 3, 4, 0, 0));
    expect(g.unmapPage(gpaOf(6))).toBe(true);
    expect(g.unmapPage(gpaOf(6))).toBe(false);
    expect(g.guestRead(gpaOf(5, 4092), 8)).toBeUndefined();
    expect(g.backedPages()).toEqual([5]);
  });
});

describe("overlays", () => {
  it("hide the RAM under them while set and uncover it, unchanged, when removed", () => {
    const g = memory();
    const sief = filled(0xaa);
    g.setOverlays([[2, sief]]);
    expect(g.pageAt(Number(gpaOf(2) & 0xffffffffn), 0)).toBe(sief);
    expect(g.guestRead(gpaOf(2, 10), 2)).toEqual(Uint8Array.of(0xaa, 0xaa));
    // A guest write at the overlay GPA writes the overlay page, not the RAM under it.
    expect(g.guestWrite(gpaOf(2, 10), Uint8Array.of(1))).toBe(true);
    expect(sief[10]).toBe(1);
    expect(g.ramPage(2)![10]).toBe(0x22);
    g.setOverlays([]);
    expect(g.guestRead(gpaOf(2, 10), 2)).toEqual(Uint8Array.of(0x22, 0x22));
    expect(g.pageAt(Number(gpaOf(2) & 0xffffffffn), 0)).toBe(g.ramPage(2));
  });

  it("make an unbacked GPA visible while set, and unbacked again after", () => {
    const g = memory();
    expect(g.isGuestVisible(3)).toBe(false);
    g.setOverlays([[3, filled(0xbb)]]);
    expect(g.isGuestVisible(3)).toBe(true);
    expect(g.isBacked(gpaOf(3))).toBe(false);
    // A range over RAM page 2 and overlay page 3 is readable as one.
    expect(g.guestRead(gpaOf(2, 4095), 2)).toEqual(Uint8Array.of(0x22, 0xbb));
    g.setOverlays([]);
    expect(g.isGuestVisible(3)).toBe(false);
    expect(g.guestRead(gpaOf(3), 1)).toBeUndefined();
  });

  it("moving an overlay uncovers the old page and covers the new one", () => {
    const g = memory();
    const page = filled(0xcc);
    g.setOverlays([[1, page]]);
    g.setOverlays([[2, page]]);
    expect(g.guestRead(gpaOf(1), 1)).toEqual(Uint8Array.of(0x11));
    expect(g.guestRead(gpaOf(2), 1)).toEqual(Uint8Array.of(0xcc));
  });

  it("the first claim of a page wins", () => {
    const g = memory();
    g.setOverlays([
      [1, filled(1)],
      [1, filled(2)],
    ]);
    expect(g.guestRead(gpaOf(1), 1)).toEqual(Uint8Array.of(1));
  });

  it("RAM backed or unbacked under an overlay stays hidden until the overlay goes", () => {
    const g = memory();
    g.setOverlays([
      [2, filled(0xdd)],
      [4, filled(0xee)],
    ]);
    g.mapPage(gpaOf(4));
    expect(g.unmapPage(gpaOf(2))).toBe(true);
    expect(g.guestRead(gpaOf(2), 1)).toEqual(Uint8Array.of(0xdd));
    expect(g.guestRead(gpaOf(4), 1)).toEqual(Uint8Array.of(0xee));
    g.setOverlays([]);
    expect(g.guestRead(gpaOf(2), 1)).toBeUndefined();
    expect(g.guestRead(gpaOf(4), 1)).toEqual(Uint8Array.of(0));
  });
});

describe("guest accesses are whole or nothing", () => {
  it("a write touching one unbacked page writes nothing, on any page", () => {
    const g = memory();
    expect(g.guestWrite(gpaOf(2, 4090), filled(0x55, 12))).toBe(false);
    expect(g.ramPage(2)!.every((b) => b === 0x22)).toBe(true);
    expect(g.guestWrite(gpaOf(0, 4095), filled(0x55, 2))).toBe(false);
    expect(g.ramPage(1)![0]).toBe(0x11);
    expect(g.guestRead(gpaOf(2, 4090), 12)).toBeUndefined();
    // Across two backed pages: both halves land.
    expect(g.guestWrite(gpaOf(1, 4094), Uint8Array.of(1, 2, 3, 4))).toBe(true);
    expect(g.guestRead(gpaOf(1, 4093), 6)).toEqual(Uint8Array.of(0x11, 1, 2, 3, 4, 0x22));
    // A range over three pages, the middle one unbacked, writes nothing.
    g.unmapPage(gpaOf(2));
    g.mapPage(gpaOf(3));
    expect(g.guestWrite(gpaOf(1, 4000), filled(9, 4096 + 200))).toBe(false);
    expect(g.ramPage(1)![4000]).toBe(0x11);
    expect(g.ramPage(3)![0]).toBe(0);
  });

  it("an empty access touches nothing and succeeds anywhere", () => {
    const g = new GuestMemory();
    expect(g.guestWrite(gpaOf(9), new Uint8Array(0))).toBe(true);
    expect(g.guestRead(gpaOf(9), 0)).toEqual(new Uint8Array(0));
  });

  test.prop(
    [
      fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      fc.integer({ min: 0, max: 4 * PAGE - 1 }),
      fc.integer({ min: 1, max: PAGE + 16 }),
      fc.integer({ min: 1, max: 255 }),
    ],
    { numRuns: 500 },
  )(
    "a write lands iff every page it touches is backed; a read agrees",
    (backed, start, length, value) => {
      const g = new GuestMemory();
      backed.forEach((b, n) => {
        if (b) g.writeRam(gpaOf(n), filled(n + 1));
      });
      const before = g.snapshotRam();
      const first = Math.floor(start / PAGE);
      const last = Math.floor((start + length - 1) / PAGE);
      let whole = true;
      for (let n = first; n <= last; n++) if (backed[n] !== true) whole = false;
      expect(g.guestWrite(BigInt(start), filled(value, length))).toBe(whole);
      if (!whole) {
        expect(g.ramEquals(before)).toBe(true);
        expect(g.guestRead(BigInt(start), length)).toBeUndefined();
        return;
      }
      expect(g.guestRead(BigInt(start), length)).toEqual(filled(value, length));
      // Bytes outside the range kept their values.
      for (const n of g.backedPages()) {
        const page = g.ramPage(n)!;
        for (let i = 0; i < PAGE; i++) {
          const at = n * PAGE + i;
          if (at < start || at >= start + length) {
            if (page[i] !== n + 1) expect.fail(`byte ${at} changed`);
          }
        }
      }
    },
  );
});

describe("the top of the GPA space", () => {
  it("page numbers run to 2^52 - 1; the last byte is 2^64 - 1", () => {
    expect(PAGE_NUMBER_LIMIT).toBe(2 ** 52);
    expect(GuestMemory.pageGpa(TOP_PAGE)).toBe(0xffff_ffff_ffff_f000n);
    expect(GuestMemory.pageOfGpa(0xffff_ffff_ffff_ffffn)).toBe(TOP_PAGE);
    expect(GuestMemory.pageNumber(0xffff_f000, 0xffff_ffff)).toBe(TOP_PAGE);
    expect(GuestMemory.pageNumber(0x1000, 1)).toBe(2 ** 20 + 1);
    for (const bad of [2 ** 52, -1, 1.5, Number.NaN])
      expect(() => GuestMemory.pageGpa(bad)).toThrow(RangeError);
  });

  it("an access may end exactly at 2^64 but not run past it", () => {
    const g = new GuestMemory();
    g.mapPage(0xffff_ffff_ffff_f000n);
    g.mapPage(0n);
    expect(g.guestWrite(0xffff_ffff_ffff_fff8n, filled(1, 8))).toBe(true);
    expect(g.guestRead(0xffff_ffff_ffff_fff8n, 8)).toEqual(filled(1, 8));
    // Past the top does not wrap to page 0.
    expect(g.guestWrite(0xffff_ffff_ffff_fff9n, filled(2, 8))).toBe(false);
    expect(g.guestRead(0xffff_ffff_ffff_fff9n, 8)).toBeUndefined();
    expect(g.guestRead(0xffff_ffff_ffff_fff8n, 8)).toEqual(filled(1, 8));
    expect(g.ramPage(0)!.every((b) => b === 0)).toBe(true);
    expect(g.guestRead(1n << 64n, 1)).toBeUndefined();
    expect(g.guestRead(-1n, 1)).toBeUndefined();
  });
});

describe("the scratch page", () => {
  it("covers RAM and overlays while mapped; endScratch restores what was there", () => {
    const g = memory();
    const scratch = filled(0x5c);
    g.setOverlays([[2, filled(0xaa)]]);
    g.beginScratch(1, scratch);
    expect(g.guestRead(gpaOf(1), 1)).toEqual(Uint8Array.of(0x5c));
    expect(() => g.beginScratch(3, filled(0))).toThrow(Error);
    g.endScratch();
    expect(g.guestRead(gpaOf(1), 1)).toEqual(Uint8Array.of(0x11));
    expect(g.ramPage(1)!.every((b) => b === 0x11)).toBe(true);
    g.beginScratch(2, scratch);
    expect(g.guestRead(gpaOf(2), 1)).toEqual(Uint8Array.of(0x5c));
    // An overlay change while the scratch page is mapped does not uncover it.
    g.setOverlays([[2, filled(0xab)]]);
    expect(g.guestRead(gpaOf(2), 1)).toEqual(Uint8Array.of(0x5c));
    g.endScratch();
    expect(g.guestRead(gpaOf(2), 1)).toEqual(Uint8Array.of(0xab));
    g.beginScratch(3, scratch);
    expect(g.isBacked(gpaOf(3))).toBe(false);
    expect(g.guestRead(gpaOf(3), 1)).toEqual(Uint8Array.of(0x5c));
    g.endScratch();
    expect(g.guestRead(gpaOf(3), 1)).toBeUndefined();
    g.endScratch(); // a second end is harmless
    expect(g.guestRead(gpaOf(1), 1)).toEqual(Uint8Array.of(0x11));
  });

  it("is not RAM: snapshots leave it out", () => {
    const g = memory();
    const before = g.snapshotRam();
    g.beginScratch(3, filled(1));
    expect(g.ramEquals(before)).toBe(true);
    expect(g.snapshotRam().has(3)).toBe(false);
    g.endScratch();
  });
});

describe("snapshotRam / ramEquals / restoreRam", () => {
  it("copy RAM, see every change, and put it back", () => {
    const g = memory();
    const overlay = filled(0xaa);
    g.setOverlays([[2, overlay]]);
    const snap = g.snapshotRam();
    expect(g.ramEquals(snap)).toBe(true);
    // A write through the overlay is not a RAM change.
    g.guestWrite(gpaOf(2), Uint8Array.of(7));
    expect(g.ramEquals(snap)).toBe(true);
    g.guestWrite(gpaOf(1, 5), Uint8Array.of(7));
    expect(g.ramEquals(snap)).toBe(false);
    g.restoreRam(snap);
    expect(g.ramEquals(snap)).toBe(true);
    g.mapPage(gpaOf(3));
    expect(g.ramEquals(snap)).toBe(false);
    g.restoreRam(snap);
    expect(g.backedPages()).toEqual([1, 2]);
    expect(g.guestRead(gpaOf(3), 1)).toBeUndefined();
    g.unmapPage(gpaOf(1));
    expect(g.ramEquals(snap)).toBe(false);
    g.restoreRam(snap);
    expect(g.guestRead(gpaOf(1, 5), 1)).toEqual(Uint8Array.of(0x11));
    // Restore keeps the overlays on top.
    expect(g.guestRead(gpaOf(2), 1)).toEqual(Uint8Array.of(7));
    // The snapshot is not aliased by the restored pages.
    g.guestWrite(gpaOf(1), Uint8Array.of(0));
    expect(snap.get(1)![0]).toBe(0x11);
    g.restoreRam(snap);
    expect(g.ramEquals(snap)).toBe(true);
    // Removing the overlay shows the RAM the snapshot restored.
    g.setOverlays([]);
    expect(g.guestRead(gpaOf(2), 1)).toEqual(Uint8Array.of(0x22));
  });
});
