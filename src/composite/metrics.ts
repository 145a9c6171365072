/**
 * Measurements of a composite: the seam ridge (a visible edge along the mask
 * boundary), untouched-region exactness and temporal stability inside the mask.
 *
 * @module
 */
import { distanceTransform } from "./mask.ts";

/** Rec. 601 luma `[H, W]` (0..255) of an RGB frame `[H, W, 3]`. */
export function luma(rgb: Uint8Array, W: number, H: number): Float32Array {
  const out = new Float32Array(W * H);
  for (let i = 0; i < W * H; i++) {
    out[i] = 0.299 * rgb[i * 3]! + 0.587 * rgb[i * 3 + 1]! + 0.114 * rgb[i * 3 + 2]!;
  }
  return out;
}

/** Central-difference gradient magnitude of a `[H, W]` image (0 on the border). */
export function gradientMagnitude(img: Float32Array, W: number, H: number): Float32Array {
  const g = new Float32Array(W * H);
  for (let y = 1; y < H - 1; y++) {
    for (let x = 1; x < W - 1; x++) {
      const i = y * W + x;
      g[i] = Math.hypot((img[i + 1]! - img[i - 1]!) / 2, (img[i + W]! - img[i - W]!) / 2);
    }
  }
  return g;
}

export interface SeamResult {
  /** Mean gradient magnitude on the boundary (the `level` contour of the mask). */
  boundary: number;
  /** Mean gradient magnitude in the bands `band` px inside and outside it. */
  surroundings: number;
  /** boundary / surroundings (1 = no ridge; a pasted edge gives ≫ 1). */
  ratio: number;
  /** Boundary pixels measured. */
  count: number;
}

/**
 * Seam ridge at one mask contour: pixels within 1 px of the `level` contour of
 * `mask` (`[H, W]` 0..255) vs the pixels between `band[0]` and `band[1]` px away
 * from it on both sides. Null when the contour is empty.
 */
export function seamRidge(
  rgb: Uint8Array,
  mask: Uint8Array,
  W: number,
  H: number,
  level = 128,
  band: [number, number] = [3, 6],
): SeamResult | null {
  const grad = gradientMagnitude(luma(rgb, W, H), W, H);
  const inside = new Uint8Array(W * H), outside = new Uint8Array(W * H);
  for (let i = 0; i < W * H; i++) {
    inside[i] = mask[i]! >= level ? 1 : 0;
    outside[i] = 1 - inside[i]!;
  }
  const dIn = distanceTransform(outside, W, H); // for inside pixels: distance to the outside
  const dOut = distanceTransform(inside, W, H); // for outside pixels: distance to the inside
  let bs = 0, bn = 0, ss = 0, sn = 0;
  for (let y = 2; y < H - 2; y++) {
    for (let x = 2; x < W - 2; x++) {
      const i = y * W + x;
      const d = inside[i] ? dIn[i]! : dOut[i]!;
      if (d <= 1) {
        bs += grad[i]!;
        bn++;
      } else if (d >= band[0] && d <= band[1]) {
        ss += grad[i]!;
        sn++;
      }
    }
  }
  if (bn === 0 || sn === 0) return null;
  const boundary = bs / bn, surroundings = ss / sn;
  return { boundary, surroundings, ratio: boundary / Math.max(1e-6, surroundings), count: bn };
}

/** Pixels of `out` that differ from `src` where `mask` = 0 (must be 0). */
export function untouchedDifferences(out: Uint8Array, src: Uint8Array, mask: Uint8Array): number {
  let n = 0;
  for (let p = 0; p < mask.length; p++) {
    if (mask[p]) continue;
    if (
      out[p * 3] !== src[p * 3] || out[p * 3 + 1] !== src[p * 3 + 1] ||
      out[p * 3 + 2] !== src[p * 3 + 2]
    ) n++;
  }
  return n;
}

/** Mean absolute difference (0..255, over RGB) between two frames where `mask` ≥ `level`. */
export function maskedMeanAbsDiff(
  a: Uint8Array,
  b: Uint8Array,
  mask: Uint8Array,
  level = 128,
): number {
  let s = 0, n = 0;
  for (let p = 0; p < mask.length; p++) {
    if (mask[p]! < level) continue;
    for (let c = 0; c < 3; c++) s += Math.abs(a[p * 3 + c]! - b[p * 3 + c]!);
    n += 3;
  }
  return n ? s / n : 0;
}
