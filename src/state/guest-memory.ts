import { HV_PAGE_OFFSET_MASK, HV_PAGE_SHIFT, HV_PAGE_SIZE } from "../abi/hv-page.js";
import { halvesToU64, u64Hi, u64Lo, u64ToHalves } from "../abi/u64.js";

/** 2^20: how far the high u32 half of a GPA moves the page number. */
const HI_PAGE_FACTOR = 2 ** (32 - HV_PAGE_SHIFT);
/** 2^52 pages of 4 KiB cover the 64-bit guest physical address space. */
export const PAGE_NUMBER_LIMIT = 2 ** (64 - HV_PAGE_SHIFT);
const GPA_LIMIT = 1n << 64n;
/** Up to this many bytes a page, guest reads and writes copy byte by byte (no subarray view). */
const SHORT_COPY = 64;

/**
 * A partition's guest physical memory as the guest sees it (docs/synic.md §2, §6):
 *  - RAM: only the pages the scenario (or the host) backs exist, 4 KiB each; every other GPA is
 *    unbacked;
 *  - overlay pages: the SIEF and SIM pages of the partition's VPs, at their GPAs while enabled,
 *    hiding whatever RAM is there;
 *  - for the length of a batch run, the batch's scratch input page (see BatchRunner).
 * `pageAt` (the hot path) is one Map lookup in `view`, which is RAM with the overlays and the
 * scratch page applied, kept up to date whenever one of them changes.
 */
export class GuestMemory {
  private readonly ram = new Map<number, Uint8Array>();
  private readonly view = new Map<number, Uint8Array>();
  private overlays: readonly (readonly [number, Uint8Array])[] = [];
  private scratchPage = -1;
  private scratch: Uint8Array | undefined;

  /** Page number of a GPA given as halves (exact: page numbers fit in 52 bits). */
  static pageNumber(gpaLo: number, gpaHi: number): number {
    return (gpaHi >>> 0) * HI_PAGE_FACTOR + ((gpaLo >>> 0) >>> HV_PAGE_SHIFT);
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

  static pageOfGpa(gpa: bigint): number {
    const { lo, hi } = u64ToHalves(gpa);
    return GuestMemory.pageNumber(lo, hi);
  }

  /** The page the guest sees at a GPA (RAM, overlay or scratch), or undefined. No allocation. */
  pageAt(gpaLo: number, gpaHi: number): Uint8Array | undefined {
    return this.view.get(GuestMemory.pageNumber(gpaLo, gpaHi));
  }

  // ---- RAM (the host's view) ------------------------------------------------------------------

  /** Backs the page holding `gpa` with RAM (zero-filled when new) and returns the RAM page. */
  mapPage(gpa: bigint): Uint8Array {
    const n = GuestMemory.pageOfGpa(gpa);
    let page = this.ram.get(n);
    if (page === undefined) {
      page = new Uint8Array(HV_PAGE_SIZE);
      this.ram.set(n, page);
      this.refresh(n);
    }
    return page;
  }

  /** Writes bytes into RAM at a GPA, backing every page touched (scenario load). */
  writeRam(gpa: bigint, bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      const at = gpa + BigInt(done);
      const offset = Number(at & BigInt(HV_PAGE_OFFSET_MASK));
      const n = Math.min(HV_PAGE_SIZE - offset, bytes.length - done);
      this.mapPage(at).set(bytes.subarray(done, done + n), offset);
      done += n;
    }
  }

  /** True when RAM backs the page holding `gpa` (overlays aside). */
  isBacked(gpa: bigint): boolean {
    return this.ram.has(GuestMemory.pageOfGpa(gpa));
  }

  /** RAM page numbers, ascending. */
  backedPages(): number[] {
    return [...this.ram.keys()].sort((a, b) => a - b);
  }

  /** The RAM page with that number, or undefined. */
  ramPage(pageNumber: number): Uint8Array | undefined {
    return this.ram.get(pageNumber);
  }

  /** Stops backing the page that holds `gpa`; true when it was backed. */
  unmapPage(gpa: bigint): boolean {
    const n = GuestMemory.pageOfGpa(gpa);
    const had = this.ram.delete(n);
    if (had) this.refresh(n);
    return had;
  }

  /** True when the page is RAM or an overlay page (what a guest access would find). */
  isGuestVisible(pageNumber: number): boolean {
    return this.ram.has(pageNumber) || this.overlays.some(([n]) => n === pageNumber);
  }

  // ---- overlays and the scratch page -----------------------------------------------------------

  /**
   * Replaces the overlay pages: (page number, the overlay's 4 KiB) in precedence order, the first
   * claim of a page winning (docs/synic.md §2).
   */
  setOverlays(overlays: readonly (readonly [number, Uint8Array])[]): void {
    const old = this.overlays;
    this.overlays = overlays;
    for (const [n] of old) this.refresh(n);
    for (const [n] of overlays) this.refresh(n);
  }

