/**
 * Closure calibration: how well a predicted bilabial_closure track finds the
 * p/b/m of a phone alignment at a threshold, and the threshold that balances
 * misses against false closures on a validation split.
 *
 * Event-level scores at threshold τ (the recall definition of `eval.ts`):
 * - recall: share of p/b/m segments whose prediction reaches τ somewhere
 *   within the segment ± 30 ms;
 * - precision: share of predicted closure episodes (maximal runs of frames
 *   ≥ τ) that touch a p/b/m segment ± 30 ms — an episode elsewhere is a false
 *   closure (the lips shut where nothing bilabial is said).
 *
 * The chosen τ maximises F1 on the validation clips; the exported model then
 * carries it as a shift of the closure logit (`closureLogitShift`) so that τ
 * maps to 0.5 and the ONNX contract (a value in [0, 1], "closed" ≥ 0.5) is kept.
 *
 * @module
 */
import { ARTICULATION_DIM, channelIndex } from "../../articulation/mod.ts";
import { MEL_CONFIG } from "../../audio/mel.ts";
import { type TimedPhoneme, toSegments } from "./coarticulation.ts";

const B = channelIndex("bilabial_closure");
const TOL_S = 0.03;

/** One clip: prediction `[T, C]` and its aligned phonemes. */
export interface ClosureItem {
  pred: Float32Array;
  phonemes: readonly TimedPhoneme[];
}

/** p/b/m segments (full bilabial consonants of the phoneme table) as frame spans [a, b] incl. ± 30 ms. */
export function bilabialSpans(
  phonemes: readonly TimedPhoneme[],
  frames: number,
  rateHz: number = MEL_CONFIG.frameRateHz,
): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const s of toSegments(phonemes)) {
    if (s.entry.target[B]! < 1 || s.entry.kind !== "consonant") continue;
    out.push([
      Math.max(0, Math.floor((s.startS - TOL_S) * rateHz)),
      Math.min(frames - 1, Math.ceil((s.endS + TOL_S) * rateHz)),
    ]);
  }
  return out;
}

/** Event counts of one threshold over many clips. */
export interface ClosureScore {
  threshold: number;
  events: number;
  hits: number;
  episodes: number;
  trueEpisodes: number;
  recall: number;
  precision: number;
  f1: number;
}

/** Recall / precision / F1 of closure events at `threshold`. */
export function closureScore(items: readonly ClosureItem[], threshold: number): ClosureScore {
  const c = ARTICULATION_DIM;
  let events = 0, hits = 0, episodes = 0, trueEpisodes = 0;
  for (const it of items) {
    const frames = it.pred.length / c;
    const spans = bilabialSpans(it.phonemes, frames);
    const near = new Uint8Array(frames);
    for (const [a, b] of spans) {
      events++;
      let hit = false;
      for (let j = a; j <= b; j++) {
        near[j] = 1;
        if (it.pred[j * c + B]! >= threshold) hit = true;
      }
      if (hit) hits++;
    }
    for (let j = 0; j < frames;) {
      if (it.pred[j * c + B]! < threshold) {
        j++;
        continue;
      }
      let touches = false;
      for (; j < frames && it.pred[j * c + B]! >= threshold; j++) if (near[j]) touches = true;
      episodes++;
      if (touches) trueEpisodes++;
    }
  }
  const recall = events ? hits / events : 0;
  const precision = episodes ? trueEpisodes / episodes : 0;
  const f1 = recall + precision > 0 ? (2 * recall * precision) / (recall + precision) : 0;
  return { threshold, events, hits, episodes, trueEpisodes, recall, precision, f1 };
}

/** Thresholds tried by {@link chooseClosureThreshold}: 0.05 … 0.80 in steps of 0.025. */
export const THRESHOLD_GRID: readonly number[] = Array.from(
  { length: 31 },
  (_, i) => Math.round((0.05 + 0.025 * i) * 1000) / 1000,
);

/**
 * The grid threshold to ship, and the whole curve. Without `targetRecall`: the
 * highest F1 (ties: the higher threshold). With it: the highest threshold
 * whose recall still reaches `targetRecall` (the most precise operating point
 * that meets a recall requirement, e.g. "≥ 80 % of p/b/m close the lips"),
 * or the F1-best one when no threshold reaches it.
 */
export function chooseClosureThreshold(
  items: readonly ClosureItem[],
  grid: readonly number[] = THRESHOLD_GRID,
  targetRecall?: number,
): { best: ClosureScore; curve: ClosureScore[] } {
  const curve = grid.map((t) => closureScore(items, t));
  let best = curve[0]!;
  for (const s of curve) if (s.f1 >= best.f1) best = s;
  if (targetRecall !== undefined) {
    const meets = curve.filter((s) => s.recall >= targetRecall);
    if (meets.length) best = meets.reduce((a, s) => (s.threshold > a.threshold ? s : a));
  }
  return { best, curve };
}

/**
 * The `--closure-operating-point` option of `train.ts` and `interpolate.ts`:
 * "f1" (the F1-best threshold) or a validation recall to reach, e.g. "0.8".
 * Returns the recall target for {@link chooseClosureThreshold} (undefined =
 * F1) and the rule's name for the training record.
 */
export function closureOperatingPoint(arg: string): { targetRecall?: number; rule: string } {
  if (arg === "f1") return { rule: "f1" };
  const targetRecall = Number(arg);
  return { targetRecall, rule: `recall>=${targetRecall}` };
}

/**
 * Shift to add to the closure logit so that an output of `threshold` becomes
 * 0.5: sigmoid(z − logit(τ)) ≥ 0.5 ⇔ sigmoid(z) ≥ τ.
 */
export function closureLogitShift(threshold: number): number {
  if (!(threshold > 0 && threshold < 1)) {
    throw new RangeError(`Closure threshold ${threshold} must be inside (0, 1)`);
  }
  return -Math.log(threshold / (1 - threshold));
}
