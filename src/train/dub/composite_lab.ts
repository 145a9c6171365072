/**
 * Measurements of the compositor on a real head render, with its parts switched
 * on and off: where the frame-to-frame difference inside the mask comes from
 * (render alone, colour correction, grain, seam/mask edge) and the seam ridge on
 * the contour the blend actually uses. Used by `deno task eval:dub --decompose`.
 *
 * Every variant streams the footage and the render twice (analysis + composite),
 * like `body.inpaint`; memory is a few frames.
 *
 * @module
 */
import { Analysis, compositeFrame, type CompositeOptions } from "../../composite/compositor.ts";
import { PushPullInpainter, RIGID_LANDMARKS } from "../../composite/fill.ts";
import {
  createLowerFaceMasker,
  distanceTransform,
  faceSizePx,
  rasterTriangles,
} from "../../composite/mask.ts";
import { maskedMeanAbsDiff, seamRidge } from "../../composite/metrics.ts";
import type { RenderPaths } from "../../composite/render_file.ts";
import type { MediaBackend } from "../../media/types.ts";
import { lockstep } from "../../stages/body_inpaint.ts";

/** Still-head frame t: rigid landmarks (`[T, 468, 3]` track layout) moved < 0.5 px on average since t − 1. */
export function isStill(lm: Float32Array, found: Uint8Array, t: number): boolean {
  if (t < 1 || !found[t] || !found[t - 1]) return false;
  let d = 0;
  for (const i of RIGID_LANDMARKS) {
    d += Math.hypot(
      lm[(t * 468 + i) * 3]! - lm[((t - 1) * 468 + i) * 3]!,
      lm[(t * 468 + i) * 3 + 1]! - lm[((t - 1) * 468 + i) * 3 + 1]!,
    );
  }
  return d / RIGID_LANDMARKS.length < 0.5;
}

export interface VariantResult {
  name: string;
  /** Mean |frame − previous| in the mask (≥ 50 %) on still-head pairs, 8-bit levels. */
  temporal: number | null;
  /** The same on the footage (same pairs). */
  temporalFootage: number | null;
  stillPairs: number;
  /** Seam ridge on the blend weight's 50 % contour (every 5th frame): dubbed, footage, dubbed ÷ footage. */
  seam: number | null;
  seamFootage: number | null;
  /** Temporal difference in the feather band (mask 1–254) only, and in the core (mask 255). */
  temporalEdge: number | null;
  temporalCore: number | null;
  /** Temporal difference on the skin: mask ≥ 50 % outside both meshes' mouths (dilated 6 % of the face size); footage alike. */
  temporalSkin: number | null;
  temporalSkinFootage: number | null;
  /** On pairs where neither mouth moved (tracked and driven lip landmarks < 0.3 px): dubbed, footage. */
  temporalStillMouth: number | null;
  temporalStillMouthFootage: number | null;
  stillMouthPairs: number;
  /** Pixels kept from the footage as occluders, and in how many frames. */
  occludedPx: number;
  occludedFrames: number;
}

/** Mean movement (px) of the mouth-triangle vertices of `a` vs `b` (`[468, 2]`). */
function mouthMotion(a: Float32Array, b: Float32Array, verts: number[]): number {
  let d = 0;
  for (const v of verts) d += Math.hypot(a[v * 2]! - b[v * 2]!, a[v * 2 + 1]! - b[v * 2 + 1]!);
  return d / verts.length;
}

const mean = (a: number[]) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : null);

/** |a − b| mean over pixels where `lo ≤ mask ≤ hi` (RGB, 8-bit). */
function bandDiff(a: Uint8Array, b: Uint8Array, mask: Uint8Array, lo: number, hi: number) {
  let s = 0, n = 0;
  for (let p = 0; p < mask.length; p++) {
    const m = mask[p]!;
    if (m < lo || m > hi) continue;
    for (let c = 0; c < 3; c++) s += Math.abs(a[p * 3 + c]! - b[p * 3 + c]!);
    n += 3;
  }
  return n ? s / n : null;
}

/**
 * Run the compositor with `opts` (or, for `"render"`, the render alone: render over
 * the footage by its coverage inside the mask, nothing else) over the clip and
 * measure. `lm` `[T, 468, 3]` and `found` `[T]` are the footage's track.
 */
