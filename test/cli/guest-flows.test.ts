/**
 * Guest-trace flows through the real CLI (`hvcall run`): the guest's own memory and MSR accesses
 * between hypercalls, as synic.md §1-§2 and signal-event.md §6 describe them.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { jsonLines, requireDist, runCli, useTempDir, writeIn } from "./cli-harness.js";
import {
  type Dump,
  type DumpVp,
  dumpVp,
  EOM,
  GUEST_SCENARIO,
  SCONTROL,
  SIEFP,
  SIMP,
  SVERSION,
  signal,
  sintMsr,
  u64,
} from "./guest-scenario.js";

requireDist();
const tmp = useTempDir();
let scenario = "";

beforeAll(async () => {
  scenario = await writeIn(tmp(), "scenario.json", GUEST_SCENARIO);
});

type Line = Record<string, unknown>;

/** Runs the ops (--explain) and returns the output lines and the guest VP 0's dumped state. */
async function flow(
  name: string,
  ops: readonly unknown[],
): Promise<{ lines: Line[]; vp0: DumpVp; dump: Dump; text: string }> {
  const trace = await writeIn(tmp(), `${name}.jsonl`, ops);
  const out = join(tmp(), `${name}.dump.json`);
  const r = await runCli(["run", "--explain", "--scenario", scenario, "--dump-state", out, trace]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const text = await readFile(out, "utf8");
  const dump = JSON.parse(text) as Dump;
  return { lines: jsonLines(r.stdout) as Line[], vp0: dumpVp(dump, 2, 0), dump, text };
}

/** Guest (partition 2) ops. */
const g = {
  read: (gpa: string, length: number) => ({ op: "read", partition: 2, gpa, length }),
  write: (gpa: string, hex: string) => ({ op: "write", partition: 2, gpa, hex }),
  wrmsr: (msr: string, value: string) => ({ op: "wrmsr", partition: 2, vp: 0, msr, value }),
  rdmsr: (msr: string) => ({ op: "rdmsr", partition: 2, vp: 0, msr }),
};
/** SINT 2's flag area of the guest VP 0's SIEF page at `page` (byte 2 × 256). */
const sint2 = (page: number) => `0x${(page + 0x200).toString(16)}`;
const ok = (hex: string) => ({ outcome: "ok", hex });
const UNBACKED = { outcome: "unbacked" };
const status = (l: Line | undefined) => l?.status;

describe.concurrent("event flags cleared by the guest", () => {
  it("a flag the guest cleared with a write is signalled again: a second interrupt", async () => {
    const { lines, vp0 } = await flow("clear-and-resignal", [
      signal(20, 3),
      g.read(sint2(0x20000), 1),
      g.write(sint2(0x20000), "00"),
      g.read(sint2(0x20000), 1),
      signal(20, 3),
      g.read(sint2(0x20000), 1),
    ]);
    expect(lines.map(status)).toEqual([
      "HV_STATUS_SUCCESS",
      undefined,
      undefined,
      undefined,
      "HV_STATUS_SUCCESS",
      undefined,
    ]);
    expect(lines[1]).toMatchObject(ok("08"));
    expect(lines[2]).toMatchObject({ outcome: "ok" });
    expect(lines[3]).toMatchObject(ok("00"));
    expect(lines[5]).toMatchObject(ok("08"));
    expect(lines[4]?.why).toMatch(/was clear and is set: interrupt asserted/);
    expect(vp0.sintAssertions).toEqual({ "2": 2 });
    expect(vp0.siefFlags).toEqual({ "2": [3] });
  });

  it("without the guest's write, the second signal finds the flag set: one interrupt", async () => {
    const { lines, vp0 } = await flow("no-clear", [signal(20, 3), signal(20, 3)]);
    expect(lines[1]?.why).toMatch(/was set already: no new interrupt/);
    expect(vp0.sintAssertions).toEqual({ "2": 1 });
  });
});

describe.concurrent("the SIEF page moves with SIEFP", () => {
  it("flags set, SIEFP moved: the new GPA shows them, the old one is unbacked or RAM again", async () => {
    const { lines, vp0 } = await flow("siefp-moved", [
      signal(20, 3), // 0
      signal(20, 9), // 1: flags 3 and 9 → bytes 08 02
      g.read(sint2(0x40000), 4), // 2: RAM
      g.wrmsr(SIEFP, "0x40001"), // 3: onto the RAM page
      g.read(sint2(0x40000), 2), // 4: the flags hide the RAM
      g.read(sint2(0x20000), 2), // 5: the old GPA has nothing behind it
      g.wrmsr(SIEFP, "0x50001"), // 6
      g.read(sint2(0x40000), 4), // 7: the RAM again, as it was
      g.read(sint2(0x50000), 2), // 8
      signal(20, 4), // 9: signalled into the page at its new GPA
      g.read(sint2(0x50000), 1), // 10
      g.write(sint2(0x50000), "ff"), // 11: a guest write goes into the SIEF page…
      g.wrmsr(SIEFP, "0x20001"), // 12
      g.read(sint2(0x50000), 1), // 13: …not into the RAM under it
      g.read(sint2(0x20000), 2), // 14
      g.rdmsr(SIEFP), // 15
    ]);
    expect(lines.filter((l) => l.op === "hypercall").map(status)).toEqual(
      Array(3).fill("HV_STATUS_SUCCESS"),
    );
    expect(lines[2]).toMatchObject(ok("55555555"));
    expect(lines[3]).toMatchObject({ outcome: "ok" });
    expect(lines[4]).toMatchObject(ok("0802"));
    expect(lines[5]).toEqual({ index: 5, op: "read", ...UNBACKED });
    expect(lines[7]).toMatchObject(ok("55555555"));
    expect(lines[8]).toMatchObject(ok("0802"));
    expect(lines[10]).toMatchObject(ok("18"));
    expect(lines[13]).toMatchObject(ok("00"));
    expect(lines[14]).toMatchObject(ok("ff02"));
    expect(lines[15]).toMatchObject({ outcome: "ok", value: u64(0x20001) });
    expect(vp0.siefp).toMatch(/^0x0*20001$/);
    expect(vp0.siefFlags).toEqual({ "2": [0, 1, 2, 3, 4, 5, 6, 7, 9] });
    // Flags 3, 9 and 4 were each clear when signalled; the guest's write asserts nothing.
    expect(vp0.sintAssertions).toEqual({ "2": 3 });
  });
});

describe.concurrent("a disabled SIEF page", () => {
  it("makes SignalEvent fail (INVALID_SYNIC_STATE, changing nothing); re-enabled, the old flags show", async () => {
    const { lines, vp0 } = await flow("sief-disabled", [
      signal(20, 3), // 0
      g.wrmsr(SIEFP, "0x20000"), // 1: Enable clear, same GPA
      g.rdmsr(SIEFP), // 2
      g.read(sint2(0x20000), 1), // 3: no page there now
      signal(20, 4), // 4
      g.wrmsr(SIEFP, "0x20001"), // 5
      g.read(sint2(0x20000), 1), // 6: flag 3 kept, flag 4 never set
      signal(20, 4), // 7
      g.read(sint2(0x20000), 1), // 8
    ]);
    expect(lines[2]).toMatchObject({ outcome: "ok", value: u64(0x20000) });
    expect(lines[3]).toMatchObject(UNBACKED);
    expect(lines[4]).toMatchObject({
      status: "HV_STATUS_INVALID_SYNIC_STATE",
      result: u64(0x18),
      check: "signal-event.10",
    });
    expect(lines[6]).toMatchObject(ok("08"));
    expect(lines[7]).toMatchObject({ status: "HV_STATUS_SUCCESS" });
    expect(lines[8]).toMatchObject(ok("18"));
    expect(vp0.sintAssertions).toEqual({ "2": 2 });
  });

  it("SCONTROL disabled likewise, and re-enabled the page and its flags are there", async () => {
    const { lines, vp0 } = await flow("scontrol-disabled", [
      signal(20, 3),
      g.wrmsr(SCONTROL, "0x0"),
      signal(20, 4),
      g.wrmsr(SCONTROL, "0x1"),
      g.read(sint2(0x20000), 1),
    ]);
    expect(lines[2]).toMatchObject({
      status: "HV_STATUS_INVALID_SYNIC_STATE",
      check: "signal-event.10",
    });
    expect(lines[4]).toMatchObject(ok("08"));
    expect(vp0.siefFlags).toEqual({ "2": [3] });
  });
});

describe.concurrent("#GP changes nothing", () => {
  const GP_OPS = [
    g.wrmsr(SVERSION, "0x2"), // read-only
    g.wrmsr(sintMsr(2), "0x5"), // unmasked with vector 5 (< 16)
    g.wrmsr(sintMsr(2), "0xf"), // unmasked with vector 15
    g.wrmsr("0x40000070", "0x1"), // not a SynIC MSR
    g.wrmsr("0x40000085", "0x1"), // between EOM and SINT0
    g.wrmsr("0x400000a0", "0x1"), // past SINT15
    g.rdmsr("0x40000070"),
    g.rdmsr("0x400000a0"),
  ];

  it("every #GP op: outcome #GP, no value, and the dump equals the dump of an empty trace", async () => {
    const gp = await flow("gp-only", GP_OPS);
    expect(gp.lines.map((l) => l.outcome)).toEqual(Array(GP_OPS.length).fill("#GP"));
    for (const l of gp.lines) expect(l).not.toHaveProperty("value");
    const none = await flow("gp-none", []);
    expect(gp.text).toBe(none.text);
  });

  it("rdmsr after each #GP shows the value as it was", async () => {
    const { lines, vp0 } = await flow("gp-then-rdmsr", [
      g.wrmsr(SVERSION, "0x2"), // 0
      g.rdmsr(SVERSION), // 1
      g.wrmsr(sintMsr(2), "0x5"), // 2
      g.rdmsr(sintMsr(2)), // 3
      signal(20, 3), // 4: SINT 2 still unmasked with vector 0x50: one interrupt
      g.wrmsr(sintMsr(2), "0x10"), // 5: vector 16 is the first valid one
      g.wrmsr(sintMsr(2), "0x10005"), // 6: a masked SINT may hold any vector
      g.rdmsr(sintMsr(2)), // 7
      g.wrmsr(EOM, "0x1234"), // 8: EOM takes any value …
      g.rdmsr(EOM), // 9: … and reads 0
      g.rdmsr(SIMP), // 10
    ]);
    expect(lines[0]).toMatchObject({ outcome: "#GP" });
    expect(lines[1]).toMatchObject({ outcome: "ok", value: u64(1) });
    expect(lines[2]).toMatchObject({ outcome: "#GP" });
    expect(lines[3]).toMatchObject({ outcome: "ok", value: u64(0x50) });
    expect(lines[4]).toMatchObject({ status: "HV_STATUS_SUCCESS" });
    expect(lines[5]).toMatchObject({ outcome: "ok" });
    expect(lines[6]).toMatchObject({ outcome: "ok" });
    expect(lines[7]).toMatchObject({ outcome: "ok", value: u64(0x10005) });
    expect(lines[8]).toMatchObject({ outcome: "ok" });
    expect(lines[9]).toMatchObject({ outcome: "ok", value: u64(0) });
    expect(lines[10]).toMatchObject({ outcome: "ok", value: u64(0x21001) });
    expect(vp0.sintAssertions).toEqual({ "2": 1 });
  });
});

describe.concurrent("a polling SINT (bit 18)", () => {
  it("counts as unmasked for SignalEvent (SUCCESS, flags set) and asserts no interrupt", async () => {
    const { lines, vp0 } = await flow("polling", [
      g.wrmsr(sintMsr(2), "0x50050"), // 0: masked and polling
      signal(20, 3), // 1: polling wins over masked
      g.read(sint2(0x20000), 1), // 2
      g.wrmsr(sintMsr(2), "0x40050"), // 3: unmasked and polling
      signal(20, 4), // 4
      g.wrmsr(sintMsr(2), "0x10050"), // 5: masked, no polling
      signal(20, 5), // 6: fails at step 10
      g.wrmsr(sintMsr(2), "0x50"), // 7: a plain unmasked SINT
      signal(20, 3), // 8: flag 3 is set already: nothing
      signal(20, 6), // 9: the one interrupt of the flow
      g.read(sint2(0x20000), 1), // 10
    ]);
    expect(lines[1]).toMatchObject({ status: "HV_STATUS_SUCCESS", check: "signal-event.11" });
    expect(lines[2]).toMatchObject(ok("08"));
    expect(lines[4]).toMatchObject({ status: "HV_STATUS_SUCCESS" });
    expect(lines[6]).toMatchObject({
      status: "HV_STATUS_INVALID_SYNIC_STATE",
      check: "signal-event.10",
    });
    expect(lines[8]).toMatchObject({ status: "HV_STATUS_SUCCESS" });
    expect(lines[9]).toMatchObject({ status: "HV_STATUS_SUCCESS" });
    expect(lines[10]).toMatchObject(ok("58"));
    expect(vp0.siefFlags).toEqual({ "2": [3, 4, 6] });
    expect(vp0.sintAssertions).toEqual({ "2": 1 });
  });

  it("a polling SINT from the scenario file: flags, no count", async () => {
    const s = structuredClone(GUEST_SCENARIO) as unknown as {
      partitions: { vps: { sints: Record<string, string> }[] }[];
    };
    s.partitions[1]!.vps[0]!.sints["2"] = "0x40050";
    const path = await writeIn(tmp(), "polling-scenario.json", s);
    const trace = await writeIn(tmp(), "polling-scenario.jsonl", [signal(20, 1)]);
    const out = join(tmp(), "polling-scenario.dump.json");
    const r = await runCli(["run", "--scenario", path, "--dump-state", out, trace]);
    expect(r.stdout).toContain('"status":"HV_STATUS_SUCCESS"');
    const vp0 = dumpVp(JSON.parse(await readFile(out, "utf8")) as Dump, 2, 0);
    expect(vp0.siefFlags).toEqual({ "2": [1] });
    expect(vp0.sintAssertions).toEqual({});
  });
});
