/**
 * The numbers and small helpers of the trace model, every one written by hand from shared/spec
 * (signal-event.md §1-§5, synic.md §1-§3, post-message.md §1-§2). Nothing here comes from src/.
 */

// ---------------------------------------------------------------------------------------------
// Pages, SINTs, VP index (signal-event.md §4-§5, synic.md §2)
// ---------------------------------------------------------------------------------------------

export const PAGE_SIZE = 4096;
export const PAGE_SIZE_BIG = 4096n;
export const PAGE_SHIFT = 12n;
export const SINT_COUNT = 16;
/** Bytes of one SINT's area in the SIEF page (HV_SYNIC_EVENT_FLAGS) and of one SIM slot. */
export const SINT_AREA_SIZE = 256;
/** HV_ANY_VP. */
export const HV_ANY_VP = 0xffffffff;
export const U64_MAX = (1n << 64n) - 1n;

// ---------------------------------------------------------------------------------------------
// Call codes and statuses (signal-event.md §1, §3; post-message.md §1)
// ---------------------------------------------------------------------------------------------

export const CALL_POST_MESSAGE = 0x005c;
export const CALL_SIGNAL_EVENT = 0x005d;

export const STATUS_VALUES = {
  HV_STATUS_SUCCESS: 0x0000,
  HV_STATUS_INVALID_HYPERCALL_CODE: 0x0002,
  HV_STATUS_INVALID_HYPERCALL_INPUT: 0x0003,
  HV_STATUS_INVALID_ALIGNMENT: 0x0004,
  HV_STATUS_INVALID_PARAMETER: 0x0005,
  HV_STATUS_ACCESS_DENIED: 0x0006,
  HV_STATUS_INVALID_PARTITION_STATE: 0x0007,
  HV_STATUS_INVALID_VP_INDEX: 0x000e,
  HV_STATUS_INVALID_PORT_ID: 0x0011,
  HV_STATUS_INVALID_CONNECTION_ID: 0x0012,
  HV_STATUS_INSUFFICIENT_BUFFERS: 0x0013,
  HV_STATUS_INVALID_SYNIC_STATE: 0x0018,
} as const;

export type StatusName = keyof typeof STATUS_VALUES;

/** The hypercall result value (signal-event.md §2): status in bits 15:0, reps completed 0. */
export function resultValue(status: StatusName): bigint {
  return BigInt(STATUS_VALUES[status]);
}

// ---------------------------------------------------------------------------------------------
// Privilege mask bits (signal-event.md §5; only the names that section lists)
// ---------------------------------------------------------------------------------------------

export const PRIVILEGE_BITS: ReadonlyMap<string, number> = new Map([
  ["AccessVpRunTimeReg", 0],
  ["AccessPartitionReferenceCounter", 1],
  ["AccessSynicRegs", 2],
  ["AccessSyntheticTimerRegs", 3],
  ["AccessIntrCtrlRegs", 4],
  ["AccessHypercallMsrs", 5],
  ["AccessVpIndex", 6],
  ["CreatePartitions", 32],
  ["AccessPartitionId", 33],
  ["AccessMemoryPool", 34],
  ["AdjustMessageBuffers", 35],
  ["PostMessages", 36],
  ["SignalEvents", 37],
  ["CreatePort", 38],
  ["ConnectPort", 39],
  ["AccessStats", 40],
  ["Debugging", 43],
  ["CpuManagement", 44],
]);

export const PRIVILEGE_POST_MESSAGES = 36;
export const PRIVILEGE_SIGNAL_EVENTS = 37;

// ---------------------------------------------------------------------------------------------
// SynIC MSRs (synic.md §1)
// ---------------------------------------------------------------------------------------------

export const MSR_SCONTROL = 0x40000080;
export const MSR_SVERSION = 0x40000081;
export const MSR_SIEFP = 0x40000082;
export const MSR_SIMP = 0x40000083;
export const MSR_EOM = 0x40000084;
export const MSR_SINT0 = 0x40000090;
export const MSR_SINT15 = 0x4000009f;
export const SVERSION_VALUE = 1n;
export const SINT_RESET_VALUE = 0x10000n;

// ---------------------------------------------------------------------------------------------
// Bit fields and hex text
// ---------------------------------------------------------------------------------------------

/** Bits hi..lo (inclusive) of a value, shifted down. */
export function field(value: bigint, hi: number, lo: number): bigint {
  const width = BigInt(hi - lo + 1);
  return (value >> BigInt(lo)) & ((1n << width) - 1n);
}

/** Whether bit n of a value is 1. */
export function bit(value: bigint, n: number): boolean {
  return field(value, n, n) === 1n;
}

/** A hex string with or without "0x" (either case) as an unsigned value below 2^64. */
export function parseHex64(text: string, what: string): bigint {
  const digits = text.startsWith("0x") || text.startsWith("0X") ? text.slice(2) : text;
  if (!/^[0-9a-fA-F]+$/.test(digits)) {
    throw new Error(`${what}: not a hex string: ${JSON.stringify(text)}`);
  }
  const value = BigInt(`0x${digits}`);
  if (value > U64_MAX) {
    throw new Error(`${what}: more than 64 bits: ${JSON.stringify(text)}`);
  }
  return value;
}

/** "0x" and 16 lower-case hex digits. */
export function hex64(value: bigint): string {
  return `0x${value.toString(16).padStart(16, "0")}`;
}

/** A byte string (two hex digits per byte, no "0x", either case) as byte values. */
export function bytesFromHex(text: string, what: string): number[] {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new Error(`${what}: not a byte string: ${JSON.stringify(text)}`);
  }
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i += 2) {
    bytes.push(Number.parseInt(text.slice(i, i + 2), 16));
  }
  return bytes;
}

/** Byte values as a lower-case byte string. */
export function bytesToHex(bytes: readonly number[]): string {
  let text = "";
  for (const b of bytes) {
    text += b.toString(16).padStart(2, "0");
  }
  return text;
}

/** Little-endian unsigned integer of `size` bytes at `offset`. */
export function readLe(bytes: readonly number[], offset: number, size: number): bigint {
  let value = 0n;
  for (let i = size - 1; i >= 0; i--) {
    value = (value << 8n) | BigInt(bytes[offset + i] ?? 0);
  }
  return value;
}

/** Writes `value` as a little-endian unsigned integer of `size` bytes at `offset`. */
export function writeLe(bytes: number[], offset: number, size: number, value: bigint): void {
  for (let i = 0; i < size; i++) {
    bytes[offset + i] = Number(field(value, 8 * i + 7, 8 * i));
  }
}

/** An array of `length` zero bytes. */
export function zeros(length: number): number[] {
  return new Array<number>(length).fill(0);
}
