/**
 * The fuzz campaign: `npm run fuzz -- --seconds N [--seed S]`.
 *
 * Runs the properties of test/fuzz (random guest traces through every front end vs the trace model,
 * model-based with host actions, any 16-byte record, any control value, traces of random guest
 * bytes, any scenario text, any trace line or binary record) in rounds until the time is up, with huge run counts, printing a
 * progress line (calls/s, statuses and model details seen) on stderr. On a failure it prints the
 * seed and fast-check's shrunk counterexample, saves a counterexample without host actions as a v2
 * golden fixture fixtures/golden/fuzz-<seed>.json, and exits 1.
 *
 * Reproducing: round k runs every property with seed S + k; a failure names the seed it failed
 * under, and `--seed <that seed>` fails the same way in round 0.
 *
 * The npm script compiles this file (scripts/tsconfig.fuzz.json -> scripts/dist, gitignored) and
 * runs it with node, so it works after `npm ci` without a TypeScript runner.
 */
import fc from "fast-check";
import { canonicalJson } from "../test/fuzz/harness.js";
import {
  controlsProperty,
  differentialProperty,
  type FuzzProperty,
  guestBytesProperty,
  modelBasedProperty,
  recordsProperty,
  scenarioTextCounts,
  scenarioTextProperty,
  traceTextCounts,
  traceTextProperty,
} from "../test/fuzz/properties.js";
import { MODEL_DETAILS, REQUIRED_STATUSES, shortName, Tally } from "../test/fuzz/tally.js";

const USAGE = "usage: npm run fuzz -- --seconds N [--seed S]";
const EXIT_USAGE = 2;
const EXIT_FAILED = 1;
/** fast-check seeds are 32-bit integers. */
const SEED_LIMIT = 0x8000_0000;
const MAX_SECONDS = 7 * 24 * 3600;
const DEFAULT_SECONDS = 60;

interface Options {
  readonly seconds: number;
  readonly seed: number;
}

function usageError(message: string): never {
  process.stderr.write(`fuzz: ${message} (${USAGE})\n`);
  process.exit(EXIT_USAGE);
}

/** `--name value` and `--name=value` for the known flags; anything else is a usage error. */
function parseOptions(argv: string[]): Options {
  const values: { seconds?: string; seed?: string; help?: boolean } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") {
      values.help = true;
      continue;
    }
    const m = /^--(seconds|seed)(?:=(.*))?$/.exec(arg);
    if (m === null) {
      usageError(
        arg.startsWith("-") ? `unknown flag ${arg}` : `unexpected argument ${JSON.stringify(arg)}`,
      );
    }
    const name = m[1] as "seconds" | "seed";
    let value = m[2];
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) usageError(`--${name} needs a value`);
    }
    if (values[name] !== undefined) usageError(`--${name} given twice`);
    values[name] = value;
  }
  if (values.help === true) {
    process.stdout.write(
      `${USAGE}\n  --seconds N   how long to run (default ${DEFAULT_SECONDS}; 0 < N <= ${MAX_SECONDS})\n  --seed S      base seed, an integer 0..${SEED_LIMIT - 1} (default: random; printed)\n`,
    );
    process.exit(0);
  }
  let seconds = DEFAULT_SECONDS;
  if (values.seconds !== undefined) {
    const text = values.seconds.trim();
    seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
    if (!(seconds > 0 && seconds <= MAX_SECONDS)) {
      usageError(
        `--seconds: not a number of seconds in (0, ${MAX_SECONDS}]: ${JSON.stringify(values.seconds)}`,
      );
    }
  }
  let seed = Math.floor(Math.random() * SEED_LIMIT);
  if (values.seed !== undefined) {
    const text = values.seed.trim();
    seed = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!(Number.isSafeInteger(seed) && seed < SEED_LIMIT)) {
      usageError(`--seed: not an integer 0..${SEED_LIMIT - 1}: ${JSON.stringify(values.seed)}`);
    }
  }
  return { seconds, seed };
}

// ---------------------------------------------------------------------------------------------

