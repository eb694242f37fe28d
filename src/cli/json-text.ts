/**
 * JSON text for files people read and diff (fixtures, `--dump-state`): a value whose one-line form
 * fits in the width stays on one line (`{ "2": [0, 5] }`), anything larger is broken over lines with
 * two-space indentation. Parses back to the same value as JSON.stringify's output. Linear in the
 * size of the value: a one-line form is abandoned as soon as it outgrows the width.
 */
const INDENT = "  ";

export function formatJson(value: unknown, width = 100): string {
  return `${format(value, "", width, 0)}\n`;
}

type Json = Readonly<Record<string, unknown>> | readonly unknown[];

function isContainer(value: unknown): value is Json {
  return typeof value === "object" && value !== null;
}

function scalar(value: unknown): string {
  return JSON.stringify(value) ?? "null";
}

/** The members JSON writes: (key, value) pairs of an object without undefined values. */
function members(value: Readonly<Record<string, unknown>>): [string, unknown][] {
  return Object.entries(value).filter(([, v]) => v !== undefined);
}

/** `prefix`: the columns taken on the first line before the value (its key). */
function format(value: unknown, indent: string, width: number, prefix: number): string {
  if (!isContainer(value)) return scalar(value);
  const flat = oneLine(value, width - indent.length - prefix);
  if (flat !== undefined) return flat;
  const inner = indent + INDENT;
  if (Array.isArray(value)) {
    const items = value.map((item) => inner + format(item, inner, width, 0));
    return `[\n${items.join(",\n")}\n${indent}]`;
  }
  const entries = members(value as Readonly<Record<string, unknown>>).map(([k, v]) => {
    const key = `${JSON.stringify(k)}: `;
    return inner + key + format(v, inner, width, key.length);
  });
  return `{\n${entries.join(",\n")}\n${indent}}`;
}

/** The one-line form (a space after each `:` and `,`), or undefined when longer than `budget`. */
function oneLine(value: unknown, budget: number): string | undefined {
  if (!isContainer(value)) {
    const text = scalar(value);
    return text.length <= budget ? text : undefined;
  }
  const array = Array.isArray(value);
  const pairs: [string, unknown][] = array
    ? (value as readonly unknown[]).map((v) => ["", v])
    : members(value as Readonly<Record<string, unknown>>);
  if (pairs.length === 0) return array ? "[]" : "{}";
  let out = array ? "[" : "{ ";
  for (let i = 0; i < pairs.length; i++) {
    const [k, v] = pairs[i]!;
    if (i > 0) out += ", ";
    if (!array) out += `${JSON.stringify(k)}: `;
    const text = oneLine(v, budget - out.length);
    if (text === undefined) return undefined;
    out += text;
  }
  out += array ? "]" : " }";
  return out.length <= budget ? out : undefined;
}
