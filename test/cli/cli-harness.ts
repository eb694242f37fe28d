/** Runs the real CLI (`node bin/hvcall.js`, compiled dist/) as a child process. */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, inject } from "vitest";

export const ROOT = join(import.meta.dirname, "..", "..");
export const BIN = join(ROOT, "bin", "hvcall.js");
export const EXAMPLE_SCENARIO = join(ROOT, "fixtures", "examples", "scenario.json");
export const EXAMPLE_RECORDS = join(ROOT, "fixtures", "examples", "records.bin");

/** Fails the file's tests with the build error when the global setup could not build dist/. */
export function requireDist(): void {
  beforeAll(() => {
    const status = inject("distBuild");
    if (status !== "ok") throw new Error(status);
  });
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Bytes and lines (newlines) written to stdout; with `countOnly` the text is not kept. */
  readonly stdoutBytes: number;
  readonly stdoutLines: number;
  readonly ms: number;
}

export interface RunOptions {
  /** Written to the child's stdin, which is then closed (default: stdin closed at once). */
  readonly stdin?: Uint8Array | string;
  readonly env?: Readonly<Record<string, string>>;
  /** Count stdout instead of keeping it (for large outputs). */
  readonly countOnly?: boolean;
}

export function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let bytes = 0;
    let lines = 0;
    child.stdout.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      if (options.countOnly !== true) out.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.stdin.on("error", () => {}); // the child may exit before reading all of stdin
    child.stdin.end(options.stdin ?? "");
    child.on("close", (code) => {
      resolve({
        code,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        stdoutBytes: bytes,
        stdoutLines: lines,
        ms: performance.now() - started,
      });
    });
  });
}

/** A fresh temporary directory for the file's tests, removed afterwards. */
export function useTempDir(): () => string {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "hvcall-cli-"));
  });
  afterAll(async () => {
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });
  return () => dir;
}

/** The stdout lines parsed as JSON. */
export function jsonLines(stdout: string): unknown[] {
  return stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as unknown);
}
