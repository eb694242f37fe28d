/**
 * hvcall runs where code generation from strings is disallowed (a browser CSP without
 * 'unsafe-eval', node --disallow-code-generation-from-strings): Dispatcher.dispatch,
 * BatchRunner.run and hypercall() — explanations included, which decode input blocks with
 * binary-parser or, without code generation, by walking the block's field table — give exactly
 * what a normal run gives, for HvCallSignalEvent and HvCallPostMessage. The child runs the
 * compiled package (dist/, built by the vitest globalSetup). And src/ itself generates no code.
 */
import { execFile, execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ROOT, requireDist } from "../cli/cli-harness.js";

const CHILD = join(import.meta.dirname, "support", "codegen-child.mjs");
const run = promisify(execFile);

requireDist();

async function child(flags: readonly string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [...flags, CHILD], { cwd: ROOT });
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe("node --disallow-code-generation-from-strings", () => {
  it("dispatch, hypercall() with explanations and BatchRunner.run give a normal run's results", async () => {
    const [normal, blocked] = await Promise.all([
      child([]),
      child(["--disallow-code-generation-from-strings"]),
    ]);
    // The flag took effect in the child (and only there).
    expect(normal.codegen).toBe("allowed");
    expect(blocked.codegen).toBe("EvalError");
    for (const key of ["dispatch", "hypercall", "batch", "decoded", "states"]) {
      expect(blocked[key], key).toEqual(normal[key]);
    }
    // What the normal run gave (so that equal results are not, say, both empty).
    expect(normal.dispatch).toEqual([0x0, 0x0, 0x5, 0x3, 0x0, 0x0, 0x5, 0x11, 0x4, 0x3]);
    const explained = normal.hypercall as unknown[][];
    expect(explained.map((r) => r[3])).toEqual([
      "signal-event.11",
      "signal-event.11",
      "signal-event.8",
      "signal-event.5",
      "post-message.12",
      "post-message.12",
      "post-message.8",
      "post-message.7",
      "generic.4",
      "generic.2",
    ]);
    expect(explained[2]![4]).toBe(
      "FlagNumber 64 is not below FlagCount 64 of port 10 in partition 2",
    );
    expect(normal.batch).toEqual([[0, 0, 0, 0, 0, 0, 5, 0, 3, 0, 3, 0, 5, 0], 3, 2]);
    expect(normal.decoded).toEqual([
      { connectionId: 0x20, flagNumber: 6, rsvdZ: 1 },
      { connectionId: 0x30, rsvdZ: 0, messageType: 1, payloadSize: 4, payload: "ping" },
    ]);
  });
});

describe("no generated code in src/", () => {
  it('grep -rn "new Function\\|eval(" src finds nothing', () => {
    let found = "";
    try {
      found = execFileSync("grep", ["-rn", "new Function\\|eval(", "src"], {
        cwd: ROOT,
        encoding: "utf8",
      });
    } catch (error) {
      // grep exits 1 when nothing matches.
      if (!(error instanceof Error && "status" in error && error.status === 1)) throw error;
    }
    expect(found).toBe("");
  });

  it("nor in the code of src/ with comments taken out (the Function constructor, eval, string timers)", () => {
    const src = join(ROOT, "src");
    const files = readdirSync(src, { recursive: true, encoding: "utf8" }).filter((f) =>
      f.endsWith(".ts"),
    );
    expect(files.length).toBeGreaterThan(50);
    const offenders: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(src, file), "utf8");
      const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
      if (/\bnew Function\b|\bFunction\(|\beval\(|set(?:Timeout|Interval)\(\s*["'`]/.test(code))
        offenders.push(file);
    }
    expect(offenders).toEqual([]);
  });
});
