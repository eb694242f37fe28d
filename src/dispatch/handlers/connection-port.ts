import { HvStatus } from "../../abi/hv-status.js";
import type { MachineTables } from "../../state/machine-tables.js";

/**
 * Steps 6 and 7, the same in HvCallSignalEvent and HvCallPostMessage (docs/signal-event.md §4,
 * docs/post-message.md §3): the connection must be one the caller owns, and its port must exist,
 * not be deleted, belong to an active partition and be of the call's port type.
 */
export const ConnectionStep = { Connection: 6, Port: 7 } as const;

/**
 * Step 7 for the port a connection resolved to (a port slot or NO_PORT): SUCCESS, or
 * INVALID_PORT_ID when the port is missing or deleted, its owner is not active, or it is not a port
 * of `type`.
 */
export function portStatus(t: MachineTables, q: number, type: number): number {
  if (q < 0) return HvStatus.INVALID_PORT_ID;
  if (
    t.portDeleted[q] !== 0 ||
    t.partitionActive[t.portPartition[q]!] === 0 ||
    t.portType[q] !== type
  ) {
    return HvStatus.INVALID_PORT_ID;
  }
  return HvStatus.SUCCESS;
}
