/**
 * State checks of the safety properties, around every hypercall (signal-event.md §6, post-message.md
 * §3, synic.md §4):
 * - a call that does not return SUCCESS changes no state at all (Machine.snapshot / equals);
 * - a SUCCESS SignalEvent changes at most one SIEF flag bit (0 -> 1) and at most one assertion
 *   count (+1, on that flag's VP and SINT, and only with the bit) — exactly what the model's detail
 *   says (set: both, polling: the bit, already-set: nothing);
 * - a SUCCESS PostMessage changes exactly one (VP, SINT)'s queue and / or slot, plus at most one
 *   assertion count (+1, there);
 * - neither touches guest RAM or any other table; the assertion listener hears exactly the
 *   assertions counted, with the right source.
 * And after every op: each message port's buffers in use are exactly its queued messages, and the
 * queues are well formed.
 */
import { SINT_COUNT } from "../../src/abi/sief-page.js";
import type { Machine } from "../../src/state/machine.js";
import type { MachineSnapshot } from "../../src/state/machine-snapshot.js";
import { NO_MESSAGE, STATE_TABLES, type TableName } from "../../src/state/machine-tables.js";

type Table = Float64Array | Uint8Array | Uint16Array | Uint32Array | Int32Array;

const SIEF_WORDS_PER_VP = 1024;
const SIEF_WORDS_PER_SINT = 64;
const PAGE_BYTES = 4096;
const SLOT_BYTES = 256;
const BUFFERS = 16;

const SIGNAL_TABLES = new Set<TableName>(["sief", "sintAssertions"]);
const POST_TABLES = new Set<TableName>([
  "sim",
  "sintAssertions",
  "queueHead",
  "queueTail",
  "queueLength",
  "messageNext",
  "messageBuffersUsed",
  "messageBytes",
]);

function bytesOf(t: Table): Uint8Array {
  return new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
}

function changed(before: Table, after: Table): number[] {
  const out: number[] = [];
  if (Buffer.compare(bytesOf(before), bytesOf(after)) === 0) return out;
  for (let i = 0; i < after.length; i++) if (before[i] !== after[i]) out.push(i);
  return out;
}

/** The messages of queue `q` (VP slot * 16 + SINT) as one hex string; undefined if malformed. */
function queueText(head: Table, next: Table, bytes: Table, q: number): string | undefined {
  let text = "";
  let steps = 0;
  for (let r = head[q]!; r !== NO_MESSAGE; r = next[r]!) {
    if (r < 0 || r >= next.length || ++steps > next.length) return undefined;
    text += `${Buffer.from(bytes.subarray(r * SLOT_BYTES, (r + 1) * SLOT_BYTES)).toString("hex")};`;
  }
  return text;
}

export interface CallFacts {
  readonly what: string;
  /** The call code (RCX bits 15:0). */
  readonly code: number;
  readonly status: string;
  /** The model's detail, e.g. "signal-event.11:polling". */
  readonly detail: string | undefined;
}

export class SafetyProbe {
  private snapshot: MachineSnapshot | undefined;
  private readonly copies = new Map<TableName, Table>();
  private ram: Map<number, Uint8Array>[] = [];
  /** Listener calls heard, by source; and the assertion total at the start. */
  private heard = { event: 0, message: 0 };
  private heardBefore = { event: 0, message: 0 };
  private readonly startTotal: number;

  constructor(
    readonly machine: Machine,
    readonly listen: boolean,
  ) {
    this.startTotal = this.assertionTotal();
    if (listen) {
      machine.onSintAsserted((_p, _vp, _sint, _vector, source) => {
        this.heard[source]++;
      });
    }
  }

  private assertionTotal(): number {
    return this.machine.tables.sintAssertions.reduce((a, b) => a + b, 0);
  }

  /**
   * Before a hypercall: a snapshot when it should fail (its answer must then change nothing), or
   * copies of the tables and RAM when it should succeed (what changed is then checked piece by
   * piece). The caller knows which from the model; when the call's answer differs from the
   * model's, that is reported before `after` runs.
   */
  before(expectSuccess: boolean): void {
    const m = this.machine;
    this.snapshot = undefined;
    this.copies.clear();
    if (expectSuccess) {
      for (const name of STATE_TABLES) this.copies.set(name, m.tables[name].slice());
      this.ram = m.memory.map((g) => g.snapshotRam());
    } else {
      this.snapshot = m.snapshot();
    }
    this.heardBefore = { ...this.heard };
  }

