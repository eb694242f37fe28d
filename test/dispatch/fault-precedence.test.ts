/**
 * When two (or more) faults coexist, the earliest row of the normative order (signal-event spec §6)
 * decides the status. Each fault below is the minimal change to the base scenario/call that stops
 * the call at its row; they are independent, so any subset can be combined.
 */
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { HV_CONNECTION_ID } from "../../src/abi/connection-id.js";
import type { HypercallControl } from "../../src/abi/hypercall-control.js";
import type { SignalEventInput } from "../../src/abi/signal-event-input.js";
import { HvCallCode, HvStatus, hvStatusName } from "../../src/index.js";
import {
  CALLER,
  CONN,
  expectCall,
  FLAG_COUNT,
  type Form,
  INPUT_GPA,
  type Mutator,
  PORT,
  partition,
  port,
  RECEIVER,
  RECV_SINT,
  RECV_VP,
  recvVp,
  run,
  scenario,
  sint,
  VECTOR,
} from "./support/scenario.js";

/** A raw HV_CONNECTION_ID: the id in bits 23:0 and `reserved` in bits 31:24. */
function joinConnectionId(parts: { id: number; reserved: number }): number {
  return HV_CONNECTION_ID.encode(parts).lo;
}

interface Fault {
  readonly row: number;
  readonly name: string;
  readonly status: number;
  readonly scenario?: Mutator;
  readonly control?: Partial<HypercallControl>;
  readonly input?: Partial<SignalEventInput>;
  /** Memory form only: the input GPA. */
  readonly gpa?: bigint;
}

const FAULTS: readonly Fault[] = [
  {
    row: 1,
    name: "unknown call code",
    status: HvStatus.INVALID_HYPERCALL_CODE,
    // HvCallPostMessage (0x005C) stood here; it is implemented now, so an unimplemented code of
    // the same family (HvCallDisconnectPort, 0x005B) takes its place.
    control: { callCode: HvCallCode.DisconnectPort },
  },
  {
    row: 2,
    name: "reserved control bit 27",
    status: HvStatus.INVALID_HYPERCALL_INPUT,
    control: { reserved27to30: 1 },
  },
  {
    row: 3,
    name: "missing SignalEvents privilege",
    status: HvStatus.ACCESS_DENIED,
    scenario: (s) => {
      partition(s, CALLER).privileges = ["PostMessages", "ConnectPort"];
    },
  },
  {
    row: 4,
    name: "misaligned input GPA",
    status: HvStatus.INVALID_ALIGNMENT,
    gpa: INPUT_GPA + 4n,
  },
  {
    row: 5,
    name: "input RsvdZ set",
    status: HvStatus.INVALID_HYPERCALL_INPUT,
    input: { rsvdZ: 1 },
  },
  {
    row: 6,
    name: "unknown connection",
    status: HvStatus.INVALID_CONNECTION_ID,
    input: { connectionId: CONN + 1 },
  },
  {
    row: 7,
    name: "deleted port",
    status: HvStatus.INVALID_PORT_ID,
    scenario: (s) => {
      port(s).deleted = true;
    },
  },
  {
    row: 8,
    name: "flag = FlagCount",
    status: HvStatus.INVALID_PARAMETER,
    input: { flagNumber: FLAG_COUNT },
  },
  {
    row: 9,
    name: "target VP missing",
    status: HvStatus.INVALID_VP_INDEX,
    scenario: (s) => {
      port(s).targetVp = RECV_VP + 5;
    },
  },
  {
    row: 10,
    name: "SynIC disabled",
    status: HvStatus.INVALID_SYNIC_STATE,
    scenario: (s) => {
      recvVp(s).scontrol = "0x0";
    },
  },
];

/** Fault 4 is about the memory input; every other fault applies to both forms. */
function faultsFor(form: Form): readonly Fault[] {
  return form === "memory" ? FAULTS : FAULTS.filter((f) => f.gpa === undefined);
}

function combine(faults: readonly Fault[], form: Form) {
  const mutators = faults.flatMap((f) => (f.scenario === undefined ? [] : [f.scenario]));
  let control: Partial<HypercallControl> = {};
  let input: Partial<SignalEventInput> = {};
  let gpa: bigint | undefined;
  for (const f of faults) {
    control = { ...control, ...f.control };
    input = { ...input, ...f.input };
    if (f.gpa !== undefined) gpa = f.gpa;
  }
  return {
    json: scenario(...mutators),
    call: { form, control, input, ...(gpa === undefined ? {} : { gpa }) },
  };
}

/** The status the earliest fault's row gives, or SUCCESS for none. */
function winner(faults: readonly Fault[]): number {
  let first: Fault | undefined;
  for (const f of faults) if (first === undefined || f.row < first.row) first = f;
  return first?.status ?? HvStatus.SUCCESS;
}

