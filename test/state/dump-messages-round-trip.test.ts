/**
 * Property: a dump of a machine with messages in flight loads back into the same machine.
 * For generated scenarios with message ports, after a random run of HvCallPostMessage calls (the
 * slots mostly left occupied, so queues fill), guest slot writes, EOMs, EOIs, SIMP writes and port
 * deletions, with x = loadMachine(parseScenario(dump(m))):
 *   loadMachine(parseScenario(dump(x))) equals x bit for bit (snapshot equality, both ways): every
 *   table (SIM pages, queues, buffers) and RAM; and every machine dumps to the same JSON;
 *   and x is m up to which guest message buffer holds which queued message: every other table,
 *   the RAM, every queue's messages in order and every port's count of buffers in use are equal.
 *
 * Why not m itself bit for bit: which of a port's 16 buffers holds which queued message is not
 * in the dump (nothing observable depends on it), and a reload hands out buffers in queue order;
 * so load(dump(m)) may differ from m in queueHead / queueTail / messageNext / messageBytes /
 * messageBuffersUsed — the buffer assignment — and in nothing else (see scenario-messages.test.ts).
 * Port ids are any u24, and several ports of a partition may target one SINT.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HvStatus } from "../../src/abi/hv-status.js";
import { Dispatcher } from "../../src/dispatch/dispatcher.js";
import { loadMachine } from "../../src/state/load-machine.js";
import type { Machine } from "../../src/state/machine.js";
import { STATE_TABLES, type TableName } from "../../src/state/machine-tables.js";
import { dumpScenario } from "../../src/state/scenario-dump.js";
import { parseScenario } from "../../src/state/scenario-schema.js";
import { post } from "./support.js";

const SIMP = 0x40000083;
const EOM = 0x40000084;
const SENDER = 1;
const INPUT = 0x1000n;

interface PortPlan {
  readonly id: number;
  readonly sint: number;
  /** An index into the partition's VP list, or "any". */
  readonly target: number | "any";
}

interface ReceiverPlan {
  readonly id: number;
  readonly vps: readonly {
    index: number;
    scontrol: string;
    simp: string;
    sints: Record<string, string>;
  }[];
  readonly ports: readonly PortPlan[];
}

/** A SINT value: unmasked with a valid vector, masked, or polling. */
const sintValue = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 16, max: 255 }).map((v) => `0x${v.toString(16)}`) },
  fc.integer({ min: 0, max: 255 }).map((v) => `0x${(v | 0x10000).toString(16)}`),
  fc.integer({ min: 16, max: 255 }).map((v) => `0x${(v | 0x40000).toString(16)}`),
);

const vpPlan = (index: number, slot: number) =>
  fc.record({
    index: fc.constant(index),
    scontrol: fc.oneof({ weight: 5, arbitrary: fc.constant("0x1") }, fc.constant("0x0")),
    // Distinct SIM GPAs per VP mostly; sometimes disabled.
    simp: fc.oneof(
      { weight: 5, arbitrary: fc.constant(`0x${(0x100 + slot).toString(16)}001`) },
      fc.constant(`0x${(0x100 + slot).toString(16)}000`),
    ),
    sints: fc
      .array(fc.tuple(fc.integer({ min: 0, max: 15 }), sintValue), { maxLength: 16 })
      .map((pairs) => Object.fromEntries(pairs.map(([s, v]) => [String(s), v]))),
  });

function receiver(id: number, base: number): fc.Arbitrary<ReceiverPlan> {
  return fc
    .uniqueArray(
      fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 0xfffffffe })),
      {
        minLength: 1,
        maxLength: 3,
      },
    )
    .chain((indexes) =>
      fc.record({
        id: fc.constant(id),
        vps: fc.tuple(...indexes.map((index, k) => vpPlan(index, base + k))),
        ports: fc
          .uniqueArray(
            fc.record({
              sint: fc.integer({ min: 0, max: 15 }),
              id: fc.integer({ min: 0, max: 0xffffff }),
            }),
            {
              selector: (p) => p.id,
              minLength: 1,
              maxLength: 4,
            },
          )
          .chain((ports) =>
            fc.tuple(
              ...ports.map((p) =>
                fc
                  .oneof(fc.constant<"any">("any"), fc.integer({ min: 0, max: indexes.length - 1 }))
                  .map((target): PortPlan => ({ id: p.id, sint: p.sint, target })),
              ),
            ),
          ),
      }),
    )
    .map((r) => ({ ...r, ports: [...new Map(r.ports.map((p) => [p.id, p])).values()] }));
}

