/**
 * Fixed examples for batch/per-call agreement (see batch-agreement.test.ts for the generated ones):
 * a batch mixing HvCallSignalEvent and HvCallPostMessage with exact statuses, checked against
 * hypercall() and the independent trace model; what a memory-form PostMessage record reads (its 8
 * bytes, then the zeros of the runner's own scratch page, whatever RAM is at that GPA); and
 * polling SINTs through the SignalEvent kernel, including a listener that makes a SINT polling
 * mid-batch.
 */
import { describe, expect, it } from "vitest";
import { HvCallCode } from "../../src/abi/call-code.js";
import { CONTROL_FAST_BIT } from "../../src/abi/hypercall-control.js";
import { SINT_POLLING_BIT, sintMsr } from "../../src/abi/synic-msr.js";
import { formatU64Hex } from "../../src/abi/u64.js";
import { finalState } from "../../src/cli/golden/fixture-run.js";
import { postMessageRow } from "../../src/dispatch/handlers/post-message.js";
import { signalEventRow } from "../../src/dispatch/handlers/signal-event.js";
import {
  BatchRunner,
  Dispatcher,
  encodeRecord,
  HvStatus,
  hvStatusName,
  hypercall,
  loadMachine,
  type Machine,
  parseScenario,
  RECORD_SIZE,
  RESULT_WORDS,
} from "../../src/index.js";
import { hypercallAsRecord, scratchView } from "../dispatch/support/per-call.js";
import { TraceModel } from "../model/trace-model.js";

const FAST = BigInt(CONTROL_FAST_BIT);
const SIGNAL = BigInt(HvCallCode.SignalEvent);
const POST = BigInt(HvCallCode.PostMessage);
/** A RAM page of the caller, used as the scratch GPA where a test says so. */
const RAM_PAGE = 0x40000n;

/**
 * Partition 1 (VP 0, both privileges) owns connections 0..4 to event ports 0..4 of partition 2
 * (VP 0, SINT n, 16 flags) and 0x10 to message port 5 (VP 0, SINT 5). Partition 2's VP 0 has the
 * SynIC and both pages on; SINT 0 polling, 1 masked + polling, 2 and 5 unmasked, 3 masked, 4 polling.
 */
function scenarioJson(ramHex = "0000000000000000") {
  return {
    partitions: [
      {
        id: 1,
        privileges: ["SignalEvents", "PostMessages"],
        vps: [{ index: 0 }],
        connections: [
          ...[0, 1, 2, 3, 4].map((id) => ({ id, portPartition: 2, portId: id })),
          { id: 0x10, portPartition: 2, portId: 5 },
        ],
        memory: [{ gpa: `0x${RAM_PAGE.toString(16)}`, hex: ramHex }],
      },
      {
        id: 2,
        vps: [
          {
            index: 0,
            scontrol: "0x1",
            siefp: "0x12001",
            simp: "0x13001",
            sints: { 0: "0x40050", 1: "0x50051", 2: "0x52", 3: "0x10053", 4: "0x40054", 5: "0x55" },
          },
        ],
        ports: [
          ...[0, 1, 2, 3, 4].map((id) => ({
            id,
            type: "event",
            targetVp: 0,
            targetSint: id,
            baseFlagNumber: 0,
            flagCount: 16,
          })),
          { id: 5, type: "message", targetVp: 0, targetSint: 5 },
        ],
      },
    ],
  };
}

type Variant = "kernel" | "kernel, shared image" | "generic table";
const VARIANTS: readonly Variant[] = ["kernel", "kernel, shared image", "generic table"];

function batchMachine(
  variant: Variant,
  json = scenarioJson(),
): { machine: Machine; dispatcher: Dispatcher } {
  const machine = loadMachine(parseScenario(json), { shared: variant === "kernel, shared image" });
  const table = variant === "generic table" ? [postMessageRow, { ...signalEventRow }] : undefined;
  return { machine, dispatcher: new Dispatcher(machine, table) };
}

