/**
 * The per-frame compositor of `body.inpaint`, in two streamed passes over the
 * footage and the head render (memory: a few frame-sized buffers, one clean plate
 * and a handful of numbers per frame — flat in clip length).
 *
 * Pass 1 ({@link Analysis}): per frame, colour statistics of the render's skin vs
 * the footage's at the same pixels (both faces, outside the mouth), noise of both,
 * and the head-aligned clean plate of what the old lower face hid. At the end the
 * colour transforms are smoothed over time and the grain to add is the clip's
 * median footage-minus-render noise.
 *
 * Pass 2 ({@link compositeFrame}), inside the mask's box only:
 * 1. background = footage, with the old lower face (tracked lower-face triangles,
 *    slightly dilated) replaced: from the clean plate where some frame showed it
 *    (temporal fill), by the {@link Inpainter} elsewhere (spatial fill);
 * 2. render over background by its coverage, after the colour transform;
 * 3. multi-band blend of that into the footage with the feathered mask;
 * 4. matched grain added where render or fill show;
 * 5. only pixels with mask > 0 are written: every other pixel, and every pixel of
 *    a pass-through frame, is the decoded source byte for byte.
 *
 * @module
 */
import type { ImageF32 } from "../image/types.ts";
import { multibandBlend } from "./blend.ts";
import { ColorStats, type ColorTransform, IDENTITY_COLOR, smoothColorTransforms } from "./color.ts";
import { applySimilarity, CleanPlate, fitSimilarity, type Inpainter } from "./fill.ts";
import { estimateNoise, grainToAdd, gridGauss } from "./grain.ts";
import {
  distanceTransform,
  faceSizePx,
  type LowerFaceMasker,
  rasterScalar,
  rasterTriangles,
} from "./mask.ts";
import { blur5 } from "../image/pyramid.ts";

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
}

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

/** Pixels of the old lower face within `r` px (binary `[h, w]`). */
function dilatedRaster(lm: Float32Array, tris: Uint32Array, b: Box, r: number): Uint8Array {
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
  #frames = 0;
  plate: CleanPlate | null = null;
  /** Landmarks `[468, 2]` of the first composited frame: the head-aligned frame of the grain. */
  reference: Float32Array | null = null;
  colors: ColorTransform[] = [];
  grain: [number, number, number] = [0, 0, 0];
  footageNoise: [number, number, number] = [0, 0, 0];
  renderNoise: [number, number, number] = [0, 0, 0];

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
    if (!mb || !Number.isFinite(f.trackedLandmarks[0]!)) {
      this.#perFrame.push(null);
      this.#weights.push(0);
      return;
    }
    const size = faceSizePx(f.trackedLandmarks);
    this.reference ??= f.trackedLandmarks.slice();
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
    }
  }
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
  const disp = new Float32Array(468);
  for (let v = 0; v < 468; v++) {
    disp[v] = Math.hypot(
      driven[v * 2]! - tracked[v * 2]!,
      driven[v * 2 + 1]! - tracked[v * 2 + 1]!,
    );
  }
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
): Promise<{ rgb: Uint8Array; stats: FrameStats }> {
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
  const footageFace = rasterTriangles(f.trackedLandmarks, an.masker.allTriangles, b);
  fadeRenderEdge(alpha, b.w, b.h, footageFace, (opts.edgeFade ?? 0.08) * size, 0.02 * size);
  // 1. Background: where the old lower face is not covered by the new face (the hole),
  // what was behind it; elsewhere the footage itself (so a soft render edge that lies
  // on the footage's own face edge blends with that edge, not with the wall).
  const old = dilatedRaster(f.trackedLandmarks, an.masker.lowerTriangles, b, 0.05 * size);
  const oldNear = dilatedRaster(f.trackedLandmarks, an.masker.lowerTriangles, b, 0.02 * size);
  const cover = rasterTriangles(f.drivenLandmarks, an.masker.allTriangles, b);
  const hole = new Uint8Array(n);
  for (let i = 0; i < n; i++) hole[i] = oldNear[i] && !cover[i] && m[i]! > 0 ? 1 : 0;
  const bg: ImageF32 = { width: b.w, height: b.h, channels: 3, data: s.data.slice() };
  const unknown = new Uint8Array(n);
  let filledTemporal = 0, filledSpatial = 0;
  const toRef = an.plate ? fitSimilarity(f.trackedLandmarks, an.plate.reference) : null;
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
  // 3. Multi-band blend into the footage.
  const blended = multibandBlend(
    { width: b.w, height: b.h, channels: 3, data: comp },
    s,
    m,
    opts.blendLevels ?? 5,
  );
  // 4–5. Grain, then write only mask > 0.
  const out = src.slice();
  // Grain is a noise field fixed to the head (reference frame's pixel grid).
  const toGrain = fitSimilarity(f.trackedLandmarks, an.reference ?? f.trackedLandmarks);
  const seed = opts.seed ?? 0;
  const sf2 = an.footageNoise.map((v) => v * v), sr2 = an.renderNoise.map((v) => v * v);
  const grain = opts.grain !== false;
  let changed = 0;
  for (let y = 0; y < b.h; y++) {
    for (let x = 0; x < b.w; x++) {
      const i = y * b.w + x;
      const mi = m[i]!;
      if (mi === 0) continue;
      const k = Math.min(1, 4 * mi), w = k * mi;
      const a = alpha[i]!, filled = hole[i]!;
      const p = ((b.y + y) * W + b.x + x) * 3;
      let g = 0;
      if (grain) {
        const [rx, ry] = applySimilarity(toGrain, b.x + x + 0.5, b.y + y + 0.5);
        g = gridGauss(Math.floor(rx), Math.floor(ry), seed);
      }
      for (let c = 0; c < 3; c++) {
        const sv = s.data[i * 3 + c]!;
        // Grain: the output mixes footage (σf) with render (σr) or smooth fill (≈ 0)
        // by weight w; add what brings the pixel's noise back to σf (see MIX_KEPT).
        const inner = a * sr2[c]! + (1 - a) * (filled ? 0 : sf2[c]!);
        const have = (1 - w) * (1 - w) * sf2[c]! + w * w * inner +
          MIX_KEPT * 2 * w * (1 - w) * sf2[c]!;
        const noise = grain ? g * Math.sqrt(Math.max(0, sf2[c]! - have)) : 0;
        const v = sv + k * (blended.data[i * 3 + c]! - sv) + noise;
        out[p + c] = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
      }
      changed++;
    }
  }
  return { rgb: out, stats: { changed, filledTemporal, filledSpatial } };
}