const scenarioPlan = fc
  .integer({ min: 1, max: 2 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => receiver(10 + i, 4 * i))));

function scenarioJson(receivers: readonly ReceiverPlan[]): unknown {
  const connections = receivers.flatMap((r) =>
    r.ports.map((p) => ({ id: 0, portPartition: r.id, portId: p.id })),
  );
  return {
    partitions: [
      {
        id: SENDER,
        privileges: ["PostMessages"],
        vps: [{ index: 0 }],
        connections: connections.map((c, i) => ({ ...c, id: 0x100 + i })),
        memory: [{ gpa: "0x1000", hex: "00" }],
      },
      ...receivers.map((r) => ({
        id: r.id,
        vps: r.vps,
        ports: r.ports.map((p) => ({
          id: p.id,
          type: "message",
          targetVp: p.target === "any" ? "any" : r.vps[p.target]!.index,
          targetSint: p.sint,
        })),
      })),
    ],
  };
}

const op = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("post" as const),
      pick: fc.nat(),
      type: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 0x7fffffff })),
      payload: fc.oneof(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 240 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("empty" as const), pick: fc.nat(), sint: fc.nat(15) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constantFrom("eom" as const, "eoi" as const), pick: fc.nat() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("simp" as const), pick: fc.nat(), on: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("delete" as const), pick: fc.nat() }) },
);

type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

function run(m: Machine, d: Dispatcher, receivers: readonly ReceiverPlan[], o: Op): void {
  const vps = receivers.flatMap((r) => r.vps.map((v) => [r.id, v.index] as const));
  const ports = receivers.flatMap((r) => r.ports.map((p) => [r.id, p.id] as const));
  const [p, vp] = vps[o.pick % vps.length]!;
  switch (o.kind) {
    case "post": {
      const status = post(d, SENDER, INPUT, {
        connectionId: 0x100 + (o.pick % ports.length),
        messageType: o.type,
        payload: o.payload,
      });
      const allowed: number[] = [
        HvStatus.SUCCESS,
        HvStatus.INSUFFICIENT_BUFFERS,
        HvStatus.INVALID_SYNIC_STATE,
        HvStatus.INVALID_PORT_ID,
      ];
      expect(allowed).toContain(status);
      break;
    }
    case "empty": {
      const simp = m.rdmsr(p, vp, SIMP)!;
      if ((simp & 1n) === 1n)
        m.guestWrite(p, (simp & ~0xfffn) + BigInt(o.sint * 256), new Uint8Array(4));
      break;
    }
    case "eom":
      expect(m.wrmsr(p, vp, EOM, 0n)).toBe("ok");
      break;
    case "eoi":
      m.eoi(p, vp);
      break;
    case "simp": {
      const simp = m.rdmsr(p, vp, SIMP)!;
      expect(m.wrmsr(p, vp, SIMP, o.on ? simp | 1n : simp & ~1n)).toBe("ok");
      break;
    }
    case "delete": {
      const [owner, id] = ports[o.pick % ports.length]!;
      m.deletePort(owner, id);
      break;
    }
  }
}

function queuedTotal(m: Machine, receivers: readonly ReceiverPlan[]): number {
  let n = 0;
  for (const r of receivers) {
    for (const v of r.vps)
      for (let s = 0; s < 16; s++) n += m.queuedMessages(r.id, v.index, s).length;
  }
  return n;
}

