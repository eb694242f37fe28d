/**
 * What the CLI undoes when it is interrupted (SIGINT, SIGTERM): the progress bar gives the
 * terminal its cursor and line wrap back, a half-written temporary file is removed. Handlers run
 * once, synchronously, then the process exits 130 (SIGINT) or 143 (SIGTERM), as a shell expects.
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

export function installInterruptHandlers(): void {
  if (installed) return;
  installed = true;
  process.once("SIGINT", () => {
    runAll();
    process.exit(130);
  });
  process.once("SIGTERM", () => {
    runAll();
    process.exit(143);
  });
}

/** Registers an undo step; returns the function that unregisters it. */
export function onInterrupt(handler: () => void): () => void {
  handlers.add(handler);
  return () => {
    handlers.delete(handler);
  };
}
