import { HV_MESSAGE_SIZE } from "./hv-message.js";

/**
 * SIEF and SIM page geometry (TLFS "Inter-Partition Communication" > "SynIC Event Flags Page",
 * "SynIC Message Page"; data types HV_SYNIC_EVENT_FLAGS, HV_MESSAGE; docs/synic.md §3-§4).
 */

/** Number of synthetic interrupt sources per SynIC (TLFS "Synthetic Interrupt Source"). */
export const SINT_COUNT = 16;
/** Size of one HV_SYNIC_EVENT_FLAGS structure: 2048 bits. */
export const EVENT_FLAGS_BYTES_PER_SINT = 256;
/** Event flags per SINT (HV_EVENT_FLAGS_COUNT = 256 * 8). */
export const EVENT_FLAGS_PER_SINT = EVENT_FLAGS_BYTES_PER_SINT * 8;
/** The SIEF page is one 4 KiB guest page (HV_PAGE_SIZE): 16 HV_SYNIC_EVENT_FLAGS. */
export const SIEF_PAGE_BYTES = SINT_COUNT * EVENT_FLAGS_BYTES_PER_SINT;
/** The SIM page: one HV_MESSAGE slot per SINT, slot n at byte n * 256. */
export const SIM_SLOT_BYTES = HV_MESSAGE_SIZE;
export const SIM_PAGE_BYTES = SINT_COUNT * SIM_SLOT_BYTES;