/** (control, input u64) -> record bytes. */
function records(list: readonly (readonly [bigint, bigint])[]): Uint8Array {
  const out = new Uint8Array(list.length * RECORD_SIZE);
  list.forEach(([c, input], i) => {
    out.set(encodeRecord(c, input), i * RECORD_SIZE);
  });
  return out;
}

function inputOf(value: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, value, true);
  return b;
}

const signal = (connection: number, flag: number) => (BigInt(flag) << 32n) | BigInt(connection);
const post = (connection: number, rsvdZ: number) => (BigInt(rsvdZ) << 32n) | BigInt(connection);

describe("a batch mixing SignalEvent and PostMessage", () => {
  const list: [bigint, bigint, number, string][] = [
    [SIGNAL | FAST, signal(2, 1), HvStatus.SUCCESS, "signal-event.11"],
    // 8 bytes from the record (ConnectionId, RsvdZ), then zeros: MessageType 0.
    [POST, post(0x10, 0), HvStatus.INVALID_PARAMETER, "post-message.8"],
    [POST, post(0x10, 1), HvStatus.INVALID_HYPERCALL_INPUT, "post-message.5"],
    [POST, post(2, 0), HvStatus.INVALID_PORT_ID, "post-message.7"],
    [POST, post(0x99, 0), HvStatus.INVALID_CONNECTION_ID, "post-message.6"],
    [POST | FAST, post(0x10, 0), HvStatus.INVALID_HYPERCALL_INPUT, "generic.2"],
    [SIGNAL, signal(2, 2), HvStatus.SUCCESS, "signal-event.11"],
    [SIGNAL | FAST, signal(0x10, 0), HvStatus.INVALID_PORT_ID, "signal-event.7"],
    [SIGNAL | FAST, signal(3, 0), HvStatus.INVALID_SYNIC_STATE, "signal-event.10"],
    [SIGNAL, signal(0, 3), HvStatus.SUCCESS, "signal-event.11"],
    [SIGNAL | FAST, signal(2, 1), HvStatus.SUCCESS, "signal-event.11"],
  ];
  const bytes = records(list.map(([c, i]) => [c, i] as const));

  it.each(VARIANTS)(
    "%s: exact statuses, = hypercall() per record, = the trace model",
    (variant) => {
      const { machine, dispatcher } = batchMachine(variant);
      const results = new Uint32Array(list.length * RESULT_WORDS);
      const counts = new Uint32Array(0x10000);
      new BatchRunner(dispatcher, { caller: 1, scratchGpa: RAM_PAGE }).run(bytes, results, counts);
      expect([...results].map((w, i) => (i % 2 === 0 ? hvStatusName(w) : w))).toEqual(
        list.flatMap(([, , status]) => [hvStatusName(status), 0]),
      );
      expect(counts[HvStatus.SUCCESS]).toBe(4);
      expect(counts[HvStatus.INVALID_HYPERCALL_INPUT]).toBe(2);

      // Per call: the 8 bytes at the scratch GPA (a zero RAM page here), then hypercall().
      const single = loadMachine(parseScenario(scenarioJson()));
      const d = new Dispatcher(single);
      // The model: the same, as a guest trace of writes and hypercalls.
      const model = new TraceModel(scenarioJson());
      list.forEach(([control, input, status, check], i) => {
        const out = hypercallAsRecord(d, {
          caller: 1,
          vp: 0,
          scratchGpa: RAM_PAGE,
          control,
          input: inputOf(input),
        });
        expect(out.status, `record ${i}`).toBe(status);
        const fast = (control & FAST) !== 0n;
        if (!fast) {
          const hex = Buffer.from(inputOf(input)).toString("hex");
          model.step({ op: "write", gpa: `0x${RAM_PAGE.toString(16)}`, hex }, 2 * i, {
            partition: 1,
            vp: 0,
          });
        }
        const line = model.step(
          {
            op: "hypercall",
            control: `0x${control.toString(16)}`,
            rdx: `0x${(fast ? input : RAM_PAGE).toString(16)}`,
          },
          2 * i + 1,
          { partition: 1, vp: 0 },
        );
        expect([line.status, line.result, line.check], `record ${i}`).toEqual([
          hvStatusName(status),
          formatU64Hex(status, 0),
          check,
        ]);
      });
      expect(machine.equals(single.snapshot())).toBe(true);
      const byVp = (a: { partition: number; vp: number }, b: { partition: number; vp: number }) =>
        a.partition - b.partition || a.vp - b.vp;
      expect(finalState(machine).sort(byVp)).toEqual(model.finalState().sort(byVp));
      // Polling SINTs 0 and 4 got their flags without an interrupt; SINT 2 interrupted once.
      expect(machine.siefFlags(2, 0, 0)).toEqual([3]);
      expect(machine.siefFlags(2, 0, 2)).toEqual([1, 2]);
      expect(machine.sintAssertionCount(2, 0, 0)).toBe(0);
      expect(machine.sintAssertionCount(2, 0, 2)).toBe(2);
    },
  );
});

