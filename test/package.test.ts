/**
 * The npm package holds only what a consumer runs: dist/ (no source maps, no build stamp, no
 * dev-only modules), the bin shim, the CommonJS stub, README and LICENSE; no install scripts; the
 * exports map has the root and `hvcall/abi`, ESM only.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, requireDist } from "./cli/cli-harness.js";

requireDist();

interface PackFile {
  readonly path: string;
}

const pack = JSON.parse(
  execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: ROOT,
    encoding: "utf8",
  }),
) as { files: PackFile[] }[];
const files = pack[0]!.files.map((f) => f.path).sort();
const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  scripts: Record<string, string>;
  exports: Record<string, unknown>;
  dependencies: Record<string, string>;
  license: string;
};

describe("npm pack", () => {
  it("ships dist, the bin shim, the CommonJS stub, README and LICENSE, and nothing else", () => {
    for (const f of files)
      expect(f, f).toMatch(
        /^(dist\/.+\.(js|d\.ts)|bin\/hvcall\.js|esm-only\.cjs|README\.md|LICENSE|package\.json)$/,
      );
    for (const must of [
      "LICENSE",
      "README.md",
      "bin/hvcall.js",
      "esm-only.cjs",
      "dist/index.js",
      "dist/index.d.ts",
      "dist/abi/index.js",
      "dist/cli/main.js",
      "dist/parallel/signal-worker.js",
    ]) {
      expect(files).toContain(must);
    }
  });

  it("has no source maps, no build stamp, no test or fixture-update modules", () => {
    expect(files.filter((f) => f.endsWith(".map"))).toEqual([]);
    expect(files.filter((f) => f.includes("build-stamp"))).toEqual([]);
    expect(files.filter((f) => /fixtures-update|record-list|update-examples|fuzz/.test(f))).toEqual(
      [],
    );
  });

  it("every module of dist is compiled from a file of src (a clean build)", () => {
    const sources = new Set(
      execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "src"], {
        cwd: ROOT,
        encoding: "utf8",
      })
        .trim()
        .split("\n"),
    );
    for (const f of files.filter((x) => x.startsWith("dist/") && x.endsWith(".js"))) {
      expect(sources.has(f.replace(/^dist\//, "src/").replace(/\.js$/, ".ts")), f).toBe(true);
    }
  });

  it("runs no script on install, and says MIT with a LICENSE file", () => {
    for (const hook of ["preinstall", "install", "postinstall", "prepare", "prepublish"]) {
      expect(manifest.scripts[hook], hook).toBeUndefined();
    }
    expect(manifest.license).toBe("MIT");
    expect(readFileSync(join(ROOT, "LICENSE"), "utf8")).toContain("MIT License");
  });

  it("exports the root and hvcall/abi as ES modules, and answers require() with a clear error", () => {
    expect(Object.keys(manifest.exports).sort()).toEqual([".", "./abi", "./package.json"]);
    const cjs = execFileSync(
      process.execPath,
      ["-e", "try { require('./esm-only.cjs') } catch (e) { console.log(e.message) }"],
      { cwd: ROOT, encoding: "utf8" },
    );
    expect(cjs).toMatch(/hvcall is an ES module/);
  });

  it("lists as runtime dependencies only what dist imports", () => {
    const imported = new Set<string>();
    for (const f of files.filter((x) => x.endsWith(".js"))) {
      const text = readFileSync(join(ROOT, f), "utf8");
      for (const m of text.matchAll(/from "([^".][^"]*)"|import\("([^".][^"]*)"\)/g)) {
        const name = (m[1] ?? m[2])!;
        if (!name.startsWith("node:"))
          imported.add(
            name.startsWith("@") ? name.split("/").slice(0, 2).join("/") : name.split("/")[0]!,
          );
      }
    }
    expect([...imported].sort()).toEqual(Object.keys(manifest.dependencies).sort());
  });
});
