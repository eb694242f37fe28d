/**
 * The pieces of the resolver (resolve.ts) that need no resolver state: the shadow register
 * types, the numbers, control values, SynIC MSR values, host actions, payloads, flag numbers.
 */
import { PartitionPrivilegeBit } from "../../src/abi/partition-privilege.js";
import type { ControlSpec, FlagSpec, HostSpec, MsrChange } from "./op-arb.js";
import { FUZZ_SCRATCH_GPA, PAGE, U64_MAX } from "./scenario-arb.js";
import type { ScenarioConnection, ScenarioPort, Step } from "./scenario-types.js";

export const MSR_SCONTROL = 0x40000080;
export const MSR_SIEFP = 0x40000082;
export const MSR_SIMP = 0x40000083;
export const MSR_EOM = 0x40000084;
export const MSR_SINT0 = 0x40000090;
export const SIGNAL_EVENT = 0x5d;
export const POST_MESSAGE = 0x5c;
export const FAST = 0x10000;
const PAGE_POOL = [0x10n, 0x11n, 0x20n, 0x21n, 0x30n];

export interface VpRegs {
  index: number;
  scontrol: bigint;
  siefp: bigint;
  simp: bigint;
  sints: bigint[];
}

export interface PartitionView {
  id: number;
  vps: VpRegs[];
  ports: ScenarioPort[];
  connections: ScenarioConnection[];
  mask: bigint;
}

export function maskOf(names: readonly string[]): bigint {
  const bits = PartitionPrivilegeBit as Readonly<Record<string, number>>;
  return names.reduce((m, n) => m | (1n << BigInt(bits[n] ?? 0)), 0n);
}

export function le(value: bigint, bytes: number): number[] {
  return Array.from({ length: bytes }, (_, i) => Number((value >> BigInt(8 * i)) & 0xffn));
}

export function bytesHex(bytes: readonly number[]): string {
  return Buffer.from(bytes).toString("hex");
}

/** RCX for a call of `code` (fast or memory form) as the spec bends it. */
export function controlValue(c: ControlSpec, code: number, fast: boolean): bigint {
  const good = BigInt(code | (fast ? FAST : 0));
  switch (c.kind) {
    case "good":
      return good;
    case "bit":
      return good | (1n << BigInt(c.bit));
    case "code":
      return (c.high & ~0xffffn & U64_MAX) | BigInt(c.code);
    case "random":
      return c.value;
  }
}

/** The MSR and value of a SynIC MSR write; `sint` is the SINT a "sint" change names. */
export function msrWrite(
  p: PartitionView,
  vp: VpRegs,
  c: MsrChange,
  upper: boolean,
  sint: number,
): [number, bigint] {
  switch (c.reg) {
    case "scontrol":
      return [
        MSR_SCONTROL,
        (upper ? 0xffff_0000_0000n : 0n) | (BigInt(c.rsvdP) << 1n) | (c.enable ? 1n : 0n),
      ];
    case "siefp":
    case "simp": {
      const current = c.reg === "siefp" ? vp.siefp : vp.simp;
      let page = current >> 12n;
      if (c.page === "pool") page = PAGE_POOL[c.pick % PAGE_POOL.length]!;
      if (c.page === "other-vp") {
        const all = p.vps.flatMap((v) => [v.siefp >> 12n, v.simp >> 12n]);
        page = all[c.pick % all.length]!;
      }
      if (page === FUZZ_SCRATCH_GPA / PAGE) page ^= 1n;
      return [c.reg === "siefp" ? MSR_SIEFP : MSR_SIMP, (page << 12n) | (c.enable ? 1n : 0n)];
    }
    case "sint": {
      const s = sint;
      const current = vp.sints[s]!;
      const vector = (current & 0xffn) >= 16n ? current & 0xffn : 16n + (c.raw % 240n);
      const high = upper ? c.raw & 0xffff_ffff_0000_0000n : 0n;
      const values = {
        unmask: vector | (c.raw & 0x20000n),
        mask: current | 0x10000n,
        poll: vector | 0x40000n | (c.raw & 0x10000n),
        "low-vector": c.raw % 16n,
        random: c.raw,
      };
      return [MSR_SINT0 + s, values[c.value] | high];
    }
    default:
      return [c.msr, c.raw];
  }
}

/** A host action among the partitions (setPrivilegeMask updates the shadow mask). */
export function hostSteps(parts: readonly PartitionView[], h: HostSpec): Step[] {
  const p = parts[h.pick % parts.length]!;
  switch (h.kind) {
    case "deletePort": {
      const all = parts.flatMap((q) => q.ports.map((port) => [q.id, port.id] as const));
      if (all.length === 0) return [];
      const [partition, port] = all[h.pick % all.length]!;
      return [{ kind: "host", action: { host: "deletePort", partition, port } }];
    }
    case "setPartitionActive":
      return [
        {
          kind: "host",
          action: { host: "setPartitionActive", partition: p.id, active: h.active },
        },
      ];
    case "setPrivilegeMask": {
      const toggles = {
        "toggle-36": p.mask ^ (1n << 36n),
        "toggle-37": p.mask ^ (1n << 37n),
        random: h.raw,
      };
      p.mask = toggles[h.change];
      return [
        { kind: "host", action: { host: "setPrivilegeMask", partition: p.id, mask: p.mask } },
      ];
    }
  }
}

const payloads = new Map<number, number[]>();

/** 240 payload bytes, none of them 0 (so a copy of more than PayloadSize bytes shows). */
export function payloadOf(seed: number): number[] {
  let p = payloads.get(seed);
  if (p === undefined) {
    p = Array.from({ length: 240 }, (_, i) => ((seed + 31 * i) % 255) + 1);
    payloads.set(seed, p);
  }
  return p;
}

export function flagNumber(f: FlagSpec, count: number): number {
  if (f.kind === "random") return f.value;
  if (f.kind === "inside") return Math.floor(f.fraction * count);
  const edges = { zero: 0, last: Math.max(count - 1, 0), count, after: count + 1 };
  return edges[f.edge];
}
