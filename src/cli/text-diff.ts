/**
 * A line diff in unified format (`--- a`, `+++ b`, `@@ -l,n +l,n @@` hunks with context), for
 * showing a reviewer what `npm run fixtures:update` changed in each file. The diff itself is
 * jsdiff's (`structuredPatch`); this only writes it out without jsdiff's `Index:`/`====` banner.
 */
import { structuredPatch } from "diff";

export function unifiedDiff(
  before: string,
  after: string,
  beforeName: string,
  afterName: string,
  context = 3,
): string {
  if (before === after) return "";
  const patch = structuredPatch(beforeName, afterName, before, after, undefined, undefined, {
    context,
  });
  let out = `--- ${beforeName}\n+++ ${afterName}\n`;
  for (const h of patch.hunks) {
    out += `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@\n`;
    for (const line of h.lines) out += `${line}\n`;
  }
  return out;
}
