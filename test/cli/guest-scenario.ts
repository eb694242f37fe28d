/**
 * The machine the `run`, `check` and guest-flow CLI tests share, and helpers to write trace ops.
 *
 * Partition 1 (the root, SignalEvents + PostMessages): VP 0 with its SIEF page at 0x10000 and
 * SINT 2 unmasked (vector 0x60); owns event port 1 (VP 0, SINT 2, flags 0..15), connection 20 →
 * partition 2 port 1, connection 21 → partition 2 port 2, connection 22 → partition 2 port 4 (a
 * message port); RAM at 0x2000.
 * Partition 2 (the guest, SignalEvents only): VP 0 with SIEF at 0x20000, SIM at 0x21000, SINT 2
 * vector 0x50, SINT 3 vector 0x51; VP 1 with SIEF at 0x22000, SINT 2 vector 0x52; event port 1
 * (VP 0, SINT 2, flags 0..63), event port 2 (VP 1, SINT 2, base 64, 64 flags), message port 4
 * (VP 0, SINT 3); connection 30 → partition 1 port 1; RAM at 0x40000 (bytes 55 at 0x40200) and
 * 0x50000.
 */
export const GUEST_SCENARIO = {
  partitions: [
    {
      id: 1,
      privileges: ["SignalEvents", "PostMessages"],
      vps: [{ index: 0, scontrol: "0x1", siefp: "0x10001", sints: { "2": "0x60" } }],
      ports: [
        { id: 1, type: "event", targetVp: 0, targetSint: 2, baseFlagNumber: 0, flagCount: 16 },
      ],
      connections: [
        { id: 20, portPartition: 2, portId: 1 },
        { id: 21, portPartition: 2, portId: 2 },
        { id: 22, portPartition: 2, portId: 4 },
      ],
      memory: [{ gpa: "0x2000", hex: "00" }],
    },
    {
      id: 2,
      privileges: ["SignalEvents"],
      vps: [
        {
          index: 0,
          scontrol: "0x1",
          siefp: "0x20001",
          simp: "0x21001",
          sints: { "2": "0x50", "3": "0x51" },
        },
        { index: 1, scontrol: "0x1", siefp: "0x22001", sints: { "2": "0x52" } },
      ],
      ports: [
        { id: 1, type: "event", targetVp: 0, targetSint: 2, baseFlagNumber: 0, flagCount: 64 },
        { id: 2, type: "event", targetVp: 1, targetSint: 2, baseFlagNumber: 64, flagCount: 64 },
        { id: 4, type: "message", targetVp: 0, targetSint: 3 },
      ],
      connections: [{ id: 30, portPartition: 1, portId: 1 }],
      memory: [
        { gpa: "0x40200", hex: "55555555" },
        { gpa: "0x50000", hex: "00" },
      ],
    },
  ],
} as const;

export const SCONTROL = "0x40000080";
export const SVERSION = "0x40000081";
export const SIEFP = "0x40000082";
export const SIMP = "0x40000083";
export const EOM = "0x40000084";
export const sintMsr = (n: number) => `0x${(0x40000090 + n).toString(16)}`;

/** A fast HvCallSignalEvent op: RDX = FlagNumber << 32 | ConnectionId. */
export function signal(
  connection: number,
  flag: number,
  extra: Readonly<Record<string, unknown>> = {},
) {
  const rdx = (BigInt(flag) << 32n) | BigInt(connection);
  return { op: "hypercall", control: "0x1005d", rdx: `0x${rdx.toString(16)}`, ...extra };
}

/** The HvCallPostMessage input block: connection, type, payload (hex bytes), padded to 256. */
export function postMessageBlock(connection: number, type: number, payloadHex: string): string {
  const b = Buffer.alloc(256);
  b.writeUInt32LE(connection, 0);
  b.writeUInt32LE(type, 8);
  b.writeUInt32LE(payloadHex.length / 2, 12);
  Buffer.from(payloadHex, "hex").copy(b, 16);
  return b.toString("hex");
}

/** The 16-digit form the CLI writes a 64-bit value in. */
export const u64 = (n: number | bigint) => `0x${BigInt(n).toString(16).padStart(16, "0")}`;

/** A result line of `run` for a hypercall. */
export const callLine = (index: number, status: string, code: number) =>
  `{"index":${index},"op":"hypercall","status":"${status}","result":"${u64(code)}"}`;

/** One VP of a `--dump-state` file (the fields the tests look at). */
export interface DumpVp {
  readonly index: number;
  readonly siefp: string;
  readonly siefFlags: Readonly<Record<string, readonly number[]>>;
  readonly sintAssertions: Readonly<Record<string, number>>;
  readonly simSlots: Readonly<Record<string, string>>;
  readonly queuedMessages: Readonly<Record<string, number>>;
}

export interface Dump {
  readonly partitions: readonly { readonly id: number; readonly vps: readonly DumpVp[] }[];
}

/** VP `vp` of partition `id` in a dump. */
export function dumpVp(dump: Dump, id: number, vp: number): DumpVp {
  const found = dump.partitions.find((p) => p.id === id)?.vps.find((v) => v.index === vp);
  if (found === undefined) throw new Error(`the dump has no VP ${vp} in partition ${id}`);
  return found;
}
