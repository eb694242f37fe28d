import {
  EVENT_FLAGS_BYTES_PER_SINT,
  EVENT_FLAGS_PER_SINT,
  SIEF_PAGE_BYTES,
  SINT_COUNT,
} from "../abi/sief-page.js";

/** u32 words in one VP's SIEF page. */
export const SIEF_WORDS_PER_PAGE = SIEF_PAGE_BYTES / Uint32Array.BYTES_PER_ELEMENT;
/** u32 words in one SINT's HV_SYNIC_EVENT_FLAGS. */
export const SIEF_WORDS_PER_SINT = EVENT_FLAGS_BYTES_PER_SINT / Uint32Array.BYTES_PER_ELEMENT;
/** log2(bits per u32 word). */
const WORD_SHIFT = 5;
const BIT_IN_WORD = 31;

if (new Uint8Array(Uint32Array.of(1).buffer)[0] !== 1) {
  // The SIEF image's u32 view maps flag k to bit (k mod 8) of byte k/8 only on little-endian hosts.
  throw new Error("hvcall needs a little-endian host: the SIEF image is a u32 view of guest bytes");
}

/**
 * Sets `bit` in word `i` of a SIEF image; true when it was clear (a 0 -> 1 transition). The one
 * test-and-set of the project: SiefImage and the SignalEvent batch kernel both use it.
 *
 * Test, then test-and-set: a flag that is already set needs no write, and on a shared image no
 * locked instruction. A plain read is enough for that: aligned u32 reads do not tear, so a set bit
 * was really set by some signal; if a clear on another thread races with this call, the signal
 * simply takes effect before the clear. Only a flag that looked clear is set — with Atomics.or
 * when shared, whose result decides the one caller that made the 0 -> 1 transition.
 */
export function testAndSetWord(
  words: Uint32Array,
  i: number,
  bit: number,
  shared: boolean,
): boolean {
  const old = words[i]!;
  if ((old & bit) !== 0) return false;
  if (shared) return (Atomics.or(words, i, bit) & bit) === 0;
  words[i] = old | bit;
  return true;
}

/**
 * The SIEF pages of every VP of a machine in ONE typed array: VP slot s owns bytes
 * [s * 4096, (s + 1) * 4096). SINT n's HV_SYNIC_EVENT_FLAGS start at byte n * 256 of the page; flag
 * k of a SINT is bit (k mod 8) of byte floor(k / 8) — on a little-endian host that is bit (k mod 32)
 * of u32 word floor(k / 32), which is how this class addresses it (docs/synic.md §3).
 *
 * With `shared`, the backing store is a SharedArrayBuffer and every write goes through `Atomics`, so
 * signallers on several threads never lose a flag and see each 0 -> 1 transition exactly once.
 */
export class SiefImage {
  readonly words: Uint32Array;
  readonly shared: boolean;
  readonly vpCount: number;

  constructor(words: Uint32Array) {
    if (words.length % SIEF_WORDS_PER_PAGE !== 0) {
      throw new RangeError(`a SIEF image is whole pages of ${SIEF_PAGE_BYTES} bytes`);
    }
    this.words = words;
    this.vpCount = words.length / SIEF_WORDS_PER_PAGE;
    this.shared = words.buffer instanceof SharedArrayBuffer;
  }

  /** Index of the u32 word that holds (VP slot, SINT, flag). */
  static wordIndex(vpSlot: number, sint: number, flag: number): number {
    return vpSlot * SIEF_WORDS_PER_PAGE + sint * SIEF_WORDS_PER_SINT + (flag >>> WORD_SHIFT);
  }

  /** The bit of a flag in its word. */
  static bitOf(flag: number): number {
    return 1 << (flag & BIT_IN_WORD);
  }

  /**
   * Sets the flag; true when it was clear before (a 0 -> 1 transition). The caller has checked the
   * coordinates (this is the hot path).
   */
  testAndSet(vpSlot: number, sint: number, flag: number): boolean {
    return testAndSetWord(
      this.words,
      SiefImage.wordIndex(vpSlot, sint, flag),
      SiefImage.bitOf(flag),
      this.shared,
    );
  }
  isSet(vpSlot: number, sint: number, flag: number): boolean {
    this.check(vpSlot, sint, flag);
    const i = SiefImage.wordIndex(vpSlot, sint, flag);
    const word = this.shared ? Atomics.load(this.words, i) : this.words[i]!;
    return (word & (1 << (flag & BIT_IN_WORD))) !== 0;
  }

  /** Clears a flag, as the guest does after it has seen the event. True when it was set. */
  clear(vpSlot: number, sint: number, flag: number): boolean {
    this.check(vpSlot, sint, flag);
    const i = SiefImage.wordIndex(vpSlot, sint, flag);
    const bit = 1 << (flag & BIT_IN_WORD);
    if (this.shared) return (Atomics.and(this.words, i, ~bit) & bit) !== 0;
    const old = this.words[i]!;
    this.words[i] = old & ~bit;
    return (old & bit) !== 0;
  }

  /** The flag numbers set in one SINT's area, ascending. */
  setFlags(vpSlot: number, sint: number): number[] {
    this.check(vpSlot, sint, 0);
    const out: number[] = [];
    const base = SiefImage.wordIndex(vpSlot, sint, 0);
    for (let w = 0; w < SIEF_WORDS_PER_SINT; w++) {
      let word = this.shared ? Atomics.load(this.words, base + w) : this.words[base + w]!;
      while (word !== 0) {
        const low = word & -word;
        out.push(w * 32 + (31 - Math.clz32(low)));
        word = (word ^ low) >>> 0;
      }
    }
    return out;
  }

  /** The 4 KiB page of one VP as guest bytes (a view, not a copy). */
  page(vpSlot: number): Uint8Array {
    this.checkVpSlot(vpSlot);
    const at = this.words.byteOffset + vpSlot * SIEF_PAGE_BYTES;
    return new Uint8Array(this.words.buffer, at, SIEF_PAGE_BYTES);
  }

  private checkVpSlot(vpSlot: number): void {
    if (!(Number.isInteger(vpSlot) && vpSlot >= 0 && vpSlot < this.vpCount)) {
      throw new RangeError(`VP slot ${vpSlot} is outside the SIEF image (0..${this.vpCount - 1})`);
    }
  }

  private check(vpSlot: number, sint: number, flag: number): void {
    this.checkVpSlot(vpSlot);
    if (!(Number.isInteger(sint) && sint >= 0 && sint < SINT_COUNT)) {
      throw new RangeError(`SINT ${sint} is not 0..${SINT_COUNT - 1}`);
    }
    if (!(Number.isInteger(flag) && flag >= 0 && flag < EVENT_FLAGS_PER_SINT)) {
      throw new RangeError(`flag ${flag} is not 0..${EVENT_FLAGS_PER_SINT - 1}`);
    }
  }
}
