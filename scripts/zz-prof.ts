import fc from "fast-check";
import { differentialProperty, propertyOf } from "../test/fuzz/properties.js";
import { Tally } from "../test/fuzz/tally.js";
const t = new Tally();
const s = performance.now();
fc.assert(propertyOf(differentialProperty(80), t), { numRuns: 300, seed: 1 });
console.log(t.calls, Math.round(performance.now() - s), "ms");
