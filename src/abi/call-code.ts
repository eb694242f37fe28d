/**
 * Hypercall call codes: the TLFS "Hypercall Reference" table (hypercalls/overview) and, for the
 * SynIC port family it leaves out, the TLFS hypercall pages as Linux `hvgdk_mini.h` and OpenVMM
 * `hvdef` number them (docs/hypercall-abi.md §1). Each entry: the name without the "HvCall"
 * prefix, the code and the TLFS call class.
 */
export const HV_CALL_CODES = [
  ["SwitchVirtualAddressSpace", 0x0001, "simple"],
  ["FlushVirtualAddressSpace", 0x0002, "simple"],
  ["FlushVirtualAddressList", 0x0003, "rep"],
  ["NotifyLongSpinWait", 0x0008, "simple"],
  ["SendSyntheticClusterIpi", 0x000b, "simple"],
  ["ModifyVtlProtectionMask", 0x000c, "rep"],
  ["EnablePartitionVtl", 0x000d, "simple"],
  ["DisablePartitionVtl", 0x000e, "simple"],
  ["EnableVpVtl", 0x000f, "simple"],
  ["DisableVpVtl", 0x0010, "simple"],
  ["VtlCall", 0x0011, "simple"],
  ["VtlReturn", 0x0012, "simple"],
  ["FlushVirtualAddressSpaceEx", 0x0013, "simple"],
  ["FlushVirtualAddressListEx", 0x0014, "rep"],
  ["SendSyntheticClusterIpiEx", 0x0015, "simple"],
  ["GetVpRegisters", 0x0050, "rep"],
  ["SetVpRegisters", 0x0051, "rep"],
  ["DeletePort", 0x0058, "simple"],
  ["GetPortProperty", 0x005a, "simple"],
  ["DisconnectPort", 0x005b, "simple"],
  ["PostMessage", 0x005c, "simple"],
  ["SignalEvent", 0x005d, "simple"],
  ["RetargetDeviceInterrupt", 0x007e, "simple"],
  ["CreatePort", 0x0095, "simple"],
  ["ConnectPort", 0x0096, "simple"],
  ["StartVirtualProcessor", 0x0099, "simple"],
  ["GetVpIndexFromApicId", 0x009a, "rep"],
  ["FlushGuestPhysicalAddressSpace", 0x00af, "simple"],
  ["FlushGuestPhysicalAddressList", 0x00b0, "rep"],
  ["SignalEventDirect", 0x00c0, "simple"],
  ["PostMessageDirect", 0x00c1, "simple"],
] as const;

/** Extended hypercalls (TLFS "Hypercall Reference", extended table): the HvExtCall prefix. */
export const HV_EXT_CALL_CODES = [
  ["QueryCapabilities", 0x8001, "simple"],
  ["GetBootZeroedMemory", 0x8002, "simple"],
  ["MemoryHeatHint", 0x8003, "simple"],
  ["EpfSetup", 0x8004, "simple"],
  ["MemoryHeatHintAsync", 0x8006, "simple"],
] as const;

type CallName = (typeof HV_CALL_CODES)[number][0];

/** Call codes by name, e.g. HvCallCode.SignalEvent = 0x005D. */
export const HvCallCode = Object.fromEntries(HV_CALL_CODES.map(([n, c]) => [n, c])) as {
  readonly [K in CallName]: Extract<
    (typeof HV_CALL_CODES)[number],
    readonly [K, number, string]
  >[1];
};

export type HvCallCodeName = CallName;

const BY_CODE = new Map<number, { readonly name: string; readonly kind: "simple" | "rep" }>();
for (const [name, code, kind] of HV_CALL_CODES) BY_CODE.set(code, { name: `HvCall${name}`, kind });
for (const [name, code, kind] of HV_EXT_CALL_CODES)
  BY_CODE.set(code, { name: `HvExtCall${name}`, kind });

/** "HvCallSignalEvent" for 0x005D; undefined for a code the TLFS tables do not name. */
export function hvCallCodeName(code: number): string | undefined {
  return BY_CODE.get(code)?.name;
}

/** The TLFS call class of a named code ("simple" or "rep"), undefined when unnamed. */
export function hvCallClass(code: number): "simple" | "rep" | undefined {
  return BY_CODE.get(code)?.kind;
}
