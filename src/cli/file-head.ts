import { open } from "node:fs/promises";

/** The first `n` bytes of a regular file (fewer when it is shorter); undefined for "-" or a failure. */
export async function readFileHead(path: string, n: number): Promise<Uint8Array | undefined> {
  if (path === "-") return undefined;
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
