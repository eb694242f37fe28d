/**
 * SynIC message queues and delivery (src/state/message-queues.ts, synic.md §4), driven the way a
 * guest drives them: HvCallPostMessage memory calls (the 256-byte input written into guest memory
 * first), guest writes to the SIM page, EOM writes and EOIs. Slot bytes are read by hand offsets
 * (synic.md §3): MessageType at 0, PayloadSize at 4, MessageFlags at 5, OriginationId at 8,
 * payload from 16.
 */
import { describe, expect, it } from "vitest";
import { HvStatus } from "../../src/abi/hv-status.js";
import {
  dispatcherFor,
  type Json,
  load,
  type PostedMessage,
  post,
  postAgain,
  postMessageBlock,
  text,
} from "./support.js";

const EOM = 0x40000084;
const SIMP = 0x40000083;
const SCONTROL = 0x40000080;
const SINT3 = 0x40000093;
const INPUT = 0x1000n;
const INPUT3 = 0x3000n;
/** Slot 3 of partition 2 VP 0's SIM page at 0x20000 (post-message.md §4). */
const SLOT3 = 0x20300n;

/**
 * post-message.md §4, extended: partition 2 VP 0 has SIMP at 0x20000, SINT 3 unmasked (0x51) and
 * SINT 5 unmasked (0x55); ports 7 and 8 are message ports on (VP 0, SINT 3), port 9 on (VP 0,
 * SINT 5). Partition 1 owns connections 0x10 -> 7, 0x11 -> 8, 0x12 -> 9; partition 3 owns 0x30 -> 7.
 */
function scenario(): Json {
  return {
    partitions: [
      {
        id: 1,
        privileges: ["PostMessages"],
        vps: [{ index: 0 }],
        connections: [
          { id: 0x10, portPartition: 2, portId: 7 },
          { id: 0x11, portPartition: 2, portId: 8 },
          { id: 0x12, portPartition: 2, portId: 9 },
        ],
        memory: [{ gpa: "0x1000", hex: "00" }],
      },
      {
        id: 2,
        vps: [{ index: 0, scontrol: "0x1", simp: "0x20001", sints: { "3": "0x51", "5": "0x55" } }],
        ports: [
          { id: 7, type: "message", targetVp: 0, targetSint: 3 },
          { id: 8, type: "message", targetVp: 0, targetSint: 3 },
          { id: 9, type: "message", targetVp: 0, targetSint: 5 },
        ],
      },
      {
        id: 3,
        privileges: ["PostMessages"],
        vps: [{ index: 0 }],
        connections: [{ id: 0x30, portPartition: 2, portId: 7 }],
        memory: [{ gpa: "0x3000", hex: "00" }],
      },
    ],
  };
}

interface Header {
  readonly type: number;
  readonly size: number;
  readonly flags: number;
  readonly origin: bigint;
  readonly payload: string;
}

function header(slot: Uint8Array): Header {
  const view = new DataView(slot.buffer, slot.byteOffset, slot.byteLength);
  const size = slot[4]!;
  return {
    type: view.getUint32(0, true),
    size,
    flags: slot[5]!,
    origin: view.getBigUint64(8, true),
    payload: new TextDecoder().decode(slot.subarray(16, 16 + size)),
  };
}

function setup() {
  const m = load(scenario());
  const d = dispatcherFor(m);
  const heard: string[] = [];
  m.onSintAsserted((p, vp, sint, vector, source) =>
    heard.push(`${p}/${vp}/${sint}/${vector}/${source}`),
  );
  const send = (message: PostedMessage, caller = 1) =>
    post(d, caller, caller === 3 ? INPUT3 : INPUT, message);
  const slot = (sint = 3) => header(m.simSlot(2, 0, sint));
  const queued = (sint = 3) => m.queuedMessages(2, 0, sint).map((r) => header(r).payload);
  /** The guest empties a slot: MessageType 0, through the SIM page's GPA. */
  const empty = (sint = 3) =>
    expect(m.guestWrite(2, 0x20000n + BigInt(sint * 256), new Uint8Array(4))).toBe("ok");
  const eom = () => expect(m.wrmsr(2, 0, EOM, 0n)).toBe("ok");
  return { m, d, heard, send, slot, queued, empty, eom };
}

