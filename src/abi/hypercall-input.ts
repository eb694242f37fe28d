/**
 * Where a hypercall's input and output live (TLFS "Hypercall Interface" > "Hypercall Inputs",
 * "Register Mapping for Hypercall Inputs"; docs/hypercall-abi.md §4).
 */

/**
 * Memory input and output: the GPA must be 8-byte aligned and the block must not cross a page
 * boundary, else HV_STATUS_INVALID_ALIGNMENT.
 */
export const HYPERCALL_INPUT_ALIGNMENT = 8;

/** Fast (register-based, non-XMM) input: RDX and R8, 16 bytes at most; no output block. */
export const FAST_INPUT_MAX_BYTES = 16;