describe("what a memory-form PostMessage record reads at the scratch GPA", () => {
  // A message for port 5 laid out in RAM at the scratch GPA: ConnectionId 0x10, RsvdZ 0,
  // MessageType 1, PayloadSize 4, "ping".
  const ramHex = `10000000 00000000 01000000 04000000 70696e67`.replaceAll(" ", "");

  it("the runner's scratch page hides the RAM there: the zeros after the 8 bytes make MessageType 0", () => {
    for (const variant of VARIANTS) {
      const { machine, dispatcher } = batchMachine(variant, scenarioJson(ramHex));
      const before = scratchView(machine, 1, RAM_PAGE);
      const results = new Uint32Array(RESULT_WORDS);
      new BatchRunner(dispatcher, { caller: 1, scratchGpa: RAM_PAGE }).run(
        records([[POST, post(0x10, 0)]]),
        results,
      );
      expect(hvStatusName(results[0]!), variant).toBe("HV_STATUS_INVALID_PARAMETER");
      // The RAM is intact and visible again after the run; no message went anywhere.
      expect(scratchView(machine, 1, RAM_PAGE)).toEqual(before);
      expect(machine.simSlot(2, 0, 5).every((b) => b === 0)).toBe(true);
    }
    // The same 256 bytes read from RAM by a guest's own PostMessage deliver the message.
    const machine = loadMachine(parseScenario(scenarioJson(ramHex)));
    const out = hypercall(new Dispatcher(machine), { caller: 1, control: POST, input: RAM_PAGE });
    expect(out.statusName).toBe("HV_STATUS_SUCCESS");
    expect(Buffer.from(machine.simSlot(2, 0, 5).subarray(16, 20)).toString()).toBe("ping");
  });

  it("a PostMessage record needs 256 bytes in the page from the scratch GPA; a SignalEvent record 8", () => {
    for (const variant of VARIANTS) {
      for (const [offset, postStatus] of [
        [0xf00n, HvStatus.INVALID_PARAMETER],
        [0xf08n, HvStatus.INVALID_ALIGNMENT],
        [0xff8n, HvStatus.INVALID_ALIGNMENT],
      ] as const) {
        const { dispatcher } = batchMachine(variant);
        const results = new Uint32Array(2 * RESULT_WORDS);
        const runner = new BatchRunner(dispatcher, { caller: 1, scratchGpa: 0x7000n + offset });
        runner.run(
          records([
            [POST, post(0x10, 0)],
            [SIGNAL, signal(2, 5)],
          ]),
          results,
        );
        const label = `${variant}, offset 0x${offset.toString(16)}`;
        expect([hvStatusName(results[0]!), results[1]], label).toEqual([
          hvStatusName(postStatus),
          0,
        ]);
        expect(hvStatusName(results[2]!), label).toBe("HV_STATUS_SUCCESS");
      }
    }
  });
});