describe("each fault alone stops the call at its row", () => {
  for (const form of ["fast", "memory"] as const) {
    it.each(faultsFor(form).map((f) => [f.row, f.name, f] as const))(
      `${form}: row %s, %s`,
      (_row, _name, f) => {
        const { json, call } = combine([f], form);
        expectCall(json, call, f.status);
      },
    );
  }
});

describe("two faults: the earlier row wins", () => {
  const adjacent = FAULTS.slice(1).map((later, i) => [FAULTS[i]!, later] as const);
  it.each(adjacent.map(([a, b]) => [a.name, b.name, a, b] as const))(
    "%s beats %s (memory form)",
    (_a, _b, a, b) => {
      const { json, call } = combine([b, a], "memory");
      expectCall(json, call, a.status);
    },
  );

  it("every pair, both forms, both entry points", () => {
    for (const form of ["fast", "memory"] as const) {
      const faults = faultsFor(form);
      for (let i = 0; i < faults.length; i++) {
        for (let j = i + 1; j < faults.length; j++) {
          const { json, call } = combine([faults[j]!, faults[i]!], form);
          const label = `${form}: ${faults[i]!.name} + ${faults[j]!.name}`;
          for (const via of ["hypercall", "dispatch"] as const) {
            const r = run(json, call, via);
            expect(hvStatusName(r.status), `${label} via ${via}`).toBe(
              hvStatusName(faults[i]!.status),
            );
            expect(r.machine.equals(r.before), label).toBe(true);
          }
        }
      }
    }
  });

  test.prop([fc.subarray([...FAULTS]), fc.constantFrom<Form>("fast", "memory")], { numRuns: 100 })(
    "any subset of faults: the earliest row's status, state unchanged",
    (faults, form) => {
      const active = faults.filter((f) => form === "memory" || f.gpa === undefined);
      const { json, call } = combine(active, form);
      const r = run(json, call, "dispatch");
      expect(hvStatusName(r.status)).toBe(hvStatusName(winner(active)));
      if (active.length > 0) expect(r.machine.equals(r.before)).toBe(true);
    },
  );
});

describe("faults within one row, and look-alikes", () => {
  it("ConnectionId bits 31:24 over a valid id, with RsvdZ also set -> INVALID_HYPERCALL_INPUT", () => {
    expectCall(
      scenario(),
      {
        form: "fast",
        input: { connectionId: joinConnectionId({ id: CONN, reserved: 1 }), rsvdZ: 2 },
      },
      HvStatus.INVALID_HYPERCALL_INPUT,
    );
  });

  it("a connection owned by another partition whose port is deleted -> INVALID_CONNECTION_ID", () => {
    const other = CONN + 0x40;
    const s = scenario(
      (x) => {
        partition(x, RECEIVER).connections = [{ id: other, portPartition: RECEIVER, portId: PORT }];
      },
      (x) => {
        port(x).deleted = true;
      },
    );
    expectCall(s, { form: "fast", input: { connectionId: other } }, HvStatus.INVALID_CONNECTION_ID);
  });

  it("a message port (FlagCount 0) with a flag >= FlagCount -> INVALID_PORT_ID", () => {
    const s = scenario((x) => {
      const q = port(x);
      q.type = "message";
      delete q.baseFlagNumber;
      delete q.flagCount;
    });
    expectCall(s, { form: "fast", input: { flagNumber: 5 } }, HvStatus.INVALID_PORT_ID);
  });

  it("deleted port in an inactive partition with the wrong type -> INVALID_PORT_ID", () => {
    const s = scenario((x) => {
      const q = port(x);
      q.type = "monitor";
      q.deleted = true;
      delete q.baseFlagNumber;
      delete q.flagCount;
      partition(x, RECEIVER).state = "inactive";
    });
    expectCall(s, { form: "memory" }, HvStatus.INVALID_PORT_ID);
  });

  it("flag too large on a port whose target VP is missing -> INVALID_PARAMETER", () => {
    const s = scenario((x) => {
      port(x).targetVp = "any";
      partition(x, RECEIVER).vps = [];
    });
    expectCall(
      s,
      { form: "fast", input: { flagNumber: FLAG_COUNT + 1 } },
      HvStatus.INVALID_PARAMETER,
    );
  });

  it("target VP missing while every VP of the partition has its SynIC off -> INVALID_VP_INDEX", () => {
    const s = scenario(
      (x) => {
        port(x).targetVp = RECV_VP + 1;
      },
      (x) => {
        const v = recvVp(x);
        v.scontrol = "0x0";
        v.siefp = "0x0";
      },
    );
    expectCall(s, { form: "fast" }, HvStatus.INVALID_VP_INDEX);
  });

  it("SynIC off and SINT masked -> INVALID_SYNIC_STATE, nothing set", () => {
    const s = scenario((x) => {
      const v = recvVp(x);
      v.siefp = "0x0";
      v.sints = { [RECV_SINT]: sint(VECTOR, true) };
    });
    expectCall(s, { form: "memory" }, HvStatus.INVALID_SYNIC_STATE);
  });
});