  /** After the hypercall `before` was taken for; throws an Error naming the violation. */
  after(call: CallFacts): void {
    const m = this.machine;
    const fail = (why: string): never => {
      throw new Error(`${call.what}: ${call.status} (${call.detail}): ${why}`);
    };
    const heard = {
      event: this.heard.event - this.heardBefore.event,
      message: this.heard.message - this.heardBefore.message,
    };
    if ((call.status === "HV_STATUS_SUCCESS") !== (this.snapshot === undefined)) {
      fail("the probe was set up for the other outcome");
    }
    if (call.status !== "HV_STATUS_SUCCESS") {
      if (!m.equals(this.snapshot!)) {
        fail(
          `a failed call changed the state (${this.snapshot!.firstDifference(m.tables, m.memory)})`,
        );
      }
      if (heard.event + heard.message !== 0)
        fail("a failed call told the listener of an assertion");
      return;
    }
    if (!m.memory.every((g, p) => g.ramEquals(this.ram[p]!))) fail("guest RAM changed");
    const allowed = call.code === 0x5d ? SIGNAL_TABLES : POST_TABLES;
    const diffs = new Map<TableName, number[]>();
    for (const name of STATE_TABLES) {
      const d = changed(this.copies.get(name)!, m.tables[name]);
      if (d.length === 0) continue;
      if (!allowed.has(name)) fail(`table ${name} changed (elements ${d.slice(0, 4).join(", ")})`);
      diffs.set(name, d);
    }
    const counts = diffs.get("sintAssertions") ?? [];
    if (counts.length > 1) fail(`${counts.length} assertion counts changed`);
    const count = counts[0];
    if (count !== undefined) {
      const by =
        (m.tables.sintAssertions[count]! - this.copies.get("sintAssertions")![count]!) >>> 0;
      if (by !== 1) fail(`assertion count ${count} went up by ${by}`);
    }
    const assertedAt =
      count === undefined ? undefined : `${Math.floor(count / SINT_COUNT)}/${count % SINT_COUNT}`;
    const source = call.code === 0x5d ? "event" : "message";
    if (
      this.listen &&
      (heard[source] !== counts.length || heard.event + heard.message !== counts.length)
    ) {
      fail(`the listener heard ${JSON.stringify(heard)} for ${counts.length} assertion(s)`);
    }
    if (call.code === 0x5d) this.signalSuccess(call, diffs.get("sief") ?? [], assertedAt, fail);
    else this.postSuccess(call, assertedAt, fail);
  }

  private signalSuccess(
    call: CallFacts,
    words: readonly number[],
    assertedAt: string | undefined,
    fail: (why: string) => never,
  ): void {
    if (words.length > 1) fail(`${words.length} SIEF words changed`);
    const w = words[0];
    let flagAt: string | undefined;
    if (w !== undefined) {
      const a = this.copies.get("sief")![w]!;
      const b = this.machine.tables.sief[w]!;
      const x = (a ^ b) >>> 0;
      if ((x & (x - 1)) !== 0 || (b & x) === 0) {
        fail(`SIEF word ${w} went 0x${a.toString(16)} -> 0x${b.toString(16)}: not one bit set`);
      }
      flagAt = `${Math.floor(w / SIEF_WORDS_PER_VP)}/${Math.floor((w % SIEF_WORDS_PER_VP) / SIEF_WORDS_PER_SINT)}`;
    }
    if (assertedAt !== undefined && assertedAt !== flagAt) {
      fail(`asserted on VP slot/SINT ${assertedAt}, flag changed at ${flagAt ?? "none"}`);
    }
    const want = {
      "signal-event.11:set": [true, true],
      "signal-event.11:polling": [true, false],
      "signal-event.11:already-set": [false, false],
    }[call.detail ?? ""];
    if (
      want !== undefined &&
      (want[0] !== (flagAt !== undefined) || want[1] !== (assertedAt !== undefined))
    ) {
      fail(`flag changed: ${flagAt !== undefined}, asserted: ${assertedAt !== undefined}`);
    }
  }

