import assert from "node:assert/strict";
import { ARTICULATION_DIM, channelIndex } from "../../articulation/mod.ts";
import {
  bilabialSpans,
  chooseClosureThreshold,
  closureLogitShift,
  closureScore,
} from "./calibrate.ts";
import type { TimedPhoneme } from "./coarticulation.ts";

const C = ARTICULATION_DIM;
const B = channelIndex("bilabial_closure");
// "a p a m a" with the p at 0.30–0.36 s and the m at 0.60–0.68 s (100 Hz frames).
const PHONEMES: TimedPhoneme[] = [
  { id: "a", startS: 0.1, endS: 0.3 },
  { id: "p", startS: 0.3, endS: 0.36 },
  { id: "a", startS: 0.36, endS: 0.6 },
  { id: "m", startS: 0.6, endS: 0.68 },
  { id: "a", startS: 0.68, endS: 0.9 },
];

/** A closure track `[100, C]` with bumps of `height` at the given frame spans. */
function track(bumps: Array<[number, number, number]>): Float32Array {
  const x = new Float32Array(100 * C);
  for (const [a, b, h] of bumps) for (let j = a; j <= b; j++) x[j * C + B] = h;
  return x;
}

Deno.test("bilabialSpans() finds the p and the m with ± 30 ms", () => {
  // Exact spans are [27, 39] and [57, 71]; float rounding of the ± 30 ms may move an edge by a frame.
  const spans = bilabialSpans(PHONEMES, 100);
  assert.equal(spans.length, 2);
  [[27, 39], [57, 71]].forEach(([a, b], i) => {
    assert.ok(Math.abs(spans[i]![0] - a!) <= 1 && Math.abs(spans[i]![1] - b!) <= 1, `${spans[i]}`);
  });
});

Deno.test("closureScore() counts hits, and closures away from any p/b/m as false", () => {
  const hitBoth = track([[31, 34, 0.9], [62, 66, 0.9]]);
  assert.deepEqual(
    [closureScore([{ pred: hitBoth, phonemes: PHONEMES }], 0.5)].map((
      s,
    ) => [s.recall, s.precision]),
    [[1, 1]],
  );
  // One real closure found, one missed (too low), one false closure at 0.15 s.
  const mixed = track([[31, 34, 0.9], [62, 66, 0.3], [13, 16, 0.8]]);
  const s = closureScore([{ pred: mixed, phonemes: PHONEMES }], 0.5);
  assert.equal(s.recall, 0.5);
  assert.equal(s.precision, 0.5);
  // At 0.25 the low bump counts too: recall 1, precision 2/3.
  const lo = closureScore([{ pred: mixed, phonemes: PHONEMES }], 0.25);
  assert.equal(lo.recall, 1);
  assert.ok(Math.abs(lo.precision - 2 / 3) < 1e-9);
});

Deno.test("chooseClosureThreshold() picks the F1-best threshold, below a hedging model's peaks", () => {
  // Hedging closures at 0.35 on both p/b/m, a false bump at 0.2: the best
  // threshold lies in (0.2, 0.35].
  const pred = track([[31, 34, 0.35], [62, 66, 0.35], [13, 16, 0.2]]);
  const { best } = chooseClosureThreshold([{ pred, phonemes: PHONEMES }]);
  assert.ok(best.threshold > 0.2 && best.threshold <= 0.35, `τ ${best.threshold}`);
  assert.equal(best.f1, 1);
});

Deno.test("chooseClosureThreshold() with a recall target keeps the most precise threshold meeting it", () => {
  // One p/b/m peaks at 0.6, the other at 0.3; a false bump at 0.2.
  const pred = track([[31, 34, 0.6], [62, 66, 0.3], [13, 16, 0.2]]);
  const items = [{ pred, phonemes: PHONEMES }];
  // Recall 1 needs τ ≤ 0.3 (the highest such grid point: 0.3, above the false bump).
  const all = chooseClosureThreshold(items, undefined, 1).best;
  assert.equal(all.threshold, 0.3);
  assert.equal(all.recall, 1);
  assert.equal(all.precision, 1);
  // Recall 0.5 is met up to τ 0.6.
  assert.equal(chooseClosureThreshold(items, undefined, 0.5).best.threshold, 0.6);
  // An unreachable target falls back to the F1-best threshold.
  const f1 = chooseClosureThreshold(items).best;
  const none = chooseClosureThreshold([{ pred: track([]), phonemes: PHONEMES }], undefined, 0.9);
  assert.equal(none.best.recall, 0);
  assert.ok(f1.f1 > 0);
});

Deno.test("closureLogitShift() maps the threshold to 0.5", () => {
  const sig = (z: number) => 1 / (1 + Math.exp(-z));
  const logit = (p: number) => Math.log(p / (1 - p));
  for (const tau of [0.2, 0.35, 0.5, 0.7]) {
    const s = closureLogitShift(tau);
    assert.ok(Math.abs(sig(logit(tau) + s) - 0.5) < 1e-12);
    assert.ok(sig(logit(tau + 0.01) + s) > 0.5 && sig(logit(tau - 0.01) + s) < 0.5);
  }
  assert.throws(() => closureLogitShift(1), RangeError);
});
