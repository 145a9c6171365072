/**
 * Stand-in head renders made from the footage itself, for testing and measuring
 * `body.inpaint` without the Gaussian head: the footage's own face warped
 * piecewise-affinely (triangle by triangle of the face mesh) from the tracked
 * landmarks onto driven landmarks whose jaw is displaced. The warp is exact at the
 * mesh vertices, so a stand-in render is what a perfect head render of the
 * driven mesh would look like (up to resampling blur).
 *
 * @module
 */
import { MESH_VERTEX_COUNT } from "../track/canonical_mesh.ts";
import { forEachCoveredPixel } from "./mask.ts";

/**
 * Driven landmarks `[468, 2]` px: the tracked ones with the jaw lowered by
 * `dropCm` (negative = raised/closed), in the head's own frame. `canonical`
 * `[468, 3]` cm gives each vertex's weight (0 above the mouth line, 1 from the lower
 * lip down, less towards the jaw angles); `rotation` `[9]` row-major and `scale`
 * px/cm are the frame's pose (p = s·R·X + T).
 */
export function jawDisplacedLandmarks(
  tracked: Float32Array,
  canonical: Float32Array,
  rotation: ArrayLike<number>,
  scale: number,
  dropCm: number,
): Float32Array {
  const out = tracked.slice();
  // Canonical (0, −1, 0) cm in image px: s·R·(0, −1, 0).
  const dx = -scale * rotation[1]!, dy = -scale * rotation[4]!;
  for (let i = 0; i < MESH_VERTEX_COUNT; i++) {
    const X = canonical[i * 3]!, Y = canonical[i * 3 + 1]!;
    const t = Math.min(1, Math.max(0, (-3.9 - Y) / 0.9));
    const w = t * t * (3 - 2 * t) * Math.min(1, Math.max(0.3, 1 - (Math.abs(X) - 3) / 4));
    out[i * 2] = out[i * 2]! + w * dropCm * dx;
    out[i * 2 + 1] = out[i * 2 + 1]! + w * dropCm * dy;
  }
  return out;
}

/**
 * Warp the face of `src` (`[H, W, 3]` uint8) from `from` to `to` landmarks
 * (`[468, 2]` px) over triangles `tris` `[F, 3]`: RGBA `[H, W, 4]` with alpha 255
 * where a destination triangle covers the pixel centre (bilinear sampling).
 */
export function warpFaceRgba(
  src: Uint8Array,
  W: number,
  H: number,
  from: Float32Array,
  to: Float32Array,
  tris: Uint32Array,
): Uint8Array {
  const out = new Uint8Array(W * H * 4);
  forEachCoveredPixel(to, tris, { x: 0, y: 0, w: W, h: H }, (i, f, u, v) => {
    const ia = tris[f]!, ib = tris[f + 1]!, ic = tris[f + 2]!;
    const sx = from[ia * 2]! + u * (from[ib * 2]! - from[ia * 2]!) +
      v * (from[ic * 2]! - from[ia * 2]!) - 0.5;
    const sy = from[ia * 2 + 1]! + u * (from[ib * 2 + 1]! - from[ia * 2 + 1]!) +
      v * (from[ic * 2 + 1]! - from[ia * 2 + 1]!) - 0.5;
    const X0 = Math.max(0, Math.min(W - 1, Math.floor(sx))),
      Y0 = Math.max(0, Math.min(H - 1, Math.floor(sy)));
    const X1 = Math.min(W - 1, X0 + 1), Y1 = Math.min(H - 1, Y0 + 1);
    const fx = Math.max(0, Math.min(1, sx - X0)), fy = Math.max(0, Math.min(1, sy - Y0));
    const o = i * 4;
    for (let c = 0; c < 3; c++) {
      const v00 = src[(Y0 * W + X0) * 3 + c]!, v10 = src[(Y0 * W + X1) * 3 + c]!;
      const v01 = src[(Y1 * W + X0) * 3 + c]!, v11 = src[(Y1 * W + X1) * 3 + c]!;
      out[o + c] = Math.round(
        (v00 * (1 - fx) + v10 * fx) * (1 - fy) + (v01 * (1 - fx) + v11 * fx) * fy,
      );
    }
    out[o + 3] = 255;
  });
  return out;
}
