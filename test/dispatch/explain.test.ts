/**
 * explainLastCall (through hypercall(…, { explain: true }), and called directly after
 * Dispatcher.dispatch): one case for every generic step (1-4) and every step of HvCallSignalEvent
 * (signal-event.md §6, 5-11) and HvCallPostMessage (post-message.md §3, 5-12). The check must be
 * the step that decided — the same step the independent trace model names — and the why must
 * name the values behind it.
 */
import { describe, expect, it } from "vitest";
import { formatU64Hex, u64ToHalves } from "../../src/abi/u64.js";
import { finalState } from "../../src/cli/golden/fixture-run.js";
import { explainLastCall } from "../../src/dispatch/explain.js";
import {
  Dispatcher,
  hvStatusName,
  hypercall,
  loadMachine,
  parseScenario,
} from "../../src/index.js";
import { TraceModel } from "../model/trace-model.js";
import {
  MSG_GPA,
  message,
  POST,
  SCENARIO,
  SIGNAL,
  SIGNAL_FAST,
  signal,
} from "./support/explain-scenario.js";

interface Case {
  readonly check: string;
  readonly name: string;
  readonly control: bigint;
  readonly rdx: bigint;
  readonly write?: [bigint, Uint8Array];
  /** Calls made first (successful posts that fill the queue). */
  readonly before?: number;
  /** The whole sentence, a pattern, or fragments that must all be in it (values, in any order). */
  readonly why: string | RegExp | readonly (string | RegExp)[];
}

