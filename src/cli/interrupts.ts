/**
 * What the CLI undoes when it is interrupted (SIGINT, SIGTERM): the progress bar gives the
 * terminal its cursor and line wrap back, a half-written temporary file is removed. Handlers run
 * once, synchronously, then the process ends by the signal (status 130 for SIGINT, 143 for
 * SIGTERM, as a shell shows it).
 */
const handlers = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const h of [...handlers]) {
    try {
      h();
    } catch {
      // An undo step that fails must not stop the others.
    }
  }
  handlers.clear();
}

/**
 * Undoes, then ends the process by the same signal with its default action, so that the shell
 * sees "killed by SIGINT" (status 130) or SIGTERM (143). Not process.exit: it waits for the
 * libuv thread pool, and a read blocked on a FIFO that never delivers holds one of its threads
 * forever — the process would ignore the signal (found in review: `replay … /tmp/fifo`).
 */
function endBy(signal: "SIGINT" | "SIGTERM", status: number): void {
  runAll();
  process.removeAllListeners(signal); // the default action again
  try {
    process.kill(process.pid, signal);
  } catch {
    // Cannot signal itself: fall through to the exit below.
  }
  // Reached only if the signal did not end the process (it is ignored or blocked here).
  setTimeout(() => process.exit(status), 50).unref();
}

export function installInterruptHandlers(): void {
  if (installed) return;
  installed = true;
  process.once("SIGINT", () => endBy("SIGINT", 130));
  process.once("SIGTERM", () => endBy("SIGTERM", 143));
}

/** Registers an undo step; returns the function that unregisters it. */
export function onInterrupt(handler: () => void): () => void {
  handlers.add(handler);
  return () => {
    handlers.delete(handler);
  };
}