interface Entry {
  readonly property: FuzzProperty<unknown>;
  /** Share of each round's time this property gets. */
  readonly weight: number;
  readonly tally: Tally;
  chunks: number;
  runsDone: number;
}

function entries(): Entry[] {
  const make = <T>(property: FuzzProperty<T>, weight: number): Entry => ({
    property: property as FuzzProperty<unknown>,
    weight,
    tally: new Tally(),
    chunks: 0,
    runsDone: 0,
  });
  return [
    make(differentialProperty(200), 3),
    make(modelBasedProperty(100), 2),
    make(recordsProperty(60), 1),
    make(controlsProperty(60), 1),
    make(guestBytesProperty(120), 1.5),
    make(scenarioTextProperty(), 0.5),
    make(traceTextProperty(), 0.5),
  ];
}

/** Rounds a campaign is split into (each round: every property once, with the round's seed). */
const TARGET_ROUNDS = 8;
/** A property's time slice in one round stays within these bounds (ms per unit of weight). */
const MIN_SLICE_MS = 250;
const MAX_SLICE_MS = 15_000;
/** fc.check's run count per slice: effectively "until the slice is over". */
const RUNS_PER_SLICE = 100_000_000;

const isTty = process.stderr.isTTY === true;

class Progress {
  private lastPrint = 0;
  private lastLine = 0;
  constructor(
    private readonly started: number,
    private readonly seconds: number,
    private readonly total: () => Tally,
  ) {}

  tick(force = false): void {
    const now = performance.now();
    if (!force && now - this.lastPrint < (isTty ? 250 : 1000)) return;
    this.lastPrint = now;
    const line = this.line(now);
    if (isTty) process.stderr.write(`\r${line}\u001b[K`);
    else if (force || now - this.lastLine >= 10_000) {
      this.lastLine = now;
      process.stderr.write(`${line}\n`);
    }
  }

  done(): void {
    this.tick(true);
    if (isTty) process.stderr.write("\n");
  }

  private line(now: number): string {
    const t = this.total();
    const elapsed = (now - this.started) / 1000;
    const rate = Math.round(t.calls / Math.max(elapsed, 0.001));
    const required = REQUIRED_STATUSES.filter((s) => t.statuses.has(s)).length;
    const details = MODEL_DETAILS.filter((d) => t.details.has(d)).length;
    return (
      `fuzz ${elapsed.toFixed(0)}s/${this.seconds}s | ${t.calls.toLocaleString("en-US")} calls | ` +
      `${rate.toLocaleString("en-US")} calls/s | statuses ${required}/${REQUIRED_STATUSES.length} | ` +
      `details ${details}/${MODEL_DETAILS.length}`
    );
  }
}

function totalOf(list: readonly Entry[]): Tally {
  const t = new Tally();
  for (const e of list) t.merge(e.tally);
  return t;
}

function show(value: unknown): string {
  return fc.stringify(value);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const list = entries();
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  process.stderr.write(
    `fuzz: seed ${options.seed}, ${options.seconds} s, properties: ${list.map((e) => e.property.name).join(", ")}\n`,
  );
  const progress = new Progress(started, options.seconds, () => totalOf(list));

  const weights = list.reduce((sum, e) => sum + e.weight, 0);
  const unit = Math.min(
    MAX_SLICE_MS,
    Math.max(MIN_SLICE_MS, (options.seconds * 1000) / (TARGET_ROUNDS * weights)),
  );
  for (let round = 0; performance.now() < deadline; round++) {
    const seed = (options.seed + round) % SEED_LIMIT;
    for (const entry of list) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      const prop = fc.property(entry.property.arbitrary, (value) => {
        entry.property.run(value, entry.tally);
        progress.tick();
      });
      const details = fc.check(prop, {
        seed,
        numRuns: RUNS_PER_SLICE,
        interruptAfterTimeLimit: Math.ceil(Math.min(left, unit * entry.weight)),
        markInterruptAsFailure: false,
      });
      entry.chunks++;
      entry.runsDone += details.numRuns;
      if (details.failed) {
        progress.done();
        await report(entry, details, seed, options.seconds);
        process.exit(EXIT_FAILED);
      }
    }
  }
  progress.done();
  summary(list, options, performance.now() - started);
}

