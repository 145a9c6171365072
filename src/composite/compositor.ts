/**
 * The per-frame compositor of `body.inpaint`, in two streamed passes over the
 * footage and the head render (memory: a few frame-sized buffers, one clean plate
 * and a handful of numbers per frame — flat in clip length).
 *
 * Pass 1 ({@link Analysis}): per frame, colour statistics of the render's skin vs
 * the footage's at the same pixels (both faces, outside the mouth), noise of both
 * (spatial, and temporal on still pairs), the head alignment (similarity to the first
 * frame) and the head-aligned clean plate of what the old lower face hid. At the end
 * the colour transforms and the alignment are smoothed over time and the grain to
 * add is the clip's median footage-minus-render noise.
 *
 * Pass 2 ({@link compositeFrame}), inside the mask's box only:
 * 1. background = footage, with the old lower face (tracked lower-face triangles,
 *    slightly dilated) replaced: from the clean plate where some frame showed it
 *    (temporal fill), by the {@link Inpainter} elsewhere (spatial fill);
 * 2. render over background by its coverage, after the colour transform;
 * 3. the seam: by default an optimal contour (`seam.ts`) between what must change
 *    and the mask's core, through flat footage where render and footage agree, held
 *    to the previous frame's; the blend weight is min(seam weight, mask);
 * 4. multi-band blend of that into the footage with the weight;
 * 5. matched grain added where render or fill show, moving with the head in whole
 *    pixels (static on a still head, like the footage's compressed noise);
 * 6. only pixels with mask > 0 are written: every other pixel, and every pixel of
 *    a pass-through frame, is the decoded source byte for byte.
 *
 * @module
 */
import type { ImageF32 } from "../image/types.ts";
import { multibandBlend } from "./blend.ts";
import { ColorStats, type ColorTransform, IDENTITY_COLOR, smoothColorTransforms } from "./color.ts";
import {
  applySimilarity,
  CleanPlate,
  fitSimilarity,
  type Inpainter,
  invertSimilarity,
  RIGID_LANDMARKS,
  type Similarity,
} from "./fill.ts";
import { estimateNoise, grainToAdd, gridGauss } from "./grain.ts";
import {
  distanceTransform,
  faceSizePx,
  type LowerFaceMasker,
  rasterScalar,
  rasterTriangles,
} from "./mask.ts";
import { blur5 } from "../image/pyramid.ts";
import { gradientMagnitude } from "./metrics.ts";
import { type Contour, contourWeight, optimalSeam, type SeamParams } from "./seam.ts";
import { occlusionWeight } from "./occluder.ts";

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface CompositeOptions {
  /** Colour/light matching of the render (default true). */
  colorMatch?: boolean;
  /** Temporal smoothing of the colour transform, frames (default 4). */
  colorSigmaFrames?: number;
  /** Grain matching (default true). */
  grain?: boolean;
  /** Temporal fill from the clean plate (default true); spatial fill always runs for the rest. */
  temporalFill?: boolean;
  /** Pyramid levels of the multi-band blend (default 5). */
  blendLevels?: number;
  /** Seed of the grain noise (default 0). */
  seed?: number;
  /** Use the render only where the driven mesh moved away from the tracked one (default false: it weakened the driven mouth in the demo). */
  motionGate?: boolean;
  /** Fade the render out over this share of the face size inside its silhouette where the footage shows the face (default 0.08; 0.02 elsewhere). */
  edgeFade?: number;
  /**
   * Where the blend edge runs: `"optimal"` (default) = a min-cost contour through
   * flat footage where render and footage agree (`seam.ts`); `"mask"` = the mask's
   * own feathered edge.
   */
  seam?: "optimal" | "mask";
  /** Feather of the optimal seam, share of the face size (default 0.06). */
  seamFeather?: number;
  /** Tuning of the optimal seam's path search. */
  seamParams?: SeamParams;
  /**
   * Temporal smoothing (Gaussian σ, frames) of the head alignment used by the grain,
   * the clean-plate lookup and the seam, so tracker jitter does not make them boil
   * (default 2; 0 = per-frame landmarks).
   */
  stabilizeSigmaFrames?: number;
  /** Keep the footage where something in front of the face hides it (default true; `occluder.ts`). */
  occluders?: boolean;
}

/**
 * `lm` (`[468, 2]`) moved by (smoothed alignment)⁻¹ ∘ (this frame's own alignment):
 * its rigid jitter replaced by the smoothed head motion; non-rigid motion kept.
 */
export function stabilizeLandmarks(
  lm: Float32Array,
  reference: Float32Array,
  stable: Similarity,
): Float32Array {
  const raw = fitSimilarity(lm, reference), back = invertSimilarity(stable);
  const out = new Float32Array(lm.length);
  for (let v = 0; v < lm.length / 2; v++) {
    const [rx, ry] = applySimilarity(raw, lm[v * 2]!, lm[v * 2 + 1]!);
    const [x, y] = applySimilarity(back, rx, ry);
    out[v * 2] = x, out[v * 2 + 1] = y;
  }
  return out;
}

/** Mean movement (px) of landmarks `idx` between `a` and `b` (`[468, 2]`). */
function meanMotion(a: Float32Array, b: Float32Array, idx: ArrayLike<number>): number {
  let d = 0;
  for (let k = 0; k < idx.length; k++) {
    const v = idx[k]!;
    d += Math.hypot(a[v * 2]! - b[v * 2]!, a[v * 2 + 1]! - b[v * 2 + 1]!);
  }
  return idx.length ? d / idx.length : 0;
}

