/**
 * Multi-band (Laplacian pyramid) blending, after Burt & Adelson (1983): each
 * frequency band of the two images is mixed with the mask blurred to that band's
 * scale, so colour and light blend over a wide zone while detail blends over a
 * narrow one — no visible edge, no ghosting.
 *
 * @module
 */
import {
  collapseLaplacian,
  gaussianPyramid,
  laplacianPyramid,
  pyramidLevels,
} from "../image/pyramid.ts";
import type { ImageF32 } from "../image/types.ts";

/**
 * Blend `fg` over `bg` (same size, C channels) with weights `weight` `[h, w]` in
 * [0, 1] (1 = fg). `levels` caps the pyramid depth (the coarsest side stays ≥ 4 px).
 */
export function multibandBlend(
  fg: ImageF32,
  bg: ImageF32,
  weight: Float32Array,
  levels = 5,
): ImageF32 {
  const { width: W, height: H, channels: C } = fg;
  if (bg.width !== W || bg.height !== H || bg.channels !== C) {
    throw new RangeError("multibandBlend(): fg and bg differ in shape");
  }
  if (weight.length !== W * H) {
    throw new RangeError(`multibandBlend(): weight must be [${H}, ${W}]`);
  }
  const n = pyramidLevels(W, H, levels, 4);
  const lf = laplacianPyramid(fg, n), lb = laplacianPyramid(bg, n);
  const gm = gaussianPyramid({ width: W, height: H, channels: 1, data: weight }, n);
  const out: ImageF32[] = [];
  for (let l = 0; l < n; l++) {
    const a = lf[l]!, b = lb[l]!, m = gm[l]!;
    const d = new Float32Array(a.data.length);
    for (let i = 0; i < a.width * a.height; i++) {
      const w = m.data[i]!;
      for (let c = 0; c < C; c++) {
        d[i * C + c] = w * a.data[i * C + c]! + (1 - w) * b.data[i * C + c]!;
      }
    }
    out.push({ width: a.width, height: a.height, channels: C, data: d });
  }
  return collapseLaplacian(out);
}
