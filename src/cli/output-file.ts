import { fstatSync, type Stats, statSync, unlinkSync } from "node:fs";
import {
  access,
  constants,
  type FileHandle,
  lstat,
  open,
  readlink,
  rename,
  stat,
  unlink,
} from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { CliUsageError, fsReason, quote } from "./cli-error.js";
import { onInterrupt } from "./interrupts.js";
import { WriteStalledError, writeReason } from "./stdio.js";

/**
 * Files a command writes besides stdout (--dump-state, a trace convert OUTPUT, fixtures), by the
 * rules of docs/cli.md §12: never one of the run's own inputs, never half-written, and only ever
 * a regular file. Inputs are compared by device and inode, not by name, so `./a` and `a`, a hard
 * link or /dev/stdin are all seen for what they are.
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

/** What an output path names once its symbolic links are followed. */
interface OutputTarget {
  /** The path written: OUT itself, or the file its symbolic links lead to. */
  readonly path: string;
  /** The regular file there now; undefined when there is none yet. */
  readonly existing: Stats | undefined;
}

/** As the kernel's own limit before ELOOP. */
const MAX_LINKS = 40;

function kindOf(s: Stats): string {
  if (s.isFIFO()) return "a pipe (FIFO)";
  if (s.isCharacterDevice()) return "a character device";
  if (s.isBlockDevice()) return "a block device";
  if (s.isSocket()) return "a socket";
  return "a special file";
}

function errorCode(error: unknown): unknown {
  return error instanceof Error && "code" in error ? error.code : undefined;
}

/**
 * Finds the file OUT names. A rename replaces whatever is at its destination, so a FIFO, a device
 * (/dev/null, once turned into a regular file here, running as root) or a socket is refused, and a
 * symbolic link is followed to write its target, so that the link stays a link (found in
 * review). `orStdout` ends the refusal with the hint that "-" writes to stdout.
 */
async function resolveOutput(flag: string, path: string, orStdout = false): Promise<OutputTarget> {
  const cannot = (error: unknown) =>
    new CliUsageError(`${flag} ${quote(path)}: cannot write there: ${fsReason(error)}`);
  const refuse = (s: Stats, viaLink: boolean) =>
    new CliUsageError(
      `${flag} ${quote(path)}: is ${viaLink ? "a symbolic link to " : ""}${kindOf(s)}, not ${viaLink ? "to " : ""}a regular file; ` +
        `hvcall writes it atomically (a temporary file renamed over it), so give a regular file path${orStdout ? " (or - for stdout)" : ""}`,
    );
  const unfollowable = () =>
    new CliUsageError(
      `${flag} ${quote(path)}: is a link hvcall cannot follow to a file path; give the file's own path`,
    );
  // stat follows every link as the kernel does, /proc/self/fd/1 (/dev/stdout) to a pipe too.
  const followed = await stat(path).catch(() => undefined);
  let target = path;
  let links = 0;
  for (;;) {
    let s: Stats;
    try {
      s = await lstat(target);
    } catch (error) {
      if (errorCode(error) !== "ENOENT") throw cannot(error);
      // No file there (a dangling link names the file to create), unless the kernel found one: a
      // /proc/self/fd link whose text is no path ("pipe:[…]", a deleted file).
      if (followed === undefined) return { path: target, existing: undefined };
      if (!followed.isFile() && !followed.isDirectory()) throw refuse(followed, links > 0);
      throw unfollowable();
    }
    if (!s.isSymbolicLink()) {
      if (s.isDirectory()) throw new CliUsageError(`${flag} ${quote(path)}: is a directory`);
      if (!s.isFile()) throw refuse(s, links > 0);
      if (followed === undefined || followed.dev !== s.dev || followed.ino !== s.ino)
        throw unfollowable();
      return { path: target, existing: s };
    }
    if (++links > MAX_LINKS) {
      throw new CliUsageError(
        `${flag} ${quote(path)}: cannot write there: too many levels of symbolic links (ELOOP)`,
      );
    }
    try {
      target = resolve(dirname(target), await readlink(target));
    } catch (error) {
      throw cannot(error);
    }
  }
}

/**
 * Checks up front that OUT can be written — a regular file or none yet (symbolic links followed),
 * in a writable directory — and that it is none of `inputs` and not the file stdout writes to, so
 * that a bad path fails before anything runs, without creating a file. `stdoutCarriesResults`:
 * false when stdout is free (`trace convert`, where "-" writes there instead).
 */
