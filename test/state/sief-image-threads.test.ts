/**
 * A shared SIEF image under two threads: neither loses a flag, and every 0 -> 1 transition is
 * reported exactly once across both (TLFS: the interrupt is asserted only when the flag was clear).
 *
 * The workers run the compiled SiefImage from dist/ (a worker thread cannot load TypeScript on
 * Node 20); dist is rebuilt first when it is missing or older than the sources it compiles.
 */
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { beforeAll, describe, expect, it } from "vitest";
import { SiefImage } from "../../src/state/sief-image.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DIST_SIEF = `${ROOT}dist/state/sief-image.js`;
const DIST_SOURCES = [`${ROOT}src/state/sief-image.ts`, `${ROOT}src/abi/sief-page.ts`];
const WORKER = new URL("./support/sief-worker.mjs", import.meta.url);

// 8 VP slots: 7 × 16 SINTs × 2048 flags = 229,376 coordinates are addressed; slot 7 must stay clear.
const VP_COUNT = 8;
const ADDRESSED = 7 * 16 * 2048;
const PER_THREAD = 100_000;
const COMMON_START = 2 * PER_THREAD;
const COMMON_COUNT = ADDRESSED - COMMON_START;

function distIsStale(): boolean {
  if (!existsSync(DIST_SIEF)) return true;
  const built = statSync(DIST_SIEF).mtimeMs;
  return DIST_SOURCES.some((src) => statSync(src).mtimeMs > built);
}

interface Done {
  shared: boolean;
  exclusiveNew: number;
  wins: Uint8Array;
}

/** Runs one worker to its report. */
function run(workerData: Record<string, unknown>): Promise<Done> {
  return new Promise<Done>((resolve, reject) => {
    const worker = new Worker(WORKER, { workerData });
    let report: Done | undefined;
    worker.on("message", (m: Done) => {
      report = m;
    });
    worker.on("error", reject);
    worker.on("exit", (code) => {
      if (report !== undefined) resolve(report);
      else reject(new Error(`worker exited with code ${code} before reporting`));
    });
  });
}

describe("shared SIEF image, two threads", () => {
  beforeAll(() => {
    if (!distIsStale()) return;
    try {
      execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "pipe" });
    } catch (error) {
      // tsc still emits when some other file has a type error; only a missing or stale output fails.
      if (distIsStale()) throw error;
    }
  });

  it("loses no flag and reports every 0 -> 1 transition exactly once", async () => {
    const buffer = new SharedArrayBuffer(VP_COUNT * 4096);
    const gate = new SharedArrayBuffer(8);
    const common = {
      moduleUrl: pathToFileURL(DIST_SIEF).href,
      buffer,
      vpCount: VP_COUNT,
      gate,
      exclusive: PER_THREAD,
      commonStart: COMMON_START,
      commonCount: COMMON_COUNT,
    };
    const [doneA, doneB] = await Promise.all([
      run({ ...common, parity: 0 }),
      run({ ...common, parity: 1 }),
    ]);
    expect(doneA.shared).toBe(true);
    expect(doneB.shared).toBe(true);

    // Each thread's own flags were all clear before it set them.
    expect(doneA.exclusiveNew).toBe(PER_THREAD);
    expect(doneB.exclusiveNew).toBe(PER_THREAD);
    // Each common flag was seen clear by exactly one of the two threads.
    let notExactlyOnce = 0;
    let commonNew = 0;
    for (let i = 0; i < COMMON_COUNT; i++) {
      const won = doneA.wins[i]! + doneB.wins[i]!;
      if (won !== 1) notExactlyOnce++;
      commonNew += won;
    }
    expect(notExactlyOnce).toBe(0);
    // So the 0 -> 1 reports add up to the number of distinct flags addressed.
    expect(doneA.exclusiveNew + doneB.exclusiveNew + commonNew).toBe(ADDRESSED);

    // Every addressed flag is set (no update was lost); nothing else is.
    const sief = new SiefImage(new Uint32Array(buffer));
    expect(sief.vpCount).toBe(VP_COUNT);
    let missing = 0;
    for (let s = 0; s < 7; s++) {
      for (let n = 0; n < 16; n++) missing += 2048 - sief.setFlags(s, n).length;
    }
    expect(missing).toBe(0);
    expect(new Uint8Array(buffer, 0, 7 * 4096).every((byte) => byte === 0xff)).toBe(true);
    expect(sief.page(7).every((byte) => byte === 0)).toBe(true);
  });
});
