/**
 * vitest globalSetup: compiles src to dist (npm run build) once before the tests, so that the CLI
 * tests run the real `node bin/hvcall.js`. Skipped when dist is newer than every source file. A
 * failed build does not stop the other test files: the CLI tests report it (see cli-harness.ts).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** "ok", or why dist could not be built. */
    distBuild: string;
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

export default function setup(project: TestProject): void {
  try {
    if (!upToDate()) {
      const started = new Date();
      execFileSync("npm", ["run", "--silent", "build"], { cwd: ROOT, stdio: "pipe" });
      // The stamp carries the build's start time: a source saved during the build is newer.
      mkdirSync(dirname(STAMP), { recursive: true });
      writeFileSync(STAMP, `${started.toISOString()}\n`);
      utimesSync(STAMP, started, started);
    }
    project.provide("distBuild", "ok");
  } catch (error) {
    const out =
      error !== null && typeof error === "object" && "stdout" in error ? String(error.stdout) : "";
    project.provide("distBuild", `npm run build failed: ${out || String(error)}`);
  }
}
