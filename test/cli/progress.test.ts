import { afterEach, describe, expect, it, vi } from "vitest";
import { createProgress } from "../../src/cli/progress.js";

const ttyDescriptor = Object.getOwnPropertyDescriptor(process.stderr, "isTTY");

function setTty(value: boolean): void {
  Object.defineProperty(process.stderr, "isTTY", { value, configurable: true });
}

describe("the replay progress bar", () => {
  let now = 0;
  const writes: string[] = [];

  function capture(): void {
    writes.length = 0;
    vi.spyOn(performance, "now").mockImplementation(() => now);
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
  }

  afterEach(() => {
    vi.restoreAllMocks();
    if (ttyDescriptor === undefined) Reflect.deleteProperty(process.stderr, "isTTY");
    else Object.defineProperty(process.stderr, "isTTY", ttyDescriptor);
  });

  it("never draws when stderr is not a terminal, however long the run", async () => {
    capture();
    setTty(false);
    now = 0;
    const progress = createProgress(true, 100);
    now = 60_000;
    await progress.update(50);
    progress.stop();
    expect(writes).toEqual([]);
  });

  it("never draws with --no-progress", async () => {
    capture();
    setTty(true);
    now = 0;
    const progress = createProgress(false, 100);
    now = 60_000;
    await progress.update(50);
    progress.stop();
    expect(writes).toEqual([]);
  });

  it("on a terminal, draws records and records/s once the run passes a second", async () => {
    capture();
    setTty(true);
    now = 0;
    const progress = createProgress(true, 100_000);
    now = 500;
    await progress.update(10_000);
    expect(writes).toEqual([]);
    now = 2000;
    await progress.update(50_000);
    progress.stop();
    const drawn = writes.join("");
    expect(drawn).toContain("50000/100000 records");
    expect(drawn).toContain("25,000 records/s");
  });
});
