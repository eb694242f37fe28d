/**
 * Every code snippet of the README (and of the example's README) runs, as a newcomer would run it:
 * shell lines through bash in the repository, `ts`/`js` blocks as modules of a project that
 * depends on the package (so `import … from "hvcall"` goes through the package's exports map), and
 * the set-up commands' `npm start` in a fresh copy of the repository.
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, requireDist } from "./cli/cli-harness.js";

requireDist();

interface Block {
  readonly lang: string;
  readonly code: string;
}

function blocks(file: string): Block[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  return [...text.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, code: m[2]! }));
}

const readme = blocks("README.md");
const example = blocks("examples/check-kvm-style/README.md");
const consumer = mkdtempSync(join(tmpdir(), "hvcall-readme-"));
mkdirSync(join(consumer, "node_modules"));
symlinkSync(ROOT, join(consumer, "node_modules", "hvcall"), "dir");
afterAll(() => rmSync(consumer, { recursive: true, force: true }));

/** The shell lines of a block: comments and blank lines dropped, `# exit N` read as the expected code. */
function commands(code: string): { line: string; exit: number }[] {
  return code
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const exit = /#\s*exit (\d+)/.exec(l);
      return { line: l, exit: exit === null ? 0 : Number(exit[1]) };
    });
}

function runShell(lines: readonly { line: string; exit: number }[], cwd: string): void {
  let env = "";
  for (const { line, exit } of lines) {
    if (/^[A-Z_]+=\S+$/.test(line)) {
      env += `${line}\n`;
      continue;
    }
    // `npx hvcall` is what the README shows; `node bin/hvcall.js` is the same program without npx's
    // start-up (the first line of each block still goes through npx).
    const result = spawnSync("bash", ["-c", `${env}${line}`], {
      cwd,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect({ line, code: result.status, stderr: result.stderr.slice(0, 400) }).toEqual({
      line,
      code: exit,
      stderr: expect.any(String),
    });
    if (exit === 0) expect(result.stderr, line).not.toMatch(/\n\s+at |internal error/);
  }
}

describe("README", () => {
  it("has the two set-up commands, and `npm start` works in a fresh copy", () => {
    const setup = readme.find((b) => b.lang === "sh" && b.code.includes("npm ci"));
    expect(setup?.code).toMatch(/^npm ci && npm start\s/m);
    expect(setup?.code).toMatch(/^npm test\s/m);
    const copy = mkdtempSync(join(tmpdir(), "hvcall-fresh-"));
    try {
      // The working tree's files as a clone would have them (tracked and new, not ignored).
      const files = execFileSync(
        "git",
        ["ls-files", "--cached", "--others", "--exclude-standard"],
        { cwd: ROOT, encoding: "utf8" },
      );
      for (const path of files.trim().split("\n")) {
        if (!existsSync(join(ROOT, path))) continue;
        mkdirSync(join(copy, path, ".."), { recursive: true });
        cpSync(join(ROOT, path), join(copy, path));
      }
      symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"), "dir");
      const start = spawnSync("npm", ["start"], { cwd: copy, encoding: "utf8", timeout: 120_000 });
      expect(start.status, start.stderr).toBe(0);
      expect(start.stderr).toContain("replay summary");
      expect(start.stdout.split("\n").filter((l) => l.startsWith(`{"index":`))).toHaveLength(20);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it("every command-line line runs with the exit code it says", () => {
    const cli = readme.filter((b) => b.lang === "sh" && !b.code.includes("npm ci"));
    expect(cli.length).toBeGreaterThan(0);
    for (const b of cli) {
      const lines = commands(b.code).map((c, i) => ({
        ...c,
        line: i === 0 ? c.line : c.line.replace(/^npx hvcall /, "node bin/hvcall.js "),
      }));
      runShell(lines, ROOT);
    }
  });

  it("the library snippets run as a consumer's modules", () => {
    const code = readme.filter((b) => b.lang === "ts" || b.lang === "js");
    expect(code.map((b) => b.lang)).toEqual(["ts", "js"]);
    code.forEach((b, i) => {
      const file = join(consumer, b.lang === "ts" ? `snippet-${i}.mjs` : `snippet-${i}.cjs`);
      writeFileSync(file, b.code);
      const run = spawnSync(process.execPath, [file], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 60_000,
      });
      expect({ code: run.status, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
    });
  });

  it("the check example's commands give the files shown beside them", () => {
    const sh = example.find((b) => b.lang === "sh");
    expect(sh).toBeDefined();
    const script = sh!.code
      .replace(/^npm run build\n/m, "")
      .replace(/\\\n\s*/g, " ")
      .replaceAll("/tmp/observed.jsonl", join(consumer, "observed.jsonl"));
    const lines = commands(script);
    runShell(lines.slice(0, 1), ROOT);
    const observed = readFileSync(join(consumer, "observed.jsonl"), "utf8");
    expect(observed).toBe(
      readFileSync(join(ROOT, "examples/check-kvm-style/observed.jsonl"), "utf8"),
    );
    const check = spawnSync("bash", ["-c", lines[1]!.line], { cwd: ROOT, encoding: "utf8" });
    expect(check.status).toBe(3);
    expect(check.stdout).toBe(
      readFileSync(join(ROOT, "examples/check-kvm-style/check-output.jsonl"), "utf8"),
    );
    expect(check.stderr).toBe(
      readFileSync(join(ROOT, "examples/check-kvm-style/check-summary.txt"), "utf8"),
    );
  });
});
