/**
 * The scenario of explain.test.ts: one connection of the caller for every way a SignalEvent or a
 * PostMessage can end, and helpers for the calls' inputs.
 */
import { wordsBytes } from "./contract.js";

export const SIGNAL = 0x5dn;
export const SIGNAL_FAST = 0x1005dn;
export const POST = 0x5cn;
export const MSG_GPA = 0x3000n;

/** Event port `id` of partition 2 at (vp, sint), flags 19..82. */
export const eventPort = (id: number, targetVp: number | "any", targetSint = 3) => ({
  id,
  type: "event",
  targetVp,
  targetSint,
  baseFlagNumber: 19,
  flagCount: 64,
});
export const messagePort = (id: number, targetVp: number | "any", targetSint = 4) => ({
  id,
  type: "message",
  targetVp,
  targetSint,
});

/**
 * Partition 1 (VP 0, SignalEvents and PostMessages, RAM at 0x3000) owns the connections; partition
 * 2's VP 2 is ready (SynIC, SIEF and SIM pages on, SINT 3 and 4 unmasked, SINT 7 masked, SINT 8
 * polling), VP 5 has the SynIC off, VP 6 both pages off. Partition 3 is inactive; partition 4 has
 * no VPs; partition 5's only VP has everything off.
 */
export const SCENARIO = {
  partitions: [
    {
      id: 1,
      privileges: ["SignalEvents", "PostMessages"],
      vps: [{ index: 0 }],
      memory: [{ gpa: "0x3000", hex: "00".repeat(4096) }],
      connections: [
        [0x20, 2, 10],
        [0x21, 2, 11],
        [0x22, 2, 12],
        [0x23, 3, 30],
        [0x25, 2, 13],
        [0x26, 2, 14],
        [0x27, 2, 15],
        [0x28, 2, 16],
        [0x29, 4, 40],
        [0x2a, 5, 50],
        [0x2b, 2, 18],
        [0x30, 2, 20],
        [0x31, 2, 21],
        [0x32, 2, 22],
        [0x33, 2, 23],
        [0x34, 5, 51],
        [0x35, 4, 41],
      ].map(([id, portPartition, portId]) => ({ id, portPartition, portId })),
    },
    {
      id: 2,
      vps: [
        {
          index: 2,
          scontrol: "0x1",
          siefp: "0x10001",
          simp: "0x11001",
          sints: { 3: "0x5a", 4: "0x5b", 7: "0x1005c", 8: "0x4005d" },
        },
        { index: 5, scontrol: "0x0", siefp: "0x12001", simp: "0x13001", sints: { 3: "0x5a" } },
        { index: 6, scontrol: "0x1", siefp: "0x14000", simp: "0x15000", sints: { 3: "0x5a" } },
      ],
      ports: [
        eventPort(10, 2),
        { ...eventPort(12, 2), deleted: true },
        eventPort(13, 9),
        eventPort(14, 5),
        eventPort(15, 6),
        eventPort(16, 2, 7),
        eventPort(18, 2, 8),
        messagePort(20, 2),
        messagePort(21, 9),
        messagePort(22, 5),
        messagePort(23, 6),
      ],
    },
    { id: 3, state: "inactive", vps: [{ index: 0 }], ports: [eventPort(30, 0)] },
    { id: 4, ports: [eventPort(40, "any"), messagePort(41, "any")] },
    { id: 5, vps: [{ index: 0 }], ports: [eventPort(50, "any"), messagePort(51, "any")] },
  ],
};

/** A fast SignalEvent: RDX = ConnectionId | FlagNumber << 32 | RsvdZ << 48. */
export const signal = (connectionId: number, flag = 6, rsvdZ = 0) =>
  (BigInt(rsvdZ) << 48n) | (BigInt(flag) << 32n) | BigInt(connectionId);

/** A PostMessage input block at MSG_GPA. */
export function message(connectionId: number, type = 1, size = 4, rsvdZ = 0): [bigint, Uint8Array] {
  return [MSG_GPA, wordsBytes([connectionId, rsvdZ, type, size, 0x676e6970])];
}
