/**
 * `hvcall decode HEX`: every named field of a control value (8 bytes) or a record (16 bytes), the
 * call's name, and what the dispatcher answers for the control value alone.
 */
import { HvCallCode, hvCallCodeName } from "../abi/call-code.js";
import { CONNECTION_ID_BITS, splitConnectionId } from "../abi/connection-id.js";
import { HvStatus, hvStatusName } from "../abi/hv-status.js";
import {
  CONTROL_CALL_CODE_MASK,
  CONTROL_FAST_BIT,
  CONTROL_NESTED_BIT,
  CONTROL_REP_COUNT_MASK,
  CONTROL_REP_START_MASK,
  CONTROL_REP_START_SHIFT,
  CONTROL_RSVD_27_30_MASK,
  CONTROL_RSVD_27_30_SHIFT,
  CONTROL_RSVD_44_47_MASK,
  CONTROL_RSVD_44_47_SHIFT,
  CONTROL_RSVD_60_63_MASK,
  CONTROL_RSVD_60_63_SHIFT,
  CONTROL_RULE_NAMES,
  CONTROL_VARIABLE_HEADER_MASK,
  CONTROL_VARIABLE_HEADER_SHIFT,
  decodeControl,
  type HypercallControl,
  simpleCallControlViolations,
} from "../abi/hypercall-control.js";
import { privilegeNamesOf } from "../abi/partition-privilege.js";
import {
  decodeSignalEventInput,
  SIGNAL_EVENT_INPUT_SIZE,
  SIGNAL_EVENT_RSVDZ_OFFSET,
} from "../abi/signal-event-input.js";
import { formatU64Hex } from "../abi/u64.js";
import { Dispatcher } from "../dispatch/dispatcher.js";
import { RECORD_INPUT_OFFSET, RECORD_SIZE } from "../dispatch/hypercall-record.js";
import { loadMachine } from "../state/load-machine.js";
import { parseU64Hex } from "./args.js";
import { CliUsageError, ExitCode, quote } from "./cli-error.js";
import type { DecodeOptions } from "./main.js";

const CONTROL_BYTES = RECORD_INPUT_OFFSET;
const HALF_BITS = 32;
const U64_ALL_BITS = (1n << 64n) - 1n;

/** What the user typed, as bytes in file order (a record, or the 8 bytes of a control value). */
export function parseDecodeInput(text: string): Uint8Array {
  const trimmed = text.trim();
  if (/^0x/i.test(trimmed)) {
    const value = parseU64Hex(trimmed);
    if (value === undefined) {
      throw new CliUsageError(
        `decode: ${quote(trimmed)} is not a 64-bit control value: after 0x give 1 to 16 hex digits ` +
          `(a 16-byte record is written without 0x, as its 32 hex digits in file order)`,
      );
    }
    const bytes = new Uint8Array(CONTROL_BYTES);
    new DataView(bytes.buffer).setBigUint64(0, value, true);
    return bytes;
  }
  const digits = trimmed.replace(/\s+/g, "");
  if (!/^[0-9a-fA-F]*$/.test(digits)) {
    throw new CliUsageError(
      `decode: ${quote(trimmed)} is not hex: give a 0x… control value, or bytes as hex digits`,
    );
  }
  if (digits.length !== 2 * CONTROL_BYTES && digits.length !== 2 * RECORD_SIZE) {
    throw new CliUsageError(
      `decode: ${digits.length} hex digits: bytes in file order are ${2 * CONTROL_BYTES} digits ` +
        `(a control value) or ${2 * RECORD_SIZE} (a record); a control value as a number starts with 0x`,
    );
  }
  return Uint8Array.from(Buffer.from(digits, "hex"));
}

interface FieldSpec {
  readonly key: keyof HypercallControl;
  readonly label: string;
  /** Bit position of the field's lowest bit in the 64-bit value. */
  readonly shift: number;
  /** The field's mask after shifting. */
  readonly mask: number;
}

const bitOf = (single: number) => 31 - Math.clz32(single >>> 0);

/** The control value's fields in bit order; bit positions come from src/abi. */
const CONTROL_FIELDS: readonly FieldSpec[] = [
  { key: "callCode", label: "call code", shift: 0, mask: CONTROL_CALL_CODE_MASK },
  { key: "fast", label: "fast", shift: bitOf(CONTROL_FAST_BIT), mask: 1 },
  {
    key: "variableHeaderSize",
    label: "variable header size",
    shift: CONTROL_VARIABLE_HEADER_SHIFT,
    mask: CONTROL_VARIABLE_HEADER_MASK,
  },
  {
    key: "reserved27to30",
    label: "RsvdZ",
    shift: CONTROL_RSVD_27_30_SHIFT,
    mask: CONTROL_RSVD_27_30_MASK,
  },
  { key: "isNested", label: "is nested", shift: bitOf(CONTROL_NESTED_BIT), mask: 1 },
  { key: "repCount", label: "rep count", shift: HALF_BITS, mask: CONTROL_REP_COUNT_MASK },
  {
    key: "reserved44to47",
    label: "RsvdZ",
    shift: HALF_BITS + CONTROL_RSVD_44_47_SHIFT,
    mask: CONTROL_RSVD_44_47_MASK,
  },
  {
    key: "repStartIndex",
    label: "rep start index",
    shift: HALF_BITS + CONTROL_REP_START_SHIFT,
    mask: CONTROL_REP_START_MASK,
  },
  {
    key: "reserved60to63",
    label: "RsvdZ",
    shift: HALF_BITS + CONTROL_RSVD_60_63_SHIFT,
    mask: CONTROL_RSVD_60_63_MASK,
  },
];

