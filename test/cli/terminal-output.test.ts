/**
 * Binary output is never written to a terminal: `replay` / `run --output bin` and a binary
 * `trace convert … -` are refused before anything runs (exit 2, one line). Found in review:
 * convert refused, replay and run wrote raw result values to the terminal.
 */
import { spawnSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { CliUsageError, refuseBinaryToTerminal } from "../../src/cli/cli-error.js";
import { BIN, EXAMPLE_RECORDS, EXAMPLE_SCENARIO, ROOT, requireDist } from "./cli-harness.js";

requireDist();

const ttyDescriptor = Object.getOwnPropertyDescriptor(process.stdout, "isTTY");
function stdoutIsTerminal(value: boolean): void {
  Object.defineProperty(process.stdout, "isTTY", { value, configurable: true });
}
afterEach(() => {
  if (ttyDescriptor === undefined) Reflect.deleteProperty(process.stdout, "isTTY");
  else Object.defineProperty(process.stdout, "isTTY", ttyDescriptor);
});

describe("refuseBinaryToTerminal", () => {
  it("refuses --output bin on a terminal, allows JSON there and binary elsewhere", () => {
    stdoutIsTerminal(true);
    expect(() => refuseBinaryToTerminal("bin")).toThrow(CliUsageError);
    expect(() => refuseBinaryToTerminal("bin")).toThrow(/stdout is a terminal; redirect it/);
    expect(() => refuseBinaryToTerminal("json")).not.toThrow();
    expect(() => refuseBinaryToTerminal(undefined)).not.toThrow();
    stdoutIsTerminal(false);
    expect(() => refuseBinaryToTerminal("bin")).not.toThrow();
  });
});

/** util-linux `script` gives the command a pseudo-terminal as stdout. */
const hasScript = spawnSync("script", ["--version"]).status === 0;

describe.skipIf(!hasScript)("on a real pseudo-terminal (util-linux script)", () => {
  it.each([
    [["replay", "--output", "bin", "--scenario", EXAMPLE_SCENARIO, EXAMPLE_RECORDS]],
    [["run", "--output", "bin", "--scenario", EXAMPLE_SCENARIO, "fixtures/examples/trace.jsonl"]],
  ])("%j: exit 2, one line, no bytes", (args) => {
    const command = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(" ");
    const r = spawnSync("script", ["-qec", command, "/dev/null"], { cwd: ROOT, encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stdout.trim()).toBe(
      "hvcall: --output bin: stdout is a terminal; redirect it to a file or a pipe (or use --output json)",
    );
  });
});
