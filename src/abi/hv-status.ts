/**
 * HV_STATUS: the 16-bit result code in bits 15:0 of every hypercall result value.
 *
 * Primary source: Hyper-V TLFS, "Hypercall Interface" > "Hypercall Status Codes", and the TLFS
 * data-type page "HV_STATUS" (learn.microsoft.com/virtualization/hyper-v-on-windows/tlfs/datatypes/hv_status).
 * The TLFS table names only part of the space; the other codes come from these sources, which agree
 * on every number below unless a comment says otherwise:
 *   - Microsoft OpenVMM, crate `hvdef` (vm/hv1/hvdef/src/lib.rs), `HvError`;
 *   - Linux, include/hyperv/hvgdk_mini.h (formerly include/asm-generic/hyperv-tlfs.h), including the
 *     mshv root-partition patches that add the 0x0073/0x0075/0x0083 memory codes;
 *   - Microsoft's Hyper-V UEFI firmware header HvStatus.h (MsvmPkg), as mirrored in Mile.HyperV;
 *   - the Windows SDK NTSTATUS mirror of each code (STATUS_HV_* = 0xC0350000 | code), via windows-sys.
 *
 * Deliberately left out: 0x0001 and 0x000F (reserved), and the legacy per-feature restore codes
 * 0x0021-0x004F (…_SSE3_NOT_SUPPORTED, …_XSAVE_LEGACY_SSE_NOT_SUPPORTED, …) of old WDK 7.1-era
 * hvgdk.h copies: current sources fold them into PROCESSOR_FEATURE_NOT_SUPPORTED, and 0x0033
 * collides with INSUFFICIENT_BUFFER.
 */
export const HvStatus = {
  SUCCESS: 0x0000,
  INVALID_HYPERCALL_CODE: 0x0002,
  INVALID_HYPERCALL_INPUT: 0x0003,
  INVALID_ALIGNMENT: 0x0004,
  INVALID_PARAMETER: 0x0005,
  ACCESS_DENIED: 0x0006,
  INVALID_PARTITION_STATE: 0x0007,
  OPERATION_DENIED: 0x0008,
  UNKNOWN_PROPERTY: 0x0009,
  PROPERTY_VALUE_OUT_OF_RANGE: 0x000a,
  INSUFFICIENT_MEMORY: 0x000b,
  // Absent from Linux hvgdk_mini.h; OpenVMM, MsvmPkg and the NTSTATUS mirror have it.
  PARTITION_TOO_DEEP: 0x000c,
  INVALID_PARTITION_ID: 0x000d,
  INVALID_VP_INDEX: 0x000e,
  NOT_FOUND: 0x0010,
  INVALID_PORT_ID: 0x0011,
  INVALID_CONNECTION_ID: 0x0012,
  // One third-party C++ header gives 0x0033 (a typo colliding with INSUFFICIENT_BUFFER); TLFS: 0x0013.
  INSUFFICIENT_BUFFERS: 0x0013,
  NOT_ACKNOWLEDGED: 0x0014,
  INVALID_VP_STATE: 0x0015,
  ACKNOWLEDGED: 0x0016,
  INVALID_SAVE_RESTORE_STATE: 0x0017,
  INVALID_SYNIC_STATE: 0x0018,
  OBJECT_IN_USE: 0x0019,
  INVALID_PROXIMITY_DOMAIN_INFO: 0x001a,
  NO_DATA: 0x001b,
  INACTIVE: 0x001c,
  NO_RESOURCES: 0x001d,
  FEATURE_UNAVAILABLE: 0x001e,
  PARTIAL_PACKET: 0x001f,
  // Legacy hvgdk.h copies (VirtualBox) name 0x0020 PROCESSOR_FEATURE_SSE3_NOT_SUPPORTED.
  PROCESSOR_FEATURE_NOT_SUPPORTED: 0x0020,
  PROCESSOR_CACHE_LINE_FLUSH_SIZE_INCOMPATIBLE: 0x0030,
  // Legacy hvgdk.h copies use 0x0033 for PROCESSOR_FEATURE_XSAVE_LEGACY_SSE_NOT_SUPPORTED.
  INSUFFICIENT_BUFFER: 0x0033,
  INCOMPATIBLE_PROCESSOR: 0x0037,
  INSUFFICIENT_DEVICE_DOMAINS: 0x0038,
  CPUID_FEATURE_VALIDATION_ERROR: 0x003c,
  CPUID_XSAVE_FEATURE_VALIDATION_ERROR: 0x003d,
  PROCESSOR_STARTUP_TIMEOUT: 0x003e,
  SMX_ENABLED: 0x003f,
  INVALID_LP_INDEX: 0x0041,
  INVALID_REGISTER_VALUE: 0x0050,
  INVALID_VTL_STATE: 0x0051,
  NX_NOT_DETECTED: 0x0055,
  INVALID_DEVICE_ID: 0x0057,
  INVALID_DEVICE_STATE: 0x0058,
  PENDING_PAGE_REQUESTS: 0x0059,
  PAGE_REQUEST_INVALID: 0x0060,
  KEY_ALREADY_EXISTS: 0x0065,
  DEVICE_ALREADY_IN_DOMAIN: 0x0066,
  INVALID_CPU_GROUP_ID: 0x006f,
  INVALID_CPU_GROUP_STATE: 0x0070,
  OPERATION_FAILED: 0x0071,
  NOT_ALLOWED_WITH_NESTED_VIRT_ACTIVE: 0x0072,
  INSUFFICIENT_ROOT_MEMORY: 0x0073,
  EVENT_BUFFER_ALREADY_FREED: 0x0074,
  // Linux mshv only (hvgdk_mini.h); the other sources omit it, none contradicts it.
  INSUFFICIENT_CONTIGUOUS_MEMORY: 0x0075,
  // Linux spells it TIME_OUT, OpenVMM `Timeout`; MsvmPkg and the TLFS 6.0b-based header omit it.
  TIME_OUT: 0x0078,
  // Absent from OpenVMM `HvError`; Linux, Mile.HyperV (TLFS 6.0b) and NTSTATUS 0xC0350079 have it.
  CALL_PENDING: 0x0079,
  // Linux mshv only (hvgdk_mini.h root-memory deposit patches); none contradicts it.
  INSUFFICIENT_CONTIGUOUS_ROOT_MEMORY: 0x0083,
  VTL_ALREADY_ENABLED: 0x0086,
  // OpenVMM `HvError` only; none contradicts it.
  UNKNOWN_REGISTER_NAME: 0x0087,
} as const;

