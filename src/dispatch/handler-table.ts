import { signalEventHandler } from "./handlers/signal-event.js";
import type { HypercallHandler } from "./hypercall-handler.js";

/**
 * Every hypercall the dispatcher implements. Adding one is a handler file plus one row here.
 */
export const HANDLER_TABLE: readonly HypercallHandler[] = [signalEventHandler];
