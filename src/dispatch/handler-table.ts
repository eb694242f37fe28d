import type { HypercallHandler } from "./hypercall-handler.js";
import { signalEventHandler } from "./handlers/signal-event.js";

/**
 * Every hypercall the dispatcher implements. Adding one is a handler file plus one row here.
 */
export const HANDLER_TABLE: readonly HypercallHandler[] = [signalEventHandler];
