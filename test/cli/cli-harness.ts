/** Runs the real CLI (`node bin/hvcall.js`, compiled dist/) as a child process. */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, inject } from "vitest";

export const ROOT = join(import.meta.dirname, "..", "..");
/**
 * The `bin/hvcall.js` the tests run: the snapshot of bin/ and dist/ the global setup took after
 * its build (build-dist.ts), or the repository's own when there is none.
 */
export const BIN = providedBin() || join(ROOT, "bin", "hvcall.js");

function providedBin(): string {
  try {
    return inject("cliBin");
  } catch {
    return "";
  }
}
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
  /** stdout as bytes (empty with `countOnly`): for binary output. */
  readonly stdoutRaw: Buffer;
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
      const raw = Buffer.concat(out);
      resolve({
        code,
        stdout: raw.toString("utf8"),
        stdoutRaw: raw,
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

/**
 * A usage error: exit 2, nothing on stdout (unless `stdoutMayHaveRun`), exactly one `hvcall: `
 * line on stderr, no stack trace. Returns the line.
 */
export function expectUsageLine(
  r: Pick<CliResult, "code" | "stdout" | "stderr">,
  options: { readonly stdoutMayHaveRun?: boolean } = {},
): string {
  expect(r.code).toBe(2);
  if (options.stdoutMayHaveRun !== true) expect(r.stdout).toBe("");
  expect(r.stderr.endsWith("\n")).toBe(true);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(r.stderr).toMatch(/^hvcall: /);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

/** Writes `name` in `dir`: JSON for objects, JSON Lines for arrays of objects, else as given. */
export async function writeIn(
  dir: string,
  name: string,
  content: string | Uint8Array | readonly unknown[] | Readonly<Record<string, unknown>>,
): Promise<string> {
  const path = join(dir, name);
  let data: string | Uint8Array;
  if (typeof content === "string" || content instanceof Uint8Array) data = content;
  else if (Array.isArray(content)) data = content.map((o) => `${JSON.stringify(o)}\n`).join("");
  else data = JSON.stringify(content);
  await writeFile(path, data);
  return path;
}