const CASES: readonly Case[] = [
  {
    check: "generic.1",
    name: "unimplemented code",
    control: 0x7fffn,
    rdx: 0n,
    why: "call code 0x7fff is not implemented; hvcall implements HvCallPostMessage (0x005c), HvCallSignalEvent (0x005d)",
  },
  {
    check: "generic.1",
    name: "a TLFS code hvcall lacks",
    control: 0x58n,
    rdx: 0n,
    why: /^call code 0x0058 \(HvCallDeletePort\) is not implemented/,
  },
  {
    check: "generic.2",
    name: "RsvdZ control bits",
    control: SIGNAL_FAST | (1n << 27n),
    rdx: signal(0x20),
    why: "control value 0x000000000801005d: RsvdZ bits 30:27 must be 0 (it is 1)",
  },
  {
    check: "generic.2",
    name: "fast PostMessage",
    control: POST | 0x10000n,
    rdx: 0n,
    why: /fast \(bit 16\) must be 0: HvCallPostMessage takes its input from guest memory only \(it is 1\)/,
  },
  {
    check: "generic.2",
    name: "rep count on a simple call",
    control: SIGNAL_FAST | (2n << 32n),
    rdx: 0n,
    why: /rep count \(bits 43:32\) must be 0: HvCallSignalEvent is a simple call \(it is 2\)/,
  },
  {
    check: "generic.4",
    name: "misaligned input",
    control: SIGNAL,
    rdx: MSG_GPA + 4n,
    why: "the input GPA 0x3004 is not 8-byte aligned",
  },
  {
    check: "generic.4",
    name: "256 bytes crossing a page",
    control: POST,
    rdx: MSG_GPA + 0xf08n,
    why: "the 256-byte input block at 0x3f08 crosses into the next 4 KiB page",
  },
  {
    check: "generic.4",
    name: "unbacked input",
    control: SIGNAL,
    rdx: 0x9000n,
    why: "the input GPA 0x9000 is not backed in partition 1 (neither RAM nor an overlay page)",
  },
  {
    check: "signal-event.5",
    name: "RsvdZ",
    control: SIGNAL_FAST,
    rdx: signal(0x20, 6, 1),
    why: "the input block breaks a format rule: RsvdZ (bytes 6..7) must be 0 (ConnectionId 0x00000020, RsvdZ 0x1)",
  },
  {
    check: "signal-event.5",
    name: "ConnectionId bits 31:24",
    control: SIGNAL_FAST,
    rdx: signal(0x0100_0020),
    why: /ConnectionId Reserved bits 31:24 must be 0 \(ConnectionId 0x01000020, RsvdZ 0x0\)/,
  },
  {
    check: "signal-event.6",
    name: "unknown connection",
    control: SIGNAL_FAST,
    rdx: signal(0x99),
    why: "partition 1 owns no connection with id 153 (0x99)",
  },
  {
    check: "signal-event.7",
    name: "missing port",
    control: SIGNAL_FAST,
    rdx: signal(0x21),
    why: "connection 33 of partition 1 leads to port 11 of partition 2, which does not exist",
  },
  {
    check: "signal-event.7",
    name: "deleted port",
    control: SIGNAL_FAST,
    rdx: signal(0x22),
    why: "connection 34 of partition 1 leads to port 12 of partition 2, which is deleted",
  },
  {
    check: "signal-event.7",
    name: "inactive owner",
    control: SIGNAL_FAST,
    rdx: signal(0x23),
    why: "connection 35 of partition 1 leads to port 30 of partition 3, but partition 3 is not active",
  },
  {
    check: "signal-event.7",
    name: "message port",
    control: SIGNAL_FAST,
    rdx: signal(0x30),
    why: "connection 48 of partition 1 leads to port 20 of partition 2, a message port, not an event port",
  },
  {
    check: "signal-event.8",
    name: "FlagNumber = FlagCount",
    control: SIGNAL_FAST,
    rdx: signal(0x20, 64),
    why: "FlagNumber 64 is not below FlagCount 64 of port 10 in partition 2",
  },
  {
    check: "signal-event.9",
    name: "missing VP",
    control: SIGNAL_FAST,
    rdx: signal(0x25),
    why: "connection 37 of partition 1: port 13 of partition 2 targets VP 9, which partition 2 does not have",
  },
  {
    check: "signal-event.9",
    name: "HV_ANY_VP, no VPs",
    control: SIGNAL_FAST,
    rdx: signal(0x29),
    why: "connection 41 of partition 1: port 40 of partition 4 targets HV_ANY_VP, but partition 4 has no VPs",
  },
  {
    check: "signal-event.10",
    name: "SynIC off",
    control: SIGNAL_FAST,
    rdx: signal(0x26),
    why: /port 14 of partition 2 targets VP 5, whose SCONTROL 0x0, SIEFP 0x12001, SINT3 0x000000000000005a: the SynIC is disabled \(SCONTROL.Enable 0\)$/,
  },
  {
    check: "signal-event.10",
    name: "SIEF page off",
    control: SIGNAL_FAST,
    rdx: signal(0x27),
    why: /targets VP 6, whose SCONTROL 0x1, SIEFP 0x14000, .*: the page is disabled \(SIEFP.Enable 0\)$/,
  },
  {
    check: "signal-event.10",
    name: "SINT masked",
    control: SIGNAL_FAST,
    rdx: signal(0x28),
    why: /SINT7 0x000000000001005c: SINT7 is masked \(bit 16\) and not polling \(bit 18\)$/,
  },
  {
    check: "signal-event.10",
    name: "HV_ANY_VP, none enabled",
    control: SIGNAL_FAST,
    rdx: signal(0x2a),
    why: /port 50 of partition 5 targets HV_ANY_VP, and no VP of partition 5 has both SCONTROL.Enable and SIEFP.Enable set/,
  },
  {
    check: "signal-event.11",
    name: "a new flag",
    control: SIGNAL_FAST,
    rdx: signal(0x20),
    why: "flag 25 (BaseFlagNumber 19 + FlagNumber 6) of SINT 3 on VP 2 of partition 2 was clear and is set: interrupt asserted on SINT 3",
  },
  {
    check: "signal-event.11",
    name: "a set flag",
    control: SIGNAL_FAST,
    rdx: signal(0x20),
    before: 1,
    why: /of SINT 3 on VP 2 of partition 2 was set already: no new interrupt$/,
  },
  {
    check: "signal-event.11",
    name: "a polling SINT",
    control: SIGNAL_FAST,
    rdx: signal(0x2b, 1),
    why: "flag 20 (BaseFlagNumber 19 + FlagNumber 1) of SINT 8 on VP 2 of partition 2 is set; SINT 8 is polling, so no interrupt is asserted",
  },
  {
    check: "post-message.5",
    name: "RsvdZ",
    control: POST,
    rdx: MSG_GPA,
    write: message(0x30, 1, 4, 7),
    why: /RsvdZ \(bytes 4..7\) must be 0 \(ConnectionId 0x00000030, RsvdZ 0x00000007\)$/,
  },
  {
    check: "post-message.6",
    name: "unknown connection",
    control: POST,
    rdx: MSG_GPA,
    write: message(0x99),
    why: "partition 1 owns no connection with id 153 (0x99)",
  },
  {
    check: "post-message.7",
    name: "event port",
    control: POST,
    rdx: MSG_GPA,
    write: message(0x20),
    why: "connection 32 of partition 1 leads to port 10 of partition 2, an event port, not a message port",
  },
  {
    check: "post-message.8",
    name: "MessageType 0",
    control: POST,
    rdx: MSG_GPA,
    write: message(0x30, 0),
    why: "MessageType 0 (HvMessageTypeNone) cannot be posted",
  },
  {
    check: "post-message.8",
    name: "a hypervisor type",
    control: POST,
    rdx: MSG_GPA,
    write: message(0x30, 0x80000001),
    why: /^MessageType 0x80000001 has bit 31 set/,
  },
  {
    check: "post-message.8",
    name: "PayloadSize 241",
    control: POST,
    rdx: MSG_GPA,
    write: message(0x30, 1, 241),
    why: "PayloadSize 241 is more than 240 bytes",
  },
  {
    check: "post-message.9",
    name: "missing VP",
    control: POST,
    rdx: MSG_GPA,
    write: message(0x31),
    why: /port 21 of partition 2 targets VP 9, which partition 2 does not have$/,
  },
  {
    check: "post-message.9",
    name: "HV_ANY_VP, no VPs",
    control: POST,
    rdx: MSG_GPA,
    write: message(0x35),
    why: /port 41 of partition 4 targets HV_ANY_VP, but partition 4 has no VPs$/,
  },
  {
    check: "post-message.10",
    name: "SynIC off",
    control: POST,
    rdx: MSG_GPA,
    write: message(0x32),
    why: /targets VP 5, whose SCONTROL 0x0, SIMP 0x13001, SINT4 0x0000000000010000: the SynIC is disabled/,
  },
  {
    check: "post-message.10",
    name: "SIM page off",
    control: POST,
    rdx: MSG_GPA,
    write: message(0x33),
    why: /whose SCONTROL 0x1, SIMP 0x15000, .*: the page is disabled \(SIMP.Enable 0\)$/,
  },
  {
    check: "post-message.10",
    name: "HV_ANY_VP, none enabled",
    control: POST,
    rdx: MSG_GPA,
    write: message(0x34),
    why: /no VP of partition 5 has both SCONTROL.Enable and SIMP.Enable set/,
  },
  {
    check: "post-message.11",
    name: "16 messages waiting",
    control: POST,
    rdx: MSG_GPA,
    write: message(0x30),
    before: 17,
    why: "all 16 message buffers of port 20 of partition 2 hold messages that are not delivered yet",
  },
  {
    check: "post-message.12",
    name: "delivered",
    control: POST,
    rdx: MSG_GPA,
    write: message(0x30),
    why: [
      /^delivered/,
      "port 20 of partition 2",
      "SIM slot of SINT 4 of VP 2 in partition 2",
      /interrupt asserted$/,
    ],
  },
  {
    check: "post-message.12",
    name: "queued",
    control: POST,
    rdx: MSG_GPA,
    write: message(0x30),
    before: 1,
    why: [
      /^queued on SINT 4 of VP 2 in partition 2\b/,
      /\b1 waiting\b/,
      /slot still holds a message|MessagePending/,
    ],
  },
];

