import { hvStatusName } from "../abi/hv-status.js";
import { plural } from "./record-source.js";

/** A rate is shown only for runs long enough to measure one. */
const RATE_MIN_SECONDS = 0.25;

/** `--summary`: calls per status, most frequent first, then the total (and the rate, when long). */
export function summaryTable(
  title: string,
  counts: Uint32Array,
  records: number,
  seconds: number,
  unit = "record",
): string {
  const rows: [string, number][] = [];
  counts.forEach((count, status) => {
    if (count > 0) rows.push([hvStatusName(status), count]);
  });
  rows.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const width = Math.max(String(records).length, 5);
  const nameWidth = Math.max(6, ...rows.map(([name]) => name.length));
  const line = (count: string, name: string) => `  ${count.padStart(width)}  ${name}\n`;
  let text = `${title} summary\n`;
  text += line("count", "status");
  for (const [name, count] of rows) text += line(String(count), name);
  text += `  ${"-".repeat(width)}  ${"-".repeat(nameWidth)}\n`;
  const total = plural(records, unit).slice(String(records).length + 1);
  const rate = seconds >= RATE_MIN_SECONDS ? ` (${Math.round(records / seconds)} ${unit}s/s)` : "";
  text += line(String(records), `${total} in ${seconds.toFixed(3)} s${rate}`);
  return text;
}

/** `--report-memory`: the process's peak resident set size so far. */
export function memoryReport(): string {
  const kib = process.resourceUsage().maxRSS;
  return `hvcall: peak RSS ${(kib / 1024).toFixed(1)} MiB (maxRSS ${kib} KiB)\n`;
}