async function report(
  entry: Entry,
  details: fc.RunDetails<[unknown]>,
  seed: number,
  seconds: number,
): Promise<void> {
  const name = entry.property.name;
  const out = process.stdout;
  out.write(
    `\nfuzz: FAILED: property "${name}", seed ${seed}, after ${details.numRuns} runs of this chunk\n`,
  );
  out.write(
    `  reproduce: npm run fuzz -- --seed ${seed} --seconds ${seconds} (round 0 runs this seed)\n`,
  );
  out.write(
    `  fast-check: seed ${details.seed}, path "${details.counterexamplePath ?? ""}", shrunk ${details.numShrinks} times\n`,
  );
  const error = details.errorInstance;
  out.write(`  error: ${error instanceof Error ? error.message : String(error)}\n`);
  const value = details.counterexample?.[0];
  if (value === undefined) return;
  const c = entry.property.toCase?.(value);
  if (c === undefined) {
    out.write(`  minimal counterexample: ${show(value)}\n`);
    out.write("  (no golden fixture: this property's values are not traces)\n");
    return;
  }
  out.write(`  minimal counterexample: caller ${c.caller}, vp ${c.vp}, scenario:\n`);
  out.write(`    ${JSON.stringify(c.scenario)}\n`);
  c.steps.forEach((step, i) => {
    out.write(`    step ${i}: ${canonicalJson(step)}\n`);
  });
  // Loaded only now: the fixture module (src/cli) is not needed to fuzz, only to save.
  let golden: typeof import("../test/fuzz/golden.js");
  try {
    golden = await import("../test/fuzz/golden.js");
  } catch (error) {
    out.write(`  could not load the golden-fixture module, fixture not saved: ${String(error)}\n`);
    return;
  }
  const saved = golden.saveFixture(process.cwd(), seed, c, `property "${name}"`);
  if (saved === undefined) {
    out.write(
      "  (no golden fixture: the counterexample has host actions, which a trace cannot say)\n",
    );
    return;
  }
  out.write(`  saved as a golden fixture: ${saved.path}\n`);
  out.write(
    saved.disagreement !== undefined
      ? `  the fixture fails with the current code (${saved.disagreement})\n`
      : "  note: through the fixture runner (the `hvcall run` engine) the current code passes this fixture\n",
  );
}

function summary(list: readonly Entry[], options: Options, ms: number): void {
  const total = totalOf(list);
  const seconds = ms / 1000;
  const out = process.stdout;
  out.write(`\nfuzz: seed ${options.seed}: no failure in ${seconds.toFixed(1)} s\n`);
  out.write(
    `fuzz: ${total.calls.toLocaleString("en-US")} hypercalls (${Math.round(total.calls / seconds).toLocaleString("en-US")} calls/s), ` +
      `${(scenarioTextCounts.accepted + scenarioTextCounts.rejected).toLocaleString("en-US")} scenario texts, ` +
      `${(traceTextCounts.accepted + traceTextCounts.rejected).toLocaleString("en-US")} trace lines / records\n`,
  );
  for (const e of list) {
    out.write(
      `  ${e.property.name.padEnd(14)} ${String(e.chunks).padStart(6)} chunks ${e.runsDone.toLocaleString("en-US").padStart(12)} runs ${e.tally.calls.toLocaleString("en-US").padStart(14)} calls\n`,
    );
  }
  out.write(`${total.format("all properties")}\n`);
  const missing = total.missingStatuses();
  if (missing.length > 0) out.write(`fuzz: statuses never reached: ${missing.join(", ")}\n`);
  const details = total.missingDetails();
  if (details.length > 0) out.write(`fuzz: model details never reached: ${details.join(", ")}\n`);
  const unknown = total.unknownDetails();
  if (unknown.length > 0)
    out.write(`fuzz: model details not in tally.ts's list: ${unknown.join(", ")}\n`);
  out.write(
    `fuzz: distinct model details: ${total.details.size}/${MODEL_DETAILS.length}; statuses: ${total.statusNames().length} (${[...total.statuses.keys()].map(shortName).join(", ")})\n`,
  );
}

await main();
