import { SINT_COUNT } from "../abi/sief-page.js";
import {
  HvSynicMsr,
  SCONTROL_ENABLE_BIT,
  SINT_AUTO_EOI_BIT,
  SINT_MASKED_BIT,
  SINT_POLLING_BIT,
  SINT_VECTOR_MASK,
  SYNIC_PAGE_ENABLE_BIT,
  SYNIC_PAGE_GPA_SHIFT,
} from "../abi/synic-msr.js";
import { halvesToU64, u64ToHalves } from "../abi/u64.js";

/**
 * Where each SynIC MSR of a VP lives in the machine's register file: one Uint32Array, MSR_STRIDE
 * u32 words per VP slot, each MSR as (lo, hi).
 */
export const MSR_SCONTROL = 0;
export const MSR_SIEFP = 2;
export const MSR_SIMP = 4;
export const MSR_SINT0 = 6;
export const MSR_STRIDE = MSR_SINT0 + 2 * SINT_COUNT;

/** The register-file word offset of a SynIC MSR number, or -1 when the model does not hold it. */
export function msrOffset(msr: number): number {
  if (msr === HvSynicMsr.SCONTROL) return MSR_SCONTROL;
  if (msr === HvSynicMsr.SIEFP) return MSR_SIEFP;
  if (msr === HvSynicMsr.SIMP) return MSR_SIMP;
  if (Number.isInteger(msr) && msr >= HvSynicMsr.SINT0 && msr <= HvSynicMsr.SINT15) {
    return MSR_SINT0 + 2 * (msr - HvSynicMsr.SINT0);
  }
  return -1;
}

/** A SINTx register, every field named (TLFS "SINTx Registers"). */
export interface SintRegister {
  readonly vector: number;
  readonly masked: boolean;
  readonly autoEoi: boolean;
  readonly polling: boolean;
}

/** A SIEFP or SIMP register (TLFS "SIEFP Register" / "SIMP Register"). */
export interface SynicPageRegister {
  readonly enabled: boolean;
  /** Guest physical page number (bits 63:12). */
  readonly gpaPage: bigint;
}

export function decodeSint(lo: number): SintRegister {
  return {
    vector: lo & SINT_VECTOR_MASK,
    masked: (lo & SINT_MASKED_BIT) !== 0,
    autoEoi: (lo & SINT_AUTO_EOI_BIT) !== 0,
    polling: (lo & SINT_POLLING_BIT) !== 0,
  };
}

export function decodeSynicPage(value: bigint): SynicPageRegister {
  const { lo } = u64ToHalves(value);
  return {
    enabled: (lo & SYNIC_PAGE_ENABLE_BIT) !== 0,
    gpaPage: value >> BigInt(SYNIC_PAGE_GPA_SHIFT),
  };
}

/**
 * Typed accessors over one VP's SynIC registers in the register file. Reads are live (they see later
 * writes); writes go through `Machine.writeMsr` so that derived caches stay right.
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
    return decodeSynicPage(this.siefp);
  }
  get messagePage(): SynicPageRegister {
    return decodeSynicPage(this.simp);
  }
  sint(sint: number): SintRegister {
    checkSint(sint);
    return decodeSint(this.file[this.base + MSR_SINT0 + 2 * sint]!);
  }
}

export function checkSint(sint: number): void {
  if (!(Number.isInteger(sint) && sint >= 0 && sint < SINT_COUNT)) {
    throw new RangeError(`SINT ${sint} is not 0..${SINT_COUNT - 1}`);
  }
}
