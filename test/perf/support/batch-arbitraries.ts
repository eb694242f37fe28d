/**
 * Generators for the batch/per-call agreement test (batch-agreement.test.ts): scenario files with
 * small id pools (so that records hit connections and ports often), records mixing HvCallSignalEvent
 * and HvCallPostMessage in both forms, polling SINTs, and host actions.
 */
import { fc } from "@fast-check/vitest";
import { HvCallCode } from "../../../src/abi/call-code.js";
import { CONTROL_FAST_BIT } from "../../../src/abi/hypercall-control.js";
import { privilegeMaskOf } from "../../../src/abi/partition-privilege.js";
import { SINT_COUNT } from "../../../src/abi/sief-page.js";
import {
  HvSynicMsr,
  SINT_MASKED_BIT,
  SINT_POLLING_BIT,
  SINT_RESET_VALUE,
} from "../../../src/abi/synic-msr.js";
import {
  type Machine,
  parseScenario,
  RECORD_SIZE,
  type ScenarioDocument,
} from "../../../src/index.js";

export const FAST = CONTROL_FAST_BIT;
export const SIGNAL_FAST = (HvCallCode.SignalEvent | FAST) >>> 0;
export const SIGNAL_MEMORY = HvCallCode.SignalEvent;
export const POST_MEMORY = HvCallCode.PostMessage;
export const POST_FAST = (HvCallCode.PostMessage | FAST) >>> 0;
/** Connection ids and port ids are drawn from small pools so that records hit them often. */
const CONNECTION_IDS = [0, 1, 2, 3, 0x10, 0xabcdef];
export const PORT_IDS = [0, 1, 2, 3, 4, 5];
export const VP_INDEXES = [0, 1, 2, 7];
export const SIGNAL_EVENTS = privilegeMaskOf(["SignalEvents"]);
const BOTH_CALLS = privilegeMaskOf(["SignalEvents", "PostMessages"]);
const POST_ONLY = privilegeMaskOf(["PostMessages"]);
/** SINT values with the Polling bit: unmasked, and masked (still unmasked for the checks). */
export const POLLING = SINT_POLLING_BIT;
export const MASKED_POLLING = SINT_MASKED_BIT | SINT_POLLING_BIT;

// ---- scenarios -----------------------------------------------------------------------------------

const sintValue = fc.oneof(
  { arbitrary: fc.constant(BigInt(SINT_RESET_VALUE)), weight: 1 },
  { arbitrary: fc.integer({ min: 0x20, max: 0xff }).map(BigInt), weight: 3 },
  {
    arbitrary: fc
      .tuple(fc.integer({ min: 0x20, max: 0xff }), fc.constantFrom(POLLING, MASKED_POLLING))
      .map(([vector, bits]) => BigInt(vector | bits)),
    weight: 1,
  },
);

/** The generators build scenario files (the CLI contract's JSON), which parseScenario loads. */
interface JsonVp {
  index: number;
  scontrol: string;
  siefp: string;
  simp: string;
  sints: Record<string, string>;
}

export const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

const vpJson = (index: number): fc.Arbitrary<JsonVp> =>
  fc
    .record({
      scontrol: fc.constantFrom(1n, 1n, 1n, 0n),
      siefp: fc.constantFrom(0x12001n, 0x12001n, 0x12001n, 0x12000n, 0n),
      simp: fc.constantFrom(0x13001n, 0x13001n, 0n),
      sints: fc.array(sintValue, { minLength: SINT_COUNT, maxLength: SINT_COUNT }),
    })
    .map((v) => {
      const sints: Record<string, string> = {};
      v.sints.forEach((value, sint) => {
        if (value !== BigInt(SINT_RESET_VALUE)) sints[String(sint)] = hex(value);
      });
      return { index, scontrol: hex(v.scontrol), siefp: hex(v.siefp), simp: hex(v.simp), sints };
    });

