import { SYNIC_PAGE_ENABLE_BIT } from "../abi/synic-msr.js";
import { GuestMemory } from "./guest-memory.js";
import type { MachineTables } from "./machine-tables.js";
import { MSR_SIEFP, MSR_SIMP, MSR_STRIDE } from "./synic-registers.js";

/**
 * The overlay pages of partition slot `p` (docs/synic.md §2): every enabled SIEF and SIM page of
 * its VPs at the GPA page its SIEFP / SIMP names, in precedence order — the lowest VP index
 * first, and for one VP the SIEF page before the SIM page; the first claim of a GPA wins.
 */
export function overlayPages(
  t: MachineTables,
  p: number,
  siefPages: readonly Uint8Array[],
  simPages: readonly Uint8Array[],
): [number, Uint8Array][] {
  const start = t.partitionVpStart[p]!;
  const end = start + t.partitionVpCount[p]!;
  const claimed = new Set<number>();
  const overlays: [number, Uint8Array][] = [];
  for (let v = start; v < end; v++) {
    for (const [off, page] of [
      [MSR_SIEFP, siefPages[v]!],
      [MSR_SIMP, simPages[v]!],
    ] as const) {
      const lo = t.msrs[v * MSR_STRIDE + off]!;
      if ((lo & SYNIC_PAGE_ENABLE_BIT) === 0) continue;
      const n = GuestMemory.pageNumber(lo, t.msrs[v * MSR_STRIDE + off + 1]!);
      if (claimed.has(n)) continue;
      claimed.add(n);
      overlays.push([n, page]);
    }
  }
  return overlays;
}
