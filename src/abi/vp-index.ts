/** HV_VP_INDEX (TLFS "Virtual Processor Index"): a u32. */
export const HV_VP_INDEX_MAX = 0xffffffff;
/** HV_ANY_VP: "any virtual processor" target of a port (TLFS HV_PORT_INFO, HV_ANY_VP). */
export const HV_ANY_VP = 0xffffffff;