/** Lip centre landmarks (inner upper and lower lip, MediaPipe) — the seam's centre. */
const LIP_CENTRE = [13, 14] as const;

/**
 * Share of the linear-mix variance loss 2w(1−w)σ² that the multi-band blend does
 * NOT cause (its bands mix with wider weights than the pixel's own). Calibrated on
 * the seam test (two independent σ = 3 textures, mask contour at 50 %): 0 → ridge
 * 1.22, 0.5 → 1.07, 0.7 → 0.98, 1 → 0.80 (trough); source 0.96.
 */
export const MIX_KEPT = 0.6;

/** Bounding box of `mask > 0` (`[H, W]`), or null. */
export function maskBox(mask: Uint8Array, W: number, H: number): Box | null {
  let x0 = W, y0 = H, x1 = -1, y1 = -1;
  for (let y = 0; y < H; y++) {
    const row = y * W;
    for (let x = 0; x < W; x++) {
      if (mask[row + x]) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

const grow = (b: Box, pad: number, W: number, H: number): Box => {
  const x = Math.max(0, b.x - pad), y = Math.max(0, b.y - pad);
  return { x, y, w: Math.min(W, b.x + b.w + pad) - x, h: Math.min(H, b.y + b.h + pad) - y };
};

/** Crop `[H, W, C]` uint8 → float `[h, w, 3]` (first 3 channels). */
function cropF32(src: Uint8Array, W: number, C: number, b: Box): ImageF32 {
  const out = new Float32Array(b.w * b.h * 3);
  for (let y = 0; y < b.h; y++) {
    for (let x = 0; x < b.w; x++) {
      const s = ((b.y + y) * W + b.x + x) * C, d = (y * b.w + x) * 3;
      out[d] = src[s]! / 255;
      out[d + 1] = src[s + 1]! / 255;
      out[d + 2] = src[s + 2]! / 255;
    }
  }
  return { width: b.w, height: b.h, channels: 3, data: out };
}

/** Pixels of the mesh's triangles `tris` within `r` px (binary `[h, w]`). */
export function dilatedRaster(lm: Float32Array, tris: Uint32Array, b: Box, r: number): Uint8Array {
  const inside = rasterTriangles(lm, tris, b);
  if (r <= 0) return inside;
  const d = distanceTransform(inside, b.w, b.h);
  const out = new Uint8Array(b.w * b.h);
  for (let i = 0; i < out.length; i++) out[i] = d[i]! <= r ? 1 : 0;
  return out;
}

/** Pixels usable for colour/noise statistics: covered render, inside both faces, away from the mouth. */
function skinSamples(
  masker: LowerFaceMasker,
  tracked: Float32Array,
  driven: Float32Array,
  rgba: Uint8Array,
  W: number,
  b: Box,
  size: number,
): Uint8Array {
  const a = rasterTriangles(tracked, masker.allTriangles, b);
  const d = rasterTriangles(driven, masker.allTriangles, b);
  const mouth = dilatedRaster(tracked, masker.mouthTriangles, b, 0.04 * size);
  const mouth2 = dilatedRaster(driven, masker.mouthTriangles, b, 0.04 * size);
  const sel = new Uint8Array(b.w * b.h);
  for (let y = 0; y < b.h; y++) {
    for (let x = 0; x < b.w; x++) {
      const i = y * b.w + x;
      const alpha = rgba[((b.y + y) * W + b.x + x) * 4 + 3]!;
      sel[i] = a[i] && d[i] && !mouth[i] && !mouth2[i] && alpha >= 243 ? 1 : 0;
    }
  }
  return sel;
}

/** What pass 1 learns about the clip. */
export class Analysis {
  readonly #perFrame: (ColorTransform | null)[] = [];
  readonly #weights: number[] = [];
  readonly #noiseF: number[][] = [];
  readonly #noiseR: number[][] = [];
  readonly #tnoiseF: number[][] = [];
  readonly #tnoiseR: number[][] = [];
  #held: { src: Uint8Array; rgba: Uint8Array; tracked: Float32Array; driven: Float32Array } | null =
    null;
  readonly #toRef: (Similarity | null)[] = [];
  #frames = 0;
  /** Per frame: the frame → reference similarity smoothed over time (null: no face). */
  stable: (Similarity | null)[] = [];
  /**
   * Per frame: the whole-pixel shift of the grain field (frame px + shift = grain
   * grid px). It follows the head (the smoothed alignment at the lip centre) with a
   * hysteresis of 0.75 px, so on a still head the grain is exactly static, as the
   * footage's own (compressed) noise is: its frame-to-frame high-pass is 0 at the median.
   */
  grainShift: ([number, number] | null)[] = [];
  /** The occlusion map `[H, W]` of the last composited frame (hysteresis of the next). */
  lastOcclusion: { t: number; map: Uint8Array } | null = null;
  /** The optimal seam of the last composited frame (temporal prior of the next). */
  lastSeam: { t: number; contour: Contour } | null = null;
  plate: CleanPlate | null = null;
  /** Landmarks `[468, 2]` of the first composited frame: the head-aligned frame of the grain. */
  reference: Float32Array | null = null;
  colors: ColorTransform[] = [];
  grain: [number, number, number] = [0, 0, 0];
  footageNoise: [number, number, number] = [0, 0, 0];
  renderNoise: [number, number, number] = [0, 0, 0];
  /**
   * Temporal noise (std of the frame-to-frame change's high-pass, per frame, /√2) of
   * footage and render on still pairs (head and both mouths still), per channel.
   */
  footageTemporalNoise: [number, number, number] = [0, 0, 0];
  renderTemporalNoise: [number, number, number] = [0, 0, 0];
  /** Share of the added grain's variance that changes every frame (the rest is fixed to the head). */
  dynamicShare: [number, number, number] = [0, 0, 0];

  constructor(
    readonly masker: LowerFaceMasker,
    readonly width: number,
    readonly height: number,
    readonly opts: CompositeOptions = {},
  ) {}

  /** Add frame t (frames in order, every frame exactly once). */
  add(
    src: Uint8Array,
    f: {
      passThrough: boolean;
      rgba: Uint8Array;
      mask: Uint8Array;
      trackedLandmarks: Float32Array;
      drivenLandmarks: Float32Array;
    },
  ): void {
    const W = this.width, H = this.height;
    this.#frames++;
    const mb = f.passThrough ? null : maskBox(f.mask, W, H);
    const held = this.#held;
    this.#held = null;
    if (!mb || !Number.isFinite(f.trackedLandmarks[0]!)) {
      this.#perFrame.push(null);
      this.#weights.push(0);
      this.#toRef.push(null);
      return;
    }
    const size = faceSizePx(f.trackedLandmarks);
    this.reference ??= f.trackedLandmarks.slice();
    this.#toRef.push(fitSimilarity(f.trackedLandmarks, this.reference));
    const b = grow(mb, Math.ceil(0.05 * size), W, H);
    const sel = skinSamples(this.masker, f.trackedLandmarks, f.drivenLandmarks, f.rgba, W, b, size);
    const stats = new ColorStats();
    for (let y = 0; y < b.h; y++) {
      for (let x = 0; x < b.w; x++) {
        if (!sel[y * b.w + x]) continue;
        const p = (b.y + y) * W + b.x + x;
        stats.add(
          f.rgba[p * 4]! / 255,
          f.rgba[p * 4 + 1]! / 255,
          f.rgba[p * 4 + 2]! / 255,
          src[p * 3]! / 255,
          src[p * 3 + 1]! / 255,
          src[p * 3 + 2]! / 255,
        );
      }
    }
    this.#perFrame.push(stats.n >= 16 ? stats.transform() : null);
    this.#weights.push(stats.n);
    if (this.opts.grain !== false && (this.#frames - 1) % 5 === 0 && this.#noiseF.length < 60) {
      const nf = estimateNoise(cropF32(src, W, 3, b), sel),
        nr = estimateNoise(cropF32(f.rgba, W, 4, b), sel);
      if (nf && nr) {
        this.#noiseF.push(nf);
        this.#noiseR.push(nr);
      }
      // Keep this frame to pair it with the next one (temporal noise).
      this.#held = {
        src: src.slice(),
        rgba: f.rgba.slice(),
        tracked: f.trackedLandmarks.slice(),
        driven: f.drivenLandmarks.slice(),
      };
    }
    if (
      held && this.opts.grain !== false &&
      meanMotion(held.tracked, f.trackedLandmarks, RIGID_LANDMARKS) < 0.5 &&
      meanMotion(held.tracked, f.trackedLandmarks, this.masker.mouthVertices) < 0.3 &&
      meanMotion(held.driven, f.drivenLandmarks, this.masker.mouthVertices) < 0.3
    ) {
      const diff = (cur: Uint8Array, old: Uint8Array, C: number): ImageF32 => {
        const img = cropF32(cur, W, C, b), prev = cropF32(old, W, C, b);
        for (let i = 0; i < img.data.length; i++) img.data[i] = img.data[i]! - prev.data[i]!;
        return img;
      };
      const tf = estimateNoise(diff(src, held.src, 3), sel),
        tr = estimateNoise(diff(f.rgba, held.rgba, 4), sel);
      if (tf && tr) {
        this.#tnoiseF.push(tf.map((v) => v / Math.SQRT2));
        this.#tnoiseR.push(tr.map((v) => v / Math.SQRT2));
      }
    }
    if (this.opts.temporalFill !== false) {
      if (!this.plate) {
        const ref = f.trackedLandmarks.slice();
        this.plate = new CleanPlate(ref, grow(mb, Math.ceil(0.3 * size), W, H));
      }
      // Exclude this frame's own lower face (and a margin) from the plate.
      const pb = grow(mb, Math.ceil(0.3 * size), W, H);
      const covered = new Uint8Array(W * H);
      const cov = dilatedRaster(f.trackedLandmarks, this.masker.lowerTriangles, pb, 0.03 * size);
      for (let y = 0; y < pb.h; y++) {
        covered.set(cov.subarray(y * pb.w, (y + 1) * pb.w), (pb.y + y) * W + pb.x);
      }
      this.plate.add(src, W, H, f.trackedLandmarks, covered);
    }
  }

  /** Finish: smooth the colour transforms, settle the grain. */
  finish(): void {
    this.stable = smoothSimilarities(this.#toRef, this.opts.stabilizeSigmaFrames ?? 2);
    let shift: [number, number] | null = null;
    this.grainShift = this.stable.map((st) => {
      if (!st || !this.reference) return (shift = null);
      // Lip centre in this frame (ref → frame), and where the alignment sends it.
      const ref = this.reference, inv = invertSimilarity(st);
      const rc = [0, 1].map((k) => (ref[LIP_CENTRE[0] * 2 + k]! + ref[LIP_CENTRE[1] * 2 + k]!) / 2);
      const [fx, fy] = applySimilarity(inv, rc[0]!, rc[1]!);
      const ox = rc[0]! - fx, oy = rc[1]! - fy;
      if (!shift || Math.abs(ox - shift[0]) > 0.75 || Math.abs(oy - shift[1]) > 0.75) {
        shift = [Math.round(ox), Math.round(oy)];
      }
      return shift;
    });
    this.colors = this.opts.colorMatch === false
      ? this.#perFrame.map(() => IDENTITY_COLOR)
      : smoothColorTransforms(this.#perFrame, this.#weights, this.opts.colorSigmaFrames ?? 4);
    if (this.#noiseF.length) {
      const med = (rows: number[][], c: number) => {
        const v = rows.map((r) => r[c]!).sort((a, b) => a - b);
        return v[Math.floor(v.length / 2)]!;
      };
      this.footageNoise = [0, 1, 2].map((c) => med(this.#noiseF, c)) as [number, number, number];
      this.renderNoise = [0, 1, 2].map((c) => med(this.#noiseR, c)) as [number, number, number];
      this.grain = this.opts.grain === false
        ? [0, 0, 0]
        : grainToAdd(this.footageNoise, this.renderNoise);
      if (this.#tnoiseF.length) {
        this.footageTemporalNoise = [0, 1, 2].map((c) => med(this.#tnoiseF, c)) as [
          number,
          number,
          number,
        ];
        this.renderTemporalNoise = [0, 1, 2].map((c) => med(this.#tnoiseR, c)) as [
          number,
          number,
          number,
        ];
        // Added grain: a dynamic part that brings the render's temporal noise up to the
        // footage's, the rest fixed to the head (so the composite flickers as the footage does).
        const dyn = grainToAdd(this.footageTemporalNoise, this.renderTemporalNoise);
        this.dynamicShare = [0, 1, 2].map((c) => {
          const total = this.grain[c]! ** 2;
          return total > 0 ? Math.min(1, dyn[c]! ** 2 / total) : 0;
        }) as [number, number, number];
      }
    }
  }
}

/**
 * Smooth per-frame similarities (a, b, tx, ty) over time with a Gaussian of
 * `sigmaFrames`, within runs of consecutive frames that have one (a gap — no face —
 * starts a new run). Symmetric, so a steady motion is not delayed; only jitter
 * faster than ≈ σ frames is removed.
 */
export function smoothSimilarities(
  sims: (Similarity | null)[],
  sigmaFrames: number,
): (Similarity | null)[] {
  if (sigmaFrames <= 0) return sims.slice();
  const r = Math.ceil(3 * sigmaFrames);
  return sims.map((s0, t) => {
    if (!s0) return null;
    let a = 0, b = 0, tx = 0, ty = 0, ws = 0;
    for (let d = -r; d <= r; d++) {
      const s = sims[t + d];
      if (!s) {
        if (d < 0) continue;
        break;
      }
      // Stop at a gap between t and t + d.
      let gap = false;
      for (let k = Math.min(t, t + d); k < Math.max(t, t + d); k++) if (!sims[k]) gap = true;
      if (gap) continue;
      const w = Math.exp(-(d * d) / (2 * sigmaFrames * sigmaFrames));
      a += w * s.a, b += w * s.b, tx += w * s.tx, ty += w * s.ty, ws += w;
    }
    return { a: a / ws, b: b / ws, tx: tx / ws, ty: ty / ws };
  });
}

/**
 * Soften the render's coverage edge in place with a separable [1 2 1]/4 blur
 * (≈ 0.7 px) of the premultiplied render, so a hard-edged render (rasterised mesh,
 * opaque splats) does not show a staircase where it meets the filled background.
 * `alpha` `[h, w]`, `rgb` `[h, w, 3]` straight colour (stays straight).
 */
export function softenAlpha(alpha: Float32Array, rgb: Float32Array, w: number, h: number): void {
  const n = w * h, pm = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const a = alpha[i]!;
    pm[i * 4] = rgb[i * 3]! * a,
      pm[i * 4 + 1] = rgb[i * 3 + 1]! * a,
      pm[i * 4 + 2] = rgb[i * 3 + 2]! * a;
    pm[i * 4 + 3] = a;
  }
  const tmp = new Float32Array(n * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x, l = x > 0 ? i - 1 : i, r = x < w - 1 ? i + 1 : i;
      for (let c = 0; c < 4; c++) {
        tmp[i * 4 + c] = 0.25 * pm[l * 4 + c]! + 0.5 * pm[i * 4 + c]! + 0.25 * pm[r * 4 + c]!;
      }
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x, u = y > 0 ? i - w : i, d = y < h - 1 ? i + w : i;
      const v = [0, 0, 0, 0];
      for (let c = 0; c < 4; c++) {
        v[c] = 0.25 * tmp[u * 4 + c]! + 0.5 * tmp[i * 4 + c]! + 0.25 * tmp[d * 4 + c]!;
      }
      const a = v[3]!;
      alpha[i] = a;
      if (a > 1e-6) { for (let c = 0; c < 3; c++) rgb[i * 3 + c] = v[c]! / a; }
    }
  }
}

/**
 * Fade the render out inside its silhouette (alpha ≥ 0.5 region), in place: over
 * `widePx` where `footageFace` is 1 (the footage shows the face there, so its own
 * edge is the better picture) and `narrowPx` elsewhere (new territory, e.g. a chin
 * that moved down). Splat renders often carry background-coloured Gaussians at the
 * face edge; this keeps them out of the composite.
 */
export function fadeRenderEdge(
  alpha: Float32Array,
  w: number,
  h: number,
  footageFace: Uint8Array,
  widePx: number,
  narrowPx: number,
): void {
  if (widePx <= 0 && narrowPx <= 0) return;
  const outside = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) outside[i] = alpha[i]! < 0.5 ? 1 : 0;
  const d = distanceTransform(outside, w, h);
  for (let i = 0; i < w * h; i++) {
    if (outside[i]) continue;
    const f = footageFace[i] ? widePx : narrowPx;
    if (f <= 0) continue;
    const t = Math.min(1, d[i]! / f);
    alpha[i] = alpha[i]! * t * t * (3 - 2 * t);
  }
}

/** Per-vertex distance between two landmark sets, `[468]` px (`a`, `b`: `[468*2]` px). */
function vertexDisplacement(a: Float32Array, b: Float32Array): Float32Array {
  const disp = new Float32Array(468);
  for (let v = 0; v < 468; v++) {
    disp[v] = Math.hypot(b[v * 2]! - a[v * 2]!, b[v * 2 + 1]! - a[v * 2 + 1]!);
  }
  return disp;
}

/**
 * Where the render is needed: 0 where the driven mesh coincides with the tracked
 * one (the footage already shows that face; the render would only add its own
 * small errors), rising to 1 where the driven mesh moved by ≥ 2 % of the face
 * size (mouth, jaw). The per-vertex displacement is interpolated over the driven
 * mesh, taken as large outside it (new territory), and blurred so the weight is
 * smooth. `[h, w]` over box `b`.
 */
export function motionWeight(
  tracked: Float32Array,
  driven: Float32Array,
  tris: Uint32Array,
  b: Box,
  size: number,
): Float32Array {
  const disp = vertexDisplacement(tracked, driven);
  const d0 = 0.004 * size, d1 = 0.02 * size;
  const field = rasterScalar(driven, tris, disp, b, d1);
  let img: ImageF32 = { width: b.w, height: b.h, channels: 1, data: field };
  // Blur ≈ 3 % of the face size (repeated [1 4 6 4 1] passes, σ ≈ 1 px each).
  const passes = Math.max(1, Math.min(12, Math.round((0.03 * size) ** 2)));
  for (let k = 0; k < passes; k++) img = blur5(img);
  const out = new Float32Array(b.w * b.h);
  for (let i = 0; i < out.length; i++) {
    const t = Math.min(1, Math.max(0, (img.data[i]! - d0) / (d1 - d0)));
    out[i] = t * t * (3 - 2 * t);
  }
  return out;
}

/** Statistics of one composited frame. */
export interface FrameStats {
  /** Pixels written (mask > 0). */
  changed: number;
  /** Pixels of the old lower face filled from the clean plate / by the inpainter. */
  filledTemporal: number;
  filledSpatial: number;
  /** Pixels kept from the footage as occluders in front of the face. */
  occluded?: number;
}

/**
 * Composite frame t. Returns `src` itself (untouched) for pass-through frames
 * or an empty mask, else a new `[H, W, 3]` buffer equal to `src` wherever mask = 0.
 */
export async function compositeFrame(
  t: number,
  src: Uint8Array,
  f: {
    passThrough: boolean;
    rgba: Uint8Array;
    mask: Uint8Array;
    trackedLandmarks: Float32Array;
    drivenLandmarks: Float32Array;
  },
  an: Analysis,
  inpainter: Inpainter,
): Promise<{ rgb: Uint8Array; stats: FrameStats; weight?: Uint8Array }> {
  const W = an.width, H = an.height, opts = an.opts;
  const none = { rgb: src, stats: { changed: 0, filledTemporal: 0, filledSpatial: 0 } };
  if (f.passThrough || !Number.isFinite(f.trackedLandmarks[0]!)) return none;
  const mb = maskBox(f.mask, W, H);
  if (!mb) return none;
  const size = faceSizePx(f.trackedLandmarks);
  const b = grow(mb, Math.ceil(0.1 * size) + 8, W, H);
  const s = cropF32(src, W, 3, b);
  const n = b.w * b.h;
  const alpha = new Float32Array(n), m = new Float32Array(n);
  const col = an.colors[t] ?? IDENTITY_COLOR;
  const rc = new Float32Array(n * 3);
  for (let y = 0; y < b.h; y++) {
    for (let x = 0; x < b.w; x++) {
      const i = y * b.w + x, p = (b.y + y) * W + b.x + x;
      alpha[i] = f.rgba[p * 4 + 3]! / 255;
      m[i] = f.mask[p]! / 255;
      for (let c = 0; c < 3; c++) {
        rc[i * 3 + c] = col.gain[c]! * (f.rgba[p * 4 + c]! / 255) + col.offset[c]!;
      }
    }
  }
  softenAlpha(alpha, rc, b.w, b.h);
  if (opts.motionGate === true) {
    const wm = motionWeight(f.trackedLandmarks, f.drivenLandmarks, an.masker.allTriangles, b, size);
    for (let i = 0; i < n; i++) alpha[i] = alpha[i]! * wm[i]!;
  }
  // Head alignment (frame → reference), smoothed over time in pass 1.
  const stable = an.stable[t] ??
    (an.reference ? fitSimilarity(f.trackedLandmarks, an.reference) : null);
  // The footage's face where the smoothed alignment puts it: the tracked landmarks with
  // their rigid jitter removed (the footage does not jitter, the tracker does). What
  // belongs to the render (its coverage, the driven mesh) keeps the per-frame pose.
  const trackedS = stable && an.reference
    ? stabilizeLandmarks(f.trackedLandmarks, an.reference, stable)
    : f.trackedLandmarks;
  const footageFace = rasterTriangles(trackedS, an.masker.allTriangles, b);
  fadeRenderEdge(alpha, b.w, b.h, footageFace, (opts.edgeFade ?? 0.08) * size, 0.02 * size);
  // 1. Background: where the old lower face is not covered by the new face (the hole),
  // what was behind it; elsewhere the footage itself (so a soft render edge that lies
  // on the footage's own face edge blends with that edge, not with the wall).
  const old = dilatedRaster(trackedS, an.masker.lowerTriangles, b, 0.05 * size);
  const oldNear = dilatedRaster(trackedS, an.masker.lowerTriangles, b, 0.02 * size);
  const cover = rasterTriangles(f.drivenLandmarks, an.masker.allTriangles, b);
  const hole = holeMask(
    trackedS,
    f.drivenLandmarks,
    an.masker.allTriangles,
    b,
    size,
    oldNear,
    cover,
    m,
  );
  const bg: ImageF32 = { width: b.w, height: b.h, channels: 3, data: s.data.slice() };
  const unknown = new Uint8Array(n);
  let filledTemporal = 0, filledSpatial = 0;
  const toRef = an.plate ? stable : null;
  const px = new Float32Array(3);
  for (let y = 0; y < b.h; y++) {
    for (let x = 0; x < b.w; x++) {
      const i = y * b.w + x;
      if (!old[i] || m[i] === 0) continue;
      if (toRef && an.plate!.lookup(toRef, b.x + x + 0.5, b.y + y + 0.5, px)) {
        bg.data[i * 3] = px[0]!, bg.data[i * 3 + 1] = px[1]!, bg.data[i * 3 + 2] = px[2]!;
        if (hole[i]) filledTemporal++;
      } else {
        // Every unseen old-face pixel is unknown to the inpainter, so the old face's
        // colours do not leak into the hole; only hole pixels take the result.
        unknown[i] = 1;
        if (hole[i]) filledSpatial++;
      }
    }
  }
  const fill = unknown.some((v) => v === 1) ? await inpainter.inpaint(bg, unknown) : bg;
  // 2. Render over the background.
  const comp = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const a = alpha[i]!, under = hole[i] ? fill.data : s.data;
    for (let c = 0; c < 3; c++) comp[i * 3 + c] = a * rc[i * 3 + c]! + (1 - a) * under[i * 3 + c]!;
  }
  // What the dub must change: the mouth of either mesh, the hole, new chin, every
  // place the driven mesh moved ≥ 1.5 % of the face size.
  const changed = mustChange(f, an, b, size, hole, footageFace, cover, trackedS);
  // 3. Where the edge runs: the optimal seam (min(seam weight, mask)) or the mask.
  let wgt = m;
  let weightOut: Uint8Array | undefined;
  if ((opts.seam ?? "optimal") === "optimal" && stable && an.reference) {
    const seam = seamFor(
      t,
      f,
      an,
      b,
      size,
      s,
      comp,
      alpha,
      stable,
      changed,
    );
    wgt = new Float32Array(n);
    for (let i = 0; i < n; i++) wgt[i] = Math.min(seam[i]!, m[i]!);
  }
  // Occluders: keep the footage where something in front of the face differs far
  // more from the render than the render's usual error (see occluder.ts).
  let occluded = 0;
  if (opts.occluders !== false) {
    const diff = new Float32Array(n), region = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      let d = 0;
      for (let c = 0; c < 3; c++) d += Math.abs(comp[i * 3 + c]! - s.data[i * 3 + c]!);
      diff[i] = (255 * d) / 3;
      region[i] = alpha[i]! >= 0.5 && footageFace[i] && !changed[i] && m[i]! > 0 ? 1 : 0;
    }
    let prev: Uint8Array | null = null;
    if (an.lastOcclusion && an.lastOcclusion.t === t - 1) {
      prev = new Uint8Array(n);
      for (let y = 0; y < b.h; y++) {
        for (let x = 0; x < b.w; x++) {
          prev[y * b.w + x] = an.lastOcclusion.map[(b.y + y) * W + b.x + x]!;
        }
      }
    }
    // The changed region, minus both mouths (dilated 8 % of the face size): where a
    // detected occluder may be followed.
    const growInto = new Uint8Array(n);
    const mouths = dilatedRaster(trackedS, an.masker.mouthTriangles, b, 0.08 * size);
    const mouthsD = dilatedRaster(f.drivenLandmarks, an.masker.mouthTriangles, b, 0.08 * size);
    for (let i = 0; i < n; i++) {
      growInto[i] = changed[i] && !mouths[i] && !mouthsD[i] && m[i]! > 0 ? 1 : 0;
    }
    const occ = occlusionWeight(
      diff,
      region,
      b.w,
      b.h,
      0.02 * size,
      0.03 * size,
      prev,
      {},
      growInto,
    );
    const full = new Uint8Array(W * H);
    for (let y = 0; y < b.h; y++) {
      full.set(occ.map.subarray(y * b.w, (y + 1) * b.w), (b.y + y) * W + b.x);
    }
    an.lastOcclusion = { t, map: full };
    if (occ.share > 0) {
      if (wgt === m) wgt = m.slice();
      for (let i = 0; i < n; i++) {
        const o = occ.weight[i]!;
        if (o > 0) wgt[i] = wgt[i]! * (1 - o), occluded += occ.map[i]!;
      }
    }
  }
  if (wgt !== m) {
    weightOut = new Uint8Array(W * H);
    for (let y = 0; y < b.h; y++) {
      for (let x = 0; x < b.w; x++) {
        const i = y * b.w + x;
        if (m[i]! > 0) weightOut[(b.y + y) * W + b.x + x] = Math.round(255 * wgt[i]!);
      }
    }
  }
  // Multi-band blend into the footage.
  const blended = multibandBlend(
    { width: b.w, height: b.h, channels: 3, data: comp },
    s,
    wgt,
    opts.blendLevels ?? 5,
  );
  // 4–5. Grain, then write only mask > 0.
  const out = src.slice();
  // Grain is a noise field that moves with the head in whole pixels (see grainShift).
  const gs = an.grainShift[t] ?? [0, 0];
  const seed = opts.seed ?? 0;
  const sf2 = an.footageNoise.map((v) => v * v), sr2 = an.renderNoise.map((v) => v * v);
  const grain = opts.grain !== false;
  let written = 0;
  for (let y = 0; y < b.h; y++) {
    for (let x = 0; x < b.w; x++) {
      const i = y * b.w + x;
      const mi = m[i]!;
      if (mi === 0) continue;
      // k limits the write to the mask (the blend's coarse bands reach past the weight).
      const k = Math.min(1, 4 * mi), w = k * wgt[i]!;
      const a = alpha[i]!, filled = hole[i]!;
      const p = ((b.y + y) * W + b.x + x) * 3;
      let g = 0, gd = 0;
      if (grain) {
        const gx = b.x + x + gs[0], gy = b.y + y + gs[1];
        g = gridGauss(gx, gy, seed);
        gd = gridGauss(gx, gy, (seed + Math.imul(t + 1, 0x9e3779b1)) | 0);
      }
      for (let c = 0; c < 3; c++) {
        const sv = s.data[i * 3 + c]!;
        // Grain: the output mixes footage (σf) with render (σr) or smooth fill (≈ 0)
        // by weight w; add what brings the pixel's noise back to σf (see MIX_KEPT).
        const inner = a * sr2[c]! + (1 - a) * (filled ? 0 : sf2[c]!);
        const have = (1 - w) * (1 - w) * sf2[c]! + w * w * inner +
          MIX_KEPT * 2 * w * (1 - w) * sf2[c]!;
        const q = an.dynamicShare[c]!;
        const noise = grain
          ? (Math.sqrt(1 - q) * g + Math.sqrt(q) * gd) * Math.sqrt(Math.max(0, sf2[c]! - have))
          : 0;
        const v = sv + k * (blended.data[i * 3 + c]! - sv) + noise;
        out[p + c] = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
      }
      written++;
    }
  }
  return {
    rgb: out,
    stats: { changed: written, filledTemporal, filledSpatial, occluded },
    ...(weightOut ? { weight: weightOut } : {}),
  };
}

/**
 * The hole, `[h, w]` over box `b`: old lower face (dilated, `oldNear`) that the driven
 * face (`cover`) no longer covers, inside the mask. The tracked face oval lies a little
 * inside the real jaw contour, so `oldNear \ cover` is also a thin ring along every
 * jaw line that did not move; filling that ring with the clean plate (the wall) drew a
 * pale outline round the jaw. A ring pixel is therefore a hole only where it lies
 * outside the equally dilated driven face, or where a driven vertex within the
 * dilation radius moved ≥ `HOLE_MOTION` of the face size (the chin uncovered by a jaw
 * that moved up); elsewhere the footage's own jaw edge stays.
 */
export function holeMask(
  trackedS: Float32Array, // [468*2] px, stabilised tracked landmarks
  driven: Float32Array, // [468*2] px
  tris: Uint32Array, // [F*3] the whole face's triangles
  b: Box,
  size: number,
  oldNear: Uint8Array, // [h, w]
  cover: Uint8Array, // [h, w]
  m: Float32Array | Uint8Array, // [h, w] mask
): Uint8Array {
  const n = b.w * b.h, r = 0.02 * size;
  const coverNear = dilatedRaster(driven, tris, b, r);
  // Driven vertices that moved, in box pixels.
  const movedX: number[] = [], movedY: number[] = [];
  const disp = vertexDisplacement(trackedS, driven);
  for (let v = 0; v < 468; v++) {
    if (disp[v]! >= HOLE_MOTION * size) {
      movedX.push(driven[v * 2]! - b.x), movedY.push(driven[v * 2 + 1]! - b.y);
    }
  }
  const reach2 = (2 * r + 1) ** 2;
  const hole = new Uint8Array(n);
  for (let y = 0; y < b.h; y++) {
    for (let x = 0; x < b.w; x++) {
      const i = y * b.w + x;
      if (!oldNear[i] || cover[i] || !(m[i]! > 0)) continue;
      if (!coverNear[i]) {
        hole[i] = 1;
        continue;
      }
      const px = x + 0.5, py = y + 0.5;
      for (let k = 0; k < movedX.length; k++) {
        if ((movedX[k]! - px) ** 2 + (movedY[k]! - py) ** 2 <= reach2) {
          hole[i] = 1;
          break;
        }
      }
    }
  }
  return hole;
}

/** Share of the face size a driven vertex must move for the jaw ring near it to be a hole. */
const HOLE_MOTION = 0.006;

/**
 * What the dub must change, `[h, w]` over box `b`: the hole, the mouth of either
 * mesh (dilated 4 % of the face size), new chin (driven face where the footage has
 * none), and every place the driven mesh moved ≥ 1.5 % of the face size.
 */
function mustChange(
  f: { trackedLandmarks: Float32Array; drivenLandmarks: Float32Array },
  an: Analysis,
  b: Box,
  size: number,
  hole: Uint8Array,
  footageFace: Uint8Array,
  cover: Uint8Array,
  trackedS: Float32Array,
): Uint8Array {
  const tracked = f.trackedLandmarks, driven = f.drivenLandmarks, n = b.w * b.h;
  const disp = vertexDisplacement(tracked, driven);
  const moved = rasterScalar(driven, an.masker.allTriangles, disp, b, 0);
  const mouthT = dilatedRaster(trackedS, an.masker.mouthTriangles, b, 0.04 * size);
  const mouthD = dilatedRaster(driven, an.masker.mouthTriangles, b, 0.04 * size);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = hole[i] || mouthT[i] || mouthD[i] || (cover[i] && !footageFace[i]) ||
        moved[i]! >= 0.015 * size
      ? 1
      : 0;
  }
  return out;
}

/**
 * The optimal seam's weight `[h, w]` over box `b` for frame t (see `seam.ts`):
 * inner limit = what the render must replace (mouth of either mesh, the hole, new
 * chin, every place the driven mesh moved ≥ 1.5 % of the face size); outer limit =
 * the mask ≥ 50 %; cost = footage gradient + |render over fill − footage| (8-bit
 * levels, mean over RGB) + 1, blurred ≈ 1.4 px; temporal prior = the previous
 * frame's contour, head-locked through the smoothed alignment `stable`.
 */
function seamFor(
  t: number,
  f: { trackedLandmarks: Float32Array; drivenLandmarks: Float32Array; mask: Uint8Array },
  an: Analysis,
  b: Box,
  size: number,
  s: ImageF32,
  comp: Float32Array,
  alpha: Float32Array,
  stable: Similarity,
  changed: Uint8Array,
): Float32Array {
  const W = an.width, n = b.w * b.h, opts = an.opts;
  // Inner limit: what must change, inside the mask's half.
  const inner = new Uint8Array(n), allowed = new Uint8Array(n);
  for (let y = 0; y < b.h; y++) {
    for (let x = 0; x < b.w; x++) {
      const i = y * b.w + x, mv = f.mask[(b.y + y) * W + b.x + x]!;
      allowed[i] = mv >= 128 ? 1 : 0;
      inner[i] = allowed[i] && changed[i] ? 1 : 0;
    }
  }
  // Cost: footage luma gradient + render/footage disagreement (8-bit levels) + 1.
  const lum = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    lum[i] = 255 *
      (0.299 * s.data[i * 3]! + 0.587 * s.data[i * 3 + 1]! + 0.114 * s.data[i * 3 + 2]!);
  }
  const g = gradientMagnitude(lum, b.w, b.h);
  let cost: ImageF32 = { width: b.w, height: b.h, channels: 1, data: new Float32Array(n) };
  for (let i = 0; i < n; i++) {
    let d = 0;
    for (let c = 0; c < 3; c++) d += Math.abs(comp[i * 3 + c]! - s.data[i * 3 + c]!);
    cost.data[i] = g[i]! + (255 * d) / 3 + 1;
  }
  cost = blur5(cost);
  void alpha;
  // Head-locked polar frame: centre = the reference's lip centre mapped into this frame.
  const ref = an.reference!;
  const toFrame = invertSimilarity(stable);
  const rc = [0, 0];
  for (const v of LIP_CENTRE) rc[0]! += ref[v * 2]! / 2, rc[1]! += ref[v * 2 + 1]! / 2;
  const [cx, cy] = applySimilarity(toFrame, rc[0]!, rc[1]!);
  const angle0 = Math.atan2(toFrame.b, toFrame.a);
  const featherPx = Math.max(1.5, (opts.seamFeather ?? 0.06) * size);
  const prev = an.lastSeam && an.lastSeam.t === t - 1 ? an.lastSeam.contour : null;
  const contour = optimalSeam(
    cost.data,
    inner,
    allowed,
    b.w,
    b.h,
    [cx - b.x, cy - b.y],
    angle0,
    size,
    featherPx / 2,
    prev,
    opts.seamParams,
  );
  an.lastSeam = { t, contour };
  return contourWeight(contour, b.w, b.h, featherPx);
}
