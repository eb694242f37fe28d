/**
 * HV_CONNECTION_ID (TLFS data type HV_CONNECTION_ID): a 32-bit value whose bits 23:0 are the
 * connection id and bits 31:24 are reserved (must be zero).
 */
export const CONNECTION_ID_BITS = 24;
export const CONNECTION_ID_MASK = 0x00ffffff;
export const CONNECTION_ID_MAX = CONNECTION_ID_MASK;
export const CONNECTION_ID_RESERVED_MASK = 0xff000000;

export interface ConnectionIdParts {
  /** Bits 23:0. */
  readonly id: number;
  /** Bits 31:24 (must be zero for a valid HV_CONNECTION_ID). */
  readonly reserved: number;
}

/** Splits a raw u32 HV_CONNECTION_ID into its id and reserved bits. Total over u32. */
export function splitConnectionId(raw: number): ConnectionIdParts {
  return { id: raw & CONNECTION_ID_MASK, reserved: (raw >>> CONNECTION_ID_BITS) & 0xff };
}

/** Joins id (23:0) and reserved (31:24) back into the raw u32. */
export function joinConnectionId(parts: ConnectionIdParts): number {
  return ((parts.reserved & 0xff) * 0x1000000 + (parts.id & CONNECTION_ID_MASK)) >>> 0;
}

/** True when the reserved bits 31:24 are zero. */
export function isValidConnectionId(raw: number): boolean {
  return (raw & CONNECTION_ID_RESERVED_MASK) === 0;
}