describe("explainLastCall names the deciding step and its values", () => {
  it.each(CASES.map((c) => [c.check, c.name, c] as const))("%s: %s", (check, _name, c) => {
    const machine = loadMachine(parseScenario(SCENARIO));
    const d = new Dispatcher(machine);
    const model = new TraceModel(SCENARIO);
    const at = { partition: 1, vp: 0 };
    const op = {
      op: "hypercall" as const,
      control: `0x${c.control.toString(16)}`,
      rdx: `0x${c.rdx.toString(16)}`,
    };
    if (c.write !== undefined) {
      const [gpa, bytes] = c.write;
      expect(machine.guestWrite(1, gpa, bytes)).toBe("ok");
      model.step(
        { op: "write", gpa: `0x${gpa.toString(16)}`, hex: Buffer.from(bytes).toString("hex") },
        0,
        at,
      );
    }
    for (let i = 0; i < (c.before ?? 0); i++) {
      expect(hypercall(d, { caller: 1, control: c.control, input: c.rdx }).statusName).toBe(
        "HV_STATUS_SUCCESS",
      );
      model.step(op, i + 1, at);
    }
    const out = hypercall(d, { caller: 1, control: c.control, input: c.rdx }, { explain: true });
    const line = model.step(op, 99, at);
    expect(out.check).toBe(check);
    expect(line.check, "the trace model's deciding step").toBe(check);
    expect([out.statusName, formatU64Hex(out.resultLo, out.resultHi)]).toEqual([
      line.status,
      line.result,
    ]);
    // And the state after it: flags, interrupts, SIM slots and queues as the model has them.
    const byVp = (x: { partition: number; vp: number }, y: { partition: number; vp: number }) =>
      x.partition - y.partition || x.vp - y.vp;
    expect(finalState(machine).sort(byVp)).toEqual(model.finalState().sort(byVp));
    if (typeof c.why === "string") expect(out.why).toBe(c.why);
    else if (c.why instanceof RegExp) expect(out.why).toMatch(c.why);
    else for (const part of c.why) expect(out.why).toMatch(part);

    // The same explanation right after Dispatcher.dispatch on a twin machine.
    const twin = loadMachine(parseScenario(SCENARIO));
    const td = new Dispatcher(twin);
    if (c.write !== undefined) twin.guestWrite(1, c.write[0], c.write[1]);
    for (let i = 0; i < (c.before ?? 0); i++)
      hypercall(td, { caller: 1, control: c.control, input: c.rdx });
    const ctl = u64ToHalves(c.control);
    const rdx = u64ToHalves(c.rdx);
    expect(hvStatusName(td.dispatch(0, 0, ctl.lo, ctl.hi, rdx.lo, rdx.hi))).toBe(out.statusName);
    expect(explainLastCall(td)).toEqual({ check: out.check, why: out.why });
  });

  it("a lacking privilege (generic.3) names the privilege, its bit and the caller's mask", () => {
    const machine = loadMachine(parseScenario(SCENARIO));
    machine.setPrivilegeMask(1, 1n << 36n);
    const d = new Dispatcher(machine);
    const out = hypercall(
      d,
      { caller: 1, control: SIGNAL_FAST, input: signal(0x20) },
      { explain: true },
    );
    expect(out.check).toBe("generic.3");
    expect(out.why).toBe(
      "partition 1 lacks SignalEvents (privilege mask bit 37); its mask is 0x0000001000000000",
    );
    const model = new TraceModel(SCENARIO);
    model.setPrivilegeMask(1, 1n << 36n);
    const op = {
      op: "hypercall" as const,
      control: "0x1005d",
      rdx: `0x${signal(0x20).toString(16)}`,
    };
    expect(model.step(op, 0, { partition: 1, vp: 0 }).check).toBe("generic.3");
    machine.setPrivilegeMask(1, 1n << 37n);
    const post = hypercall(d, { caller: 1, control: POST, input: MSG_GPA }, { explain: true });
    expect([post.check, post.why]).toEqual([
      "generic.3",
      "partition 1 lacks PostMessages (privilege mask bit 36); its mask is 0x0000002000000000",
    ]);
  });

  it("every step of both calls' orders has a case above", () => {
    const checks = new Set([...CASES.map((c) => c.check), "generic.3"]);
    const want = [
      ...[1, 2, 3, 4].map((n) => `generic.${n}`),
      ...[5, 6, 7, 8, 9, 10, 11].map((n) => `signal-event.${n}`),
      ...[5, 6, 7, 8, 9, 10, 11, 12].map((n) => `post-message.${n}`),
    ];
    expect(want.filter((c) => !checks.has(c))).toEqual([]);
  });
});