describe("post-message.md §4, step by step", () => {
  it("delivers, queues with MessagePending, delivers again on EOM, and runs out of buffers at 16", () => {
    const { m, d, heard, send, slot, queued, empty, eom } = setup();
    expect(send({ connectionId: 0x10, messageType: 1, payload: text("ping") })).toBe(
      HvStatus.SUCCESS,
    );
    const bytes = m.guestRead(2, SLOT3, 256)!;
    expect(header(bytes)).toEqual({ type: 1, size: 4, flags: 0, origin: 7n, payload: "ping" });
    expect(bytes.subarray(6, 8)).toEqual(new Uint8Array(2));
    expect(bytes.subarray(20).every((b) => b === 0)).toBe(true);
    expect(m.sintAssertionCount(2, 0, 3)).toBe(1);
    expect(heard).toEqual(["2/0/3/81/message"]);

    expect(send({ connectionId: 0x10, messageType: 1, payload: text("two") })).toBe(
      HvStatus.SUCCESS,
    );
    expect(slot()).toEqual({ type: 1, size: 4, flags: 1, origin: 7n, payload: "ping" });
    expect(queued()).toEqual(["two"]);
    expect(m.sintAssertionCount(2, 0, 3)).toBe(1);

    empty();
    eom();
    expect(slot()).toEqual({ type: 1, size: 3, flags: 0, origin: 7n, payload: "two" });
    expect(queued()).toEqual([]);
    expect(m.sintAssertionCount(2, 0, 3)).toBe(2);
    expect(heard).toHaveLength(2);

    // Slot occupied: 16 posts queue (the port's 16 buffers), the 17th finds none free.
    for (let i = 0; i < 16; i++) {
      expect(send({ connectionId: 0x10, payload: text(`q${i}`) }), `post ${i}`).toBe(
        HvStatus.SUCCESS,
      );
    }
    expect(queued()).toEqual(Array.from({ length: 16 }, (_, i) => `q${i}`));
    expect(
      m.guestWrite(1, INPUT, postMessageBlock({ connectionId: 0x10, payload: text("x") })),
    ).toBe("ok");
    const snap = m.snapshot();
    expect(postAgain(d, 1, INPUT)).toBe(HvStatus.INSUFFICIENT_BUFFERS);
    expect(m.equals(snap)).toBe(true);
    expect(m.sintAssertionCount(2, 0, 3)).toBe(2);
  });
});

