/**
 * SIEF page geometry (TLFS "Inter-Partition Communication" > "SynIC Event Flags Page" and the
 * HV_SYNIC_EVENT_FLAGS data type).
 */

/** Number of synthetic interrupt sources per SynIC (TLFS "Synthetic Interrupt Source"). */
export const SINT_COUNT = 16;
/** Size of one HV_SYNIC_EVENT_FLAGS structure: 2048 bits. */
export const EVENT_FLAGS_BYTES_PER_SINT = 256;
/** Event flags per SINT (HV_EVENT_FLAGS_COUNT = 256 * 8). */
export const EVENT_FLAGS_PER_SINT = EVENT_FLAGS_BYTES_PER_SINT * 8;
/** The SIEF page is one 4 KiB guest page (HV_PAGE_SIZE). */
export const SIEF_PAGE_BYTES = SINT_COUNT * EVENT_FLAGS_BYTES_PER_SINT;
