/**
 * `hvcall decode HEX`: every named field of a control value (8 bytes), a record (16 bytes) or,
 * with --result, a result value; the call's name; and what the dispatcher answers for the control
 * value alone. Every field, label and rule comes from the field tables in src/abi.
 */
import type { BitField } from "../abi/bit-layout.js";
import { hvCallClass, hvCallCodeName } from "../abi/call-code.js";
import { HvStatus, hvStatusName, isKnownHvStatus } from "../abi/hv-status.js";
import {
  controlViolations,
  decodeControl,
  HV_HYPERCALL_CONTROL,
  type HypercallControl,
} from "../abi/hypercall-control.js";
import { HV_HYPERCALL_RESULT } from "../abi/hypercall-result.js";
import { PARTITION_PRIVILEGE_NAMES, PartitionPrivilegeBit } from "../abi/partition-privilege.js";
import { formatU64Hex } from "../abi/u64.js";
import { HANDLER_TABLE } from "../dispatch/handler-table.js";
import { RECORD_INPUT_OFFSET, RECORD_SIZE } from "../dispatch/hypercall-record.js";
import type { HypercallRow } from "../dispatch/hypercall-row.js";
import { parseU64Hex, U64_HEX_HINT } from "../text/hex-text.js";
import { CliUsageError, ExitCode, quote } from "./cli-error.js";
import { out } from "./stdio.js";

const NESTED_FIELD = HV_HYPERCALL_CONTROL.fields.isNested;

/** "; a number is written with 0x, e.g. 0x1005d" — when the digits make a 64-bit number at all. */
function numberHint(digits: string): string {
  const significant = digits.replace(/^0+(?=.)/, "");
  return significant.length <= 16 ? `; a number is written with 0x, e.g. 0x${significant}` : "";
}

export interface DecodeOptions {
  readonly json?: boolean;
  /** Read the value as a hypercall result value (RAX) instead of a control value. */
  readonly result?: boolean;
}

const CONTROL_BYTES = RECORD_INPUT_OFFSET;

/** What the user typed, as bytes in file order (a record, or the 8 bytes of a 64-bit value). */
export function parseDecodeInput(text: string): Uint8Array {
  const trimmed = text.trim();
  if (/^0x/i.test(trimmed)) {
    const value = parseU64Hex(trimmed);
    if (value === undefined) {
      throw new CliUsageError(
        `decode: ${quote(trimmed)} is not a 64-bit number (${U64_HEX_HINT}); a 16-byte record is written without 0x, as its 32 hex digits in file order`,
      );
    }
    const bytes = new Uint8Array(CONTROL_BYTES);
    new DataView(bytes.buffer).setBigUint64(0, value, true);
    return bytes;
  }
  const digits = trimmed.replace(/\s+/g, "");
  if (!/^[0-9a-fA-F]*$/.test(digits)) {
    throw new CliUsageError(
      `decode: ${quote(trimmed)} is not hex: give a 0x… number, or bytes as hex digits`,
    );
  }
  if (digits.length !== 2 * CONTROL_BYTES && digits.length !== 2 * RECORD_SIZE) {
    throw new CliUsageError(
      `decode: ${digits.length} hex digits without 0x are read as bytes in file order: 16 digits (a 64-bit value) or 32 (a record)${numberHint(digits)}`,
    );
  }
  return Uint8Array.from(Buffer.from(digits, "hex"));
}

export interface DecodedField {
  readonly name: string;
  readonly label: string;
  readonly bits: string;
  readonly value: number;
  /** A reserved field (RsvdZ) that is not zero. */
  readonly reservedSet: boolean;
}

function fieldsOf(
  list: readonly BitField[],
  get: (f: BitField) => number | bigint | boolean,
): DecodedField[] {
  return list.map((f) => {
    const raw = get(f);
    const value = typeof raw === "boolean" ? (raw ? 1 : 0) : Number(raw);
    return {
      name: f.name,
      label: f.label,
      bits: f.bits,
      value,
      reservedSet: f.kind === "reserved-zero" && value !== 0,
    };
  });
}

export interface DecodedInputBlock {
  readonly bytes: string;
  /** The 8 bytes as the u64 a fast call carries in RDX. */
  readonly register: string;
  readonly form: "fast" | "memory";
  /** The call's input fields these 8 bytes hold (by the call's layout), when the call is implemented. */
  readonly fields?: Readonly<Record<string, number>>;
  readonly rulesBroken: readonly string[];
  readonly note?: string;
}

