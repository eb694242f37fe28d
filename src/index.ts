// hvcall: the Hyper-V hypercall ABI, hypervisor side. Public library API.

export * from "./abi/call-code.js";
export * from "./abi/connection-id.js";
export * from "./abi/hv-page.js";
export * from "./abi/hv-status.js";
export * from "./abi/hypercall-control.js";
export * from "./abi/hypercall-input.js";
export * from "./abi/hypercall-result.js";
export * from "./abi/partition-privilege.js";
export * from "./abi/port-type.js";
export * from "./abi/sief-page.js";
export * from "./abi/signal-event-input.js";
export * from "./abi/synic-msr.js";
export * from "./abi/u64.js";
export * from "./abi/vp-index.js";
export { type BatchOptions, BatchRunner } from "./dispatch/batch-runner.js";
export { Dispatcher } from "./dispatch/dispatcher.js";
export { HANDLER_TABLE } from "./dispatch/handler-table.js";
export { signalEvent, signalEventHandler } from "./dispatch/handlers/signal-event.js";
export { type HypercallOutcome, type HypercallRequest, hypercall } from "./dispatch/hypercall.js";
export type { HypercallHandler } from "./dispatch/hypercall-handler.js";
export * from "./dispatch/hypercall-record.js";
export {
  MAX_SIGNAL_THREADS,
  runThreaded,
  SignalPool,
  type SignalPoolOptions,
} from "./parallel/signal-pool.js";
export { GuestMemory } from "./state/guest-memory.js";
export { loadMachine, type MachineOptions } from "./state/load-machine.js";
export { Machine, type SintAssertionListener } from "./state/machine.js";
export { MachineSnapshot } from "./state/machine-snapshot.js";
export type { MachineTables } from "./state/machine-tables.js";
export type * from "./state/scenario-document.js";
export { dumpScenario } from "./state/scenario-dump.js";
export { ScenarioError } from "./state/scenario-error.js";
export { parseScenario, parseScenarioText } from "./state/scenario-schema.js";
export { SiefImage } from "./state/sief-image.js";
export {
  type SintRegister,
  type SynicPageRegister,
  SynicRegisters,
} from "./state/synic-registers.js";
