import { BitLayout, type ValuesOf } from "./bit-layout.js";

/**
 * SynIC MSRs and their bit layouts (TLFS "Inter-Partition Communication" > "SynIC MSRs";
 * docs/synic.md §1). 64-bit register values travel as two u32 halves on the hot path.
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

/** What SVERSION reads (TLFS "SVERSION Register": version 1); it is read-only. */
export const SYNIC_VERSION = 1;

/** SCONTROL: bit 0 Enable, bits 63:1 RsvdP. */
export const HV_SYNIC_SCONTROL = new BitLayout("SCONTROL", 64, {
  enable: { lsb: 0, width: 1, kind: "flag", label: "Enable" },
  reserved: { lsb: 1, width: 63, kind: "reserved-preserve", label: "RsvdP", wide: true },
});

/** SIEFP and SIMP: bit 0 Enable, bits 11:1 RsvdP, bits 63:12 the page's GPA page number. */
export const HV_SYNIC_PAGE_MSR = new BitLayout("SIEFP / SIMP", 64, {
  enable: { lsb: 0, width: 1, kind: "flag", label: "Enable" },
  reserved: { lsb: 1, width: 11, kind: "reserved-preserve", label: "RsvdP" },
  gpaPage: { lsb: 12, width: 52, label: "Base Address (GPA page number)", wide: true },
});

/** SINTx: bits 7:0 Vector, 16 Masked, 17 AutoEOI, 18 Polling, the rest RsvdP. */
export const HV_SYNIC_SINT = new BitLayout("SINTx", 64, {
  vector: { lsb: 0, width: 8, label: "Vector" },
  reserved8to15: { lsb: 8, width: 8, kind: "reserved-preserve", label: "RsvdP" },
  masked: { lsb: 16, width: 1, kind: "flag", label: "Masked" },
  autoEoi: { lsb: 17, width: 1, kind: "flag", label: "AutoEOI" },
  polling: { lsb: 18, width: 1, kind: "flag", label: "Polling" },
  reserved19to63: { lsb: 19, width: 45, kind: "reserved-preserve", label: "RsvdP", wide: true },
});

export type SintRegister = ValuesOf<typeof HV_SYNIC_SINT>;
export type SynicPageRegister = ValuesOf<typeof HV_SYNIC_PAGE_MSR>;

export const SCONTROL_ENABLE_BIT = HV_SYNIC_SCONTROL.fields.enable.inPlace;
export const SYNIC_PAGE_ENABLE_BIT = HV_SYNIC_PAGE_MSR.fields.enable.inPlace;
/** SIEFP / SIMP: GPA = page number << 12 (the page number's lowest bit is bit 12 of the MSR). */
export const SYNIC_PAGE_GPA_SHIFT = HV_SYNIC_PAGE_MSR.fields.gpaPage.lsb;
export const SINT_VECTOR_MASK = HV_SYNIC_SINT.fields.vector.inPlace;
export const SINT_MASKED_BIT = HV_SYNIC_SINT.fields.masked.inPlace;
export const SINT_AUTO_EOI_BIT = HV_SYNIC_SINT.fields.autoEoi.inPlace;
export const SINT_POLLING_BIT = HV_SYNIC_SINT.fields.polling.inPlace;
/** SINTx reset value: masked, vector 0. */
export const SINT_RESET_VALUE = SINT_MASKED_BIT;
/**
 * Vectors 0..15 are not valid interrupt vectors (TLFS "SINTx Registers"); hvcall refuses an
 * unmasked SINT with such a vector with #GP (docs/synic.md §1).
 */
export const SINT_MIN_VECTOR = 16;

/** The MSR number of SINTn. */
export function sintMsr(sint: number): number {
  return HvSynicMsr.SINT0 + sint;
}

/** "SCONTROL", "SINT5", … for an MSR of the SynIC; undefined for any other number. */
export function synicMsrName(msr: number): string | undefined {
  if (msr >= HvSynicMsr.SINT0 && msr <= HvSynicMsr.SINT15) return `SINT${msr - HvSynicMsr.SINT0}`;
  for (const [name, value] of Object.entries(HvSynicMsr)) if (value === msr) return name;
  return undefined;
}
