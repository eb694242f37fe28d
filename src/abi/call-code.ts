/**
 * Hypercall call codes (TLFS "Hypercall Interface" > "Hypercall Reference"; the SynIC family from
 * "Inter-Partition Communication").
 */
export const HvCallCode = {
  PostMessage: 0x005c,
  SignalEvent: 0x005d,
  CreatePort: 0x0095,
  DeletePort: 0x0096,
  ConnectPort: 0x0097,
  GetPortProperty: 0x0098,
  DisconnectPort: 0x0099,
} as const;

export type HvCallCodeName = keyof typeof HvCallCode;

const NAMES_BY_CODE = new Map<number, HvCallCodeName>(
  (Object.keys(HvCallCode) as HvCallCodeName[]).map((name) => [HvCallCode[name], name]),
);

/** "HvCallSignalEvent" for 0x005D; undefined for a code this table does not name. */
export function hvCallCodeName(code: number): string | undefined {
  const name = NAMES_BY_CODE.get(code);
  return name === undefined ? undefined : `HvCall${name}`;
}
