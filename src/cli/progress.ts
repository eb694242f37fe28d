/**
 * The replay progress bar: on stderr, only when stderr is a terminal, and only once the run has
 * taken more than about a second (short runs never flash a bar). cli-progress is loaded only then.
 */
import type { SingleBar } from "cli-progress";
import { onInterrupt } from "./interrupts.js";

/** Runs shorter than this never show a bar. */
const SHOW_AFTER_MS = 1000;

export interface Progress {
  /** `done` records so far. */
  update(done: number): Promise<void>;
  stop(): void;
}

const NO_PROGRESS: Progress = {
  update: () => Promise.resolve(),
  stop: () => {},
};

/**
 * A progress reporter for `total` records (undefined when unknown, as for stdin). A no-op unless
 * `enabled` and stderr is a terminal.
 */
export function createProgress(enabled: boolean, total: number | undefined): Progress {
  if (!enabled || process.stderr.isTTY !== true) return NO_PROGRESS;
  const started = performance.now();
  let bar: SingleBar | undefined;
  let stopped = false;
  let forget = () => {};
  return {
    async update(done) {
      const elapsed = performance.now() - started;
      const rate = Math.round((done * 1000) / elapsed).toLocaleString("en-US");
      if (bar === undefined) {
        if (elapsed < SHOW_AFTER_MS || stopped) return;
        const { default: cliProgress } = await import("cli-progress");
        if (stopped) return;
        bar = new cliProgress.SingleBar({
          stream: process.stderr,
          format:
            total === undefined
              ? "replay {value} records | {rate} records/s"
              : "replay |{bar}| {percentage}% | {value}/{total} records | {rate} records/s | ETA {eta_formatted}",
          hideCursor: true,
          clearOnComplete: true,
          barsize: 30,
        });
        bar.start(total ?? 0, done, { rate });
        // The bar hides the cursor and turns line wrap off: an interrupt must give them back.
        const shown = bar;
        forget = onInterrupt(() => shown.stop());
      }
      bar.update(done, { rate });
    },
    stop() {
      stopped = true;
      bar?.stop();
      forget();
    },
  };
}
