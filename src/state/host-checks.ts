/**
 * Checks of what the host (the emulator, a tool) passes to the library API. Host misuse is a
 * TypeError (wrong type) or RangeError (right type, wrong value) naming the argument; guest bytes
 * never reach these (they become HV_STATUS_* values).
 */
const U32_MAX = 0xffff_ffff;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** A value as a message shows it: `"1"` for a string, `1.5` for a number, `a bigint` … */
export function shown(value: unknown): string {
  if (typeof value === "string")
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  return Array.isArray(value) ? "an array" : `a ${typeof value}`;
}

export function isU32(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= U32_MAX;
}

/** A u64 register value: a bigint in 0..2^64-1 (never a number or a string). */
export function requireU64(value: unknown, what: string): bigint {
  if (typeof value !== "bigint") {
    throw new TypeError(`${what}: expected a bigint (a u64 such as 0x1005dn), got ${shown(value)}`);
  }
  if (value < 0n || value > U64_MAX) {
    throw new RangeError(`${what}: ${value} is not a u64 (0..2^64-1)`);
  }
  return value;
}

/** An integer id or index of the host's (a partition id, a VP index, a port id). */
export function requireInteger(
  value: unknown,
  what: string,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== "number") {
    throw new TypeError(`${what}: expected a number, got ${shown(value)}`);
  }
  if (!(Number.isInteger(value) && value >= 0 && value <= max)) {
    throw new RangeError(`${what}: ${shown(value)} is not an integer 0..${max}`);
  }
  return value;
}

export function requireU32(value: unknown, what: string): number {
  return requireInteger(value, what, U32_MAX);
}

export function requireBoolean(value: unknown, what: string): boolean {
  if (typeof value !== "boolean")
    throw new TypeError(`${what}: expected true or false, got ${shown(value)}`);
  return value;
}

export function requireFunction<T>(value: T, what: string): T {
  if (typeof value !== "function")
    throw new TypeError(`${what}: expected a function, got ${shown(value)}`);
  return value;
}
