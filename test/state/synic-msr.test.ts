/**
 * The guest's SynIC MSR accesses (Machine.wrmsr / rdmsr, src/state/synic-msr-access.ts) against the
 * rules of synic.md §1, the overlay pages they program (§2: moving, precedence), the HV_ANY_VP
 * choice for messages, and what happens when an interrupt listener throws.
 *
 * MSR numbers and register values are written out by hand from synic.md §1.
 */
import { fc, test } from "@fast-check/vitest";
import { afterEach, describe, expect, it, vi } from "vitest";
import { HvStatus } from "../../src/abi/hv-status.js";
import { ANY_VP_NONE_ENABLED } from "../../src/state/machine-tables.js";
import {
  dispatcherFor,
  expectRangeError,
  type Json,
  load,
  post,
  postAgain,
  postMessageBlock,
  signal,
  text,
} from "./support.js";

const SCONTROL = 0x40000080;
const SVERSION = 0x40000081;
const SIEFP = 0x40000082;
const SIMP = 0x40000083;
const EOM = 0x40000084;
const SINT0 = 0x40000090;
const STORED = [SCONTROL, SIEFP, SIMP, ...Array.from({ length: 16 }, (_, n) => SINT0 + n)];

/**
 * Partition 1 (VP 0) owns connection 0x20 -> (2, event port 10 on VP 3, SINT 2) and 0x21 -> (2,
 * message port 11, any VP, SINT 4). Partition 2 lists VP 3 before VP 1; VP 3 has its SynIC on, the
 * SIEF page at 0x5000 (over RAM filled 0xaa) and the SIM page at 0x6000 (unbacked).
 */
function scenario(): Json {
  return {
    partitions: [
      {
        id: 1,
        privileges: ["SignalEvents", "PostMessages"],
        vps: [{ index: 0 }],
        connections: [
          { id: 0x20, portPartition: 2, portId: 10 },
          { id: 0x21, portPartition: 2, portId: 11 },
        ],
        memory: [{ gpa: "0x1000", hex: "00" }],
      },
      {
        id: 2,
        vps: [
          {
            index: 3,
            scontrol: "0x1",
            siefp: "0x5001",
            simp: "0x6001",
            sints: { "2": "0x52", "4": "0x54" },
          },
          { index: 1 },
        ],
        ports: [
          { id: 10, type: "event", targetVp: 3, targetSint: 2, flagCount: 64 },
          { id: 11, type: "message", targetVp: "any", targetSint: 4 },
        ],
        memory: [{ gpa: "0x5000", hex: "aa".repeat(16) }],
      },
    ],
  };
}

