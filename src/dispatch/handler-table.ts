import { postMessageRow } from "./handlers/post-message.js";
import { signalEventRow } from "./handlers/signal-event.js";
import type { HypercallRow } from "./hypercall-row.js";

/**
 * Every hypercall the dispatcher implements, one row each (docs/hypercall-abi.md §6). Adding one is
 * its handler file plus one row here.
 */
export const HANDLER_TABLE: readonly HypercallRow[] = [postMessageRow, signalEventRow];
