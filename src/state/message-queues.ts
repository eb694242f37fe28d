import {
  HV_MESSAGE_HEADER_SIZE,
  MESSAGE_FLAGS_OFFSET,
  MESSAGE_ORIGINATION_ID_OFFSET,
  MESSAGE_PAYLOAD_SIZE_OFFSET,
  MESSAGE_PENDING_BIT,
  MESSAGE_TYPE_OFFSET,
} from "../abi/hv-message.js";
import { SIM_PAGE_BYTES, SIM_SLOT_BYTES, SINT_COUNT } from "../abi/sief-page.js";
import { SINT_MASKED_BIT, SINT_POLLING_BIT } from "../abi/synic-msr.js";
import type { Machine } from "./machine.js";
import {
  type MachineTables,
  MESSAGE_BUFFERS_PER_PORT,
  MESSAGE_RECORD_BYTES,
  NO_MESSAGE,
} from "./machine-tables.js";
import { sintLoIndex } from "./synic-registers.js";

/**
 * SynIC message queues and delivery (docs/synic.md §5), in the machine's typed arrays: each message
 * port owns 16 message records (its guest message buffers); a queued message is a record linked
 * into the FIFO of its (VP, SINT). Nothing here allocates.
 */

const ALL_BUFFERS_USED = (1 << MESSAGE_BUFFERS_PER_PORT) - 1;

/** The lowest free buffer of a message port (by ordinal), or -1 when all 16 hold messages. */
export function freeBuffer(t: MachineTables, ordinal: number): number {
  const used = t.messageBuffersUsed[ordinal]!;
  if (used === ALL_BUFFERS_USED) return -1;
  const free = ~used & (used + 1); // the lowest clear bit
  return 31 - Math.clz32(free);
}

/** The record of buffer `b` of the message port with this ordinal. */
export function recordOf(ordinal: number, b: number): number {
  return ordinal * MESSAGE_BUFFERS_PER_PORT + b;
}

/** u32 words of one message record (and of one SIM slot). */
const RECORD_WORDS = MESSAGE_RECORD_BYTES / 4;
const HEADER_WORDS = HV_MESSAGE_HEADER_SIZE / 4;

/**
 * Takes buffer `b` of the port (which the caller found free), fills its record with the HV_MESSAGE
 * to deliver — header, the first `size` bytes of the payload (u32 words from `payload[from]` on),
 * zeros after them — and appends it to the queue of (VP slot, SINT). Word copies: the records and
 * the input block are 4-byte aligned, and the host little-endian (see SiefImage).
 */
export function enqueueMessage(
  machine: Machine,
  ordinal: number,
  b: number,
  q: number,
  vpSlot: number,
  sint: number,
  messageType: number,
  size: number,
  payload: Uint32Array,
  from: number,
): void {
  const t = machine.tables;
  const r = recordOf(ordinal, b);
  const words = machine.messageWords;
  const at = r * RECORD_WORDS;
  // MessageType; PayloadSize with MessageFlags 0 and the reserved bytes 0; OriginationId: the
  // destination port's HV_PORT_ID, upper 32 bits zero (docs/synic.md §4).
  words[at + MESSAGE_TYPE_OFFSET / 4] = messageType;
  words[at + MESSAGE_PAYLOAD_SIZE_OFFSET / 4] = size;
  words[at + MESSAGE_ORIGINATION_ID_OFFSET / 4] = t.portId[q]!;
  words[at + MESSAGE_ORIGINATION_ID_OFFSET / 4 + 1] = 0;
  const n = (size + 3) >>> 2;
  for (let i = 0; i < n; i++) words[at + HEADER_WORDS + i] = payload[from + i]!;
  t.messageBytes.fill(
    0,
    r * MESSAGE_RECORD_BYTES + HV_MESSAGE_HEADER_SIZE + size,
    (r + 1) * MESSAGE_RECORD_BYTES,
  );
  t.messageBuffersUsed[ordinal] = t.messageBuffersUsed[ordinal]! | (1 << b);
  link(t, r, vpSlot * SINT_COUNT + sint);
}

function link(t: MachineTables, r: number, queue: number): void {
  t.messageNext[r] = NO_MESSAGE;
  const tail = t.queueTail[queue]!;
  if (tail === NO_MESSAGE) t.queueHead[queue] = r;
  else t.messageNext[tail] = r;
  t.queueTail[queue] = r;
  t.queueLength[queue] = t.queueLength[queue]! + 1;
}

/**
 * Frees a record's buffer (it was delivered or dropped) and clears it, so that a free buffer holds
 * nothing of an old message (and a machine reloaded from a dump, whose buffers are filled afresh,
 * holds the same bytes).
 */
function freeRecord(machine: Machine, r: number): void {
  const t = machine.tables;
  const ordinal = Math.floor(r / MESSAGE_BUFFERS_PER_PORT);
  const b = r % MESSAGE_BUFFERS_PER_PORT;
  t.messageBuffersUsed[ordinal] = t.messageBuffersUsed[ordinal]! & ~(1 << b);
  machine.messageWords.fill(0, r * RECORD_WORDS, (r + 1) * RECORD_WORDS);
  t.messageNext[r] = NO_MESSAGE;
}

