/**
 * HV_PARTITION_PRIVILEGE_MASK (TLFS "Partition Privilege Flags"; the high half mirrors
 * CPUID 0x40000003 EBX, the low half CPUID 0x40000003 EAX).
 *
 * Each entry is the bit number in the 64-bit mask.
 */
export const PartitionPrivilegeBit = {
  // Low 32 bits: access to virtual MSRs (CPUID 0x40000003 EAX).
  AccessVpRunTimeReg: 0,
  AccessPartitionReferenceCounter: 1,
  AccessSynicRegs: 2,
  AccessSyntheticTimerRegs: 3,
  AccessIntrCtrlRegs: 4,
  AccessHypercallMsrs: 5,
  AccessVpIndex: 6,
  AccessResetReg: 7,
  AccessStatsReg: 8,
  AccessPartitionReferenceTsc: 9,
  AccessGuestIdleReg: 10,
  AccessFrequencyRegs: 11,
  AccessDebugRegs: 12,
  AccessReenlightenmentControls: 13,
  // High 32 bits: access to hypercalls (CPUID 0x40000003 EBX, bit n -> mask bit 32 + n).
  CreatePartitions: 32,
  AccessPartitionId: 33,
  AccessMemoryPool: 34,
  AdjustMessageBuffers: 35,
  PostMessages: 36,
  SignalEvents: 37,
  CreatePort: 38,
  ConnectPort: 39,
  AccessStats: 40,
  Debugging: 43,
  CpuManagement: 44,
  ConfigureProfiler: 45,
  EnableExpandedStackwalking: 46,
  AccessVsm: 48,
  AccessVpRegisters: 49,
  EnableExtendedHypercalls: 52,
  StartVirtualProcessor: 53,
} as const;

export type PartitionPrivilegeName = keyof typeof PartitionPrivilegeBit;

export const PARTITION_PRIVILEGE_NAMES = Object.keys(
  PartitionPrivilegeBit,
) as PartitionPrivilegeName[];

export function isPartitionPrivilegeName(name: string): name is PartitionPrivilegeName {
  return Object.hasOwn(PartitionPrivilegeBit, name);
}

/** The 64-bit mask with exactly the named privileges set. */
export function privilegeMaskOf(names: readonly PartitionPrivilegeName[]): bigint {
  let mask = 0n;
  for (const name of names) mask |= 1n << BigInt(PartitionPrivilegeBit[name]);
  return mask;
}

/** The names of the privilege bits set in a mask (bits without a TLFS name are left out). */
export function privilegeNamesOf(mask: bigint): PartitionPrivilegeName[] {
  return PARTITION_PRIVILEGE_NAMES.filter(
    (name) => ((mask >> BigInt(PartitionPrivilegeBit[name])) & 1n) === 1n,
  );
}
