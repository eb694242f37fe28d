import { open, stat } from "node:fs/promises";

/** True when `path` names a regular file (not "-", a FIFO, a device or a directory). */
export async function isRegularFile(path: string): Promise<boolean> {
  if (path === "-") return false;
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * The first `n` bytes of a regular file (fewer when it is shorter); undefined for "-", a FIFO or
 * a device (reading them would consume what the command reads next), or a failure.
 */
export async function readFileHead(path: string, n: number): Promise<Uint8Array | undefined> {
  if (!(await isRegularFile(path))) return undefined;
  try {
    const handle = await open(path, "r");
    try {
      const out = new Uint8Array(n);
      const { bytesRead } = await handle.read(out, 0, n, 0);
      return out.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
}