const portJson = (id: number): fc.Arbitrary<Record<string, unknown>> =>
  fc
    .record({
      type: fc.constantFrom("event", "event", "event", "event", "message", "message", "monitor"),
      targetVp: fc.constantFrom<number | "any">(...VP_INDEXES, 5, "any", "any"),
      targetSint: fc.oneof(
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: SINT_COUNT - 1 }),
      ),
      flagCount: fc.oneof(fc.integer({ min: 0, max: 70 }), fc.constant(2048)),
      baseSeed: fc.nat(),
      deleted: fc.constantFrom(false, false, false, true),
    })
    .map((p) => {
      const port: Record<string, unknown> = {
        id,
        type: p.type,
        targetVp: p.targetVp,
        targetSint: p.targetSint,
      };
      if (p.type === "event") {
        port.baseFlagNumber = p.baseSeed % (2048 - p.flagCount + 1);
        port.flagCount = p.flagCount;
      }
      port.deleted = p.deleted;
      return port;
    });

const partitionJson = (
  id: number,
  partitions: number,
  needsVp: boolean,
): fc.Arbitrary<Record<string, unknown>> =>
  fc
    .record({
      state: fc.constantFrom("active", "active", "active", "inactive"),
      privilegeMask: fc.constantFrom(
        SIGNAL_EVENTS,
        SIGNAL_EVENTS,
        BOTH_CALLS,
        BOTH_CALLS,
        POST_ONLY,
        0n,
        0xffff_ffff_ffff_ffffn,
      ),
      vpIndexes: fc.subarray(VP_INDEXES, { minLength: needsVp ? 1 : 0 }),
      portIds: fc.subarray(PORT_IDS),
      connections: fc.uniqueArray(
        fc.record({
          id: fc.constantFrom(...CONNECTION_IDS),
          portPartition: fc.integer({ min: 1, max: partitions }),
          portId: fc.constantFrom(...PORT_IDS, 9),
        }),
        { selector: (c) => c.id, maxLength: CONNECTION_IDS.length },
      ),
      memoryPage: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
    })
    .chain((p) =>
      fc
        .record({
          vps: fc.tuple(...p.vpIndexes.map(vpJson)),
          ports: fc.tuple(...p.portIds.map(portJson)),
        })
        .map(({ vps, ports }) => ({
          id,
          state: p.state,
          privilegeMask: hex(p.privilegeMask),
          vps,
          ports,
          connections: p.connections,
          memory:
            p.memoryPage === undefined
              ? []
              : [{ gpa: hex(p.memoryPage * 4096), hex: "0102030405060708" }],
        })),
    );

export const scenario: fc.Arbitrary<ScenarioDocument> = fc
  .integer({ min: 1, max: 3 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => partitionJson(i + 1, n, i === 0))))
  .map((partitions) => parseScenario({ partitions }));

/**
 * A scenario where most signals get through: partition 1 (both privileges, VP 0) owns connections
 * 0..3 to event ports 0..3 of partition 2 and connection 0x10 to its message port 5; partition 2's
 * VPs 0 and 1 have the SynIC and both pages on, and their SINTs are reset (masked), unmasked or
 * polling (masked or not) at random.
 */
export const readyScenario: fc.Arbitrary<ScenarioDocument> = fc
  .record({
    sints: fc.array(fc.array(sintValue, { minLength: 4, maxLength: 4 }), {
      minLength: 2,
      maxLength: 2,
    }),
    targets: fc.array(
      fc.tuple(fc.constantFrom<number | "any">(0, 1, "any"), fc.integer({ min: 0, max: 3 })),
      {
        minLength: 4,
        maxLength: 4,
      },
    ),
  })
  .map(({ sints, targets }) =>
    parseScenario({
      partitions: [
        {
          id: 1,
          privilegeMask: hex(BOTH_CALLS),
          vps: [{ index: 0 }],
          connections: [
            ...[0, 1, 2, 3].map((id) => ({ id, portPartition: 2, portId: id })),
            { id: 0x10, portPartition: 2, portId: 5 },
          ],
        },
        {
          id: 2,
          vps: sints.map((values, index) => ({
            index,
            scontrol: "0x1",
            siefp: "0x12001",
            simp: "0x13001",
            sints: Object.fromEntries(values.map((v, n) => [String(n), hex(v)])),
          })),
          ports: [
            ...targets.map(([targetVp, targetSint], id) => ({
              id,
              type: "event",
              targetVp,
              targetSint,
              baseFlagNumber: 0,
              flagCount: 72,
            })),
            { id: 5, type: "message", targetVp: 0, targetSint: 1 },
          ],
        },
      ],
    }),
  );

