import type { PortTypeName } from "../abi/port-type.js";
import type { QueuedMessageSpec } from "./queued-message-text.js";

/**
 * A validated, normalised scenario file (docs/cli.md §2). Every field has been
 * checked; defaults are filled in. 64-bit values are bigints (this is the load path, not the hot
 * path).
 */
export interface ScenarioDocument {
  readonly partitions: readonly PartitionSpec[];
}

export interface PartitionSpec {
  /** HV_PARTITION_ID: positive integer <= 2^53 - 1, unique in the file. */
  readonly id: number;
  readonly state: "active" | "inactive";
  /** HV_PARTITION_PRIVILEGE_MASK, from `privileges` (names) or `privilegeMask` (hex). */
  readonly privilegeMask: bigint;
  readonly vps: readonly VpSpec[];
  readonly ports: readonly PortSpec[];
  readonly connections: readonly ConnectionSpec[];
  readonly memory: readonly MemorySpec[];
}

export interface VpSpec {
  /** HV_VP_INDEX: u32, unique within the partition. */
  readonly index: number;
  readonly scontrol: bigint;
  readonly siefp: bigint;
  readonly simp: bigint;
  /** Exactly 16 entries; SINTs the file does not list hold the reset value 0x10000. */
  readonly sints: readonly bigint[];
  /** Exactly 16 lists: the SIEF flags already set per SINT (a reloaded dump); usually empty. */
  readonly siefFlags: readonly (readonly number[])[];
  /** Exactly 16 counts: interrupts already asserted per SINT (a reloaded dump); usually 0. */
  readonly sintAssertions: readonly number[];
  /** Exactly 16 entries: the 256 bytes of each SIM slot (a reloaded dump), undefined = zeros. */
  readonly simSlots: readonly (Uint8Array | undefined)[];
  /** Exactly 16 lists: the messages queued behind each SIM slot, oldest first (a reloaded dump). */
  readonly messageQueues: readonly (readonly QueuedMessageSpec[])[];
}

export interface PortSpec {
  /** HV_PORT_ID: u32, unique within the owning partition. */
  readonly id: number;
  readonly type: PortTypeName;
  /** u32; HV_ANY_VP (0xFFFFFFFF) when the file says "any". */
  readonly targetVp: number;
  /** 0..15 */
  readonly targetSint: number;
  /** Event ports: u16, base + count <= 2048. Zero for other port types. */
  readonly baseFlagNumber: number;
  readonly flagCount: number;
  readonly deleted: boolean;
}

export interface ConnectionSpec {
  /** HV_CONNECTION_ID value 0..0xFFFFFF, unique within the owning partition. */
  readonly id: number;
  /** Id of the partition owning the port (must exist in the file). */
  readonly portPartition: number;
  /** The port id; the port need not exist. */
  readonly portId: number;
}

export interface MemorySpec {
  /** Guest physical address of the first byte. */
  readonly gpa: bigint;
  readonly bytes: Uint8Array;
}
