import { HvStatus, hvStatusName } from "../../src/abi/hv-status.js";
import type { ModelCheck } from "../model/signal-event-model.js";

/**
 * The statuses the fuzz generators must reach in every CI run: the seed's table for SignalEvent
 * plus the generic layer's (signal-event spec §3 and §6).
 */
export const REQUIRED_STATUSES: readonly number[] = [
  HvStatus.SUCCESS,
  HvStatus.ACCESS_DENIED,
  HvStatus.INVALID_CONNECTION_ID,
  HvStatus.INVALID_PORT_ID,
  HvStatus.INVALID_PARAMETER,
  HvStatus.INVALID_VP_INDEX,
  HvStatus.INVALID_SYNIC_STATE,
  HvStatus.INVALID_HYPERCALL_CODE,
  HvStatus.INVALID_HYPERCALL_INPUT,
  HvStatus.INVALID_ALIGNMENT,
];

/**
 * Checks of the spec's order that no well-formed call can reach: an 8-byte-aligned, 8-byte block
 * never crosses a 4 KiB page (§4), so the alignment check always fires first.
 */
export const UNREACHABLE_CHECKS: readonly ModelCheck[] = ["4:page-crossing"];

/** Counts of calls, statuses and (status, check) pairs across properties. */
export class Tally {
  calls = 0;
  readonly statuses = new Map<number, number>();
  readonly checks = new Map<string, number>();

  add(status: number, check: string | undefined): void {
    this.calls++;
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
    if (check !== undefined) this.checks.set(check, (this.checks.get(check) ?? 0) + 1);
  }

  merge(other: Tally): void {
    this.calls += other.calls;
    for (const [k, v] of other.statuses) this.statuses.set(k, (this.statuses.get(k) ?? 0) + v);
    for (const [k, v] of other.checks) this.checks.set(k, (this.checks.get(k) ?? 0) + v);
  }

  missingStatuses(): number[] {
    return REQUIRED_STATUSES.filter((s) => !this.statuses.has(s));
  }

  /** Distinct statuses, as "NAME" strings, for progress lines. */
  statusNames(): string[] {
    return [...this.statuses.keys()].sort((a, b) => a - b).map((s) => shortName(s));
  }

  /** A multi-line table: every status and check with its count and share. */
  format(title: string): string {
    const lines = [`${title}: ${this.calls.toLocaleString("en-US")} calls`];
    const pct = (n: number) => `${((100 * n) / Math.max(this.calls, 1)).toFixed(2).padStart(6)}%`;
    for (const [status, n] of [...this.statuses].sort((a, b) => a[0] - b[0])) {
      lines.push(`  ${hvStatusName(status).padEnd(34)} ${String(n).padStart(9)} ${pct(n)}`);
    }
    lines.push("  by check of the spec's order (§6):");
    for (const [check, n] of [...this.checks].sort((a, b) => compareChecks(a[0], b[0]))) {
      lines.push(`    ${check.padEnd(32)} ${String(n).padStart(9)} ${pct(n)}`);
    }
    return lines.join("\n");
  }
}

export function shortName(status: number): string {
  return hvStatusName(status).replace(/^HV_STATUS_/, "");
}

function compareChecks(a: string, b: string): number {
  const na = Number.parseInt(a, 10);
  const nb = Number.parseInt(b, 10);
  return na !== nb ? na - nb : a < b ? -1 : a > b ? 1 : 0;
}
