import { HV_PAGE_SHIFT, HV_PAGE_SIZE } from "../abi/hv-page.js";
import { halvesToU64, u64ToHalves } from "../abi/u64.js";

/** 2^20: how far the high u32 half of a GPA moves the page number. */
const HI_PAGE_FACTOR = 2 ** (32 - HV_PAGE_SHIFT);
/** 2^52 pages of 4 KiB cover the 64-bit guest physical address space. */
const PAGE_NUMBER_LIMIT = 2 ** (64 - HV_PAGE_SHIFT);

/**
 * A partition's guest physical memory, sparse: only the pages the scenario (or the host) backs
 * exist; every other GPA is unbacked. Each page is a 4 KiB Uint8Array.
 */
export class GuestMemory {
  private readonly pages = new Map<number, Uint8Array>();

  /** Page number of a GPA given as halves (exact: page numbers fit in 52 bits). */
  static pageNumber(gpaLo: number, gpaHi: number): number {
    return (gpaHi >>> 0) * HI_PAGE_FACTOR + ((gpaLo >>> 0) >>> HV_PAGE_SHIFT);
  }

  /** The backing page that holds the GPA, or undefined when unbacked. No allocation. */
  pageAt(gpaLo: number, gpaHi: number): Uint8Array | undefined {
    return this.pages.get(GuestMemory.pageNumber(gpaLo, gpaHi));
  }

  /** Backs the page holding `gpa` (zero-filled when new) and returns it. */
  mapPage(gpa: bigint): Uint8Array {
    const { lo, hi } = u64ToHalves(gpa);
    const n = GuestMemory.pageNumber(lo, hi);
    let page = this.pages.get(n);
    if (page === undefined) {
      page = new Uint8Array(HV_PAGE_SIZE);
      this.pages.set(n, page);
    }
    return page;
  }

  /** Writes bytes at a GPA, backing every page touched. */
  write(gpa: bigint, bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      const at = gpa + BigInt(done);
      const offset = Number(at & BigInt(HV_PAGE_SIZE - 1));
      const n = Math.min(HV_PAGE_SIZE - offset, bytes.length - done);
      this.mapPage(at).set(bytes.subarray(done, done + n), offset);
      done += n;
    }
  }

  isBacked(gpa: bigint): boolean {
    const { lo, hi } = u64ToHalves(gpa);
    return this.pageAt(lo, hi) !== undefined;
  }

  /** Page numbers backed, ascending. */
  backedPages(): number[] {
    return [...this.pages.keys()].sort((a, b) => a - b);
  }

  /** Stops backing the page that holds `gpa`; true when it was backed. */
  unmapPage(gpa: bigint): boolean {
    const { lo, hi } = u64ToHalves(gpa);
    return this.pages.delete(GuestMemory.pageNumber(lo, hi));
  }

  /** The first GPA of a page number (0 .. 2^52 - 1). */
  static pageGpa(pageNumber: number): bigint {
    if (!(Number.isInteger(pageNumber) && pageNumber >= 0 && pageNumber < PAGE_NUMBER_LIMIT)) {
      throw new RangeError(`page number ${pageNumber} is not 0..2^52-1`);
    }
    const hi = Math.floor(pageNumber / HI_PAGE_FACTOR);
    const lo = ((pageNumber % HI_PAGE_FACTOR) * HV_PAGE_SIZE) >>> 0;
    return halvesToU64(lo, hi);
  }
}