describe("wrmsr / rdmsr: synic.md §1", () => {
  it("SVERSION reads 1; any write is #GP and changes nothing", () => {
    const m = load(scenario());
    const snap = m.snapshot();
    expect(m.rdmsr(2, 3, SVERSION)).toBe(1n);
    for (const value of [0n, 1n, 2n, 0xffff_ffff_ffff_ffffn])
      expect(m.wrmsr(2, 3, SVERSION, value)).toBe("#GP");
    expect(m.rdmsr(2, 3, SVERSION)).toBe(1n);
    expect(m.equals(snap)).toBe(true);
  });

  it("EOM reads 0 and takes any value", () => {
    const m = load(scenario());
    const snap = m.snapshot();
    for (const value of [0n, 1n, 0xffff_ffff_ffff_ffffn])
      expect(m.wrmsr(2, 3, EOM, value)).toBe("ok");
    expect(m.rdmsr(2, 3, EOM)).toBe(0n);
    expect(m.rdmsr(2, 1, EOM)).toBe(0n);
    expect(m.equals(snap)).toBe(true); // nothing queued: the rescan delivers nothing
  });

  it("RsvdP bits are stored as written", () => {
    const m = load(scenario());
    const cases: [number, bigint][] = [
      [SCONTROL, 0xffff_ffff_ffff_fffen],
      [SIEFP, 0x0000_0000_0000_0ffen], // bits 11:1 only, disabled
      [SIMP, 0x1234_5678_9abc_dffen],
      [SINT0 + 7, 0xffff_ffff_fff9_ff20n], // bits 15:8 and 63:19, polling, unmasked vector 0x20
      [SINT0 + 15, 0x8000_0000_0001_0000n],
    ];
    for (const [msr, value] of cases) {
      expect(m.wrmsr(2, 1, msr, value)).toBe("ok");
      expect(m.rdmsr(2, 1, msr)).toBe(value);
    }
  });

  it.each(Array.from({ length: 16 }, (_, v) => v))(
    "an unmasked SINT with vector %i is #GP with nothing changed; masked it is fine",
    (vector) => {
      const m = load(scenario());
      const snap = m.snapshot();
      const v = BigInt(vector);
      for (const value of [v, v | 0x20000n, v | 0x40000n, v | 0xffff_0000_0000_0000n]) {
        expect(m.wrmsr(2, 3, SINT0 + 2, value)).toBe("#GP");
      }
      expect(m.rdmsr(2, 3, SINT0 + 2)).toBe(0x52n);
      expect(m.equals(snap)).toBe(true);
      expect(m.wrmsr(2, 3, SINT0 + 2, v | 0x10000n)).toBe("ok");
      expect(m.rdmsr(2, 3, SINT0 + 2)).toBe(v | 0x10000n);
      expect(m.wrmsr(2, 3, SINT0 + 2, v | 0x70000n)).toBe("ok");
      expect(m.rdmsr(2, 3, SINT0 + 2)).toBe(v | 0x70000n);
    },
  );

  test.prop([fc.integer({ min: 0, max: 15 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })], {
    numRuns: 500,
  })("a SINT write is #GP exactly when bit 16 is clear and the vector is below 16", (n, value) => {
    const m = load(scenario());
    const snap = m.snapshot();
    const refused = (value & 0x10000n) === 0n && (value & 0xffn) < 16n;
    expect(m.wrmsr(2, 1, SINT0 + n, value)).toBe(refused ? "#GP" : "ok");
    if (refused) {
      expect(m.equals(snap)).toBe(true);
      expect(m.rdmsr(2, 1, SINT0 + n)).toBe(0x10000n);
    } else {
      expect(m.rdmsr(2, 1, SINT0 + n)).toBe(value);
    }
  });

  it.each([
    0, 0x40000000, 0x40000001, 0x4000007f, 0x40000085, 0x4000008f, 0x400000a0, 0x400000ff,
    0xffffffff,
  ])("MSR %i, not the SynIC's: #GP on write and on read, nothing changed", (msr) => {
    const m = load(scenario());
    const snap = m.snapshot();
    expect(m.rdmsr(2, 3, msr)).toBeUndefined();
    expect(m.wrmsr(2, 3, msr, 0x10000n)).toBe("#GP");
    expect(m.wrmsr(2, 3, msr, 0n)).toBe("#GP");
    expect(m.equals(snap)).toBe(true);
    for (const stored of STORED) expect(m.rdmsr(2, 3, stored)).toBeDefined();
  });

  it("host misuse of wrmsr / rdmsr throws, naming the argument", () => {
    const m = load(scenario());
    expect(() => m.wrmsr(2, 3, SCONTROL, 1 as unknown as bigint)).toThrow(TypeError);
    expectRangeError(() => m.wrmsr(2, 3, SCONTROL, 1n << 64n), "u64");
    expectRangeError(() => m.wrmsr(2, 3, -1, 0n), "msr");
    expectRangeError(() => m.rdmsr(2, 3, 2 ** 32), "msr");
    expectRangeError(() => m.rdmsr(2, 2, SCONTROL), "2");
    expectRangeError(() => m.wrmsr(5, 0, SCONTROL, 0n), "5");
  });
});

