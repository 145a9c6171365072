/**
 * The adaptation's training views: frames chosen to cover the clip's range of
 * articulation, face-aligned crops at the footage's native resolution, a face mask
 * from the tracked mesh (the face oval: hair, background and whatever lies outside
 * the face are excluded; occluded frames were already rejected by the tracker's
 * quality gate and are skipped), the orthographic camera and binding frames.
 *
 * @module
 */
import type { MediaBackend } from "../media/types.ts";
import type { FaceTrackFile } from "../track/track_file.ts";
import type { CanonicalMesh } from "../track/canonical_mesh.ts";
import { ARTICULATION_DIM } from "../articulation/mod.ts";
import type { OrthoCamera } from "../splat/types.ts";
import type { BindingFrames } from "./binding.ts";
import { type CropBox, faceCrop, poseToCamera } from "./camera.ts";
import { deformedVertices, framesFor } from "./render.ts";

/** MediaPipe face-oval landmarks in order around the face. */
export const FACE_OVAL = [
  10,
  338,
  297,
  332,
  284,
  251,
  389,
  356,
  454,
  323,
  361,
  288,
  397,
  365,
  379,
  378,
  400,
  377,
  152,
  148,
  176,
  149,
  150,
  136,
  172,
  58,
  132,
  93,
  234,
  127,
  162,
  21,
  54,
  103,
  67,
  109,
] as const;

/** One training view. */
export interface AdaptView {
  row: number; // track row
  crop: CropBox;
  camera: OrthoCamera; // canonical cm → crop pixels
  rgb: Float32Array; // [h, w, 3] in [0, 1]
  mask: Float32Array; // [h, w] 1 inside the face
  expression: Float32Array; // [468 * 3] cm
  articulation: Float32Array; // [8]
  frames: BindingFrames;
  vertices: Float64Array; // [468, 3] deformed mesh (cm)
}

/** Track rows usable for adaptation: face found and status ok, within [from, to). */
export function usableRows(track: FaceTrackFile, from = 0, to = Infinity): number[] {
  const found = track.u8("found"), status = track.u8("status");
  const rows: number[] = [];
  for (let i = Math.max(0, from); i < Math.min(found.length, to); i++) {
    if (found[i] === 1 && status[i] === 0) rows.push(i);
  }
  return rows;
}

/**
 * Picks `count` rows covering the articulation range: farthest-point sampling in
 * the per-channel standardised articulation space (plus a small weight on time so
 * equal mouth shapes spread over the clip), starting at the most neutral row.
 */
export function selectFrames(
  track: FaceTrackFile,
  rows: readonly number[],
  count: number,
): number[] {
  if (rows.length <= count) return [...rows];
  const art = track.f32("articulation");
  const C = ARTICULATION_DIM;
  const mean = new Float64Array(C), sd = new Float64Array(C);
  for (const r of rows) for (let c = 0; c < C; c++) mean[c]! += art[r * C + c]! / rows.length;
  for (const r of rows) {
    for (let c = 0; c < C; c++) sd[c]! += (art[r * C + c]! - mean[c]!) ** 2 / rows.length;
  }
  for (let c = 0; c < C; c++) sd[c] = Math.sqrt(sd[c]!) || 1;
  const span = Math.max(1, rows[rows.length - 1]! - rows[0]!);
  const feat = (r: number) => {
    const f = new Float64Array(C + 1);
    for (let c = 0; c < C; c++) f[c] = (art[r * C + c]! - mean[c]!) / sd[c]!;
    f[C] = (1.5 * (r - rows[0]!)) / span;
    return f;
  };
  const feats = rows.map(feat);
  const d2 = (a: Float64Array, b: Float64Array) => a.reduce((s, x, i) => s + (x - b[i]!) ** 2, 0);
  // Start at the row closest to the mean (neutral-ish) mouth.
  const zero = new Float64Array(C + 1);
  let start = 0;
  for (let i = 1; i < rows.length; i++) {
    const a = feats[i]!.slice(0, C), b = feats[start]!.slice(0, C);
    if (d2(a, zero.slice(0, C)) < d2(b, zero.slice(0, C))) start = i;
  }
  const chosen = [start];
  const dist = feats.map((f) => d2(f, feats[start]!));
  while (chosen.length < count) {
    let best = -1, bd = -1;
    for (let i = 0; i < rows.length; i++) if (dist[i]! > bd) bd = dist[i]!, best = i;
    chosen.push(best);
    for (let i = 0; i < rows.length; i++) dist[i] = Math.min(dist[i]!, d2(feats[i]!, feats[best]!));
  }
  return chosen.map((i) => rows[i]!).sort((a, b) => a - b);
}

