// hvcall: the Hyper-V hypercall ABI, hypervisor side. The public library API, as the README
// documents it. The wire formats (bit layouts, blocks, constants) are the `hvcall/abi` subpath.

export { HvCallCode, hvCallCodeName } from "./abi/call-code.js";
export { HvStatus, type HvStatusName, hvStatusFromName, hvStatusName } from "./abi/hv-status.js";
export { PartitionPrivilegeBit, type PartitionPrivilegeName } from "./abi/partition-privilege.js";
export { type BatchOptions, BatchRunner } from "./dispatch/batch-runner.js";
export { Dispatcher } from "./dispatch/dispatcher.js";
export { type Explanation, explainLastCall } from "./dispatch/explain.js";
export {
  type HypercallOptions,
  type HypercallOutcome,
  type HypercallRequest,
  hypercall,
} from "./dispatch/hypercall.js";
export type { HypercallFrame } from "./dispatch/hypercall-frame.js";
export { encodeRecord, RECORD_SIZE, RESULT_WORDS } from "./dispatch/hypercall-record.js";
export type { HypercallRow } from "./dispatch/hypercall-row.js";
export {
  MAX_SIGNAL_THREADS,
  runThreaded,
  SignalPool,
  type SignalPoolOptions,
} from "./parallel/signal-pool.js";
export { loadMachine, type MachineOptions } from "./state/load-machine.js";
export {
  type ListenerErrorHandler,
  Machine,
  type SintAssertionListener,
  type SintSource,
} from "./state/machine.js";
export type { MachineSnapshot } from "./state/machine-snapshot.js";
export type * from "./state/scenario-document.js";
export { dumpScenario } from "./state/scenario-dump.js";
export { ScenarioError } from "./state/scenario-error.js";
export { parseScenario, parseScenarioText } from "./state/scenario-schema.js";
export type { MsrOutcome } from "./state/synic-msr-access.js";
export type { SynicRegisters } from "./state/synic-registers.js";
