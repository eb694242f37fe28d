import { SINT_COUNT } from "../abi/sief-page.js";
import {
  HV_SYNIC_PAGE_MSR,
  HV_SYNIC_SINT,
  HvSynicMsr,
  SCONTROL_ENABLE_BIT,
  type SintRegister,
  type SynicPageRegister,
} from "../abi/synic-msr.js";
import { halvesToU64 } from "../abi/u64.js";

/**
 * Where each stored SynIC MSR of a VP lives in the machine's register file: one Uint32Array,
 * MSR_STRIDE u32 words per VP slot, each MSR as (lo, hi). SVERSION (a constant) and EOM (a
 * trigger) are not stored (docs/synic.md §1).
 */
export const MSR_SCONTROL = 0;
export const MSR_SIEFP = 2;
export const MSR_SIMP = 4;
export const MSR_SINT0 = 6;
export const MSR_STRIDE = MSR_SINT0 + 2 * SINT_COUNT;

/** The register-file index of SINTn's low half for VP slot v (the bits every check reads). */
export function sintLoIndex(v: number, sint: number): number {
  return v * MSR_STRIDE + MSR_SINT0 + 2 * sint;
}

/** The register-file word offset of a stored SynIC MSR, or -1 for any other MSR number. */
export function msrOffset(msr: number): number {
  if (msr === HvSynicMsr.SCONTROL) return MSR_SCONTROL;
  if (msr === HvSynicMsr.SIEFP) return MSR_SIEFP;
  if (msr === HvSynicMsr.SIMP) return MSR_SIMP;
  if (Number.isInteger(msr) && msr >= HvSynicMsr.SINT0 && msr <= HvSynicMsr.SINT15) {
    return MSR_SINT0 + 2 * (msr - HvSynicMsr.SINT0);
  }
  return -1;
}

/**
 * Typed accessors over one VP's SynIC registers in the register file. Reads are live (they see
 * later writes); writes go through the Machine so that overlays and caches stay right.
 */
export class SynicRegisters {
  constructor(
    private readonly file: Uint32Array,
    private readonly base: number,
  ) {}

  private u64(offset: number): bigint {
    return halvesToU64(this.file[this.base + offset]!, this.file[this.base + offset + 1]!);
  }

  get scontrol(): bigint {
    return this.u64(MSR_SCONTROL);
  }
  get siefp(): bigint {
    return this.u64(MSR_SIEFP);
  }
  get simp(): bigint {
    return this.u64(MSR_SIMP);
  }
  sintValue(sint: number): bigint {
    checkSint(sint);
    return this.u64(MSR_SINT0 + 2 * sint);
  }

  get synicEnabled(): boolean {
    return (this.file[this.base + MSR_SCONTROL]! & SCONTROL_ENABLE_BIT) !== 0;
  }
  get siefPage(): SynicPageRegister {
    return this.page(MSR_SIEFP);
  }
  get messagePage(): SynicPageRegister {
    return this.page(MSR_SIMP);
  }
  sint(sint: number): SintRegister {
    checkSint(sint);
    const at = this.base + MSR_SINT0 + 2 * sint;
    return HV_SYNIC_SINT.decode(this.file[at]!, this.file[at + 1]!);
  }

  private page(offset: number): SynicPageRegister {
    return HV_SYNIC_PAGE_MSR.decode(
      this.file[this.base + offset]!,
      this.file[this.base + offset + 1]!,
    );
  }
}

export function checkSint(sint: number): void {
  if (!(Number.isInteger(sint) && sint >= 0 && sint < SINT_COUNT)) {
    throw new RangeError(`SINT ${sint} is not 0..${SINT_COUNT - 1}`);
  }
}