  /** Maps a batch's scratch page over everything at its page number until endScratch. */
  beginScratch(pageNumber: number, page: Uint8Array): void {
    if (this.scratch !== undefined) throw new Error("a scratch page is mapped already");
    this.scratchPage = pageNumber;
    this.scratch = page;
    this.refresh(pageNumber);
  }

  endScratch(): void {
    const n = this.scratchPage;
    this.scratch = undefined;
    this.scratchPage = -1;
    if (n >= 0) this.refresh(n);
  }

  private refresh(n: number): void {
    let page: Uint8Array | undefined;
    if (n === this.scratchPage) page = this.scratch;
    else {
      page = this.overlays.find(([p]) => p === n)?.[1];
      page ??= this.ram.get(n);
    }
    if (page === undefined) this.view.delete(n);
    else this.view.set(n, page);
  }

  // ---- guest accesses (docs/synic.md §6) -------------------------------------------------------

  /**
   * A guest write through the overlays: whole or nothing. False (and nothing written) when any
   * byte's page is unbacked.
   */
  guestWrite(gpa: bigint, bytes: Uint8Array): boolean {
    if (gpa < 0n || gpa >= GPA_LIMIT) return false;
    return this.writeAt(u64Lo(gpa), u64Hi(gpa), bytes, 0, bytes.length);
  }

  /** A guest read through the overlays: a copy, or undefined when any byte is unbacked. */
  guestRead(gpa: bigint, length: number): Uint8Array | undefined {
    if (gpa < 0n || gpa >= GPA_LIMIT) return undefined;
    const out = new Uint8Array(length);
    return this.readInto(u64Lo(gpa), u64Hi(gpa), length, out) ? out : undefined;
  }

  /**
   * guestWrite for the hot path (trace runs): the GPA as halves and the bytes as
   * data[from, from + length). Allocates nothing for spans up to SHORT_COPY bytes a page.
   */
  writeAt(gpaLo: number, gpaHi: number, data: Uint8Array, from: number, length: number): boolean {
    return this.copy(gpaLo, gpaHi, data, from, length, true);
  }

  /** guestRead for the hot path: into out[0, length); false (out untouched) when unbacked. */
  readInto(gpaLo: number, gpaHi: number, length: number, out: Uint8Array): boolean {
    return this.copy(gpaLo, gpaHi, out, 0, length, false);
  }

  /**
   * Copies `length` bytes between the guest's view at the GPA and data[from, …), into the guest
   * (`toGuest`) or out of it; whole or nothing: false, nothing copied, when a page is unbacked.
   */
  private copy(
    gpaLo: number,
    gpaHi: number,
    data: Uint8Array,
    from: number,
    length: number,
    toGuest: boolean,
  ): boolean {
    if (length === 0) return true;
    const first = GuestMemory.pageNumber(gpaLo, gpaHi);
    const last = this.lastVisiblePage(first, gpaLo, length);
    if (last < 0) return false;
    let done = 0;
    let offset = gpaLo & HV_PAGE_OFFSET_MASK;
    for (let n = first; n <= last; n++) {
      const page = this.view.get(n)!;
      const k = Math.min(HV_PAGE_SIZE - offset, length - done);
      const at = from + done;
      if (k <= SHORT_COPY) {
        if (toGuest) for (let i = 0; i < k; i++) page[offset + i] = data[at + i]!;
        else for (let i = 0; i < k; i++) data[at + i] = page[offset + i]!;
      } else if (toGuest) page.set(data.subarray(at, at + k), offset);
      else data.set(page.subarray(offset, offset + k), at);
      done += k;
      offset = 0;
    }
    return true;
  }

  /**
   * The last page a `length`-byte access from page `first` touches, or -1 when the access runs
   * past 2^64 or one of its pages is not visible (checked before anything is copied).
   */
  private lastVisiblePage(first: number, gpaLo: number, length: number): number {
    const last = first + Math.floor(((gpaLo & HV_PAGE_OFFSET_MASK) + length - 1) / HV_PAGE_SIZE);
    if (last >= PAGE_NUMBER_LIMIT) return -1;
    for (let n = first; n <= last; n++) if (!this.view.has(n)) return -1;
    return last;
  }

  // ---- snapshots ----------------------------------------------------------------------------

  /** A copy of the RAM (overlays belong to the VP tables; the scratch page is transient). */
  snapshotRam(): Map<number, Uint8Array> {
    return new Map([...this.ram].map(([n, page]) => [n, page.slice()]));
  }

  ramEquals(copy: ReadonlyMap<number, Uint8Array>): boolean {
    if (copy.size !== this.ram.size) return false;
    for (const [n, page] of this.ram) {
      const other = copy.get(n);
      if (other === undefined || Buffer.compare(page, other) !== 0) return false;
    }
    return true;
  }

  restoreRam(copy: ReadonlyMap<number, Uint8Array>): void {
    const touched = new Set([...this.ram.keys(), ...copy.keys()]);
    this.ram.clear();
    for (const [n, page] of copy) this.ram.set(n, page.slice());
    for (const n of touched) this.refresh(n);
  }
}