/** Fills the polygon `pts` ([M, 2] px, crop coordinates) into a [h, w] mask (pixel centres). */
export function fillPolygon(pts: ArrayLike<number>, w: number, h: number): Float32Array {
  const mask = new Float32Array(w * h);
  const m = pts.length / 2;
  const xs: number[] = [];
  for (let y = 0; y < h; y++) {
    const cy = y + 0.5;
    xs.length = 0;
    for (let i = 0; i < m; i++) {
      const j = (i + 1) % m;
      const y0 = pts[i * 2 + 1]!, y1 = pts[j * 2 + 1]!;
      if ((y0 <= cy && y1 > cy) || (y1 <= cy && y0 > cy)) {
        const x0 = pts[i * 2]!, x1 = pts[j * 2]!;
        xs.push(x0 + ((cy - y0) / (y1 - y0)) * (x1 - x0));
      }
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const a = Math.max(0, Math.ceil(xs[k]! - 0.5)),
        b = Math.min(w - 1, Math.floor(xs[k + 1]! - 0.5));
      for (let x = a; x <= b; x++) mask[y * w + x] = 1;
    }
  }
  return mask;
}

/** Shrinks a binary mask by `r` pixels (4-neighbourhood, repeated). */
export function erodeMask(mask: Float32Array, w: number, h: number, r: number): Float32Array {
  let cur = mask;
  for (let it = 0; it < r; it++) {
    const next = new Float32Array(w * h);
    for (let y = 1; y < h - 1; y++) {
      for (let x = 1; x < w - 1; x++) {
        const i = y * w + x;
        next[i] = cur[i]! && cur[i - 1]! && cur[i + 1]! && cur[i - w]! && cur[i + w]! ? 1 : 0;
      }
    }
    cur = next;
  }
  return cur;
}

/** Crop box, camera and mask of one track row. */
export function viewGeometry(
  track: FaceTrackFile,
  row: number,
  margin = 0.12,
): { crop: CropBox; camera: OrthoCamera; mask: Float32Array } {
  const { width, height } = track.clip;
  const lm = track.f32("landmarks");
  const oval = new Float64Array(FACE_OVAL.length * 2);
  FACE_OVAL.forEach((v, j) => {
    oval[j * 2] = lm[(row * 468 + v) * 3]!;
    oval[j * 2 + 1] = lm[(row * 468 + v) * 3 + 1]!;
  });
  const crop = faceCrop(oval, width, height, margin);
  for (let j = 0; j < FACE_OVAL.length; j++) oval[j * 2]! -= crop.x, oval[j * 2 + 1]! -= crop.y;
  const mask = erodeMask(fillPolygon(oval, crop.w, crop.h), crop.w, crop.h, 1);
  const camera = poseToCamera(
    track.f32("rotation").subarray(row * 9, row * 9 + 9),
    track.f32("translation").subarray(row * 3, row * 3 + 3),
    track.f32("scale")[row]!,
    { width, height, crop },
  );
  return { crop, camera, mask };
}

/**
 * Decodes the footage once (streaming) and builds the views of `rows`. Memory is
 * the selected crops only.
 */
export async function loadViews(
  media: MediaBackend,
  videoPath: string,
  track: FaceTrackFile,
  mesh: CanonicalMesh,
  rows: readonly number[],
  signal?: AbortSignal,
): Promise<AdaptView[]> {
  const want = new Set(rows);
  const neutral = track.f32("neutral_expression");
  const expr = track.f32("expression"), art = track.f32("articulation");
  const first = track.clip.firstFrameIndex ?? 0;
  const last = Math.max(...rows);
  const views: AdaptView[] = [];
  const opts = {
    ...(first > 0 && track.clip.fps > 0 ? { startS: first / track.clip.fps } : {}),
    maxFrames: last + 1,
    ...(signal ? { signal } : {}),
  };
  let row = 0;
  for await (const frame of media.decodeVideo(videoPath, opts)) {
    const r = row++;
    if (!want.has(r)) continue;
    if (frame.width !== track.clip.width || frame.height !== track.clip.height) {
      throw new Error(
        `Cannot adapt on "${videoPath}": frames are ${frame.width}×${frame.height} but the face track is ${track.clip.width}×${track.clip.height}; pass the footage that was tracked`,
      );
    }
    const { crop, camera, mask } = viewGeometry(track, r);
    const rgb = new Float32Array(crop.w * crop.h * 3);
    for (let y = 0; y < crop.h; y++) {
      for (let x = 0; x < crop.w; x++) {
        const s = ((y + crop.y) * frame.width + x + crop.x) * 3, d = (y * crop.w + x) * 3;
        rgb[d] = frame.data[s]! / 255,
          rgb[d + 1] = frame.data[s + 1]! / 255,
          rgb[d + 2] = frame.data[s + 2]! / 255;
      }
    }
    const expression = expr.slice(r * 1404, (r + 1) * 1404);
    views.push({
      row: r,
      crop,
      camera,
      rgb,
      mask,
      expression,
      articulation: art.slice(r * ARTICULATION_DIM, (r + 1) * ARTICULATION_DIM),
      frames: framesFor(mesh, neutral, expression),
      vertices: deformedVertices(mesh, expression),
    });
    if (r >= last) break;
  }
  if (views.length < want.size) {
    throw new Error(
      `Cannot adapt on "${videoPath}": decoded ${row} frames but the face track needs row ${last}; pass the footage that was tracked`,
    );
  }
  return views;
}
