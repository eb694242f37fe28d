/** HV_PORT_TYPE (TLFS "Inter-Partition Communication" > HV_PORT_INFO). */
export const HvPortType = {
  Message: 1,
  Event: 2,
  Monitor: 3,
} as const;

export type HvPortTypeValue = (typeof HvPortType)[keyof typeof HvPortType];

/** The scenario-file spelling of each port type (docs/cli.md §2). */
export const PORT_TYPE_NAMES = {
  message: HvPortType.Message,
  event: HvPortType.Event,
  monitor: HvPortType.Monitor,
} as const;

export type PortTypeName = keyof typeof PORT_TYPE_NAMES;
