/**
 * The summary `hvcall check` prints on stderr: disagreements grouped by (expected status, observed
 * status, deciding check), with their count and the first index of each group, most frequent
 * first, so that a class of disagreement shows at a glance.
 */
interface Group {
  readonly expected: string;
  readonly observed: string;
  readonly check: string;
  count: number;
  readonly first: number;
}

export class CheckSummary {
  agreements = 0;
  disagreements = 0;
  private readonly groups = new Map<string, Group>();

  agree(): void {
    this.agreements++;
  }

  disagree(expected: string, observed: string, check: string, index: number): void {
    this.disagreements++;
    const key = `${expected}\u0000${observed}\u0000${check}`;
    const g = this.groups.get(key);
    if (g === undefined)
      this.groups.set(key, { expected, observed, check, count: 1, first: index });
    else g.count++;
  }

  table(unit: string): string {
    const total = this.agreements + this.disagreements;
    let text = `check summary: ${total} ${unit}${total === 1 ? "" : "s"} compared, ${this.agreements} agree, ${this.disagreements} disagree\n`;
    if (this.groups.size === 0) return text;
    const rows = [...this.groups.values()].sort((a, b) => b.count - a.count || a.first - b.first);
    const head = ["count", "expected (hvcall)", "observed", "check", "first index"];
    const cells = rows.map((g) => [
      String(g.count),
      g.expected,
      g.observed,
      g.check,
      String(g.first),
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
    const line = (c: readonly string[]) =>
      `  ${c
        .map((x, i) => (i === 0 || i === 4 ? x.padStart(widths[i]!) : x.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd()}\n`;
    text += line(head);
    for (const c of cells) text += line(c);
    return text;
  }
}
