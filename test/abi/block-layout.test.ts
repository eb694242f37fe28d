/**
 * BlockLayout (src/abi/block-layout.ts) and the three byte layouts declared with it: the
 * HvCallSignalEvent input (signal-event.md §4), the HvCallPostMessage input (post-message.md §2)
 * and HV_MESSAGE (synic.md §3). Offsets are written out by hand from those tables; the decoders
 * (binary-parser, the table walk, the hot path's word reads) are held against each other and
 * against DataView reads at the hand offsets, over random bytes.
 */
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { BlockLayout, type BlockValues, type ByteFieldType } from "../../src/abi/block-layout.js";
import { HV_MESSAGE } from "../../src/abi/hv-message.js";
import { POST_MESSAGE_INPUT } from "../../src/abi/post-message-input.js";
import { SIGNAL_EVENT_INPUT } from "../../src/abi/signal-event-input.js";

const RUNS = { numRuns: 1_000 };

/** [name, offset, type, size] by hand. */
type HandField = readonly [string, number, ByteFieldType, number];

const CASES: readonly (readonly [string, BlockLayout, number, readonly HandField[]])[] = [
  [
    "SIGNAL_EVENT_INPUT",
    SIGNAL_EVENT_INPUT,
    8,
    [
      ["connectionId", 0, "u32", 4],
      ["flagNumber", 4, "u16", 2],
      ["rsvdZ", 6, "u16", 2],
    ],
  ],
  [
    "POST_MESSAGE_INPUT",
    POST_MESSAGE_INPUT,
    256,
    [
      ["connectionId", 0, "u32", 4],
      ["rsvdZ", 4, "u32", 4],
      ["messageType", 8, "u32", 4],
      ["payloadSize", 12, "u32", 4],
      ["payload", 16, "bytes", 240],
    ],
  ],
  [
    "HV_MESSAGE",
    HV_MESSAGE,
    256,
    [
      ["messageType", 0, "u32", 4],
      ["payloadSize", 4, "u8", 1],
      ["messageFlags", 5, "u8", 1],
      ["reserved", 6, "u16", 2],
      ["originationId", 8, "u64", 8],
      ["payload", 16, "bytes", 240],
    ],
  ],
];

/** The field read with a DataView at its hand offset: the independent oracle. */
function handRead(
  block: Uint8Array,
  [, offset, type, size]: HandField,
): number | bigint | Uint8Array {
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  switch (type) {
    case "u8":
      return view.getUint8(offset);
    case "u16":
      return view.getUint16(offset, true);
    case "u32":
      return view.getUint32(offset, true);
    case "u64":
      return view.getBigUint64(offset, true);
    default:
      return block.slice(offset, offset + size);
  }
}

/** Plain values: byte arrays as plain Uint8Arrays (binary-parser hands back Buffers). */
function plain(values: BlockValues | undefined): Record<string, unknown> | undefined {
  if (values === undefined) return undefined;
  return Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, v instanceof Uint8Array ? Uint8Array.from(v) : v]),
  );
}

describe.each(CASES)("%s", (_name, layout, size, hand) => {
  it("declares the spec table's fields at the spec's offsets", () => {
    expect(layout.size).toBe(size);
    expect(layout.fields.map((f) => [f.name, f.offset, f.type, f.size])).toEqual(hand);
    for (const h of hand) expect(layout.field(h[0]).offset).toBe(h[1]);
  });

  it("word() places every field of at most 32 bits by u32 word, shift and mask", () => {
    for (const [name, offset, type, fieldSize] of hand) {
      if (type === "u64" || type === "bytes") {
        expect(() => layout.word(name)).toThrow(RangeError);
        continue;
      }
      expect(layout.word(name)).toEqual({
        word: Math.floor(offset / 4),
        shift: (offset % 4) * 8,
        mask: fieldSize === 4 ? 0xffffffff : 2 ** (fieldSize * 8) - 1,
      });
    }
    expect(() => layout.field("nope")).toThrow(RangeError);
  });

  const blocks = fc.uint8Array({ minLength: size, maxLength: size });

  test.prop([blocks], RUNS)(
    "decode (binary-parser) = decodeByTable = DataView at the hand offsets",
    (block) => {
      const parsed = plain(layout.decode(block));
      expect(parsed).toEqual(plain(layout.decodeByTable(block)));
      expect(parsed).toEqual(Object.fromEntries(hand.map((h) => [h[0], handRead(block, h)])));
    },
  );

  test.prop([blocks], RUNS)("the word reads of the hot path agree with decode", (block) => {
    const words = new Uint32Array(block.slice().buffer);
    const decoded = layout.decode(block)!;
    for (const [name, , type] of hand) {
      if (type === "u64" || type === "bytes") continue;
      const w = layout.word(name);
      expect(((words[w.word]! >>> w.shift) & w.mask) >>> 0, name).toBe(decoded[name]);
    }
  });

  test.prop([blocks], RUNS)("encode(decode(bytes)) = bytes", (block) => {
    expect(layout.encode(layout.decode(block)!)).toEqual(block);
  });

  test.prop([blocks, fc.nat(40)], RUNS)(
    "decodes at an offset and of a subarray alike",
    (block, at) => {
      const big = new Uint8Array(at + size + 3);
      big.set(block, at);
      expect(plain(layout.decode(big, at))).toEqual(plain(layout.decode(block)));
      expect(plain(layout.decode(big.subarray(at)))).toEqual(plain(layout.decode(block)));
    },
  );

  test.prop([fc.uint8Array({ maxLength: size + 8 }), fc.integer({ min: -3, max: size + 8 })], RUNS)(
    "a short input (or an offset outside it) decodes to undefined, never throws",
    (bytes, offset) => {
      const d = layout.decode(bytes, offset);
      expect(d === undefined).toBe(!(offset >= 0 && bytes.length - offset >= size));
    },
  );

  it("short by one byte, a fractional offset: undefined", () => {
    expect(layout.decode(new Uint8Array(size - 1))).toBeUndefined();
    expect(layout.decode(new Uint8Array(size + 1), 1.5)).toBeUndefined();
    expect(layout.decode(new Uint8Array(size), 1)).toBeUndefined();
    expect(layout.decode(new Uint8Array(size))).toBeDefined();
  });

  it("a decoded byte field is a copy, not a view of the input", () => {
    const bytesField = hand.find((h) => h[2] === "bytes");
    if (bytesField === undefined) return;
    const block = new Uint8Array(size).fill(7);
    const d = layout.decode(block)!;
    block.fill(9);
    expect([...(d[bytesField[0]] as Uint8Array)].every((b) => b === 7)).toBe(true);
  });
});