// ---- records -------------------------------------------------------------------------------------

export interface Rec {
  controlLo: number;
  controlHi: number;
  inputLo: number;
  inputHi: number;
}

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

const control = fc.oneof(
  { arbitrary: fc.constant([SIGNAL_FAST, 0]), weight: 10 },
  { arbitrary: fc.constant([SIGNAL_MEMORY, 0]), weight: 4 },
  // HvCallPostMessage, memory form (8 bytes from the record, zeros after them) and fast (refused).
  { arbitrary: fc.constant([POST_MEMORY, 0]), weight: 4 },
  { arbitrary: fc.constant([POST_FAST, 0]), weight: 1 },
  // One stray bit anywhere in the control value.
  {
    arbitrary: fc
      .tuple(
        fc.constantFrom(SIGNAL_FAST, SIGNAL_MEMORY, POST_MEMORY),
        fc.integer({ min: 16, max: 63 }),
      )
      .map(([lo, bit]) =>
        bit < 32 ? [(lo ^ (1 << bit)) >>> 0, 0] : [lo, (1 << (bit - 32)) >>> 0],
      ),
    weight: 2,
  },
  {
    arbitrary: fc.constantFrom([0x5e | FAST, 0], [0, 0]),
    weight: 1,
  },
  { arbitrary: fc.tuple(u32, u32), weight: 1 },
);

const connectionWord = fc.oneof(
  { arbitrary: fc.constantFrom(...CONNECTION_IDS), weight: 8 },
  { arbitrary: fc.integer({ min: 0, max: 0xffffff }), weight: 1 },
  {
    arbitrary: fc.constantFrom(...CONNECTION_IDS).map((id) => (id | 0x0100_0000) >>> 0),
    weight: 1,
  },
  { arbitrary: u32, weight: 1 },
);

/** SignalEvent: FlagNumber and RsvdZ; PostMessage: its RsvdZ word (0 often, so it gets further). */
const secondWord = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 72 }), weight: 8 },
  { arbitrary: fc.constant(0), weight: 4 },
  { arbitrary: fc.integer({ min: 0, max: 0xffff }), weight: 2 },
  {
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 72 }), fc.integer({ min: 1, max: 0xffff }))
      .map(([f, r]) => (f | (r << 16)) >>> 0),
    weight: 1,
  },
);

export const rec: fc.Arbitrary<Rec> = fc
  .tuple(control, connectionWord, secondWord)
  .map(([[controlLo, controlHi], inputLo, inputHi]) => ({
    controlLo: controlLo!,
    controlHi: controlHi!,
    inputLo,
    inputHi,
  }));

/** Only SignalEvent calls the kernel runs itself (nothing for the generic path in between). */
export const signalRec: fc.Arbitrary<Rec> = fc
  .tuple(
    fc.constantFrom(SIGNAL_FAST, SIGNAL_FAST, SIGNAL_MEMORY),
    fc.constantFrom(...CONNECTION_IDS),
    fc.integer({ min: 0, max: 72 }),
  )
  .map(([controlLo, inputLo, inputHi]) => ({ controlLo, controlHi: 0, inputLo, inputHi }));