describe("polling SINTs through the batch kernel", () => {
  it.each(VARIANTS)(
    "%s: a listener that makes the SINT polling mid-batch is seen by the next record",
    (variant) => {
      const list = records([
        [SIGNAL | FAST, signal(2, 1)],
        [SIGNAL | FAST, signal(2, 2)],
        [SIGNAL, signal(2, 3)],
        [SIGNAL | FAST, signal(1, 0)],
      ]);
      const run = (m: Machine, d: Dispatcher, batch: boolean): number[] => {
        const heard: number[] = [];
        m.onSintAsserted((_p, _v, sint) => {
          heard.push(sint);
          m.writeMsr(2, 0, sintMsr(2), BigInt(0x52 | SINT_POLLING_BIT));
        });
        const results = new Uint32Array(4 * RESULT_WORDS);
        if (batch) new BatchRunner(d, { caller: 1 }).run(list, results);
        else {
          const scratchGpa = new BatchRunner(d, { caller: 1 }).scratchGpa;
          for (let i = 0; i < 4; i++) {
            const control = new DataView(list.buffer, i * RECORD_SIZE).getBigUint64(0, true);
            const input = list.slice(i * RECORD_SIZE + 8, (i + 1) * RECORD_SIZE);
            results[2 * i] = hypercallAsRecord(d, {
              caller: 1,
              vp: 0,
              scratchGpa,
              control,
              input,
            }).status;
          }
        }
        expect([...results].filter((_, i) => i % 2 === 0).map(hvStatusName)).toEqual(
          Array(4).fill("HV_STATUS_SUCCESS"),
        );
        return heard;
      };
      const { machine, dispatcher } = batchMachine(variant);
      expect(run(machine, dispatcher, true)).toEqual([2]);
      const single = loadMachine(parseScenario(scenarioJson()));
      expect(run(single, new Dispatcher(single), false)).toEqual([2]);
      expect(machine.siefFlags(2, 0, 2)).toEqual([1, 2, 3]);
      expect(machine.siefFlags(2, 0, 1)).toEqual([0]);
      expect(machine.sintAssertionCount(2, 0, 2)).toBe(1);
      expect(machine.sintAssertionCount(2, 0, 1)).toBe(0);
      expect(machine.equals(single.snapshot())).toBe(true);
    },
  );

  it.each(VARIANTS)(
    "%s: host MSR writes between runs turn polling on and off for the cached route",
    (variant) => {
      const { machine, dispatcher } = batchMachine(variant);
      const runner = new BatchRunner(dispatcher, { caller: 1 });
      const result = new Uint32Array(RESULT_WORDS);
      const once = (flag: number) => {
        runner.run(records([[SIGNAL | FAST, signal(0, flag)]]), result);
        return hvStatusName(result[0]!);
      };
      expect(once(0)).toBe("HV_STATUS_SUCCESS");
      expect(machine.sintAssertionCount(2, 0, 0)).toBe(0);
      machine.writeMsr(2, 0, sintMsr(0), 0x50n); // polling off, unmasked
      expect(once(1)).toBe("HV_STATUS_SUCCESS");
      expect(machine.sintAssertionCount(2, 0, 0)).toBe(1);
      machine.writeMsr(2, 0, sintMsr(0), 0x10050n); // masked, not polling
      expect(once(2)).toBe("HV_STATUS_INVALID_SYNIC_STATE");
      machine.writeMsr(2, 0, sintMsr(0), 0x50050n); // masked and polling
      expect(once(2)).toBe("HV_STATUS_SUCCESS");
      expect(machine.siefFlags(2, 0, 0)).toEqual([0, 1, 2]);
      expect(machine.sintAssertionCount(2, 0, 0)).toBe(1);
    },
  );
});