/** The byte offset of (VP slot, SINT)'s slot in the SIM image. */
export function simSlotOffset(vpSlot: number, sint: number): number {
  return vpSlot * SIM_PAGE_BYTES + sint * SIM_SLOT_BYTES;
}

/** True when (VP slot, SINT)'s SIM slot is empty: its MessageType is HvMessageTypeNone. */
export function simSlotEmpty(sim: Uint8Array, vpSlot: number, sint: number): boolean {
  return slotEmpty(sim, simSlotOffset(vpSlot, sint));
}

function slotEmpty(sim: Uint8Array, at: number): boolean {
  // MessageType (bytes 0..3) = HvMessageTypeNone.
  return (
    (sim[at + MESSAGE_TYPE_OFFSET]! |
      sim[at + MESSAGE_TYPE_OFFSET + 1]! |
      sim[at + MESSAGE_TYPE_OFFSET + 2]! |
      sim[at + MESSAGE_TYPE_OFFSET + 3]!) ===
    0
  );
}

/**
 * One delivery attempt for (VP slot, SINT) (docs/synic.md §5): nothing unless the queue holds a
 * message and the VP's SynIC and SIM page are enabled; into an empty slot the head message is
 * written (MessagePending set when more wait), dequeued and its buffer freed, and the SINT's
 * interrupt asserted unless it is masked or polling; an occupied slot gets MessagePending.
 */
export function attemptDelivery(machine: Machine, vpSlot: number, sint: number): void {
  const t = machine.tables;
  const queue = vpSlot * SINT_COUNT + sint;
  const r = t.queueHead[queue]!;
  if (r === NO_MESSAGE || !machine.simReady(vpSlot)) return;
  const sim = t.sim;
  const at = simSlotOffset(vpSlot, sint);
  if (!slotEmpty(sim, at)) {
    sim[at + MESSAGE_FLAGS_OFFSET] = sim[at + MESSAGE_FLAGS_OFFSET]! | MESSAGE_PENDING_BIT;
    return;
  }
  // A word loop, not set(subarray()): no view is allocated per delivery.
  const slot = machine.simWords;
  const record = machine.messageWords;
  const to = at >>> 2;
  const from = r * RECORD_WORDS;
  for (let i = 0; i < RECORD_WORDS; i++) slot[to + i] = record[from + i]!;
  const next = t.messageNext[r]!;
  t.queueHead[queue] = next;
  if (next === NO_MESSAGE) t.queueTail[queue] = NO_MESSAGE;
  else sim[at + MESSAGE_FLAGS_OFFSET] = sim[at + MESSAGE_FLAGS_OFFSET]! | MESSAGE_PENDING_BIT;
  t.queueLength[queue] = t.queueLength[queue]! - 1;
  freeRecord(machine, r);
  const sintLo = t.msrs[sintLoIndex(vpSlot, sint)]!;
  if ((sintLo & (SINT_MASKED_BIT | SINT_POLLING_BIT)) === 0)
    machine.assertSint(vpSlot, sint, "message");
}

/** The EOM / EOI rescan: one delivery attempt per SINT of the VP, in SINT order. */
export function rescanMessages(machine: Machine, vpSlot: number): void {
  for (let sint = 0; sint < SINT_COUNT; sint++) attemptDelivery(machine, vpSlot, sint);
}

/** Drops every queued message of a port and frees its buffers (port deletion). */
export function dropPortMessages(machine: Machine, q: number): void {
  const t = machine.tables;
  const ordinal = t.portMessageOrdinal[q]!;
  if (ordinal < 0 || t.messageBuffersUsed[ordinal] === 0) return;
  const first = recordOf(ordinal, 0);
  const last = recordOf(ordinal, MESSAGE_BUFFERS_PER_PORT);
  for (let queue = 0; queue < t.queueHead.length; queue++) {
    let prev = NO_MESSAGE;
    let r = t.queueHead[queue]!;
    while (r !== NO_MESSAGE) {
      const next = t.messageNext[r]!;
      if (r >= first && r < last) {
        if (prev === NO_MESSAGE) t.queueHead[queue] = next;
        else t.messageNext[prev] = next;
        if (t.queueTail[queue] === r) t.queueTail[queue] = prev;
        t.queueLength[queue] = t.queueLength[queue]! - 1;
        t.messageNext[r] = NO_MESSAGE;
      } else {
        prev = r;
      }
      r = next;
    }
  }
  t.messageBuffersUsed[ordinal] = 0;
  machine.messageWords.fill(0, first * RECORD_WORDS, last * RECORD_WORDS);
}

/** The records queued on (VP slot, SINT), in order. */
export function queuedRecords(t: MachineTables, vpSlot: number, sint: number): number[] {
  const out: number[] = [];
  for (let r = t.queueHead[vpSlot * SINT_COUNT + sint]!; r !== NO_MESSAGE; r = t.messageNext[r]!) {
    out.push(r);
  }
  return out;
}