describe("overlay pages follow SIEFP and SIMP (synic.md §2)", () => {
  it("moving SIEFP moves the flags' GPA; the old GPA shows its RAM again", () => {
    const m = load(scenario());
    expect(signal(dispatcherFor(m), 1, 0x20, 9)).toBe(HvStatus.SUCCESS); // flag 9 of SINT 2
    const at = (gpa: bigint) => m.guestRead(2, gpa, 1)?.[0];
    // Flag 9 of SINT 2: byte 2 * 256 + 1, bit 1.
    expect(at(0x5201n)).toBe(0x02);
    expect(at(0x5000n)).toBe(0);
    expect(m.wrmsr(2, 3, SIEFP, 0x8001n)).toBe("ok");
    expect(at(0x8201n)).toBe(0x02);
    expect(at(0x5000n)).toBe(0xaa);
    expect(at(0x5201n)).toBe(0);
    // Disabled: the unbacked GPA is unbacked again; the flags stay with the VP.
    expect(m.wrmsr(2, 3, SIEFP, 0x8000n)).toBe("ok");
    expect(m.guestRead(2, 0x8201n, 1)).toBeUndefined();
    expect(m.siefFlags(2, 3, 2)).toEqual([9]);
    // Enabled elsewhere: they appear there.
    expect(m.wrmsr(2, 3, SIEFP, 0x9001n)).toBe("ok");
    expect(at(0x9201n)).toBe(0x02);
    // The guest clears the flag through the page and sets another.
    expect(m.guestWrite(2, 0x9201n, Uint8Array.of(0x08))).toBe("ok");
    expect(m.siefFlags(2, 3, 2)).toEqual([11]);
  });

  it("moving SIMP moves the SIM slots' GPA", () => {
    const m = load(scenario());
    const d = dispatcherFor(m);
    expect(post(d, 1, 0x1000n, { connectionId: 0x21, messageType: 5, payload: text("hi") })).toBe(
      HvStatus.SUCCESS,
    );
    // Slot 4 at 0x6000 + 4 * 256: MessageType 5, PayloadSize 2, OriginationId 11, "hi".
    const slot = m.guestRead(2, 0x6400n, 24)!;
    expect([...slot]).toEqual([
      5, 0, 0, 0, 2, 0, 0, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0x68, 0x69, 0, 0, 0, 0, 0, 0,
    ]);
    expect(m.wrmsr(2, 3, SIMP, 0x5001n)).toBe("ok");
    // Now SIEF (0x5001) and SIM share 0x5000: the SIEF page wins, and 0x6000 is unbacked.
    expect(m.guestRead(2, 0x6400n, 1)).toBeUndefined();
    expect(m.guestRead(2, 0x5400n, 1)).toEqual(Uint8Array.of(0));
    expect(m.wrmsr(2, 3, SIEFP, 0x0n)).toBe("ok");
    expect(m.guestRead(2, 0x5400n, 24)).toEqual(slot);
    expect(m.simSlot(2, 3, 4).subarray(0, 24)).toEqual(slot);
  });

  it("precedence: the lowest VP index wins, then SIEF before SIM; nothing fails", () => {
    const json = scenario() as { partitions: Json[] };
    json.partitions[1]!.vps = [
      { index: 3, scontrol: "0x1", siefp: "0x7001", simp: "0x7001" },
      { index: 1, simp: "0x7001" },
      { index: 2, siefp: "0x7001" },
    ];
    const m = load(json);
    const v1 = m.requireVp(2, 1);
    const v2 = m.requireVp(2, 2);
    const v3 = m.requireVp(2, 3);
    m.tables.sim[v1 * 4096] = 0x11;
    m.sief.page(v2)[0] = 0x22;
    m.sief.page(v3)[0] = 0x33;
    m.tables.sim[v3 * 4096] = 0x34;
    const at = () => m.guestRead(2, 0x7000n, 1)?.[0];
    // VP 1's SIM page beats VP 2's SIEF page: the VP index decides first (SCONTROL plays no part).
    expect(at()).toBe(0x11);
    expect(m.wrmsr(2, 1, SIMP, 0x7000n)).toBe("ok");
    expect(at()).toBe(0x22);
    expect(m.wrmsr(2, 2, SIEFP, 0x0n)).toBe("ok");
    expect(at()).toBe(0x33); // VP 3: SIEF before SIM
    expect(m.wrmsr(2, 3, SIEFP, 0x0n)).toBe("ok");
    expect(at()).toBe(0x34);
    expect(m.wrmsr(2, 3, SIMP, 0x0n)).toBe("ok");
    expect(at()).toBeUndefined();
    expect(m.wrmsr(2, 1, SIMP, 0x7001n)).toBe("ok");
    expect(at()).toBe(0x11);
  });
});