function bitRange(field: FieldSpec): string {
  const width = HALF_BITS - Math.clz32(field.mask);
  return width === 1 ? `bit ${field.shift}` : `bits ${field.shift + width - 1}:${field.shift}`;
}

export interface DecodedInputBlock {
  readonly bytes: string;
  /** The 8 bytes as the u64 a fast call carries in RDX. */
  readonly register: string;
  /** How the call gets these bytes: in RDX (fast) or from guest memory at the input GPA. */
  readonly form: "fast" | "memory";
  /** HvCallSignalEvent fields, when the call code is SignalEvent. */
  readonly signalEvent?: {
    readonly connectionId: string;
    readonly connection: { readonly id: number; readonly reserved: number };
    readonly flagNumber: number;
    readonly rsvdZ: number;
  };
  readonly rulesBroken: readonly string[];
}

export interface Decoded {
  readonly kind: "control" | "record";
  readonly bytes: string;
  readonly control: HypercallControl & {
    readonly value: string;
    readonly callCodeHex: string;
    readonly callName: string | null;
    readonly implemented: boolean;
    readonly rulesBroken: readonly string[];
  };
  readonly inputBlock?: DecodedInputBlock;
  readonly dispatch: {
    /** The status, when the bytes alone decide it; null when it depends on a scenario. */
    readonly status: string | null;
    readonly decided: boolean;
    /** The privilege the call needs (unknown without a scenario whether the caller holds it). */
    readonly requiredPrivilege: string | null;
    readonly note: string;
  };
}

/**
 * The dispatcher's answer to steps 1-2 (call code, control value) for this control value: its own
 * checkControl, asked on behalf of a caller that holds every privilege, so step 3 always passes.
 */
function controlStatus(
  lo: number,
  hi: number,
): { status: number; implemented: boolean; privilege: string | null } {
  const machine = loadMachine({
    partitions: [
      {
        id: 1,
        state: "active",
        privilegeMask: U64_ALL_BITS,
        vps: [],
        ports: [],
        connections: [],
        memory: [],
      },
    ],
  });
  const dispatcher = new Dispatcher(machine);
  const status = dispatcher.checkControl(0, lo, hi);
  const row = dispatcher.row(lo);
  const privilege =
    row === undefined
      ? null
      : (privilegeNamesOf(1n << BigInt(row.handler.requiredPrivilege))[0] ?? null);
  return { status, implemented: row !== undefined, privilege };
}

/** Decodes the bytes of a control value (8) or a record (16). */
export function decode(bytes: Uint8Array): Decoded {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const control = decodeControl(lo, hi);
  const rulesBroken = simpleCallControlViolations(control).map((rule) => CONTROL_RULE_NAMES[rule]);
  const { status, implemented, privilege } = controlStatus(lo, hi);
  const callName = hvCallCodeName(control.callCode) ?? null;
  const inputBlock = bytes.length === RECORD_SIZE ? decodeInputBlock(bytes, control) : undefined;
  return {
    kind: inputBlock === undefined ? "control" : "record",
    bytes: Buffer.from(bytes).toString("hex"),
    control: {
      value: formatU64Hex(lo, hi),
      ...control,
      callCodeHex: `0x${control.callCode.toString(16).padStart(4, "0")}`,
      callName,
      implemented,
      rulesBroken,
    },
    ...(inputBlock === undefined ? {} : { inputBlock }),
    dispatch: dispatchVerdict(status, privilege, inputBlock),
  };
}

