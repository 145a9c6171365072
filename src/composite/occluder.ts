/**
 * Occluders: something in front of the face (a hand on the cheek, a microphone)
 * must stay in front of it. The head render knows only the head, so where it
 * would replace such a thing the footage is kept instead.
 *
 * Detection, per frame, on the part of the face where the render should look like
 * the footage (the face as tracked, covered by the render, away from everything
 * the dub changes — the mouth, the moved jaw, the hole): the colour-matched render
 * predicts the footage there to within its usual error, so a pixel whose
 * difference |render − footage| is far beyond that error (robust: median + k·MAD
 * of the frame's differences, and at least `minLevels`) is occluded. The map is
 * cleaned (blurred and re-thresholded: isolated pixels drop out, blobs close), kept
 * with hysteresis against the previous frame's map (no flicker at the threshold),
 * grown by a margin and feathered; the compositor multiplies its blend weight by
 * (1 − occlusion).
 *
 * Where the dub changes the face (the moved chin and jaw) the render differs from
 * the footage by design, so nothing is detected there on its own; an occluder found
 * outside is followed into that region (flood fill from the detected pixels) over
 * pixels whose difference exceeds `growFactor` × the threshold, never into the
 * mouth (`noGrow`), so a finger across the chin stays whole but the new mouth is
 * not undone. Not covered: an occluder over the mouth itself.
 *
 * @module
 */
import { blur5 } from "../image/pyramid.ts";
import type { ImageF32 } from "../image/types.ts";
import { distanceTransform } from "./mask.ts";

/** Tuning of {@link occlusionWeight}. */
export interface OccluderParams {
  /** Floor of the threshold, 8-bit levels (default 20). */
  minLevels?: number;
  /** Robust z of the threshold: median + k · 1.4826 · MAD (default 5). */
  k?: number;
  /** Hysteresis: a pixel occluded in the previous frame stays so down to this share of the threshold (default 0.6). */
  keep?: number;
  /** Flood into `growInto` pixels whose difference exceeds this × the threshold (default 1.5). */
  growFactor?: number;
}

/**
 * Occlusion `[h, w]` in [0, 1] (1 = keep the footage). `diff` `[h, w]` |render −
 * footage| in 8-bit levels; `region` `[h, w]` 1 = where the render should match
 * the footage (detection happens only there); `prev` `[h, w]` the previous frame's
 * binary map in the same box coordinates, or null. `growPx` margin, `featherPx`
 * feather. Returns the soft weight and the binary map (for the next frame).
 */
export function occlusionWeight(
  diff: Float32Array,
  region: Uint8Array,
  w: number,
  h: number,
  growPx: number,
  featherPx: number,
  prev: Uint8Array | null,
  params: OccluderParams = {},
  growInto: Uint8Array | null = null,
): { weight: Float32Array; map: Uint8Array; threshold: number; share: number } {
  const n = w * h;
  if (diff.length !== n || region.length !== n || (prev && prev.length !== n)) {
    throw new RangeError(`occlusionWeight(): diff, region and prev must be [${h}, ${w}]`);
  }
  const vals: number[] = [];
  for (let i = 0; i < n; i++) if (region[i]) vals.push(diff[i]!);
  const weight = new Float32Array(n), map = new Uint8Array(n);
  if (vals.length < 64) return { weight, map, threshold: Infinity, share: 0 };
  const sorted = Float64Array.from(vals).sort();
  const med = sorted[sorted.length >> 1]!;
  const dev = Float64Array.from(vals, (v) => Math.abs(v - med)).sort();
  const mad = dev[dev.length >> 1]!;
  const tau = Math.max(params.minLevels ?? 20, med + (params.k ?? 5) * 1.4826 * mad);
  const keep = (params.keep ?? 0.6) * tau;
  // Raw map, then blur twice (σ ≈ 1.4 px) and keep what is ≥ ½ occluded around.
  let img: ImageF32 = { width: w, height: h, channels: 1, data: new Float32Array(n) };
  for (let i = 0; i < n; i++) {
    if (!region[i]) continue;
    const d = diff[i]!;
    img.data[i] = d > tau || (prev !== null && prev[i] === 1 && d > keep) ? 1 : 0;
  }
  img = blur5(blur5(img));
  let count = 0;
  for (let i = 0; i < n; i++) {
    map[i] = img.data[i]! >= 0.5 && region[i] ? 1 : 0;
    count += map[i]!;
  }
  if (count === 0) return { weight, map, threshold: tau, share: 0 };
  if (growInto) {
    // Follow the occluder into the changed region over strong differences (4-connected).
    const hi = (params.growFactor ?? 1.5) * tau, stack: number[] = [];
    for (let i = 0; i < n; i++) if (map[i]) stack.push(i);
    while (stack.length) {
      const i = stack.pop()!, x = i % w;
      for (const j of [i - 1, i + 1, i - w, i + w]) {
        if (j < 0 || j >= n || map[j] || (j === i - 1 && x === 0) || (j === i + 1 && x === w - 1)) {
          continue;
        }
        if (growInto[j] && diff[j]! > hi) map[j] = 1, stack.push(j);
      }
    }
  }
  // Grow by growPx, feather over featherPx.
  const dist = distanceTransform(map, w, h);
  const f = Math.max(0.5, featherPx);
  for (let i = 0; i < n; i++) {
    const t = Math.min(1, Math.max(0, 1 - (dist[i]! - growPx) / f));
    weight[i] = t * t * (3 - 2 * t);
  }
  return { weight, map, threshold: tau, share: count / vals.length };
}
