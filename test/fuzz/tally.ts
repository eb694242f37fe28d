/**
 * Coverage of the fuzz runs: every hypercall the properties make is counted by the status and by
 * the (check, detail) pair the trace model reports for it (test/model/trace-model-hypercall.ts
 * names each reason `<check>:<reason>`). The CI run fails when a required status or a model detail
 * never came up — or when the model reported a detail this list does not know (the list is kept
 * honest both ways).
 */
import type { ModelLine } from "../model/trace-model.js";

/**
 * Every status of both tables: signal-event.md §3 as SignalEvent's order (§6) uses it, and
 * post-message.md §3. (INVALID_PARTITION_STATE is in the §3 table but no step returns it.)
 */
export const REQUIRED_STATUSES: readonly string[] = [
  "HV_STATUS_SUCCESS",
  "HV_STATUS_INVALID_HYPERCALL_CODE",
  "HV_STATUS_INVALID_HYPERCALL_INPUT",
  "HV_STATUS_INVALID_ALIGNMENT",
  "HV_STATUS_INVALID_PARAMETER",
  "HV_STATUS_ACCESS_DENIED",
  "HV_STATUS_INVALID_VP_INDEX",
  "HV_STATUS_INVALID_PORT_ID",
  "HV_STATUS_INVALID_CONNECTION_ID",
  "HV_STATUS_INSUFFICIENT_BUFFERS",
  "HV_STATUS_INVALID_SYNIC_STATE",
];

/** Every `detail` the trace model can report, by the step that reports it. */
export const MODEL_DETAILS: readonly string[] = [
  "generic.1:not-implemented",
  ...[
    "fast-bit",
    "variable-header",
    "rsvd-30-27",
    "nested",
    "rep-count",
    "rsvd-47-44",
    "rep-start",
    "rsvd-63-60",
  ].map((r) => `generic.2:${r}`),
  "generic.3:no-privilege-bit-36",
  "generic.3:no-privilege-bit-37",
  "generic.4:misaligned",
  "generic.4:crosses-page",
  "generic.4:unbacked",
  "signal-event.5:rsvdz",
  "signal-event.5:connection-id-reserved",
  "signal-event.6:unknown-connection",
  "signal-event.7:port-missing",
  "signal-event.7:port-deleted",
  "signal-event.7:partition-inactive",
  "signal-event.7:not-event-port",
  "signal-event.8:flag-number",
  "signal-event.9:any-vp-no-vps",
  "signal-event.9:no-such-vp",
  "signal-event.10:any-vp-none-enabled",
  "signal-event.10:scontrol-disabled",
  "signal-event.10:siefp-disabled",
  "signal-event.10:masked",
  "signal-event.11:set",
  "signal-event.11:already-set",
  "signal-event.11:polling",
  "post-message.5:rsvdz",
  "post-message.5:connection-id-reserved",
  "post-message.6:unknown-connection",
  "post-message.7:port-missing",
  "post-message.7:port-deleted",
  "post-message.7:partition-inactive",
  "post-message.7:not-message-port",
  "post-message.8:type-zero",
  "post-message.8:type-hypervisor",
  "post-message.8:payload-size",
  "post-message.9:any-vp-no-vps",
  "post-message.9:no-such-vp",
  "post-message.10:any-vp-none-enabled",
  "post-message.10:scontrol-disabled",
  "post-message.10:simp-disabled",
  "post-message.11:no-free-buffer",
  "post-message.12:delivered",
  "post-message.12:delivered-interrupt-lost",
  "post-message.12:queued-behind-busy-slot",
  "post-message.12:queued-behind-older",
];

function bump(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

/** Counts of calls, statuses and model details across properties. */
export class Tally {
  calls = 0;
  readonly statuses = new Map<string, number>();
  readonly details = new Map<string, number>();

  /** One hypercall's model line. */
  add(line: ModelLine): void {
    this.calls++;
    bump(this.statuses, line.status ?? "(none)");
    if (line.detail !== undefined) bump(this.details, line.detail);
  }

  merge(other: Tally): void {
    this.calls += other.calls;
    for (const [k, v] of other.statuses) bump(this.statuses, k, v);
    for (const [k, v] of other.details) bump(this.details, k, v);
  }

  missingStatuses(): string[] {
    return REQUIRED_STATUSES.filter((s) => !this.statuses.has(s));
  }

  missingDetails(): string[] {
    return MODEL_DETAILS.filter((d) => !this.details.has(d));
  }

  /** Details the model reported that MODEL_DETAILS does not list (must be none). */
  unknownDetails(): string[] {
    return [...this.details.keys()].filter((d) => !MODEL_DETAILS.includes(d));
  }

  /** Distinct statuses, short names, for progress lines. */
  statusNames(): string[] {
    return [...this.statuses.keys()].sort().map(shortName);
  }

  /** A multi-line table: every status and detail with its count and share. */
  format(title: string): string {
    const lines = [`${title}: ${this.calls.toLocaleString("en-US")} calls`];
    const pct = (n: number) => `${((100 * n) / Math.max(this.calls, 1)).toFixed(2).padStart(6)}%`;
    for (const [status, n] of [...this.statuses].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      lines.push(`  ${status.padEnd(34)} ${String(n).padStart(9)} ${pct(n)}`);
    }
    lines.push("  by (check, detail) of the model:");
    const order = (d: string) => {
      const i = MODEL_DETAILS.indexOf(d);
      return i < 0 ? MODEL_DETAILS.length : i;
    };
    for (const [detail, n] of [...this.details].sort((a, b) => order(a[0]) - order(b[0]))) {
      lines.push(`    ${detail.padEnd(44)} ${String(n).padStart(9)} ${pct(n)}`);
    }
    return lines.join("\n");
  }
}

export function shortName(status: string): string {
  return status.replace(/^HV_STATUS_/, "");
}
