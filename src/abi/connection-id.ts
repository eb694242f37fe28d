import { BitLayout, type ValuesOf } from "./bit-layout.js";

/**
 * HV_CONNECTION_ID (TLFS data type HV_CONNECTION_ID; docs/signal-event.md §2): a u32 whose bits
 * 23:0 are the connection id and bits 31:24 are reserved, must be zero.
 */
export const HV_CONNECTION_ID = new BitLayout("HV_CONNECTION_ID", 32, {
  id: { lsb: 0, width: 24, label: "Id" },
  reserved: { lsb: 24, width: 8, kind: "reserved-zero", label: "Reserved" },
});

export type ConnectionIdParts = ValuesOf<typeof HV_CONNECTION_ID>;

export const CONNECTION_ID_MASK = HV_CONNECTION_ID.fields.id.inPlace;
export const CONNECTION_ID_MAX = CONNECTION_ID_MASK;
export const CONNECTION_ID_RESERVED_MASK = HV_CONNECTION_ID.reservedZeroLo;

/** Splits a raw u32 HV_CONNECTION_ID into its id and reserved bits. Total over u32. */
export function splitConnectionId(raw: number): ConnectionIdParts {
  return HV_CONNECTION_ID.decode(raw >>> 0);
}

/** True when the reserved bits 31:24 are zero. */
export function isValidConnectionId(raw: number): boolean {
  return (raw & CONNECTION_ID_RESERVED_MASK) === 0;
}