function decodeInputBlock(bytes: Uint8Array, control: HypercallControl): DecodedInputBlock {
  const block = bytes.subarray(RECORD_INPUT_OFFSET, RECORD_SIZE);
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const base = {
    bytes: Buffer.from(block).toString("hex"),
    register: formatU64Hex(view.getUint32(0, true), view.getUint32(4, true)),
    form: control.fast ? ("fast" as const) : ("memory" as const),
  };
  const decoded = decodeSignalEventInput(block);
  if (control.callCode !== HvCallCode.SignalEvent || !decoded.ok) {
    return { ...base, rulesBroken: [] };
  }
  const { connectionId, flagNumber, rsvdZ } = decoded.input;
  const connection = splitConnectionId(connectionId);
  const rules: string[] = [];
  if (connection.reserved !== 0) {
    rules.push(`ConnectionId bits 31:${CONNECTION_ID_BITS} (reserved) must be 0`);
  }
  if (rsvdZ !== 0) {
    rules.push(
      `RsvdZ (bytes ${SIGNAL_EVENT_RSVDZ_OFFSET}..${SIGNAL_EVENT_INPUT_SIZE - 1}) must be 0`,
    );
  }
  return {
    ...base,
    signalEvent: {
      connectionId: `0x${connectionId.toString(16).padStart(8, "0")}`,
      connection,
      flagNumber,
      rsvdZ,
    },
    rulesBroken: rules,
  };
}

function dispatchVerdict(
  status: number,
  privilege: string | null,
  input: DecodedInputBlock | undefined,
): Decoded["dispatch"] {
  if (status !== HvStatus.SUCCESS) {
    return {
      status: hvStatusName(status),
      decided: true,
      requiredPrivilege: privilege,
      note: "decided by the control value alone (call code and control-value checks), whatever the caller and input",
    };
  }
  const held = privilege ?? "the call's privilege";
  const needs = `the caller must hold ${held} (step 3), which needs a scenario`;
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
      ? "; a memory call's input GPA must also be aligned and backed (step 4: replay's scratch page always is)"
      : "";
  if (input.rulesBroken.length > 0) {
    return {
      status: hvStatusName(HvStatus.INVALID_HYPERCALL_INPUT),
      decided: false,
      requiredPrivilege: privilege,
      note:
        `the input block breaks a format rule (step 5): this is the status if the caller holds ${held} ` +
        `(step 3, which needs a scenario); without it: ${hvStatusName(HvStatus.ACCESS_DENIED)}${memory}`,
    };
  }
  return {
    status: null,
    decided: false,
    requiredPrivilege: privilege,
    note:
      `passes the call-code, control-value and input-format checks; ${needs}, and the connection, ` +
      `port, flag number, target VP and SynIC state in the scenario decide the rest (steps 6-11)${memory}`,
  };
}

/** The human-readable form. */
export function formatDecoded(d: Decoded): string {
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`${label.padEnd(36)}${value}`);
  if (d.kind === "record") row("record", `${d.bytes.slice(0, 16)} ${d.bytes.slice(16)}`);
  row("control value", d.control.value);
  for (const field of CONTROL_FIELDS) {
    const raw = d.control[field.key];
    const value = typeof raw === "boolean" ? (raw ? 1 : 0) : raw;
    let text: string;
    if (field.key === "callCode") {
      const name = d.control.callName ?? "unknown call code";
      text = `${d.control.callCodeHex}  ${name} (${d.control.implemented ? "implemented" : "not implemented"})`;
    } else if (field.key === "fast") {
      text = `${value}  ${raw ? "input in registers (RDX holds the input block)" : "input in guest memory (RDX holds its GPA)"}`;
    } else {
      text = value === 0 ? "0" : `${value}  (0x${value.toString(16)}) must be 0`;
    }
    row(`  ${bitRange(field).padEnd(12)}${field.label}`, text);
  }
  row("  rules broken", d.control.rulesBroken.length === 0 ? "none" : d.control.rulesBroken[0]!);
  for (const rule of d.control.rulesBroken.slice(1)) row("", rule);

  const input = d.inputBlock;
  if (input !== undefined) {
    row("input block", `${input.bytes}  (as RDX: ${input.register})`);
    row(
      "  form",
      input.form === "fast"
        ? "fast: RDX carries these bytes"
        : "memory: the bytes at the input GPA",
    );
    const se = input.signalEvent;
    if (se === undefined) {
      row("  fields", "decode names the input fields of HvCallSignalEvent only");
    } else {
      row(
        "  ConnectionId",
        `${se.connectionId}  id ${se.connection.id} (0x${se.connection.id.toString(16)}), reserved bits 31:${CONNECTION_ID_BITS} = 0x${se.connection.reserved.toString(16).padStart(2, "0")}`,
      );
      row("  FlagNumber", String(se.flagNumber));
      row("  RsvdZ", `0x${se.rsvdZ.toString(16).padStart(4, "0")}`);
      row("  rules broken", input.rulesBroken.length === 0 ? "none" : input.rulesBroken[0]!);
      for (const rule of input.rulesBroken.slice(1)) row("", rule);
    }
  }
  row("status", d.dispatch.status ?? "depends on the scenario");
  row("", d.dispatch.note);
  return `${lines.join("\n")}\n`;
}

export function runDecode(text: string, options: DecodeOptions): number {
  const decoded = decode(parseDecodeInput(text));
  process.stdout.write(
    options.json === true ? `${JSON.stringify(decoded)}\n` : formatDecoded(decoded),
  );
  return ExitCode.Success;
}
