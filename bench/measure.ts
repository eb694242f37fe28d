/** Timing (mitata) and allocation (V8 GC profiler) helpers for the benchmark. */
import os from "node:os";
import v8 from "node:v8";
import { measure } from "mitata";

export interface MachineFacts {
  readonly cpuModel: string;
  readonly cpuCount: number;
  readonly cpuSpeedMHz: number;
  readonly availableParallelism: number;
  readonly totalMemoryMiB: number;
  readonly node: string;
  readonly v8: string;
  readonly platform: string;
  readonly arch: string;
  readonly date: string;
}

export function machineFacts(): MachineFacts {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cpuCount: cpus.length,
    cpuSpeedMHz: cpus[0]?.speed ?? 0,
    availableParallelism: os.availableParallelism(),
    totalMemoryMiB: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    v8: process.versions.v8,
    platform: os.platform(),
    arch: os.arch(),
    date: new Date().toISOString(),
  };
}

export interface Timing {
  /** Nanoseconds per call of the measured function: median, mean, fastest. */
  readonly p50: number;
  readonly avg: number;
  readonly min: number;
  readonly samples: number;
}

/**
 * Times `fn` with mitata: warm-up, then at least `minSamples` calls and `minMs` of CPU time. For
 * functions that each take milliseconds (a whole batch), a handful of samples is plenty.
 */
export async function timeIt(
  fn: () => unknown,
  minSamples: number,
  minMs: number,
): Promise<Timing> {
  const stats = await measure(fn, {
    min_samples: minSamples,
    max_samples: Math.max(minSamples, 1000),
    min_cpu_time: minMs * 1e6,
  });
  return { p50: stats.p50, avg: stats.avg, min: stats.min, samples: stats.samples.length };
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) throw new Error("run the benchmark with node --expose-gc");
  g();
}

export function hasGc(): boolean {
  return typeof (globalThis as { gc?: unknown }).gc === "function";
}

/**
 * Bytes allocated on the V8 heap while `fn` runs `reps` times: the growth of the used heap plus
 * whatever every garbage collection in between reclaimed (from the V8 GC profiler's before/after
 * statistics), so a collection in the middle does not hide allocations. Needs --expose-gc.
 */
export function allocatedBytes(fn: () => unknown, reps: number): number {
  gc();
  const profiler = new v8.GCProfiler();
  profiler.start();
  const before = v8.getHeapStatistics().used_heap_size;
  for (let i = 0; i < reps; i++) fn();
  const after = v8.getHeapStatistics().used_heap_size;
  const profile = profiler.stop();
  let reclaimed = 0;
  for (const s of profile.statistics) {
    reclaimed += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
  }
  return after - before + reclaimed;
}

/**
 * Retained heap + array-buffer bytes after a full GC. V8 frees array-buffer backing stores on a
 * background sweeper, so the count is read once it has settled.
 */
export async function retainedBytes(): Promise<number> {
  let last = Number.NaN;
  for (let i = 0; i < 10; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const m = process.memoryUsage();
    const now = m.heapUsed + m.arrayBuffers;
    if (Math.abs(now - last) < 64 * 1024) return now;
    last = now;
  }
  return last;
}
