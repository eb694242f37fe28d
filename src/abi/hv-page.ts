/** HV_PAGE_SIZE: guest pages are 4 KiB (TLFS "Data Types" > HV_PAGE_SIZE). */
export const HV_PAGE_SHIFT = 12;
export const HV_PAGE_SIZE = 1 << HV_PAGE_SHIFT;
export const HV_PAGE_OFFSET_MASK = HV_PAGE_SIZE - 1;
