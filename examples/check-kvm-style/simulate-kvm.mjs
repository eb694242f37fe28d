#!/usr/bin/env node
// A SIMULATION of how a KVM-like implementation answers HvCallSignalEvent — not KVM itself.
// KVM's kvm_hvcall_signal_event() has no use for flag numbers: a non-zero FlagNumber (RDX bits
// 47:32) gets HV_STATUS_INVALID_PORT_ID, checked before the reserved bits and the connection.
// hvcall implements flag numbers as the TLFS defines them, so the two disagree on such records.
//
// Usage: node simulate-kvm.mjs SCENARIO RECORDS > observed.jsonl
// It runs `hvcall replay` for the records and rewrites the results that the simulated
// implementation would answer differently; the output is in replay's shape, ready for
// `hvcall check --observed observed.jsonl`.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const [scenario, recordsPath] = process.argv.slice(2);
if (scenario === undefined || recordsPath === undefined) {
  process.stderr.write("usage: node simulate-kvm.mjs SCENARIO RECORDS > observed.jsonl\n");
  process.exit(2);
}
const hvcall = fileURLToPath(new URL("../../bin/hvcall.js", import.meta.url));
// hvcall's own answers, with the step that decided each (--explain).
const lines = execFileSync(
  process.execPath,
  [hvcall, "replay", "--explain", "--scenario", scenario, recordsPath],
  {
    encoding: "utf8",
  },
)
  .trimEnd()
  .split("\n");
const records = readFileSync(recordsPath);

const SIGNAL_EVENT = 0x005d;
for (const [i, line] of lines.entries()) {
  const { index, status, result, check } = JSON.parse(line);
  const control = records.readUInt32LE(i * 16);
  const flagNumber = records.readUInt16LE(i * 16 + 12); // input block bytes 4..5
  // Past the generic steps (call code, control value, privilege, input fetch), the simulated
  // implementation looks at the flag number first.
  const pastGeneric = check.startsWith("signal-event.");
  const observed =
    (control & 0xffff) === SIGNAL_EVENT && pastGeneric && flagNumber !== 0
      ? { index, status: "HV_STATUS_INVALID_PORT_ID", result: "0x0000000000000011" }
      : { index, status, result };
  process.stdout.write(`${JSON.stringify(observed)}\n`);
}
