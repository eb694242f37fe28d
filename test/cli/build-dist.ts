/**
 * vitest globalSetup: compiles src to dist (npm run build) once before the tests, so that the CLI
 * tests run the real `node bin/hvcall.js`. Skipped when dist is newer than every source file. A
 * failed build does not stop the other test files: the CLI tests report it (see cli-harness.ts).
 *
 * The CLI tests run a snapshot of bin/, dist/ and package.json taken right after the build (under
 * node_modules/.cache, so the package's dependencies still resolve): `npm run build` empties dist/
 * first, and another build running meanwhile (a second test run, an editor's watch) would
 * otherwise pull the files out from under a running test. The snapshot is checked to hold a .js
 * file for every source file, and removed when the run ends.
 */
import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** "ok", or why dist could not be built. */
    distBuild: string;
    /** The snapshot's bin/hvcall.js the CLI tests run ("" when there is none). */
    cliBin: string;
  }
}

const ROOT = join(import.meta.dirname, "..", "..");
// Outside dist/: the package ships dist/, and the stamp is the tests' business.
const STAMP = join(ROOT, "node_modules", ".cache", "hvcall-build-stamp");

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function upToDate(): boolean {
  if (!existsSync(STAMP) || !existsSync(join(ROOT, "dist", "cli", "main.js"))) return false;
  const inputs = Math.max(
    newestSource(join(ROOT, "src")),
    statSync(join(ROOT, "tsconfig.json")).mtimeMs,
    statSync(join(ROOT, "tsconfig.build.json")).mtimeMs,
  );
  return statSync(STAMP).mtimeMs > inputs;
}

const SNAPSHOTS = join(ROOT, "node_modules", ".cache", "hvcall-cli-snapshots");
const DAY_MS = 24 * 60 * 60 * 1000;

/** Every src/**\/*.ts has its .js in `dist` (a build that was cut short does not). */
function missingOutputs(dist: string, dir = join(ROOT, "src")): string[] {
  const missing: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) missing.push(...missingOutputs(dist, path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) {
      const js = join(dist, relative(join(ROOT, "src"), path)).replace(/\.ts$/, ".js");
      if (!existsSync(js)) missing.push(js);
    }
  }
  return missing;
}

/** Copies bin/, dist/ and package.json to a fresh directory; returns it, or throws. */
function snapshot(): string {
  const dir = join(SNAPSHOTS, `${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  cpSync(join(ROOT, "bin"), join(dir, "bin"), { recursive: true });
  cpSync(join(ROOT, "dist"), join(dir, "dist"), { recursive: true });
  copyFileSync(join(ROOT, "package.json"), join(dir, "package.json"));
  const missing = missingOutputs(join(dir, "dist"));
  if (missing.length > 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `dist/ is incomplete (another build running?): ${missing.length} files missing, e.g. ${missing[0]}`,
    );
  }
  return dir;
}

/** Snapshots left by runs that did not end cleanly, older than a day. */
function pruneOldSnapshots(): void {
  if (!existsSync(SNAPSHOTS)) return;
  for (const name of readdirSync(SNAPSHOTS)) {
    const path = join(SNAPSHOTS, name);
    if (Date.now() - statSync(path).mtimeMs > DAY_MS)
      rmSync(path, { recursive: true, force: true });
  }
}

function build(): void {
  const started = new Date();
  execFileSync("npm", ["run", "--silent", "build"], { cwd: ROOT, stdio: "pipe" });
  // The stamp carries the build's start time: a source saved during the build is newer.
  mkdirSync(dirname(STAMP), { recursive: true });
  writeFileSync(STAMP, `${started.toISOString()}\n`);
  utimesSync(STAMP, started, started);
}

export default function setup(project: TestProject): () => void {
  let dir = "";
  try {
    pruneOldSnapshots();
    let lastError: unknown;
    for (let attempt = 0; attempt < 3 && dir === ""; attempt++) {
      try {
        if (attempt > 0 || !upToDate()) build();
        dir = snapshot();
      } catch (error) {
        lastError = error;
      }
    }
    if (dir === "") throw lastError;
    project.provide("distBuild", "ok");
    project.provide("cliBin", join(dir, "bin", "hvcall.js"));
  } catch (error) {
    const out =
      error !== null && typeof error === "object" && "stdout" in error ? String(error.stdout) : "";
    project.provide("distBuild", `npm run build failed: ${out || String(error)}`);
    project.provide("cliBin", "");
  }
  return () => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  };
}