/** The tables that say which buffer (record) holds which queued message, and what freed ones keep. */
const ALLOCATION: readonly TableName[] = [
  "messageNext",
  "messageBytes",
  "queueHead",
  "queueTail",
  "messageBuffersUsed",
];

const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const popcount = (x: number) => {
  let n = 0;
  for (let v = x; v !== 0; v &= v - 1) n++;
  return n;
};

/** a and b are the same machine up to the numbering of guest message buffers (see the header). */
function expectSameUpToBuffers(a: Machine, b: Machine, receivers: readonly ReceiverPlan[]): void {
  for (const name of STATE_TABLES) {
    if (ALLOCATION.includes(name)) continue;
    expect(bytesOf(b.tables[name]).equals(bytesOf(a.tables[name])), name).toBe(true);
  }
  expect([...b.tables.messageBuffersUsed].map(popcount)).toEqual(
    [...a.tables.messageBuffersUsed].map(popcount),
  );
  a.memory.forEach((mem, p) => {
    expect(b.memory[p]!.ramEquals(mem.snapshotRam())).toBe(true);
  });
  for (const r of receivers) {
    for (const v of r.vps) {
      for (let s = 0; s < 16; s++) {
        expect(b.queuedMessages(r.id, v.index, s)).toEqual(a.queuedMessages(r.id, v.index, s));
      }
    }
  }
}

describe("dump round trip with messages in flight", () => {
  it("x = load(dump(m)): load(dump(x)) equals x bit for bit; x is m up to buffer numbering", () => {
    let withQueues = 0;
    let withSlots = 0;
    fc.assert(
      fc.property(
        scenarioPlan,
        fc.array(op, { minLength: 10, maxLength: 60 }),
        fc.boolean(),
        fc.boolean(),
        (receivers, ops, sharedA, sharedB) => {
          const m1 = loadMachine(parseScenario(scenarioJson(receivers)), { shared: sharedA });
          const d = new Dispatcher(m1);
          for (const o of ops) run(m1, d, receivers, o);

          const dump1 = dumpScenario(m1);
          const reload = (json: unknown, shared: boolean) =>
            loadMachine(parseScenario(JSON.parse(JSON.stringify(json))), { shared });
          const x = reload(dump1, sharedB);
          expectSameUpToBuffers(m1, x, receivers);
          expect(dumpScenario(x)).toStrictEqual(dump1);

          const y = reload(dumpScenario(x), sharedA);
          const diff = x.snapshot().firstDifference(y.tables, y.memory);
          expect(diff, `first difference: ${diff}`).toBeUndefined();
          expect(y.equals(x.snapshot())).toBe(true);
          expect(x.equals(y.snapshot())).toBe(true);
          expect(dumpScenario(y)).toStrictEqual(dump1);
          // And they go on alike: one more EOM everywhere on both.
          for (const r of receivers) {
            for (const v of r.vps) {
              expect(x.wrmsr(r.id, v.index, EOM, 0n)).toBe("ok");
              expect(y.wrmsr(r.id, v.index, EOM, 0n)).toBe("ok");
            }
          }
          expect(y.equals(x.snapshot())).toBe(true);
          const m1Queued = queuedTotal(m1, receivers);
          // The dump's counts agree with the machine's queues.
          for (const part of dump1.partitions) {
            for (const vp of part.vps) {
              for (let s = 0; s < 16; s++) {
                const n = m1.queuedMessages(part.id, vp.index, s).length;
                expect(vp.queuedMessages[String(s)] ?? 0).toBe(n);
                expect(vp.messageQueues?.[String(s)]?.length ?? 0).toBe(n);
              }
            }
          }
          if (m1Queued > 0) withQueues++;
          if (dump1.partitions.some((p) => p.vps.some((v) => Object.keys(v.simSlots).length > 0)))
            withSlots++;
        },
      ),
      { numRuns: 150 },
    );
    // The generators must produce what the property is about.
    expect(withQueues).toBeGreaterThan(50);
    expect(withSlots).toBeGreaterThan(50);
  });
});