export async function checkOutputTarget(
  flag: string,
  path: string,
  inputs: readonly (FileIdentity | undefined)[],
  stdoutCarriesResults: boolean,
): Promise<void> {
  if (path === "" || (path === "-" && stdoutCarriesResults)) {
    throw new CliUsageError(
      stdoutCarriesResults
        ? `${flag} ${quote(path)}: give a file path (stdout carries the results)`
        : `${flag} ${quote(path)}: give a file path, or - for stdout`,
    );
  }
  const what = stdoutCarriesResults ? "the state" : "it";
  const target = await resolveOutput(flag, path, !stdoutCarriesResults);
  const existing = target.existing;
  if (existing !== undefined) {
    for (const input of inputs) {
      if (input !== undefined && input.dev === existing.dev && input.ino === existing.ino) {
        throw new CliUsageError(
          `${flag} ${quote(path)} is the same file as the ${input.label}: it would overwrite an input of this run; write ${what} elsewhere`,
        );
      }
    }
    let so: Stats | undefined;
    try {
      so = fstatSync(1);
    } catch {
      so = undefined;
    }
    if (so !== undefined && so.dev === existing.dev && so.ino === existing.ino) {
      throw new CliUsageError(
        stdoutCarriesResults
          ? `${flag} ${quote(path)} is where stdout writes the results: write ${what} elsewhere`
          : `${flag} ${quote(path)} is the file stdout writes to: give - to write to stdout`,
      );
    }
  }
  try {
    await access(dirname(target.path), constants.W_OK);
  } catch (error) {
    throw new CliUsageError(`${flag} ${quote(path)}: cannot write there: ${fsReason(error)}`);
  }
  if (existing !== undefined) {
    // The rename needs only the directory: it would replace a file `>` may not write. Refused as
    // `>` would refuse it (root may write any file, as with `>`).
    try {
      await access(target.path, constants.W_OK);
    } catch {
      const mode = (existing.mode & 0o777).toString(8).padStart(4, "0");
      throw new CliUsageError(
        `${flag} ${quote(path)}: is not writable for this user (mode ${mode}); hvcall would replace it, so make it writable or give another path`,
      );
    }
  }
}

/** A file being written atomically: nothing of it shows at OUT until `commit`. */
export interface AtomicFile {
  /** Writes every byte (write(2) may take fewer; one that takes none is an error). */
  write(bytes: Uint8Array): Promise<void>;
  /** Flushes the bytes to the disk, then renames the temporary file over OUT. */
  commit(): Promise<void>;
  /** Removes the temporary file; OUT stays as it was. Safe to call after a failed commit. */
  abandon(): Promise<void>;
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, at, bytes.length - at);
    if (bytesWritten <= 0) throw new WriteStalledError();
    at += bytesWritten;
  }
}

/** Gives the new file the old one's owner (best effort: only root may) and permission bits. */
async function keepOwnerAndMode(handle: FileHandle, old: Stats): Promise<void> {
  const now = await handle.stat();
  if (now.uid !== old.uid || now.gid !== old.gid)
    await handle.chown(old.uid, old.gid).catch(() => undefined);
  await handle.chmod(old.mode & 0o7777); // after chown, which clears set-user-ID
}

/**
 * Opens OUT for writing atomically: into a temporary file beside the file OUT names (symbolic
 * links followed, so that the rename stays on its file system and a link stays a link), renamed
 * over it by `commit` once flushed to the disk, with the old file's mode. A failure (a full disk,
 * `ulimit -f`) or an interrupt leaves OUT exactly as it was, and no temporary file.
 */
export async function openAtomically(flag: string, path: string): Promise<AtomicFile> {
  // Resolved again here: the file may have changed since checkOutputTarget, and `golden update`
  // writes its fixtures without it.
  const target = await resolveOutput(flag, path);
  const unique = `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const temp = join(dirname(target.path), `.${basename(target.path)}.hvcall-${unique}.tmp`);
  // Registered before the file exists: an interrupt may arrive while open() is under way. An
  // interrupt ends the process at once, so the removal must be synchronous (interrupts.ts).
  const forget = onInterrupt(() => unlinkSync(temp));
  let handle: FileHandle;
  try {
    handle = await open(temp, "wx");
  } catch (error) {
    forget();
    throw new CliUsageError(`${flag} ${quote(path)}: cannot write there: ${fsReason(error)}`);
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  const fail = (error: unknown): never => {
    throw new CliUsageError(
      `${flag} ${quote(path)}: cannot write: ${writeReason(error)} (the file is unchanged)`,
    );
  };
  return {
    async write(bytes) {
      await writeAll(handle, bytes).catch(fail);
    },
    async commit() {
      try {
        if (target.existing !== undefined) await keepOwnerAndMode(handle, target.existing);
        await handle.sync();
        await close();
        await rename(temp, target.path);
      } catch (error) {
        fail(error);
      }
      forget();
    },
    async abandon() {
      await close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      forget();
    },
  };
}

/** Writes `text` to `path` atomically (openAtomically). */
export async function writeFileAtomically(flag: string, path: string, text: string): Promise<void> {
  const file = await openAtomically(flag, path);
  try {
    await file.write(Buffer.from(text));
    await file.commit();
  } catch (error) {
    await file.abandon();
    throw error;
  }
}
