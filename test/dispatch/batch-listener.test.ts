import { describe, expect, it } from "vitest";
import { HvStatus } from "../../src/abi/hv-status.js";
import { HvSynicMsr, SINT_MASKED_BIT, sintMsr } from "../../src/abi/synic-msr.js";
import { BatchRunner } from "../../src/dispatch/batch-runner.js";
import { Dispatcher } from "../../src/dispatch/dispatcher.js";
import { hypercall } from "../../src/dispatch/hypercall.js";
import { encodeRecord, RESULT_WORDS } from "../../src/dispatch/hypercall-record.js";
import { loadMachine } from "../../src/state/load-machine.js";
import type { Machine } from "../../src/state/machine.js";
import { parseScenario } from "../../src/state/scenario-schema.js";

/** Root (1) signals guest (2) over connection 20 -> port 10, VP 0, SINT 2, flags 0..63. */
function machine(): Machine {
  return loadMachine(
    parseScenario({
      partitions: [
        {
          id: 1,
          privileges: ["SignalEvents"],
          vps: [{ index: 0 }],
          connections: [{ id: 20, portPartition: 2, portId: 10 }],
        },
        {
          id: 2,
          vps: [{ index: 0, scontrol: "0x1", siefp: "0x10001", sints: { "2": "0x50" } }],
          ports: [{ id: 10, type: "event", targetVp: 0, targetSint: 2, flagCount: 64 }],
        },
      ],
    }),
  );
}

const FAST_SIGNAL = 0x1005dn;
const signalFlag = (flag: number) => (BigInt(flag) << 32n) | 20n;

/** The first interrupt runs `act` on the machine and unsubscribes its own listener. */
function oneShot(m: Machine, act: (m: Machine) => void): void {
  const off = m.onSintAsserted(() => {
    act(m);
    off();
  });
}

const actions: [string, (m: Machine) => void, number][] = [
  ["deletes the port", (m) => m.deletePort(2, 10), HvStatus.INVALID_PORT_ID],
  ["deactivates the owner", (m) => m.setPartitionActive(2, false), HvStatus.INVALID_PORT_ID],
  [
    "masks the SINT",
    (m) => m.writeMsr(2, 0, sintMsr(2), BigInt(SINT_MASKED_BIT | 0x50)),
    HvStatus.INVALID_SYNIC_STATE,
  ],
  [
    "disables the SynIC",
    (m) => m.writeMsr(2, 0, HvSynicMsr.SCONTROL, 0n),
    HvStatus.INVALID_SYNIC_STATE,
  ],
];

describe("BatchRunner and a listener that changes the machine, then unsubscribes itself", () => {
  for (const [what, act, status] of actions) {
    it(`the next record sees it when the listener ${what}`, () => {
      const batch = machine();
      oneShot(batch, act);
      const records = new Uint8Array(32);
      records.set(encodeRecord(FAST_SIGNAL, signalFlag(0)), 0);
      records.set(encodeRecord(FAST_SIGNAL, signalFlag(1)), 16);
      const results = new Uint32Array(2 * RESULT_WORDS);
      new BatchRunner(new Dispatcher(batch), { caller: 1 }).run(records, results);

      const single = machine();
      oneShot(single, act);
      const d = new Dispatcher(single);
      const expected = [0, 1].map(
        (flag) => hypercall(d, { caller: 1, control: FAST_SIGNAL, input: signalFlag(flag) }).status,
      );

      expect(expected).toEqual([HvStatus.SUCCESS, status]);
      expect([results[0], results[RESULT_WORDS]]).toEqual(expected);
      expect(batch.siefFlags(2, 0, 2)).toEqual([0]);
      expect(batch.equals(single.snapshot())).toBe(true);
    });
  }
});