export async function measureVariant(
  media: MediaBackend,
  name: string,
  segment: string,
  paths: RenderPaths,
  geometry: { width: number; height: number; frameCount: number },
  lm: Float32Array,
  found: Uint8Array,
  opts: CompositeOptions | "render",
  signal: AbortSignal = new AbortController().signal,
): Promise<VariantResult> {
  const { width: W, height: H, frameCount: T } = geometry;
  const masker = await createLowerFaceMasker();
  const inpainter = new PushPullInpainter();
  let an: Analysis | null = null;
  if (opts !== "render") {
    an = new Analysis(masker, W, H, opts);
    for await (const [f, r] of lockstep(media, segment, paths, geometry, T, signal)) {
      an.add(f.data, r);
    }
    an.finish();
  }
  const td: number[] = [], tdF: number[] = [], tdE: number[] = [], tdK: number[] = [];
  const seams: number[] = [], seamsF: number[] = [];
  const skC: number[] = [], skF: number[] = [], smC: number[] = [], smF: number[] = [];
  const mouthVerts = [...new Set(masker.mouthTriangles)];
  let occludedPx = 0, occludedFrames = 0;
  let prev:
    | { out: Uint8Array; src: Uint8Array; tracked: Float32Array; driven: Float32Array }
    | null = null;
  let t = 0;
  for await (const [f, r] of lockstep(media, segment, paths, geometry, T, signal)) {
    let out: Uint8Array, weight: Uint8Array = r.mask;
    if (an) {
      const res = await compositeFrame(t, f.data, r, an, inpainter);
      out = res.rgb;
      occludedPx += res.stats.occluded ?? 0;
      if (res.stats.occluded) occludedFrames++;
      if (res.weight) weight = res.weight;
    } else {
      out = f.data.slice();
      for (let p = 0; p < W * H; p++) {
        if (r.mask[p]! === 0 || r.passThrough) continue;
        const a = r.rgba[p * 4 + 3]! / 255;
        for (let c = 0; c < 3; c++) {
          out[p * 3 + c] = Math.round(a * r.rgba[p * 4 + c]! + (1 - a) * f.data[p * 3 + c]!);
        }
      }
    }
    if (!r.passThrough && t % 5 === 0) {
      const a = seamRidge(out, weight, W, H), b = seamRidge(f.data, weight, W, H);
      if (a && b) seams.push(a.ratio), seamsF.push(b.ratio);
    }
    if (prev && !r.passThrough && isStill(lm, found, t) && r.mask.some((v) => v >= 128)) {
      td.push(maskedMeanAbsDiff(out, prev.out, r.mask));
      tdF.push(maskedMeanAbsDiff(f.data, prev.src, r.mask));
      const e = bandDiff(out, prev.out, r.mask, 1, 254),
        k = bandDiff(out, prev.out, r.mask, 255, 255);
      if (e !== null) tdE.push(e);
      if (k !== null) tdK.push(k);
      // Skin: the mask minus both mouths.
      const size = faceSizePx(r.trackedLandmarks);
      const skin = new Uint8Array(W * H);
      const box = { x: 0, y: 0, w: W, h: H };
      const mt = rasterTriangles(r.trackedLandmarks, masker.mouthTriangles, box);
      const md = rasterTriangles(r.drivenLandmarks, masker.mouthTriangles, box);
      for (let p = 0; p < W * H; p++) mt[p] = mt[p] || md[p] ? 1 : 0;
      const dm = distanceTransform(mt, W, H);
      for (let p = 0; p < W * H; p++) skin[p] = r.mask[p]! >= 128 && dm[p]! > 0.06 * size ? 255 : 0;
      skC.push(maskedMeanAbsDiff(out, prev.out, skin));
      skF.push(maskedMeanAbsDiff(f.data, prev.src, skin));
      if (
        mouthMotion(r.trackedLandmarks, prev.tracked, mouthVerts) < 0.3 &&
        mouthMotion(r.drivenLandmarks, prev.driven, mouthVerts) < 0.3
      ) {
        smC.push(maskedMeanAbsDiff(out, prev.out, r.mask));
        smF.push(maskedMeanAbsDiff(f.data, prev.src, r.mask));
      }
    }
    prev = { out, src: f.data, tracked: r.trackedLandmarks, driven: r.drivenLandmarks };
    t++;
  }
  return {
    name,
    temporal: mean(td),
    temporalFootage: mean(tdF),
    stillPairs: td.length,
    seam: mean(seams),
    seamFootage: mean(seamsF),
    temporalEdge: mean(tdE),
    temporalCore: mean(tdK),
    temporalSkin: mean(skC),
    temporalSkinFootage: mean(skF),
    temporalStillMouth: mean(smC),
    temporalStillMouthFootage: mean(smF),
    stillMouthPairs: smC.length,
    occludedPx,
    occludedFrames,
  };
}

/** The variants of the decomposition, each differing from the full compositor in one part. */
export function decompositionVariants(): [string, CompositeOptions | "render"][] {
  return [
    ["full compositor", {}],
    ["render alone (coverage over footage, no colour/grain/blend)", "render"],
    ["no grain", { grain: false }],
    ["no colour match", { colorMatch: false }],
    ["the mask's own edge instead of the optimal seam", { seam: "mask" }],
    ["per-frame alignment (no temporal smoothing)", { stabilizeSigmaFrames: 0 }],
    ["no occluder detection", { occluders: false }],
    ["previous compositor (mask edge, per-frame alignment)", {
      seam: "mask",
      stabilizeSigmaFrames: 0,
    }],
  ];
}
