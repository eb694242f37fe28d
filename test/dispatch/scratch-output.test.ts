/**
 * Found in review: a call with an output block, run from a memory-form batch record, writes its
 * output at R8 = 0; when the runner's scratch page is page 0 that output landed in the scratch
 * page and stayed there, so the next record's input block no longer read as zero after its 8
 * bytes (BatchRunner's promise). The page is cleared after such a call now.
 */
import { describe, expect, it } from "vitest";
import { HvStatus } from "../../src/abi/hv-status.js";
import { BatchRunner } from "../../src/dispatch/batch-runner.js";
import { Dispatcher } from "../../src/dispatch/dispatcher.js";
import { HANDLER_TABLE } from "../../src/dispatch/handler-table.js";
import { encodeRecord, RESULT_WORDS } from "../../src/dispatch/hypercall-record.js";
import { loadMachine } from "../../src/state/load-machine.js";
import { parseScenario } from "../../src/state/scenario-schema.js";
import { REP_CALL_CODE, repOutputRow } from "./support/rep-output-handler.js";

const scenario = {
  partitions: [
    {
      id: 1,
      privileges: ["PostMessages", "CreatePort"],
      vps: [{ index: 0, scontrol: "0x1" }],
      connections: [{ id: 0x30, portPartition: 2, portId: 7 }],
    },
    {
      id: 2,
      vps: [{ index: 0, scontrol: "0x1", simp: "0x20001", sints: { "3": "0x53" } }],
      ports: [{ id: 7, type: "message", targetVp: 0, targetSint: 3 }],
    },
  ],
};

describe("a batch's scratch page at page 0 and a call that writes output there", () => {
  it("the next record's input block still reads as zero after its 8 bytes", () => {
    const machine = loadMachine(parseScenario(scenario));
    const dispatcher = new Dispatcher(machine, [...HANDLER_TABLE, repOutputRow]);
    const runner = new BatchRunner(dispatcher, { caller: 1, scratchGpa: 0n });
    // Rep call: 5 reps, header FailValue 1 / Addend 0x100 (its elements read 0 from the scratch page).
    const rep = encodeRecord(BigInt(REP_CALL_CODE) | (5n << 32n), (0x100n << 32n) | 1n);
    const post = encodeRecord(0x5cn, 0x30n); // ConnectionId 0x30; MessageType must read 0
    const records = new Uint8Array([...rep, ...post]);
    const results = new Uint32Array(2 * RESULT_WORDS);
    runner.run(records, results);
    expect([...results]).toEqual([HvStatus.SUCCESS, 5, HvStatus.INVALID_PARAMETER, 0]);
    // And in a later run, too.
    const again = new Uint32Array(RESULT_WORDS);
    runner.run(post, again);
    expect(again[0]).toBe(HvStatus.INVALID_PARAMETER);
    expect(machine.queuedMessages(2, 0, 3)).toEqual([]);
    expect(machine.simSlot(2, 0, 3)[0]).toBe(0);
  });
});
