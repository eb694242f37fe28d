/**
 * HvCallPostMessage figures: per call through `hypercall()` (BigInt) and `Dispatcher.dispatch`
 * (u32 halves), each successful post delivered into an empty SIM slot that the "guest" then
 * empties again (a typed-array write, no allocation), with the heap bytes allocated per post.
 */
import { HvCallCode } from "../src/abi/call-code.js";
import { outcomeStatus } from "../src/abi/hypercall-result.js";
import { POST_MESSAGE_INPUT } from "../src/abi/post-message-input.js";
import { SIM_PAGE_BYTES, SIM_SLOT_BYTES } from "../src/abi/sief-page.js";
import { HvSynicMsr } from "../src/abi/synic-msr.js";
import { u64ToHalves } from "../src/abi/u64.js";
import { Dispatcher } from "../src/dispatch/dispatcher.js";
import { hypercall } from "../src/dispatch/hypercall.js";
import { loadMachine } from "../src/state/load-machine.js";
import { parseScenarioText } from "../src/state/scenario-schema.js";
import { TraceEngine, TraceResult } from "../src/trace/trace-engine.js";
import { TraceOp, TraceOpCode } from "../src/trace/trace-op.js";
import { allocatedBytes, hasGc, timeIt } from "./measure.js";

export interface MessageScenario {
  readonly text: string;
  readonly sender: number;
  readonly receiver: number;
  /** The message connection, its SINT on the receiver's VP 0, and the receiver's SIM page GPA. */
  readonly messageConnection: number;
  readonly sint: number;
  readonly simGpa: bigint;
  /** Where the sender's 256-byte input block lives. */
  readonly inputGpa: bigint;
  readonly eventConnections: readonly number[];
}

export function messageScenario(): MessageScenario {
  const sint = 3;
  const simGpa = 0x20000n;
  const inputGpa = 0x2000n;
  const block = POST_MESSAGE_INPUT.encode({
    connectionId: 0x10,
    messageType: 1,
    payloadSize: 16,
    payload: new Uint8Array(16).fill(0xab),
  });
  const eventConnections = Array.from({ length: 16 }, (_, k) => 0x100 + k);
  const doc = {
    partitions: [
      {
        id: 1,
        privileges: ["PostMessages", "SignalEvents"],
        vps: [{ index: 0, scontrol: "0x1" }],
        memory: [{ gpa: `0x${inputGpa.toString(16)}`, hex: Buffer.from(block).toString("hex") }],
        connections: [
          { id: 0x10, portPartition: 2, portId: 7 },
          ...eventConnections.map((id, k) => ({ id, portPartition: 2, portId: 100 + k })),
        ],
      },
      {
        id: 2,
        privileges: [],
        vps: [
          {
            index: 0,
            scontrol: "0x1",
            siefp: "0x10001",
            simp: `0x${(simGpa | 1n).toString(16)}`,
            sints: { "2": "0x52", "3": "0x53" },
          },
        ],
        ports: [
          { id: 7, type: "message", targetVp: 0, targetSint: sint },
          ...eventConnections.map((_, k) => ({
            id: 100 + k,
            type: "event",
            targetVp: 0,
            targetSint: 2,
            baseFlagNumber: k * 64,
            flagCount: 64,
          })),
        ],
      },
    ],
  };
  return {
    text: JSON.stringify(doc),
    sender: 1,
    receiver: 2,
    messageConnection: 0x10,
    sint,
    simGpa,
    inputGpa,
    eventConnections,
  };
}

export interface PostResult {
  readonly path: string;
  readonly callsPerSecond: number;
  readonly nsPerCall: number;
  readonly bytesPerCall: number | null;
}

const POSTS = 200_000;

