/**
 * Cheap image statistics for tracking: colour histograms for scene-cut detection
 * (whole frame) and for the speaker's appearance cue (face box).
 *
 * @module
 */
import type { Frame } from "../media/types.ts";

/** Bins per channel of {@link colorHistogram}. */
export const HIST_BINS = 8;

/**
 * Normalised joint RGB histogram (8×8×8 bins, sums to 1) of a region, sampled on
 * a grid of at most ≈ 64×64 points.
 */
export function colorHistogram(
  frame: Frame,
  region: [number, number, number, number] = [0, 0, frame.width, frame.height],
): Float32Array {
  const hist = new Float32Array(HIST_BINS ** 3); // [8, 8, 8]
  const x0 = Math.max(0, Math.floor(region[0]));
  const y0 = Math.max(0, Math.floor(region[1]));
  const x1 = Math.min(frame.width, Math.ceil(region[0] + region[2]));
  const y1 = Math.min(frame.height, Math.ceil(region[1] + region[3]));
  if (x1 <= x0 || y1 <= y0) return hist;
  const stepX = Math.max(1, Math.floor((x1 - x0) / 64));
  const stepY = Math.max(1, Math.floor((y1 - y0) / 64));
  const shift = 8 - Math.log2(HIST_BINS);
  let n = 0;
  const d = frame.data;
  for (let y = y0; y < y1; y += stepY) {
    for (let x = x0; x < x1; x += stepX) {
      const o = (y * frame.width + x) * 3;
      const bin = ((d[o]! >> shift) * HIST_BINS + (d[o + 1]! >> shift)) * HIST_BINS +
        (d[o + 2]! >> shift);
      hist[bin]! += 1;
      n++;
    }
  }
  for (let i = 0; i < hist.length; i++) hist[i]! /= n;
  return hist;
}

/** Half the L1 distance between two normalised histograms, in [0, 1] (0 = identical). */
export function histogramDistance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / 2;
}

/** Bhattacharyya coefficient of two normalised histograms, in [0, 1] (1 = identical). */
export function histogramSimilarity(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.sqrt(a[i]! * b[i]!);
  return s;
}

/** Detects scene cuts from the frame-to-frame histogram distance. */
export class SceneCutDetector {
  /** Distance above which consecutive frames are a cut (default 0.5). */
  readonly threshold: number;
  #prev: Float32Array | null = null;

  constructor(threshold = 0.5) {
    this.threshold = threshold;
  }

  /** True when `frame` starts a new shot (never for the first frame). */
  isCut(frame: Frame): boolean {
    const h = colorHistogram(frame);
    const prev = this.#prev;
    this.#prev = h;
    return prev !== null && histogramDistance(prev, h) > this.threshold;
  }
}
