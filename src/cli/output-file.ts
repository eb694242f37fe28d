import { fstatSync, type Stats, statSync, unlinkSync } from "node:fs";
import { access, constants, open, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CliUsageError, fsReason, quote } from "./cli-error.js";
import { onInterrupt } from "./interrupts.js";

/**
 * Files a command writes besides stdout (--dump-state, fixtures): never one of the run's own
 * inputs, and never half-written (docs/cli.md §12). Inputs are compared by device and
 * inode, not by name, so `./a` and `a`, a hard link or /dev/stdin are all seen for what they are.
 */
export interface FileIdentity {
  readonly label: string;
  readonly dev: number;
  readonly ino: number;
}

function identityOf(s: Stats, label: string): FileIdentity {
  return { label, dev: s.dev, ino: s.ino };
}

/** The identity of an input path (or "-" / stdin); undefined when it cannot be stat'ed. */
export function inputIdentity(path: string, label: string): FileIdentity | undefined {
  try {
    return identityOf(path === "-" ? fstatSync(0) : statSync(path), label);
  } catch {
    return undefined;
  }
}

/**
 * Checks up front that OUT can be written — its directory exists and is writable, OUT is not a
 * directory — and that it is none of `inputs` and not the file stdout writes the results to, so
 * that a bad path fails before anything runs, without creating a file.
 */
export async function checkOutputTarget(
  flag: string,
  path: string,
  inputs: readonly (FileIdentity | undefined)[],
  stdoutCarriesResults: boolean,
): Promise<void> {
  if (path === "-" || path === "") {
    throw new CliUsageError(
      `${flag} ${quote(path)}: give a file path (stdout carries the results)`,
    );
  }
  let existing: Stats | undefined;
  try {
    existing = await stat(path);
  } catch {
    existing = undefined; // A file that does not exist yet is fine; its directory must be writable.
  }
  if (existing?.isDirectory() === true)
    throw new CliUsageError(`${flag} ${quote(path)}: is a directory`);
  if (existing !== undefined) {
    for (const input of inputs) {
      if (input !== undefined && input.dev === existing.dev && input.ino === existing.ino) {
        throw new CliUsageError(
          `${flag} ${quote(path)} is the same file as the ${input.label}: it would overwrite an input of this run; write the state elsewhere`,
        );
      }
    }
    let so: Stats | undefined;
    try {
      so = stdoutCarriesResults ? fstatSync(1) : undefined;
    } catch {
      so = undefined;
    }
    if (so !== undefined && so.dev === existing.dev && so.ino === existing.ino) {
      throw new CliUsageError(
        `${flag} ${quote(path)} is where stdout writes the results: write the state elsewhere`,
      );
    }
  }
  try {
    await access(dirname(path), constants.W_OK);
  } catch (error) {
    throw new CliUsageError(`${flag} ${quote(path)}: cannot write there: ${fsReason(error)}`);
  }
}

/**
 * Writes `text` to `path` atomically: into a temporary file beside it, then renamed over it. A
 * failure (a full disk, `ulimit -f`) or an interrupt leaves `path` exactly as it was.
 */
export async function writeFileAtomically(flag: string, path: string, text: string): Promise<void> {
  const temp = join(
    dirname(path),
    `.${basename(path)}.hvcall-${process.pid}-${Date.now().toString(36)}.tmp`,
  );
  const forget = onInterrupt(() => unlinkSync(temp));
  try {
    const handle = await open(temp, "wx");
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw new CliUsageError(
      `${flag} ${quote(path)}: cannot write: ${fsReason(error)} (the file is unchanged)`,
    );
  } finally {
    forget();
  }
}