describe("delivery", () => {
  it("writes the whole slot: the first PayloadSize bytes, then zeros", () => {
    const { m, send, empty, eom } = setup();
    expect(send({ connectionId: 0x10, payload: new Uint8Array(240).fill(0xee) })).toBe(
      HvStatus.SUCCESS,
    );
    // Garbage after PayloadSize in the input block is not sent.
    expect(
      send({
        connectionId: 0x10,
        messageType: 9,
        payload: new Uint8Array(240).fill(0x77),
        payloadSize: 3,
      }),
    ).toBe(HvStatus.SUCCESS);
    empty();
    eom();
    const bytes = m.simSlot(2, 0, 3);
    expect(header(bytes).type).toBe(9);
    expect(bytes.subarray(16, 19)).toEqual(Uint8Array.of(0x77, 0x77, 0x77));
    expect(bytes.subarray(19).every((b) => b === 0)).toBe(true);
    expect(m.guestRead(2, SLOT3, 256)).toEqual(bytes);
  });

  it("FIFO per (VP, SINT); one message per SINT per rescan, in SINT order; MessagePending tracks the rest", () => {
    const { m, send, slot, queued, empty, eom } = setup();
    for (const s of ["a", "b", "c"])
      expect(send({ connectionId: 0x10, payload: text(s) })).toBe(HvStatus.SUCCESS);
    for (const s of ["x", "y"])
      expect(send({ connectionId: 0x12, payload: text(s) })).toBe(HvStatus.SUCCESS);
    expect([slot(3).payload, slot(5).payload]).toEqual(["a", "x"]);
    expect([slot(3).flags, slot(5).flags]).toEqual([1, 1]);
    empty(3);
    empty(5);
    eom();
    expect([slot(3), slot(5)].map((h) => [h.payload, h.flags])).toEqual([
      ["b", 1],
      ["y", 0],
    ]);
    expect(queued(3)).toEqual(["c"]);
    expect(queued(5)).toEqual([]);
    // EOM with the slot still full: nothing delivered, no interrupt, MessagePending stays.
    const count = m.sintAssertionCount(2, 0, 3);
    eom();
    expect(slot(3).payload).toBe("b");
    expect(m.sintAssertionCount(2, 0, 3)).toBe(count);
    // An EOI is the same rescan.
    empty(3);
    m.eoi(2, 0);
    expect([slot(3).payload, slot(3).flags]).toEqual(["c", 0]);
    expect(m.sintAssertionCount(2, 0, 3)).toBe(count + 1);
    expect(m.sintAssertionCount(2, 0, 5)).toBe(2);
  });

  it("a masked or polling SINT gets the message but no interrupt", () => {
    const { m, heard, send, slot, empty, eom } = setup();
    expect(m.wrmsr(2, 0, SINT3, 0x10051n)).toBe("ok");
    expect(send({ connectionId: 0x10, payload: text("m") })).toBe(HvStatus.SUCCESS);
    expect(slot().payload).toBe("m");
    expect(m.wrmsr(2, 0, SINT3, 0x40051n)).toBe("ok");
    empty();
    expect(send({ connectionId: 0x10, payload: text("p") })).toBe(HvStatus.SUCCESS);
    expect(slot().payload).toBe("p");
    expect(m.sintAssertionCount(2, 0, 3)).toBe(0);
    expect(heard).toEqual([]);
    // Unmasking delivers nothing by itself and asserts nothing.
    expect(m.wrmsr(2, 0, SINT3, 0x51n)).toBe("ok");
    eom();
    expect(m.sintAssertionCount(2, 0, 3)).toBe(0);
  });

  it("with the SIM page or the SynIC off, messages stay queued; re-enabling delivers nothing until EOM", () => {
    const { m, send, slot, queued, empty, eom } = setup();
    expect(send({ connectionId: 0x10, payload: text("1") })).toBe(HvStatus.SUCCESS);
    expect(send({ connectionId: 0x10, payload: text("2") })).toBe(HvStatus.SUCCESS);
    empty();
    expect(m.wrmsr(2, 0, SIMP, 0x20000n)).toBe("ok");
    eom();
    expect(queued()).toEqual(["2"]);
    expect(send({ connectionId: 0x10 })).toBe(HvStatus.INVALID_SYNIC_STATE);
    expect(m.wrmsr(2, 0, SIMP, 0x20001n)).toBe("ok");
    expect(queued()).toEqual(["2"]);
    expect(m.wrmsr(2, 0, SCONTROL, 0n)).toBe("ok");
    eom();
    expect(queued()).toEqual(["2"]);
    expect(m.wrmsr(2, 0, SCONTROL, 1n)).toBe("ok");
    expect(slot().type).toBe(0);
    eom();
    expect(slot().payload).toBe("2");
    expect(queued()).toEqual([]);
  });
});

describe("guest message buffers", () => {
  it("16 per port, shared by every sender of the port; each port has its own 16", () => {
    const { m, send, queued, empty, eom } = setup();
    expect(send({ connectionId: 0x10, payload: text("head") })).toBe(HvStatus.SUCCESS);
    for (let i = 0; i < 8; i++)
      expect(send({ connectionId: 0x10, payload: text(`p1-${i}`) })).toBe(HvStatus.SUCCESS);
    for (let i = 0; i < 8; i++)
      expect(send({ connectionId: 0x30, payload: text(`p3-${i}`) }, 3)).toBe(HvStatus.SUCCESS);
    expect(send({ connectionId: 0x30 }, 3)).toBe(HvStatus.INSUFFICIENT_BUFFERS);
    expect(send({ connectionId: 0x10 })).toBe(HvStatus.INSUFFICIENT_BUFFERS);
    // Port 8 queues on the same (VP, SINT) with buffers of its own.
    for (let i = 0; i < 16; i++)
      expect(send({ connectionId: 0x11, payload: text(`q-${i}`) })).toBe(HvStatus.SUCCESS);
    expect(send({ connectionId: 0x11 })).toBe(HvStatus.INSUFFICIENT_BUFFERS);
    expect(queued()).toHaveLength(32);
    // A delivery frees its buffer: port 7 takes one more.
    empty();
    eom();
    expect(m.simSlot(2, 0, 3)[8]).toBe(7);
    expect(send({ connectionId: 0x10, payload: text("late") })).toBe(HvStatus.SUCCESS);
    expect(queued().at(-1)).toBe("late");
    expect(send({ connectionId: 0x10 })).toBe(HvStatus.INSUFFICIENT_BUFFERS);
  });
});