export async function benchPostMessage(s: MessageScenario): Promise<PostResult[]> {
  const machine = loadMachine(parseScenarioText(s.text));
  const dispatcher = new Dispatcher(machine);
  const sim = machine.tables.sim;
  const slot = machine.requireVp(s.receiver, 0) * SIM_PAGE_BYTES + s.sint * SIM_SLOT_BYTES;
  const caller = machine.requirePartition(s.sender);
  const vp = machine.requireVp(s.sender, 0);
  const { lo, hi } = u64ToHalves(s.inputGpa);
  let failures = 0;
  const viaDispatch = () => {
    for (let i = 0; i < POSTS; i++) {
      if (dispatcher.dispatch(caller, vp, HvCallCode.PostMessage, 0, lo, hi) !== 0) failures++;
      sim[slot] = 0; // the guest empties the slot (MessageType 0) …
      sim[slot + 1] = 0;
    }
  };
  const request = {
    caller: s.sender,
    vp: 0,
    control: BigInt(HvCallCode.PostMessage),
    input: s.inputGpa,
  };
  const viaHypercall = () => {
    for (let i = 0; i < POSTS; i++) {
      if (hypercall(dispatcher, request).status !== 0) failures++;
      sim[slot] = 0;
      sim[slot + 1] = 0;
    }
  };
  // The same post as a guest trace runs it: the hypercall op, then the receiving guest's
  // actions — read the slot, write MessageType 0, RDMSR SIMP, WRMSR EOM — through TraceEngine.
  const engine = new TraceEngine(machine, dispatcher, { partition: s.sender, vp: 0 });
  const guestOps = traceEngineOps(s);
  const result = new TraceResult();
  const place = { where: "bench" };
  const viaTraceEngine = () => {
    for (let i = 0; i < POSTS; i++) {
      for (const op of guestOps) engine.run(op, place, result);
      if (outcomeStatus(result.outcome) !== 0) failures++;
    }
  };
  const out: PostResult[] = [];
  for (const [path, fn, perPost] of [
    ["dispatch (u32 halves)", viaDispatch, 1],
    ["hypercall() (BigInt)", viaHypercall, 1],
    [`trace engine, per op (${guestOps.length} ops a post)`, viaTraceEngine, guestOps.length],
  ] as const) {
    const t = await timeIt(fn, 5, 500);
    const calls = POSTS * perPost;
    const bytes = hasGc() ? allocatedBytes(fn, 2) / (2 * calls) : null;
    out.push({
      path,
      callsPerSecond: calls / (t.p50 / 1e9),
      nsPerCall: t.p50 / calls,
      bytesPerCall: bytes,
    });
  }
  if (failures !== 0)
    throw new Error(
      `${failures} posts did not succeed: the benchmark measures successful posts only`,
    );
  return out;
}

/** One post and the receiving guest's handling of it, as trace ops (the post op runs last). */
function traceEngineOps(s: MessageScenario): TraceOp[] {
  const slot = u64ToHalves(s.simGpa + BigInt(s.sint * SIM_SLOT_BYTES));
  const input = u64ToHalves(s.inputGpa);
  const receiverOp = (code: TraceOp["code"]) => {
    const op = new TraceOp().reset(code);
    op.partition = s.receiver;
    op.vp = 0;
    return op;
  };
  const read = receiverOp(TraceOpCode.read);
  read.gpaLo = slot.lo;
  read.gpaHi = slot.hi;
  read.length = 16;
  const empty = new TraceOp().reset(TraceOpCode.write);
  empty.partition = s.receiver;
  empty.gpaLo = slot.lo;
  empty.gpaHi = slot.hi;
  empty.setBytes(new Uint8Array(4));
  const simp = receiverOp(TraceOpCode.rdmsr);
  simp.msr = HvSynicMsr.SIMP;
  const eom = receiverOp(TraceOpCode.wrmsr);
  eom.msr = HvSynicMsr.EOM;
  const post = new TraceOp().reset(TraceOpCode.hypercall);
  post.controlLo = HvCallCode.PostMessage;
  post.rdxLo = input.lo;
  post.rdxHi = input.hi;
  return [read, empty, simp, eom, post];
}
