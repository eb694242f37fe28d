/**
 * SIGINT and SIGTERM end a command at once, also while it waits on a FIFO that delivers nothing
 * more (docs/cli.md §12): the process ends by the signal (a shell shows 130 / 143), a --dump-state
 * OUT is left as it was and no temporary file is left beside it.
 */
import { spawn, spawnSync } from "node:child_process";
import { open, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  BIN,
  EXAMPLE_RECORDS,
  EXAMPLE_SCENARIO,
  ROOT,
  requireDist,
  useTempDir,
  writeIn,
} from "./cli-harness.js";

requireDist();
const tmp = useTempDir();

interface Ended {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly ms: number;
}

/**
 * Starts `args` reading `input` (a FIFO this test keeps open after writing `feed` into it), waits
 * until the command has written to stdout, sends `signal`, and reports how the process ended.
 */
async function interruptWhileWaiting(
  args: (fifo: string) => string[],
  feed: Uint8Array,
  signal: NodeJS.Signals,
): Promise<Ended> {
  const fifo = join(tmp(), `fifo-${Math.random().toString(36).slice(2)}`);
  expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
  const child = spawn(process.execPath, [BIN, ...args(fifo)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const writer = await open(fifo, "w"); // resolves once the command opened it for reading
  await writer.write(feed);
  await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
  child.stdout.resume();
  const sent = performance.now();
  child.kill(signal);
  const ended = await new Promise<Ended>((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.on("close", (code, sig) => {
      clearTimeout(timer);
      resolve({ code, signal: sig, stderr, ms: performance.now() - sent });
    });
  });
  await writer.close();
  return ended;
}

describe("an interrupt while the input FIFO is open but silent", () => {
  it("replay: SIGINT ends it by SIGINT at once (not after the writer closes the FIFO)", async () => {
    const records = await readFile(EXAMPLE_RECORDS);
    const ended = await interruptWhileWaiting(
      (fifo) => ["replay", "--scenario", EXAMPLE_SCENARIO, fifo],
      records,
      "SIGINT",
    );
    expect(ended.signal).toBe("SIGINT");
    expect(ended.ms).toBeLessThan(8_000);
  });

  it("run: SIGTERM ends it by SIGTERM; the old --dump-state OUT is kept, no temporary file left", async () => {
    const dir = tmp();
    const out = await writeIn(dir, "kept-state.json", "KEEP\n");
    const before = await readdir(dir);
    const ended = await interruptWhileWaiting(
      (fifo) => ["run", "--scenario", EXAMPLE_SCENARIO, "--dump-state", out, fifo],
      Buffer.from('{"op":"eoi"}\n{"op":"eoi"}\n'),
      "SIGTERM",
    );
    expect(ended.signal).toBe("SIGTERM");
    expect(await readFile(out, "utf8")).toBe("KEEP\n");
    const after = (await readdir(dir)).filter((n) => !n.startsWith("fifo-"));
    expect(after.sort()).toEqual(before.filter((n) => !n.startsWith("fifo-")).sort());
  });
});