  private postSuccess(
    call: CallFacts,
    assertedAt: string | undefined,
    fail: (why: string) => never,
  ): void {
    const t = this.machine.tables;
    const c = this.copies;
    const touched: string[] = [];
    let slotChanged = false;
    let queueGrew = false;
    for (let v = 0; v < this.machine.vpCount; v++) {
      for (let s = 0; s < SINT_COUNT; s++) {
        const q = v * SINT_COUNT + s;
        const at = v * PAGE_BYTES + s * SLOT_BYTES;
        const slot =
          changed(c.get("sim")!.subarray(at, at + SLOT_BYTES), t.sim.subarray(at, at + SLOT_BYTES))
            .length > 0;
        const before = queueText(
          c.get("queueHead")!,
          c.get("messageNext")!,
          c.get("messageBytes")!,
          q,
        );
        const after = queueText(t.queueHead, t.messageNext, t.messageBytes, q);
        if (after === undefined) fail(`queue of VP slot ${v} SINT ${s} is malformed`);
        if (slot || before !== after) {
          touched.push(`${v}/${s}`);
          slotChanged = slot;
          queueGrew = t.queueLength[q]! > c.get("queueLength")![q]!;
        }
      }
    }
    if (touched.length !== 1)
      fail(`${touched.length} (VP slot, SINT) queues or slots changed: ${touched.join(", ")}`);
    if (assertedAt !== undefined && assertedAt !== touched[0]) {
      fail(`asserted on ${assertedAt}, the message went to ${touched[0]}`);
    }
    if (assertedAt !== undefined && !slotChanged) fail("an assertion without a delivery");
    const d = call.detail ?? "";
    if (d.endsWith(":delivered") && (!slotChanged || assertedAt === undefined))
      fail("delivered: expected slot + assertion");
    if (d.endsWith(":delivered-interrupt-lost") && (!slotChanged || assertedAt !== undefined)) {
      fail("delivered, interrupt lost: expected the slot to change and no assertion");
    }
    if (d.endsWith(":queued-behind-busy-slot") && (!queueGrew || assertedAt !== undefined)) {
      fail("queued behind a busy slot: expected a longer queue and no assertion");
    }
  }

  /**
   * After any op: the queues are well formed (lengths and tails agree with the links, no record in
   * two queues), every port's buffers in use are exactly its queued records, and the listener
   * (when listening) heard exactly as many assertions as the counters went up.
   */
  invariants(what: string): void {
    const t = this.machine.tables;
    const used = new Set<number>();
    for (let q = 0; q < t.queueHead.length; q++) {
      let n = 0;
      let last = NO_MESSAGE;
      for (let r = t.queueHead[q]!; r !== NO_MESSAGE; r = t.messageNext[r]!) {
        if (used.has(r) || r < 0 || r >= t.messageNext.length)
          throw new Error(`${what}: queue ${q} links record ${r} twice or out of range`);
        used.add(r);
        last = r;
        n++;
      }
      if (n !== t.queueLength[q] || last !== t.queueTail[q]) {
        throw new Error(
          `${what}: queue ${q} has ${n} records (tail ${last}), its length says ${t.queueLength[q]} (tail ${t.queueTail[q]})`,
        );
      }
    }
    for (let o = 0; o < t.messageBuffersUsed.length; o++) {
      let bits = 0;
      for (let b = 0; b < BUFFERS; b++) if (used.has(o * BUFFERS + b)) bits |= 1 << b;
      if (bits !== t.messageBuffersUsed[o]) {
        throw new Error(
          `${what}: message port ordinal ${o} marks buffers 0x${t.messageBuffersUsed[o]!.toString(16)} used, its queued records are 0x${bits.toString(16)}`,
        );
      }
    }
    if (this.listen) {
      const counted = this.assertionTotal() - this.startTotal;
      if (counted !== this.heard.event + this.heard.message) {
        throw new Error(
          `${what}: ${counted} assertions counted, the listener heard ${JSON.stringify(this.heard)}`,
        );
      }
    }
  }
}