export interface Decoded {
  readonly kind: "control" | "record" | "result";
  readonly bytes: string;
  readonly fields: readonly DecodedField[];
  readonly control?: HypercallControl & {
    readonly value: string;
    readonly callCodeHex: string;
    readonly callName: string | null;
    readonly callClass: "simple" | "rep" | null;
    readonly implemented: boolean;
    readonly rulesBroken: readonly string[];
  };
  readonly result?: {
    readonly value: string;
    readonly status: number;
    readonly statusName: string;
    readonly known: boolean;
    readonly repsCompleted: number;
    readonly reservedBitsSet: readonly string[];
  };
  readonly inputBlock?: DecodedInputBlock;
  readonly dispatch?: {
    readonly status: string | null;
    readonly decided: boolean;
    readonly requiredPrivilege: string | null;
    readonly note: string;
  };
}

function rowOf(callCode: number): HypercallRow | undefined {
  return HANDLER_TABLE.find((r) => r.callCode === callCode);
}

function privilegeName(bit: number): string {
  return PARTITION_PRIVILEGE_NAMES.find((n) => PartitionPrivilegeBit[n] === bit) ?? `bit ${bit}`;
}

/** Decodes a result value (RAX). */
export function decodeResultValue(bytes: Uint8Array): Decoded {
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const r = HV_HYPERCALL_RESULT.decode(lo, hi);
  return {
    kind: "result",
    bytes: Buffer.from(bytes).toString("hex"),
    fields: fieldsOf(HV_HYPERCALL_RESULT.list, (f) => HV_HYPERCALL_RESULT.get(f, lo, hi)),
    result: {
      value: formatU64Hex(lo, hi),
      status: r.status,
      statusName: hvStatusName(r.status),
      known: isKnownHvStatus(r.status),
      repsCompleted: r.repsCompleted,
      reservedBitsSet: HV_HYPERCALL_RESULT.reservedZeroSet(lo, hi).map(
        (f) => `${f.label} ${f.bits} must be 0`,
      ),
    },
  };
}

/** Decodes the bytes of a control value (8) or a record (16). */
export function decode(bytes: Uint8Array): Decoded {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const control = decodeControl(lo, hi);
  const row = rowOf(control.callCode);
  const callName = hvCallCodeName(control.callCode) ?? null;
  const shape = row ?? {
    name: callName ?? "this call",
    kind: hvCallClass(control.callCode) ?? "simple",
    fastAllowed: true,
    variableHeaderAllowed: false,
  };
  // A code with no known class: only the rules of every call apply (RsvdZ, is nested); whether
  // it may be fast, have a variable header or rep fields depends on a call that is not known.
  const known = row !== undefined || hvCallClass(control.callCode) !== undefined;
  const rulesBroken = controlViolations(lo, hi, shape)
    .filter((v) => known || v.field.kind === "reserved-zero" || v.field === NESTED_FIELD)
    .map((v) => v.rule);
  const inputBlock =
    bytes.length === RECORD_SIZE ? decodeInputBlock(bytes, control, row) : undefined;
  return {
    kind: inputBlock === undefined ? "control" : "record",
    bytes: Buffer.from(bytes).toString("hex"),
    fields: fieldsOf(HV_HYPERCALL_CONTROL.list, (f) => HV_HYPERCALL_CONTROL.get(f, lo, hi)),
    control: {
      value: formatU64Hex(lo, hi),
      ...control,
      callCodeHex: `0x${control.callCode.toString(16).padStart(4, "0")}`,
      callName,
      callClass: hvCallClass(control.callCode) ?? null,
      implemented: row !== undefined,
      rulesBroken,
    },
    ...(inputBlock === undefined ? {} : { inputBlock }),
    dispatch: dispatchVerdict(row, rulesBroken, inputBlock),
  };
}

function decodeInputBlock(
  bytes: Uint8Array,
  control: HypercallControl,
  row: HypercallRow | undefined,
): DecodedInputBlock {
  const block = bytes.subarray(RECORD_INPUT_OFFSET, RECORD_SIZE);
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const base = {
    bytes: Buffer.from(block).toString("hex"),
    register: formatU64Hex(view.getUint32(0, true), view.getUint32(4, true)),
    form: control.fast ? ("fast" as const) : ("memory" as const),
  };
  if (row === undefined) return { ...base, rulesBroken: [] };
  // The record carries the first 8 bytes of the call's block; the rest reads as zero (docs/cli.md).
  const full = new Uint8Array(row.input.size);
  full.set(block.subarray(0, Math.min(block.length, row.input.size)));
  const values = row.input.decode(full);
  const fields: Record<string, number> = {};
  for (const f of row.input.fields) {
    if (f.offset >= block.length) continue;
    const v = values?.[f.name];
    if (typeof v === "number") fields[f.name] = v;
  }
  const note =
    row.input.size > block.length
      ? `${row.name} takes a ${row.input.size}-byte input block: a record holds its first ${block.length} bytes, and replay's scratch page reads as zero after them`
      : undefined;
  return {
    ...base,
    fields,
    rulesBroken: values === undefined ? [] : row.input.reservedSet(values),
    ...(note === undefined ? {} : { note }),
  };
}