describe("encode", () => {
  it("fields left out are zero, values truncate to their width, types are checked", () => {
    const m = HV_MESSAGE.encode({
      messageType: 0x1_0000_0001,
      payloadSize: 0x1f0,
      originationId: -1n,
    });
    const view = new DataView(m.buffer);
    expect(view.getUint32(0, true)).toBe(1);
    expect(m[4]).toBe(0xf0);
    expect(view.getBigUint64(8, true)).toBe(0xffff_ffff_ffff_ffffn);
    expect(m.subarray(16).every((b) => b === 0)).toBe(true);
    const long = new Uint8Array(300).fill(1);
    const p = POST_MESSAGE_INPUT.encode({ payload: long });
    expect(p.length).toBe(256);
    expect(p.subarray(16).every((b) => b === 1)).toBe(true);
    expect(p.subarray(0, 16).every((b) => b === 0)).toBe(true);
    expect(() => POST_MESSAGE_INPUT.encode({ payload: 5 })).toThrow(TypeError);
    expect(() => POST_MESSAGE_INPUT.encode({ messageType: new Uint8Array(4) })).toThrow(TypeError);
  });
});

describe("reservedSet", () => {
  it("names RsvdZ fields and the reserved bits of fields with a bit layout", () => {
    const se = SIGNAL_EVENT_INPUT.decode(Uint8Array.of(1, 0, 0, 0x80, 0, 0, 2, 0))!;
    expect(SIGNAL_EVENT_INPUT.reservedSet(se)).toEqual([
      "ConnectionId Reserved bits 31:24 must be 0",
      "RsvdZ (bytes 6..7) must be 0",
    ]);
    expect(SIGNAL_EVENT_INPUT.reservedSet(SIGNAL_EVENT_INPUT.decode(new Uint8Array(8))!)).toEqual(
      [],
    );
    const pm = POST_MESSAGE_INPUT.decode(POST_MESSAGE_INPUT.encode({ rsvdZ: 1, messageType: 1 }))!;
    expect(POST_MESSAGE_INPUT.reservedSet(pm)).toEqual(["RsvdZ (bytes 4..7) must be 0"]);
    const msg = HV_MESSAGE.decode(HV_MESSAGE.encode({ messageFlags: 0x03, reserved: 0x100 }))!;
    expect(HV_MESSAGE.reservedSet(msg)).toEqual([
      "MessageFlags Reserved bits 7:1 must be 0",
      "Reserved (bytes 6..7) must be 0",
    ]);
    // MessagePending alone (bit 0) is not reserved.
    expect(
      HV_MESSAGE.reservedSet(HV_MESSAGE.decode(HV_MESSAGE.encode({ messageFlags: 1 }))!),
    ).toEqual([]);
  });
});

describe("BlockLayout construction", () => {
  const make = (size: number, specs: ConstructorParameters<typeof BlockLayout>[2]) => () =>
    new BlockLayout("BROKEN", size, specs);

  it("refuses a gap, an overlap, a misaligned field, a short cover and an empty byte field", () => {
    const a = { name: "a", label: "A", type: "u32" } as const;
    expect(
      make(8, [
        { ...a, offset: 0 },
        { name: "b", label: "B", offset: 5, type: "u16" },
      ]),
    ).toThrow(/b at offset 5/);
    expect(
      make(8, [
        { ...a, offset: 0 },
        { name: "b", label: "B", offset: 2, type: "u32" },
      ]),
    ).toThrow(RangeError);
    expect(
      make(8, [
        { name: "x", label: "X", offset: 0, type: "u16" },
        { ...a, offset: 2 },
      ]),
    ).toThrow(/naturally aligned/);
    expect(make(8, [{ ...a, offset: 0 }])).toThrow(/cover 4 of 8 bytes/);
    expect(make(4, [{ name: "p", label: "P", offset: 0, type: "bytes", length: 0 }])).toThrow(
      RangeError,
    );
    expect(make(3, [{ name: "p", label: "P", offset: 0, type: "bytes", length: 3 }])).not.toThrow();
  });
});
