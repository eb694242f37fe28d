/**
 * The step specs the generators of op-arb.ts produce: picks, not values — resolve.ts turns them
 * into trace ops against the scenario and what the trace has written so far.
 */
export type Front = "engine" | "dispatch" | "hypercall" | "batch";

export type ControlSpec =
  | { kind: "good" }
  /** The call's code and form with one more bit set (17..63; 16 toggles the fast bit). */
  | { kind: "bit"; bit: number }
  /** Another call code, maybe with more bits. */
  | { kind: "code"; code: number; high: bigint }
  | { kind: "random"; value: bigint };

export type GpaSpec =
  | { kind: "ram"; page: number; slot: number }
  | { kind: "ram-end" }
  | { kind: "crossing"; back: number }
  | { kind: "misaligned"; offset: number; slot: number }
  | { kind: "overlay"; page: "sief" | "sim"; slot: number }
  | { kind: "unbacked"; gpa: bigint };

export type ConnSpec =
  /** One of the caller's connections whose port has the call's type (any of them if none). */
  | { kind: "typed"; pick: number }
  | { kind: "own"; pick: number }
  | { kind: "other"; pick: number }
  | { kind: "random"; value: number };

export type FlagSpec =
  | { kind: "inside"; fraction: number }
  | { kind: "edge"; edge: "zero" | "last" | "count" | "after" }
  | { kind: "random"; value: number };

export type SintPick = { kind: "targeted"; pick: number } | { kind: "any"; sint: number };

/** A VP and SINT: one the ops' `who` names, or the target of a message port (pick among all). */
export type SlotPick = { kind: "who"; who: Who; sint: SintPick } | { kind: "port"; pick: number };

/** The calling (or acting) partition and VP: picks among partitions that have VPs. */
export interface Who {
  partitionPick: number;
  vpPick: number;
}

export interface InputCommon {
  who: Who;
  front: Front;
  fast: boolean;
  control: ControlSpec;
  gpa: GpaSpec;
  conn: ConnSpec;
  /** HV_CONNECTION_ID bits 31:24. */
  connReserved: number;
  rsvdZ: number;
  r8: bigint | null;
  /** The hypercall (or batch record) issued this many times after the one write of the block. */
  repeat: number;
}

export interface SignalSpec extends InputCommon {
  kind: "signal";
  flag: FlagSpec;
}

export interface PostSpec extends InputCommon {
  kind: "post";
  messageType: number;
  payloadSize: number;
  payloadSeed: number;
  /** First empty the SIM slot the message is headed for (a write of 0; no EOM). */
  emptyFirst: boolean;
}

export type MsrChange =
  | { reg: "scontrol"; enable: boolean; rsvdP: number }
  | { reg: "siefp" | "simp"; enable: boolean; page: "same" | "pool" | "other-vp"; pick: number }
  | {
      reg: "sint";
      sint: SintPick;
      value: "unmask" | "mask" | "poll" | "low-vector" | "random";
      raw: bigint;
    }
  | { reg: "sversion" | "unknown"; msr: number; raw: bigint };

export type OpSpec =
  | SignalSpec
  | PostSpec
  | { kind: "empty-slot"; slot: SlotPick; after: "none" | "eom" | "eoi" }
  | {
      kind: "page-write";
      who: Who;
      page: "sief" | "sim";
      sint: SintPick;
      offset: number;
      bytes: number[];
    }
  | { kind: "eom"; who: Who; value: bigint }
  | { kind: "eoi"; who: Who }
  | { kind: "wrmsr"; who: Who; change: MsrChange; upper: boolean }
  | { kind: "rdmsr"; who: Who; msr: number }
  | {
      kind: "read";
      slot: SlotPick;
      where: "sim-slot" | "sief-area" | "ram" | "unbacked";
      length: number;
    };

export type HostSpec =
  | { kind: "deletePort"; pick: number }
  | { kind: "setPartitionActive"; pick: number; active: boolean }
  | {
      kind: "setPrivilegeMask";
      pick: number;
      change: "toggle-36" | "toggle-37" | "random";
      raw: bigint;
    };

export type StepSpec = OpSpec | { kind: "host"; host: HostSpec };
