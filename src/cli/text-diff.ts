/**
 * A line diff in unified format (`--- a`, `+++ b`, `@@ -l,n +l,n @@` hunks with context), for
 * showing a reviewer what `npm run fixtures:update` changed in each file.
 */

type Op = { readonly kind: " " | "-" | "+"; readonly text: string };

/** Above this many cells the middle part is shown as removed-then-added instead of diffed. */
const MAX_TABLE_CELLS = 16_000_000;

function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** Edit script from a to b: longest common subsequence after trimming the common ends. */
function editScript(a: readonly string[], b: readonly string[]): Op[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const ops: Op[] = a.slice(0, start).map((text) => ({ kind: " ", text }));
  const n = endA - start;
  const m = endB - start;
  if (n * m > MAX_TABLE_CELLS) {
    for (let i = start; i < endA; i++) ops.push({ kind: "-", text: a[i]! });
    for (let j = start; j < endB; j++) ops.push({ kind: "+", text: b[j]! });
  } else {
    // lcs[i * (m + 1) + j]: LCS length of a[start + i ..] and b[start + j ..].
    const w = m + 1;
    const lcs = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * w + j] =
          a[start + i] === b[start + j]
            ? lcs[(i + 1) * w + j + 1]! + 1
            : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[start + i] === b[start + j]) {
        ops.push({ kind: " ", text: a[start + i]! });
        i++;
        j++;
      } else if (i < n && (j === m || lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!)) {
        // Removals first, as diff prints them.
        ops.push({ kind: "-", text: a[start + i]! });
        i++;
      } else {
        ops.push({ kind: "+", text: b[start + j]! });
        j++;
      }
    }
  }
  for (let i = endA; i < a.length; i++) ops.push({ kind: " ", text: a[i]! });
  return ops;
}

/** The unified diff of two texts; the empty string when they are equal. */
export function unifiedDiff(
  before: string,
  after: string,
  beforeName: string,
  afterName: string,
  context = 3,
): string {
  if (before === after) return "";
  const ops = editScript(splitLines(before), splitLines(after));
  // 1-based line numbers each op has (or would have) in the old and the new text.
  const oldAt: number[] = [];
  const newAt: number[] = [];
  let o = 1;
  let n = 1;
  const changes: number[] = [];
  ops.forEach((op, k) => {
    oldAt.push(o);
    newAt.push(n);
    if (op.kind !== "+") o++;
    if (op.kind !== "-") n++;
    if (op.kind !== " ") changes.push(k);
  });
  let out = `--- ${beforeName}\n+++ ${afterName}\n`;
  let c = 0;
  while (c < changes.length) {
    // A hunk: changes closer than 2 * context equal lines apart, with context around them.
    let last = c;
    while (last + 1 < changes.length && changes[last + 1]! - changes[last]! <= 2 * context + 1)
      last++;
    const from = Math.max(0, changes[c]! - context);
    const to = Math.min(ops.length, changes[last]! + context + 1);
    const hunk = ops.slice(from, to);
    const oldCount = hunk.filter((op) => op.kind !== "+").length;
    const newCount = hunk.filter((op) => op.kind !== "-").length;
    const oldStart = oldCount === 0 ? oldAt[from]! - 1 : oldAt[from]!;
    const newStart = newCount === 0 ? newAt[from]! - 1 : newAt[from]!;
    out += `@@ -${oldStart},${oldCount} +${newStart},${newCount} @@\n`;
    for (const op of hunk) out += `${op.kind}${op.text}\n`;
    c = last + 1;
  }
  return out;
}
