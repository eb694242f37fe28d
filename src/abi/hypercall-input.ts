/**
 * Where a hypercall's input comes from (TLFS "Hypercall Interface" > "Hypercall Inputs" and
 * "Register Mapping for Hypercall Inputs").
 */

/**
 * Memory-based input: the input GPA must be 8-byte aligned and the input block must not cross a
 * page boundary, else HV_STATUS_INVALID_ALIGNMENT.
 */
export const HYPERCALL_INPUT_ALIGNMENT = 8;

/** Fast (register-based, non-XMM) input: RDX and R8, 16 bytes at most. */
export const FAST_INPUT_MAX_BYTES = 16;
