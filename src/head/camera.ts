/**
 * Tracked pose → the splatter's camera. A track row says a canonical point X (cm)
 * lands at image pixel p = s·R·X + T (`src/track/track_file.ts`); that is the
 * splatter's {@link OrthoCamera} with scale s, rotation R and t = T / s when the
 * principal point is (0, 0). A crop box (x, y, w, h) in image pixels shifts the
 * principal point to (−x, −y) so the crop's pixel (0, 0) is image pixel (x, y).
 *
 * @module
 */
import type { OrthoCamera } from "../splat/types.ts";

/** A crop box in image pixels (integer offsets: native resolution, no resampling). */
export interface CropBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The orthographic camera of one tracked pose, for the full frame or a crop of it. */
export function poseToCamera(
  rotation: ArrayLike<number>, // [9] row-major R
  translation: ArrayLike<number>, // [3] T in pixels
  scale: number, // s, pixels per canonical cm
  target: { width: number; height: number; crop?: CropBox },
): OrthoCamera {
  if (!(scale > 0) || !Number.isFinite(scale)) {
    throw new RangeError(`poseToCamera(): scale must be a positive number, got ${scale}`);
  }
  const crop = target.crop ?? { x: 0, y: 0, w: target.width, h: target.height };
  return {
    kind: "ortho",
    width: crop.w,
    height: crop.h,
    scale,
    cx: -crop.x,
    cy: -crop.y,
    R: Array.from({ length: 9 }, (_, i) => rotation[i]!),
    t: [translation[0]! / scale, translation[1]! / scale, translation[2]! / scale],
  };
}

/**
 * A face-aligned crop at native resolution: the box of the projected points
 * (`points2d` [M, 2] image px) grown by `margin` of its size on every side,
 * clamped to the image, integer pixel offsets.
 */
export function faceCrop(
  points2d: ArrayLike<number>,
  width: number,
  height: number,
  margin = 0.12,
): CropBox {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = 0; i + 1 < points2d.length; i += 2) {
    const x = points2d[i]!, y = points2d[i + 1]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    x0 = Math.min(x0, x), x1 = Math.max(x1, x), y0 = Math.min(y0, y), y1 = Math.max(y1, y);
  }
  if (!(x1 > x0 && y1 > y0)) throw new RangeError("faceCrop(): no finite points");
  const mx = (x1 - x0) * margin, my = (y1 - y0) * margin;
  const bx0 = Math.max(0, Math.floor(x0 - mx)), by0 = Math.max(0, Math.floor(y0 - my));
  const bx1 = Math.min(width, Math.ceil(x1 + mx)), by1 = Math.min(height, Math.ceil(y1 + my));
  return { x: bx0, y: by0, w: bx1 - bx0, h: by1 - by0 };
}
