// Worker for sief-image-threads.test.ts. Plain JS: a worker thread cannot load TypeScript on
// Node 20, so it imports the compiled SiefImage (dist/) by the file URL it is given.
//
// workerData: { moduleUrl, buffer, vpCount, gate, parity, exclusive, commonStart, commonCount }
// Flag g of the image is (VP slot g >> 15, SINT (g >> 11) & 15, flag g & 2047). This thread sets
// its own flags parity, parity + 2, parity + 4, ... (`exclusive` of them) interleaved with the
// common flags commonStart .. commonStart + commonCount - 1, which the other thread sets too, in
// the same order. It reports how many of its own flags were clear before (all of them must be),
// and which common flags it won (saw clear).
//
// For the race to be real, both threads must run the same step at about the same moment: at step
// i they touch the same u32 word (own flags 2i and 2i + 1) and the same common flag. So each
// thread first warms the JIT on a scratch image, then the two meet at a spinning barrier (gate
// word 0 counts arrivals) every 64 steps, so they stay within a few steps of each other. (Checked:
// with a non-atomic testAndSet this loses tens of thousands of flags per run on 2 busy cores.)
import { parentPort, workerData } from "node:worker_threads";

const { moduleUrl, buffer, vpCount, gate, parity, exclusive, commonStart, commonCount } =
  workerData;
const { SiefImage } = await import(moduleUrl);
const sief = new SiefImage(new Uint32Array(buffer));
if (sief.vpCount !== vpCount) throw new Error(`image of ${sief.vpCount} VPs, not ${vpCount}`);
const gateWords = new Int32Array(gate);

const FLAG_BITS = 11;
const SINT_BITS = 4;
const FLAG_MASK = (1 << FLAG_BITS) - 1;
const SINT_MASK = (1 << SINT_BITS) - 1;
const setIn = (image, g) =>
  image.testAndSet(g >>> (FLAG_BITS + SINT_BITS), (g >>> FLAG_BITS) & SINT_MASK, g & FLAG_MASK);

// Warm up the same (shared) code path on an image of our own.
const scratch = new SiefImage(new Uint32Array(new SharedArrayBuffer(buffer.byteLength / vpCount)));
for (let round = 0; round < 20; round++) {
  for (let g = 0; g < 1 << (FLAG_BITS + SINT_BITS); g++) setIn(scratch, g);
  new Uint32Array(scratch.words.buffer).fill(0);
}

// Barrier k (1, 2, ...): count in, spin until both threads are in. Give up waiting after 10 s in
// all (a slow machine then races less, but every result is still checked).
const deadline = Date.now() + 10_000;
let barriers = 0;
function barrier() {
  barriers++;
  Atomics.add(gateWords, 0, 1);
  while (Atomics.load(gateWords, 0) < 2 * barriers && Date.now() < deadline) {
    // spin
  }
}

// Both threads drift apart as they go; meet again every SYNC_EVERY steps to stay in step.
const SYNC_EVERY = 64;
let exclusiveNew = 0;
const wins = new Uint8Array(commonCount);
for (let i = 0; i < exclusive; i++) {
  if (i % SYNC_EVERY === 0) barrier();
  if (setIn(sief, 2 * i + parity)) exclusiveNew++;
  if (i < commonCount && setIn(sief, commonStart + i)) wins[i] = 1;
}
parentPort.postMessage({ shared: sief.shared, exclusiveNew, wins });