function dispatchVerdict(
  row: HypercallRow | undefined,
  rulesBroken: readonly string[],
  input: DecodedInputBlock | undefined,
): Decoded["dispatch"] {
  if (row === undefined) {
    return {
      status: hvStatusName(HvStatus.INVALID_HYPERCALL_CODE),
      decided: true,
      requiredPrivilege: null,
      note: "step 1 (generic.1): hvcall does not implement this call code, whatever the caller and input",
    };
  }
  const privilege = privilegeName(row.requiredPrivilege);
  if (rulesBroken.length > 0) {
    return {
      status: hvStatusName(HvStatus.INVALID_HYPERCALL_INPUT),
      decided: true,
      requiredPrivilege: privilege,
      note: "step 2 (generic.2): decided by the control value alone, whatever the caller and input",
    };
  }
  const needs = `the caller must hold ${privilege} (step 3), which needs a scenario`;
  if (input === undefined) {
    return {
      status: null,
      decided: false,
      requiredPrivilege: privilege,
      note: `passes the call-code and control-value checks (steps 1-2); ${needs}, and the input decides the rest`,
    };
  }
  const memory =
    input.form === "memory"
      ? "; a memory call's input GPA must also be aligned and backed (step 4: replay's scratch page is)"
      : "";
  if (input.rulesBroken.length > 0) {
    return {
      status: hvStatusName(HvStatus.INVALID_HYPERCALL_INPUT),
      decided: false,
      requiredPrivilege: privilege,
      note: `the input block breaks a format rule (step 5): this is the status if the caller holds ${privilege} (step 3, which needs a scenario); without it: ${hvStatusName(HvStatus.ACCESS_DENIED)}${memory}`,
    };
  }
  return {
    status: null,
    decided: false,
    requiredPrivilege: privilege,
    note: `passes the call-code, control-value and input-format checks; ${needs}, and the scenario decides the rest (steps 6 and on)${memory}`,
  };
}

/** The human-readable form. */
export function formatDecoded(d: Decoded): string {
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`${label.padEnd(36)}${value}`);
  if (d.kind === "record") row("record", `${d.bytes.slice(0, 16)} ${d.bytes.slice(16)}`);
  const c = d.control;
  const r = d.result;
  row(c !== undefined ? "control value" : "result value", c?.value ?? r?.value ?? "");
  for (const f of d.fields) {
    let text = String(f.value);
    if (f.name === "callCode" && c !== undefined) {
      text = `${c.callCodeHex}  ${c.callName ?? "unknown call code"} (${c.implemented ? "implemented" : "not implemented"})`;
    } else if (f.name === "fast" && c !== undefined) {
      text = `${f.value}  ${f.value !== 0 ? "input in registers (RDX, R8)" : "input in guest memory (RDX holds its GPA)"}`;
    } else if (f.name === "status" && r !== undefined) {
      text = `0x${r.status.toString(16).padStart(4, "0")}  ${r.statusName}`;
    } else if (f.reservedSet) {
      text = `${f.value}  (0x${f.value.toString(16)}) must be 0`;
    }
    row(`  ${f.bits.padEnd(12)}${f.label}`, text);
  }
  const broken = c?.rulesBroken ?? r?.reservedBitsSet ?? [];
  row(
    c !== undefined ? "  rules broken" : "  reserved bits set",
    broken.length === 0 ? "none" : broken[0]!,
  );
  for (const rule of broken.slice(1)) row("", rule);
  const input = d.inputBlock;
  if (input !== undefined) {
    row("input block", `${input.bytes}  (as RDX: ${input.register})`);
    row(
      "  form",
      input.form === "fast"
        ? "fast: RDX carries these bytes"
        : "memory: the bytes at the input GPA",
    );
    if (input.fields === undefined)
      row("  fields", "not an implemented call: its input layout is not known here");
    else
      for (const [name, value] of Object.entries(input.fields))
        row(`  ${name}`, `${value} (0x${value.toString(16)})`);
    if (input.note !== undefined) row("  note", input.note);
    if (input.fields !== undefined) {
      row("  rules broken", input.rulesBroken.length === 0 ? "none" : input.rulesBroken[0]!);
      for (const rule of input.rulesBroken.slice(1)) row("", rule);
    }
  }
  if (d.dispatch !== undefined) {
    row("status", d.dispatch.status ?? "depends on the scenario");
    row("", d.dispatch.note);
  }
  return `${lines.join("\n")}\n`;
}

export function runDecode(text: string, options: DecodeOptions): number {
  const bytes = parseDecodeInput(text);
  if (options.result === true && bytes.length !== CONTROL_BYTES) {
    throw new CliUsageError(
      "decode --result: give one 64-bit result value (0x… or its 8 bytes), not a record",
    );
  }
  const decoded = options.result === true ? decodeResultValue(bytes) : decode(bytes);
  out(options.json === true ? `${JSON.stringify(decoded)}\n` : formatDecoded(decoded));
  return ExitCode.Success;
}
