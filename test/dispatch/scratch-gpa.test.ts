import { describe, expect, it } from "vitest";
import { HvStatus } from "../../src/abi/hv-status.js";
import { BatchRunner, defaultScratchGpa } from "../../src/dispatch/batch-runner.js";
import { Dispatcher } from "../../src/dispatch/dispatcher.js";
import { encodeRecord, RESULT_WORDS } from "../../src/dispatch/hypercall-record.js";
import { GuestMemory } from "../../src/state/guest-memory.js";
import { loadMachine } from "../../src/state/load-machine.js";
import { parseScenario } from "../../src/state/scenario-schema.js";

function memoryWith(...gpas: bigint[]): GuestMemory {
  const m = new GuestMemory();
  for (const gpa of gpas) m.mapPage(gpa);
  return m;
}

describe("the scratch page of memory-form batch records", () => {
  it("is the lowest page above page 0 that the caller's memory does not back", () => {
    expect(defaultScratchGpa(memoryWith())).toBe(0x1000n);
    expect(defaultScratchGpa(memoryWith(0n))).toBe(0x1000n);
    expect(defaultScratchGpa(memoryWith(0x1000n, 0x2000n, 0x5000n))).toBe(0x3000n);
    // The last page of the address space backed: no wrap to GPA 0.
    expect(defaultScratchGpa(memoryWith(0n, 0xffff_ffff_ffff_f000n))).toBe(0x1000n);
  });

  it("never overlays guest data, even when the caller backs the top page", () => {
    const doc = parseScenario({
      partitions: [
        {
          id: 1,
          privileges: ["SignalEvents"],
          vps: [{ index: 0 }],
          memory: [
            { gpa: "0x0", hex: "1400000000000000aabbccdd" },
            { gpa: "0xfffffffffffff000", hex: "01" },
          ],
        },
      ],
    });
    const machine = loadMachine(doc);
    const runner = new BatchRunner(new Dispatcher(machine), { caller: 1 });
    const results = new Uint32Array(RESULT_WORDS);
    runner.run(encodeRecord(0x5dn, 0x0000_0007_0000_0015n), results);
    expect(results[0]).toBe(HvStatus.INVALID_CONNECTION_ID);
    expect(runner.scratchGpa).toBe(0x1000n);
    const page0 = machine.memory[0]!.mapPage(0n);
    expect([...page0.subarray(0, 12)]).toEqual([0x14, 0, 0, 0, 0, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd]);
  });

  it("page numbers past the 64-bit address space are host misuse", () => {
    expect(GuestMemory.pageGpa(2 ** 52 - 1)).toBe(0xffff_ffff_ffff_f000n);
    expect(() => GuestMemory.pageGpa(2 ** 52)).toThrow(RangeError);
    expect(() => GuestMemory.pageGpa(-1)).toThrow(RangeError);
  });

  it("unmapPage stops backing the page", () => {
    const m = memoryWith(0x3000n);
    expect(m.unmapPage(0x3008n)).toBe(true);
    expect(m.isBacked(0x3000n)).toBe(false);
    expect(m.unmapPage(0x3000n)).toBe(false);
  });
});
