/**
 * Choosing and reporting the first problem of a scenario file: every check (field schemas and
 * cross-field rules) reports Problems; the first in document order becomes the one ScenarioError.
 *
 * Document order is the order of the parsed JSON: array elements by index, object members in
 * property enumeration order (JSON.parse keeps the file's order, except that integer-like keys such
 * as SINT numbers come first). A required field that is missing is located at the end of its object
 * (that is where a reader notices it is absent); a problem with a whole record (memory ranges) is
 * located after all of that record's fields.
 */
import type { z } from "zod";
import { SCENARIO_ROOT_PATH, ScenarioError } from "./scenario-error.js";
import { isObject } from "./scenario-ranges.js";

export type PathSegment = string | number;

export interface Problem {
  readonly path: readonly PathSegment[];
  readonly reason: string;
  /** The problem is the record as a whole: it sits after all of the record's fields. */
  readonly wholeRecord?: boolean;
}

/** A field name that can be written after a dot in a path (SINT keys such as `16` included). */
const PLAIN_KEY_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$|^[0-9]+$/;

/** Where `segment` sits among the members of `container`; a missing member sits at the end. */
function rank(container: unknown, segment: PathSegment): number {
  if (Array.isArray(container)) return typeof segment === "number" ? segment : container.length;
  if (isObject(container)) {
    const i = Object.keys(container).indexOf(String(segment));
    return i < 0 ? Number.POSITIVE_INFINITY : i;
  }
  return Number.POSITIVE_INFINITY;
}

function member(container: unknown, segment: PathSegment): unknown {
  if (Array.isArray(container) || isObject(container)) {
    return (container as Readonly<Record<PathSegment, unknown>>)[segment];
  }
  return undefined;
}

/** Negative when `a` comes before `b` in the document. Equal places compare 0. */
export function compareInDocument(root: unknown, a: Problem, b: Problem): number {
  const common = Math.min(a.path.length, b.path.length);
  let node = root;
  for (let d = 0; d < common; d++) {
    const sa = a.path[d]!;
    const sb = b.path[d]!;
    if (sa !== sb) {
      const ra = rank(node, sa);
      const rb = rank(node, sb);
      return ra < rb ? -1 : ra > rb ? 1 : 0;
    }
    node = member(node, sa);
  }
  // Same path, or one names a record that holds the other: a problem with the record's own type
  // comes before its fields, a whole-record problem after them.
  const place = (p: Problem): number =>
    p.path.length > common ? 0 : p.wholeRecord === true ? 1 : -1;
  return place(a) - place(b);
}

export function formatPath(path: readonly PathSegment[]): string {
  if (path.length === 0) return SCENARIO_ROOT_PATH;
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else if (PLAIN_KEY_RE.test(segment)) text += text === "" ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

/** Escapes line breaks (and the other C0 controls) so a message is one line, whatever it quotes. */
export function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

export function fail(problem: Problem): never {
  throw new ScenarioError(oneLine(formatPath(problem.path)), oneLine(problem.reason));
}

export function zodProblems(issues: readonly z.core.$ZodIssue[], out: Problem[]): void {
  for (const issue of issues) {
    const path = issue.path.map((s) => (typeof s === "number" ? s : String(s)));
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) out.push({ path: [...path, key], reason: issue.message });
    } else {
      out.push({ path, reason: issue.message });
    }
  }
}

/** The first problem in document order, thrown as a ScenarioError; nothing when there is none. */
export function reportFirst(root: unknown, problems: readonly Problem[]): void {
  if (problems.length === 0) return;
  let first = problems[0]!;
  for (let i = 1; i < problems.length; i++) {
    const p = problems[i]!;
    if (compareInDocument(root, p, first) < 0) first = p;
  }
  fail(first);
}
