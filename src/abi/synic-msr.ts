/**
 * SynIC MSRs and their bit layouts (TLFS "Inter-Partition Communication" > "SynIC MSRs").
 *
 * 64-bit register values are handled as two u32 halves (lo = bits 31:0, hi = bits 63:32) on the
 * hot path; the helpers here read the halves.
 */
export const HvSynicMsr = {
  SCONTROL: 0x40000080,
  SVERSION: 0x40000081,
  SIEFP: 0x40000082,
  SIMP: 0x40000083,
  EOM: 0x40000084,
  SINT0: 0x40000090,
  SINT15: 0x4000009f,
} as const;

/** SCONTROL bit 0: the SynIC is enabled. */
export const SCONTROL_ENABLE_BIT = 0x1;

/** SIEFP / SIMP bit 0: the page is enabled. */
export const SYNIC_PAGE_ENABLE_BIT = 0x1;
/** SIEFP / SIMP bits 63:12: the guest physical page number (GPA >> 12). */
export const SYNIC_PAGE_GPA_SHIFT = 12;

/** SINTx bits 7:0: the interrupt vector. */
export const SINT_VECTOR_MASK = 0xff;
/** SINTx bit 16: masked. */
export const SINT_MASKED_BIT = 1 << 16;
/** SINTx bit 17: auto-EOI. */
export const SINT_AUTO_EOI_BIT = 1 << 17;
/** SINTx bit 18: polling (TLFS: "Polling" / x64 bit 18). */
export const SINT_POLLING_BIT = 1 << 18;
/** SINTx reset value: masked, vector 0. */
export const SINT_RESET_VALUE = SINT_MASKED_BIT;

/** The MSR number of SINTn. */
export function sintMsr(sint: number): number {
  return HvSynicMsr.SINT0 + sint;
}
