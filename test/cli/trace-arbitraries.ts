/**
 * fast-check generators of valid guest trace ops (cli-contract.md "hvcall run"), in the loose forms
 * a person may write (hex in either case, `0x` or `0X`, leading zeros, MSR numbers as integers),
 * and the canonical JSON line `hvcall trace convert` must write for each — worked out here from the
 * contract, not by the code under test.
 */
import { fc } from "@fast-check/vitest";

export type TraceOpJson = Readonly<Record<string, string | number>>;

export interface GeneratedOp {
  /** The op as a trace line gives it. */
  readonly json: TraceOpJson;
  /** The line `trace convert` writes for it (without the newline). */
  readonly canonical: string;
}

const U64_MAX = (1n << 64n) - 1n;
const U32_MAX = 0xffff_ffff;

const mixedCase = (text: string, upper: readonly boolean[]) =>
  [...text].map((c, i) => (upper[i % upper.length] === true ? c.toUpperCase() : c)).join("");

/** A 64-bit number written loosely, with its canonical "0x" + 16 lowercase digits. */
const u64Text = fc
  .tuple(
    fc.oneof(
      fc.bigInt({ min: 0n, max: U64_MAX }),
      fc.constantFrom(0n, 1n, 0x1005dn, U64_MAX, 1n << 63n),
    ),
    fc.nat(4),
    fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
    fc.constantFrom("0x", "0X"),
  )
  .map(([value, zeros, upper, prefix]) => ({
    text: `${prefix}${"0".repeat(zeros)}${mixedCase(value.toString(16), upper)}`,
    canonical: `0x${value.toString(16).padStart(16, "0")}`,
  }));

/** An MSR number: a hex string or a JSON integer, canonical "0x" + 8 digits. */
const msrText = fc
  .tuple(
    fc.oneof(
      fc.integer({ min: 0, max: U32_MAX }),
      fc.integer({ min: 0x40000080, max: 0x4000009f }),
    ),
    fc.boolean(),
    fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
  )
  .map(([n, asText, upper]) => ({
    value: asText ? `0x${mixedCase(n.toString(16), upper)}` : n,
    canonical: `0x${n.toString(16).padStart(8, "0")}`,
  }));

const bytesText = fc
  .tuple(fc.uint8Array({ maxLength: 300 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }))
  .map(([bytes, upper]) => {
    const hex = Buffer.from(bytes).toString("hex");
    return { text: mixedCase(hex, upper), canonical: hex };
  });

/** `partition` and `vp`, each given or not. */
const target = fc.record(
  {
    partition: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.constant(Number.MAX_SAFE_INTEGER)),
    vp: fc.oneof(fc.nat(3), fc.constant(U32_MAX)),
  },
  { requiredKeys: [] },
);

function op(
  name: string,
  t: { partition?: number; vp?: number },
  fields: readonly (readonly [string, string | number, string])[],
): GeneratedOp {
  const json: Record<string, string | number> = { op: name };
  const parts = [`"op":"${name}"`];
  if (t.partition !== undefined) parts.push(`"partition":${t.partition}`);
  if (t.vp !== undefined) parts.push(`"vp":${t.vp}`);
  for (const [key, value, canonical] of fields) {
    json[key] = value;
    parts.push(`"${key}":${canonical}`);
  }
  // Field order in the input does not matter: put partition and vp last, as a person might.
  if (t.partition !== undefined) json.partition = t.partition;
  if (t.vp !== undefined) json.vp = t.vp;
  return { json, canonical: `{${parts.join(",")}}` };
}

const quoted = (s: string) => `"${s}"`;

export const traceOpArb: fc.Arbitrary<GeneratedOp> = fc.oneof(
  fc
    .tuple(target, u64Text, u64Text, fc.option(u64Text, { nil: undefined }))
    .map(([t, control, rdx, r8]) =>
      op("hypercall", t, [
        ["control", control.text, quoted(control.canonical)],
        ["rdx", rdx.text, quoted(rdx.canonical)],
        ...(r8 === undefined ? [] : [["r8", r8.text, quoted(r8.canonical)] as const]),
      ]),
    ),
  fc.tuple(target, u64Text, bytesText).map(([t, gpa, bytes]) =>
    op("write", t, [
      ["gpa", gpa.text, quoted(gpa.canonical)],
      ["hex", bytes.text, quoted(bytes.canonical)],
    ]),
  ),
  fc.tuple(target, u64Text, fc.integer({ min: 1, max: 4096 })).map(([t, gpa, length]) =>
    op("read", t, [
      ["gpa", gpa.text, quoted(gpa.canonical)],
      ["length", length, String(length)],
    ]),
  ),
  fc.tuple(target, msrText, u64Text).map(([t, msr, value]) =>
    op("wrmsr", t, [
      ["msr", msr.value, quoted(msr.canonical)],
      ["value", value.text, quoted(value.canonical)],
    ]),
  ),
  fc
    .tuple(target, msrText)
    .map(([t, msr]) => op("rdmsr", t, [["msr", msr.value, quoted(msr.canonical)]])),
  target.map((t) => op("eoi", t, [])),
);

export const traceArb = fc.array(traceOpArb, { minLength: 1, maxLength: 40 });