export function encode(records: readonly Rec[], misalign: boolean): Uint8Array {
  const offset = misalign ? 1 : 0;
  const bytes = new Uint8Array(records.length * RECORD_SIZE + offset).subarray(offset);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  records.forEach((r, i) => {
    view.setUint32(i * 16, r.controlLo, true);
    view.setUint32(i * 16 + 4, r.controlHi, true);
    view.setUint32(i * 16 + 8, r.inputLo, true);
    view.setUint32(i * 16 + 12, r.inputHi, true);
  });
  return bytes;
}

// ---- host actions (between batches, or from an interrupt listener) -------------------------------

export type Action =
  | { kind: "active"; partition: number; active: boolean }
  | { kind: "delete"; partition: number; port: number }
  | { kind: "msr"; partition: number; vp: number; msr: number; value: bigint }
  | { kind: "privilege"; partition: number; mask: bigint }
  | { kind: "clear"; partition: number; vp: number; sint: number; flag: number };

const partitionId = fc.integer({ min: 1, max: 3 });
const msrValue = fc.constantFrom(
  0n,
  1n,
  0x12001n,
  0x10000n,
  0x41n,
  BigInt(0x41 | POLLING),
  BigInt(0x41 | MASKED_POLLING),
);

export const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant("active" as const), partition: partitionId, active: fc.boolean() }),
  fc.record({
    kind: fc.constant("delete" as const),
    partition: partitionId,
    port: fc.constantFrom(...PORT_IDS),
  }),
  fc.record({
    kind: fc.constant("msr" as const),
    partition: partitionId,
    vp: fc.constantFrom(...VP_INDEXES),
    msr: fc.constantFrom(
      HvSynicMsr.SCONTROL,
      HvSynicMsr.SIEFP,
      HvSynicMsr.SINT0,
      HvSynicMsr.SINT0 + 1,
      HvSynicMsr.SINT0 + 2,
    ),
    value: msrValue,
  }),
  fc.record({
    kind: fc.constant("privilege" as const),
    partition: partitionId,
    mask: fc.constantFrom(0n, SIGNAL_EVENTS, BOTH_CALLS),
  }),
  fc.record({
    kind: fc.constant("clear" as const),
    partition: partitionId,
    vp: fc.constantFrom(...VP_INDEXES),
    sint: fc.integer({ min: 0, max: 3 }),
    flag: fc.integer({ min: 0, max: 72 }),
  }),
);

/** A host action that takes a route away: the owner deactivated, the port deleted, the SynIC off. */
export const routeBreaker: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant("active" as const),
    partition: partitionId,
    active: fc.constant(false),
  }),
  fc.record({
    kind: fc.constant("delete" as const),
    partition: partitionId,
    port: fc.constantFrom(...PORT_IDS),
  }),
  fc.record({
    kind: fc.constant("msr" as const),
    partition: partitionId,
    vp: fc.constantFrom(...VP_INDEXES),
    msr: fc.constantFrom(
      HvSynicMsr.SCONTROL,
      HvSynicMsr.SIEFP,
      HvSynicMsr.SINT0,
      HvSynicMsr.SINT0 + 1,
    ),
    // SCONTROL / SIEFP 0 turn the SynIC or the page off; SINTx 0x10000 masks it. (A SINT write of
    // 0, unmasked with vector 0, is refused now (#GP, synic.md §1): then nothing changes.)
    value: fc.constantFrom(0n, BigInt(SINT_RESET_VALUE)),
  }),
);

/**
 * Applies a host action; one that names something the machine lacks, or that the MSR rules refuse
 * (a SINT left unmasked with a vector below 16), does nothing (on both machines alike).
 */
export function apply(m: Machine, a: Action): void {
  try {
    switch (a.kind) {
      case "active":
        m.setPartitionActive(a.partition, a.active);
        break;
      case "delete":
        m.deletePort(a.partition, a.port);
        break;
      case "msr":
        m.writeMsr(a.partition, a.vp, a.msr, a.value);
        break;
      case "privilege":
        m.setPrivilegeMask(a.partition, a.mask);
        break;
      case "clear":
        m.clearSiefFlag(a.partition, a.vp, a.sint, a.flag);
        break;
    }
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
  }
}