/** A status name without the HV_STATUS_ prefix, e.g. "SUCCESS". */
export type HvStatusName = keyof typeof HvStatus;

/** A named status value. */
export type HvStatusCode = (typeof HvStatus)[HvStatusName];

/** Every name in HvStatus, in ascending code order. */
export const HV_STATUS_NAMES: readonly HvStatusName[] = Object.freeze(
  Object.keys(HvStatus) as HvStatusName[],
);

const PREFIX = "HV_STATUS_";
const CODE_SPACE = 0x10000;

/** Full "HV_STATUS_…" strings indexed by code; undefined where a code has no name. Built once. */
const NAME_BY_CODE: (string | undefined)[] = new Array<string | undefined>(CODE_SPACE).fill(
  undefined,
);

/** Both spellings of every name ("SUCCESS" and "HV_STATUS_SUCCESS") to the code. */
const CODE_BY_NAME = new Map<string, number>();

for (const name of HV_STATUS_NAMES) {
  const code = HvStatus[name];
  NAME_BY_CODE[code] = PREFIX + name;
  CODE_BY_NAME.set(name, code);
  CODE_BY_NAME.set(PREFIX + name, code);
}

function isCodeIndex(code: number): boolean {
  return Number.isInteger(code) && code >= 0 && code < CODE_SPACE;
}

/**
 * "HV_STATUS_SUCCESS" for 0; "HV_STATUS_UNKNOWN_0x1234" for a code with no name (never throws,
 * any number). Known codes return a precomputed string, so the call allocates nothing.
 * Unknown non-negative integers print as at least four uppercase hex digits; any other number
 * (negative, fractional, NaN, infinite) prints with String(), e.g. "HV_STATUS_UNKNOWN_-1".
 * The argument is not masked: pass the 16-bit result field, not the whole 64-bit result value.
 */
export function hvStatusName(code: number): string {
  if (isCodeIndex(code)) {
    const known = NAME_BY_CODE[code];
    if (known !== undefined) return known;
  }
  if (Number.isInteger(code) && code >= 0) {
    return `${PREFIX}UNKNOWN_0x${code.toString(16).toUpperCase().padStart(4, "0")}`;
  }
  return `${PREFIX}UNKNOWN_${String(code)}`;
}

/**
 * The code for "HV_STATUS_SUCCESS" or "SUCCESS" (prefix optional, case-sensitive); undefined if
 * unknown, including the "HV_STATUS_UNKNOWN_0x…" form hvStatusName prints for unnamed codes.
 */
export function hvStatusFromName(name: string): number | undefined {
  return CODE_BY_NAME.get(name);
}

/** True when code is a named status. */
export function isKnownHvStatus(code: number): boolean {
  return isCodeIndex(code) && NAME_BY_CODE[code] !== undefined;
}