describe("deletePort", () => {
  it("drops the port's queued messages, keeps the others in order, and leaves the slot alone", () => {
    const { m, send, slot, queued, empty, eom } = setup();
    const order: [number, string][] = [
      [0x10, "a7"],
      [0x11, "b8"],
      [0x10, "c7"],
      [0x10, "d7"],
      [0x11, "e8"],
      [0x10, "f7"],
    ];
    for (const [c, s] of order)
      expect(send({ connectionId: c, payload: text(s) })).toBe(HvStatus.SUCCESS);
    expect(slot().payload).toBe("a7");
    expect(queued()).toEqual(["b8", "c7", "d7", "e8", "f7"]);
    m.deletePort(2, 7);
    expect(queued()).toEqual(["b8", "e8"]);
    expect(slot().payload).toBe("a7"); // delivered messages stay in their slots
    const q7 = m.portSlot(2, 7);
    expect(m.tables.messageBuffersUsed[m.tables.portMessageOrdinal[q7]!]).toBe(0);
    expect(send({ connectionId: 0x10 })).toBe(HvStatus.INVALID_PORT_ID);
    // The queue's tail is right: a new message goes after e8.
    expect(send({ connectionId: 0x11, payload: text("g8") })).toBe(HvStatus.SUCCESS);
    expect(queued()).toEqual(["b8", "e8", "g8"]);
    for (const want of ["b8", "e8", "g8"]) {
      empty();
      eom();
      expect(slot().payload).toBe(want);
    }
    expect(queued()).toEqual([]);
    expect(slot().flags).toBe(0);
  });

  it("dropping the head and the tail of a queue", () => {
    const { m, send, queued } = setup();
    for (const [c, s] of [
      [0x10, "slot"],
      [0x10, "h7"],
      [0x11, "m8"],
      [0x10, "t7"],
    ] as const) {
      expect(send({ connectionId: c, payload: text(s) })).toBe(HvStatus.SUCCESS);
    }
    m.deletePort(2, 7);
    expect(queued()).toEqual(["m8"]);
    m.deletePort(2, 8);
    expect(queued()).toEqual([]);
    expect(m.tables.queueLength[m.requireVp(2, 0) * 16 + 3]).toBe(0);
    expect(m.tables.queueHead[m.requireVp(2, 0) * 16 + 3]).toBe(-1);
    expect(m.tables.queueTail[m.requireVp(2, 0) * 16 + 3]).toBe(-1);
  });
});

describe("snapshots cover messages and RAM", () => {
  function withTraffic(): ReturnType<typeof setup> {
    const s = setup();
    for (const p of ["one", "two", "three"])
      expect(s.send({ connectionId: 0x10, payload: text(p) })).toBe(HvStatus.SUCCESS);
    return s;
  }

  it.each<[string, (s: ReturnType<typeof setup>) => void]>([
    [
      "a post that queues",
      (s) => expect(s.send({ connectionId: 0x11, payload: text("more") })).toBe(HvStatus.SUCCESS),
    ],
    [
      "an EOM that delivers",
      (s) => {
        s.empty();
        s.eom();
      },
    ],
    ["the guest emptying a slot", (s) => s.empty()],
    ["a port deleted with messages queued", (s) => s.m.deletePort(2, 7)],
    [
      "a guest write to RAM",
      (s) => expect(s.m.guestWrite(1, 0x1ff0n, Uint8Array.of(1))).toBe("ok"),
    ],
  ])("equals fails after %s, and restore brings queues, slots and RAM back", (_name, change) => {
    const s = withTraffic();
    const { m } = s;
    const snap = m.snapshot();
    const before = {
      slot: m.simSlot(2, 0, 3),
      queued: s.queued(),
      ram: m.guestRead(1, 0x1000n, 4096),
    };
    change(s);
    expect(m.equals(snap)).toBe(false);
    m.restore(snap);
    expect(m.equals(snap)).toBe(true);
    expect({
      slot: m.simSlot(2, 0, 3),
      queued: s.queued(),
      ram: m.guestRead(1, 0x1000n, 4096),
    }).toEqual(before);
    expect(m.guestRead(2, SLOT3, 256)).toEqual(before.slot);
    // The restored machine carries on: FIFO from where the snapshot was.
    s.empty();
    s.eom();
    expect(s.slot().payload).toBe("two");
    expect(s.queued()).toEqual(["three"]);
  });

  it("an identical machine fed the same calls compares equal, and differs once one more call runs", () => {
    const a = withTraffic();
    const b = withTraffic();
    expect(b.m.equals(a.m.snapshot())).toBe(true);
    a.send({ connectionId: 0x12, payload: text("z") });
    expect(b.m.equals(a.m.snapshot())).toBe(false);
    expect(a.m.snapshot().firstDifference(b.m.tables, b.m.memory)).toBeDefined();
  });
});