describe("anyVpForMessages", () => {
  it("the lowest-index VP with SynIC and SIM page on, cached and following wrmsr", () => {
    const json = scenario() as { partitions: Json[] };
    json.partitions[1]!.vps = [
      { index: 3, scontrol: "0x1", simp: "0x6001" },
      { index: 1 },
      { index: 0 },
    ];
    const m = load(json);
    const p = m.requirePartition(2);
    expect(m.anyVpForMessages(p)).toBe(m.requireVp(2, 3));
    expect(m.anyVp(p)).toBe(ANY_VP_NONE_ENABLED); // no SIEF page anywhere
    expect(m.wrmsr(2, 1, SIMP, 0x7001n)).toBe("ok");
    expect(m.anyVpForMessages(p)).toBe(m.requireVp(2, 3)); // SynIC of VP 1 off
    expect(m.wrmsr(2, 1, SCONTROL, 1n)).toBe("ok");
    expect(m.anyVpForMessages(p)).toBe(m.requireVp(2, 1));
    expect(m.wrmsr(2, 0, SCONTROL, 1n)).toBe("ok");
    expect(m.wrmsr(2, 0, SIEFP, 0x8001n)).toBe("ok"); // SIEF is not SIM
    expect(m.anyVpForMessages(p)).toBe(m.requireVp(2, 1));
    expect(m.anyVp(p)).toBe(m.requireVp(2, 0));
    const snap = m.snapshot();
    expect(m.wrmsr(2, 1, SIMP, 0x7000n)).toBe("ok");
    expect(m.wrmsr(2, 3, SCONTROL, 0n)).toBe("ok");
    expect(m.anyVpForMessages(p)).toBe(ANY_VP_NONE_ENABLED);
    m.restore(snap); // the cache is not state: restore recomputes it
    expect(m.anyVpForMessages(p)).toBe(m.requireVp(2, 1));
  });

  it("PostMessage to an any-VP port queues on that VP", () => {
    const m = load(scenario());
    const d = dispatcherFor(m);
    expect(m.wrmsr(2, 1, SCONTROL, 1n)).toBe("ok");
    expect(m.wrmsr(2, 1, SIMP, 0x7001n)).toBe("ok");
    expect(post(d, 1, 0x1000n, { connectionId: 0x21, payload: text("a") })).toBe(HvStatus.SUCCESS);
    expect(m.simSlot(2, 1, 4)[0]).toBe(1);
    expect(m.simSlot(2, 3, 4)[0]).toBe(0);
    expect(m.wrmsr(2, 1, SIMP, 0x7000n)).toBe("ok");
    expect(m.wrmsr(2, 3, SIMP, 0x6000n)).toBe("ok");
    expect(m.guestWrite(1, 0x1000n, postMessageBlock({ connectionId: 0x21 }))).toBe("ok");
    const snap = m.snapshot();
    expect(postAgain(d, 1, 0x1000n)).toBe(HvStatus.INVALID_SYNIC_STATE);
    expect(m.equals(snap)).toBe(true);
  });
});

describe("a listener that throws", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("hands its error to onError; the call's effect stands and the other listeners still hear", () => {
    const m = load(scenario());
    const d = dispatcherFor(m);
    const errors: unknown[] = [];
    const heard: string[] = [];
    const boom = new Error("listener failed");
    m.onSintAsserted(
      () => {
        throw boom;
      },
      (error) => errors.push(error),
    );
    m.onSintAsserted((_p, _v, sint, vector, source) => heard.push(`${sint}:${vector}:${source}`));
    expect(signal(d, 1, 0x20, 1)).toBe(HvStatus.SUCCESS);
    expect(m.siefFlags(2, 3, 2)).toEqual([1]);
    expect(m.sintAssertionCount(2, 3, 2)).toBe(1);
    expect(post(d, 1, 0x1000n, { connectionId: 0x21 })).toBe(HvStatus.SUCCESS);
    expect(m.simSlot(2, 3, 4)[0]).toBe(1);
    expect(m.sintAssertionCount(2, 3, 4)).toBe(1);
    expect(errors).toEqual([boom, boom]);
    expect(heard).toEqual(["2:82:event", "4:84:message"]);
  });

  it("without onError, the error is rethrown from a microtask, not out of the call", () => {
    const queued: (() => void)[] = [];
    vi.stubGlobal("queueMicrotask", (fn: () => void) => queued.push(fn));
    const m = load(scenario());
    const boom = new Error("no handler");
    m.onSintAsserted(() => {
      throw boom;
    });
    expect(signal(dispatcherFor(m), 1, 0x20, 1)).toBe(HvStatus.SUCCESS);
    expect(m.siefFlags(2, 3, 2)).toEqual([1]);
    expect(m.sintAssertionCount(2, 3, 2)).toBe(1);
    expect(queued).toHaveLength(1);
    expect(() => queued[0]!()).toThrow(boom);
  });

  it("onError must be a function", () => {
    const m = load(scenario());
    expect(() => m.onSintAsserted(() => {}, 5 as unknown as () => void)).toThrow(TypeError);
    expect(m.hasSintListeners).toBe(false);
  });
});
