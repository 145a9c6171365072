/**
 * The speaker's mouth map: from the articulation channels (`src/articulation/mod.ts`,
 * as `face.track` measures them on the footage) to this speaker's lower-face mesh
 * deformation (lips, jaw, chin, lower cheeks), so that the audio prior's universal
 * articulation moves this person's lips the way this person moves them.
 *
 * Model. The lower face is the set of canonical-mesh vertices below the nose; each
 * vertex i has a blend weight w_i = smootherstep over its canonical height y_i, 0 at
 * and above {@link BLEND_TOP_Y_CM} (just under the nose base) and 1 at and below
 * {@link BLEND_BOTTOM_Y_CM} (the upper lip's outer midline). The K vertices with
 * w_i > 0 are the region. Their expression offsets x ∈ R^{3K} (the face-track file's
 * `expression` rows, cm, identity + expression) are predicted by ridge regression on
 * polynomial features of the articulation a ∈ R^8:
 *
 *   φ(a) = [a_0..a_7, a_j·a_k for j ≤ k among jaw_open, lip_aperture, mouth_width,
 *           lip_protrusion]                                   (18 features)
 *   x̂(a) = μ + ((φ(a) − φ̄) / σ_φ) · W                        W: [18, 3K]
 *
 * μ and φ̄ are the training means, σ_φ the feature spreads (a constant feature gets
 * weight 0); [μ; W] is the ridge solution with an unpenalised intercept,
 * W = (ZᵀZ + λ·n·I)⁻¹ Zᵀ (X − μ), λ chosen from a small grid by 5-fold blocked
 * cross-validation (blocks of 50 frames) on the mean lower-face vertex error, then
 * refit on all training frames. Since version 2 the channels face.track derives
 * from the others (bilabial_closure, teeth_visible, tongue_visible) and the
 * products get weight 0 (the map is linear in the 5 measured channels: the
 * products extrapolated badly, see {@link fitMouthMap}), driving values are clamped
 * to the training frames' range per channel, and the
 * prediction is moved so the mesh measures the driving jaw_open and lip_aperture
 * ({@link MouthMapHonour}). A PCA basis is
 * not needed: the prediction already lies in the ≤ 18-dimensional span of W's rows.
 *
 * Driving ({@link driveExpression}): out_i = (1 − w_i)·footage_i + w_i·x̂_i. Because
 * w is a C² function of the rest position, the blended displacement field has no
 * kink (crease) at the boundary of the region; the upper face (pose, blinks, brows,
 * nose) is the footage's own.
 *
 * Stored (by the speaker model, {@link mouthMapToTensors}): `mouth_map.weights` F32
 * [468], `mouth_map.region` I32 [K], `mouth_map.mean` F32 [K, 3], `mouth_map.ridge`
 * F32 [18, K, 3], `mouth_map.feature_mean` F32 [18], `mouth_map.feature_scale` F32
 * [18], `mouth_map.info` F64 [4] = (version, λ, training frames, training RMS error cm);
 * version 2 adds `mouth_map.range` F32 [2, 8] (per-channel training min, max),
 * `mouth_map.neutral` F32 [2] (neutral chin drop, lip gap cm), `mouth_map.directions`
 * F32 [2, K, 3] and `mouth_map.anchors` F32 [4, 3] ({@link MouthMapHonour}).
 *
 * @module
 */
import { ARTICULATION_DIM, channelIndex } from "../articulation/mod.ts";
import { BILABIAL_JAW_RAMP } from "../articulation/measure.ts";
import type { Tensor } from "../tensor/safetensors.ts";

/** Bump when the stored layout or the feature definition changes. */
export const MOUTH_MAP_VERSION = 2; // 2: + honour (mouth_map.neutral, .directions, .anchors)
const VERTS = 468;

/** Canonical height (cm) at and above which the footage's face is kept (w = 0): under the nose base (y −2.09). */
export const BLEND_TOP_Y_CM = -1.6;
/** Canonical height (cm) at and below which the map alone drives the face (w = 1): the upper lip's outer midline (y −3.41). */
export const BLEND_BOTTOM_Y_CM = -3.4;

/** Channels whose pairwise products are features (the ones that interact in the mesh). */
const QUAD_CHANNELS = ["jaw_open", "lip_aperture", "mouth_width", "lip_protrusion"].map(
  channelIndex,
);
/** Features (channel indices) that face.track computes from other channels. */
const DERIVED_FEATURES = ["bilabial_closure", "teeth_visible", "tongue_visible"].map(channelIndex);
/** Number of features φ(a). */
export const MOUTH_MAP_FEATURES = ARTICULATION_DIM + (QUAD_CHANNELS.length *
      (QUAD_CHANNELS.length + 1)) / 2;

/** A fitted mouth map. */
export interface MouthMap {
  weights: Float32Array; // [468] blend weight: 0 footage … 1 map
  region: Int32Array; // [K] vertex indices with weight > 0, ascending
  mean: Float32Array; // [K*3] cm, mean lower-face expression offsets
  ridge: Float32Array; // [F, K*3] standardised features → offsets, cm
  featureMean: Float32Array; // [F]
  featureScale: Float32Array; // [F] 1/σ, 0 for a constant feature
  lambda: number;
  trainFrames: number;
  /** RMS per-vertex error on the training frames, cm (weighted by w). */
  trainRmsCm: number;
  /**
   * [2*8] per channel, the lowest then the highest value in the training frames:
   * driving values are clamped to it before the features are formed, so the ridge
   * map does not extrapolate (version ≥ 2; null in version-1 maps).
   */
  channelRange: Float32Array | null;
  /** What makes the driven mesh measure as the articulation it is driven by (version ≥ 2; null in version-1 maps). */
  honour: MouthMapHonour | null;
}

/**
 * The geometry behind jaw_open and lip_aperture (`src/articulation/measure.ts`):
 * jaw_open = (chin–nose-base distance − neutral) / 2.5 cm, lip_aperture = (inner
 * lip gap − neutral) / 2 cm. The ridge prediction is a conditional mean over the
 * footage, where the two channels move together (r ≈ 0.96 on cap12), so it shrinks
 * and mixes them when the driving track pairs them differently (the Spanish demo
 * line: the chin moved ≈ 0.65 × as far as jaw_open says; r 0.93 on the mesh).
 * {@link driveExpression} then moves the lower face along two directions fitted on
 * the footage — offsets per cm of chin drop at a fixed lip gap, and per cm of lip
 * gap at a fixed chin drop — until the mesh measures the driving values.
 */
export interface MouthMapHonour {
  /** The speaker's neutral chin–nose-base distance and inner-lip gap, cm (the track's own). */
  neutralChinDropCm: number;
  neutralLipGapCm: number;
  /** [2, K*3] cm of region offset per cm of chin drop (row 0) and of lip gap (row 1). */
  directions: Float32Array;
  /** [4*3] canonical positions (cm) of the chin (152), nose base (2), inner lips (13, 14). */
  anchors: Float32Array;
}

/** Training data: rows of a face-track file (T frames). */
export interface MouthMapData {
  expression: Float32Array; // [T*468*3] cm
  articulation: Float32Array; // [T*8]
  found: Uint8Array; // [T]
}

export interface FitMouthMapOptions {
  /** Use only these frame indices (default: every frame with found = 1 and finite rows). */
  frames?: readonly number[];
  /** Ridge strengths tried (relative to the frame count); default a log grid 1e-7 … 1e-1. */
  lambdas?: readonly number[];
  /** Fixed ridge strength (skips the grid search). */
  lambda?: number;
  /** Canonical vertex positions [468*3] cm, for the blend weights (default: required). */
  canonical: Float32Array;
  /**
   * Version-1 features: also the derived channels and the channel products, no
   * range clamp, no honour step (for comparisons).
   */
  keepDerived?: boolean;
}

const smootherstep = (t: number) => {
  const x = Math.min(1, Math.max(0, t));
  return x * x * x * (x * (6 * x - 15) + 10);
};

/** Blend weights [468] from canonical vertices [468*3] (cm). */
export function blendWeights(canonical: Float32Array): Float32Array {
  if (canonical.length !== VERTS * 3) {
    throw new RangeError(
      `blendWeights(): expected 468×3 canonical coordinates, got ${canonical.length}`,
    );
  }
  const w = new Float32Array(VERTS);
  for (let i = 0; i < VERTS; i++) {
    w[i] = smootherstep(
      (BLEND_TOP_Y_CM - canonical[i * 3 + 1]!) / (BLEND_TOP_Y_CM - BLEND_BOTTOM_Y_CM),
    );
  }
  return w;
}

/** The feature vector φ(a) [F] of one articulation row. */
export function mouthFeatures(
  a: ArrayLike<number>,
  out: Float64Array = new Float64Array(MOUTH_MAP_FEATURES),
): Float64Array {
  let k = 0;
  for (let c = 0; c < ARTICULATION_DIM; c++) out[k++] = finiteOr0(a[c]);
  for (let j = 0; j < QUAD_CHANNELS.length; j++) {
    for (let l = j; l < QUAD_CHANNELS.length; l++) {
      out[k++] = finiteOr0(a[QUAD_CHANNELS[j]!]) * finiteOr0(a[QUAD_CHANNELS[l]!]);
    }
  }
  return out;
}

const finiteOr0 = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : 0);

/** Frames with found = 1 whose articulation and expression rows are finite. */
export function usableFrames(d: MouthMapData): number[] {
  const T = d.found.length;
  if (d.expression.length !== T * VERTS * 3 || d.articulation.length !== T * ARTICULATION_DIM) {
    throw new RangeError(
      `Mouth map data: expected expression [${T}, 468, 3] and articulation [${T}, ${ARTICULATION_DIM}], got ${d.expression.length} and ${d.articulation.length} values`,
    );
  }
  const out: number[] = [];
  for (let t = 0; t < T; t++) {
    if (!d.found[t]) continue;
    let ok = true;
    for (let c = 0; c < ARTICULATION_DIM && ok; c++) {
      ok = Number.isFinite(d.articulation[t * ARTICULATION_DIM + c]!);
    }
    if (ok && !Number.isFinite(d.expression[t * VERTS * 3]!)) ok = false;
    if (ok) out.push(t);
  }
  return out;
}

/** Fit the speaker's mouth map (see the module doc). Throws with fewer than 20 usable frames. */
export function fitMouthMap(d: MouthMapData, opts: FitMouthMapOptions): MouthMap {
  const frames = opts.frames ? [...opts.frames] : usableFrames(d);
  if (frames.length < 20) {
    throw new RangeError(
      `Cannot fit the mouth map: ${frames.length} usable tracked frames, need at least 20; track more footage with a visible face`,
    );
  }
  const weights = blendWeights(opts.canonical);
  const region: number[] = [];
  for (let i = 0; i < VERTS; i++) if (weights[i]! > 0) region.push(i);
  const regionArr = Int32Array.from(region);
  const F = MOUTH_MAP_FEATURES;

  // Feature standardisation on all training frames.
  const featureMean = new Float64Array(F);
  const featureVar = new Float64Array(F);
  const phi = new Float64Array(F);
  for (const t of frames) {
    mouthFeatures(d.articulation.subarray(t * ARTICULATION_DIM, (t + 1) * ARTICULATION_DIM), phi);
    for (let f = 0; f < F; f++) featureMean[f]! += phi[f]!;
  }
  for (let f = 0; f < F; f++) featureMean[f]! /= frames.length;
  for (const t of frames) {
    mouthFeatures(d.articulation.subarray(t * ARTICULATION_DIM, (t + 1) * ARTICULATION_DIM), phi);
    for (let f = 0; f < F; f++) featureVar[f]! += (phi[f]! - featureMean[f]!) ** 2;
  }
  const featureScale = new Float32Array(F);
  for (let f = 0; f < F; f++) {
    const sd = Math.sqrt(featureVar[f]! / frames.length);
    featureScale[f] = sd > 1e-6 ? 1 / sd : 0;
  }
  // Channels that face.track derives from the others (bilabial_closure from the lip
  // gap and jaw, teeth_visible from the gap and width, tongue_visible always 0) carry
  // no information of their own in the footage, so their ridge weights are arbitrary;
  // the audio prior drives them independently, and those weights then moved the chin
  // (cap12 demo: the plain map's chin 0.5–1.9 cm off the driving jaw_open). They get
  // weight 0 (feature scale 0, like a constant feature).
  //
  // The products of channels too: on the footage jaw_open and lip_aperture move
  // together (r 0.96 on cap12), so the product terms are pinned down only along that
  // line; off it, where the audio prior pairs them differently, they moved the
  // lips 2.5× as far as the speaker ever does (cap12 demo, outer lower lip: s.d.
  // 1.18 cm driven vs 0.47 cm in the footage). The linear map moves them 0.45 cm
  // (with the honour step), at a held-out error of 0.66 mm instead of 0.51 mm on
  // the footage's own frames.
  if (!opts.keepDerived) {
    for (const f of DERIVED_FEATURES) featureScale[f] = 0;
    for (let f = ARTICULATION_DIM; f < F; f++) featureScale[f] = 0;
  }
  const fm = Float32Array.from(featureMean);

  // Sufficient statistics per cross-validation fold: blocks of 50 frames dealt to 5
  // folds in turn (contiguous blocks, so neighbouring, correlated frames stay together).
  const folds = 5;
  const stats = Array.from({ length: folds }, () => newStats(F, regionArr.length * 3));
  const foldOf = frames.map((_, j) => Math.floor(j / 50) % folds);
  frames.forEach((t, j) => accumulate(stats[foldOf[j]!]!, d, t, regionArr, fm, featureScale));
  const total = newStats(F, regionArr.length * 3);
  for (const st of stats) addStats(total, st);

  let lambda = opts.lambda;
  if (lambda === undefined) {
    const grid = opts.lambdas ?? [1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1];
    let best = Infinity;
    for (const l of grid) {
      let err = 0;
      for (let f = 0; f < folds; f++) {
        const train = newStats(F, regionArr.length * 3);
        for (let g = 0; g < folds; g++) if (g !== f) addStats(train, stats[g]!);
        const val = frames.filter((_, j) => foldOf[j] === f);
        if (val.length === 0 || train.n === 0) continue;
        const m = solve(train, regionArr, weights, fm, featureScale, l);
        err += mouthMapError(m, d, val).mapMm * val.length;
      }
      if (err < best) {
        best = err;
        lambda = l;
      }
    }
  }
  const map = solve(total, regionArr, weights, fm, featureScale, lambda!);
  map.trainRmsCm = rmsError(map, d, frames);
  if (!opts.keepDerived) {
    map.channelRange = channelRangeOf(d, frames);
    map.honour = fitHonour(d, frames, regionArr, opts.canonical);
  }
  return map;
}

/** [2*8]: per channel the lowest, then the highest value over `frames`. */
function channelRangeOf(d: MouthMapData, frames: readonly number[]): Float32Array {
  const C = ARTICULATION_DIM;
  const r = new Float32Array(2 * C);
  r.fill(Infinity, 0, C);
  r.fill(-Infinity, C);
  for (const t of frames) {
    for (let c = 0; c < C; c++) {
      const v = d.articulation[t * C + c]!;
      r[c] = Math.min(r[c]!, v);
      r[C + c] = Math.max(r[C + c]!, v);
    }
  }
  return r;
}

/** Anchor vertices of {@link MouthMapHonour}: chin, nose base, inner upper and lower lip. */
const ANCHORS = [152, 2, 13, 14] as const;
const JAW = channelIndex("jaw_open"), APERTURE = channelIndex("lip_aperture");
const BILABIAL = channelIndex("bilabial_closure");
/** cm of chin drop per unit jaw_open and of lip gap per unit lip_aperture (measure.ts). */
const JAW_CM = 2.5, APERTURE_CM = 2.0;

/** (chin drop, lip gap) in cm of canonical anchors [12] + anchor offsets. */
function anchorGeometry(anchors: Float32Array, off: ArrayLike<number>): [number, number] {
  const p = (a: number, c: number) => anchors[a * 3 + c]! + off[a * 3 + c]!;
  const d = (a: number, b: number) =>
    Math.hypot(p(a, 0) - p(b, 0), p(a, 1) - p(b, 1), p(a, 2) - p(b, 2));
  return [d(0, 1), d(2, 3)];
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
}

function fitHonour(
  d: MouthMapData,
  frames: readonly number[],
  region: Int32Array,
  canonical: Float32Array,
): MouthMapHonour | null {
  const anchors = new Float32Array(12);
  ANCHORS.forEach((v, a) => anchors.set(canonical.subarray(v * 3, v * 3 + 3), a * 3));
  const off = new Float32Array(12);
  const chin: number[] = [], gap: number[] = [];
  for (const t of frames) {
    ANCHORS.forEach((v, a) =>
      off.set(d.expression.subarray((t * VERTS + v) * 3, (t * VERTS + v) * 3 + 3), a * 3)
    );
    const [c, g] = anchorGeometry(anchors, off);
    chin.push(c), gap.push(g);
  }
  // The track measured its articulation against its own neutral: recover it from
  // the frames that are not clamped (0 < channel < 1).
  const neutralOf = (meas: number[], ch: number, cm: number) => {
    const r: number[] = [];
    frames.forEach((t, j) => {
      const a = d.articulation[t * ARTICULATION_DIM + ch]!;
      if (a > 0.02 && a < 0.98) r.push(meas[j]! - cm * a);
    });
    return r.length >= 10 ? median(r) : NaN;
  };
  const neutralChinDropCm = neutralOf(chin, JAW, JAW_CM);
  const neutralLipGapCm = neutralOf(gap, APERTURE, APERTURE_CM);
  if (!Number.isFinite(neutralChinDropCm) || !Number.isFinite(neutralLipGapCm)) return null;
  // Least squares of the region offsets on the centred (chin drop, lip gap), with a
  // small ridge (1e-3 of the variances) for the two's near-collinearity.
  const n = frames.length;
  const mc = chin.reduce((s, x) => s + x, 0) / n, mg = gap.reduce((s, x) => s + x, 0) / n;
  let scc = 0, sgg = 0, scg = 0;
  for (let j = 0; j < n; j++) {
    const c = chin[j]! - mc, g = gap[j]! - mg;
    scc += c * c, sgg += g * g, scg += c * g;
  }
  scc *= 1.001, sgg *= 1.001;
  const det = scc * sgg - scg * scg;
  if (!(det > 1e-12)) return null;
  const K3 = region.length * 3;
  const sxc = new Float64Array(K3), sxg = new Float64Array(K3);
  frames.forEach((t, j) => {
    const c = chin[j]! - mc, g = gap[j]! - mg;
    for (let k = 0; k < region.length; k++) {
      const v = (t * VERTS + region[k]!) * 3;
      for (let q = 0; q < 3; q++) {
        const x = d.expression[v + q]!;
        sxc[k * 3 + q]! += x * c;
        sxg[k * 3 + q]! += x * g;
      }
    }
  });
  const directions = new Float32Array(2 * K3);
  for (let j = 0; j < K3; j++) {
    directions[j] = (sgg * sxc[j]! - scg * sxg[j]!) / det;
    directions[K3 + j] = (scc * sxg[j]! - scg * sxc[j]!) / det;
  }
  return {
    neutralChinDropCm: Math.fround(neutralChinDropCm),
    neutralLipGapCm: Math.fround(neutralLipGapCm),
    directions,
    anchors,
  };
}

/** Normal-equation sums over frames with the augmented features z̃ = [1, z]. */
interface Stats {
  n: number;
  G: Float64Array; // [F+1, F+1] Σ z̃ z̃ᵀ
  H: Float64Array; // [F+1, K3] Σ z̃ xᵀ
}

function newStats(F: number, K3: number): Stats {
  return { n: 0, G: new Float64Array((F + 1) * (F + 1)), H: new Float64Array((F + 1) * K3) };
}

function addStats(into: Stats, s: Stats): void {
  into.n += s.n;
  for (let i = 0; i < s.G.length; i++) into.G[i]! += s.G[i]!;
  for (let i = 0; i < s.H.length; i++) into.H[i]! += s.H[i]!;
}

function accumulate(
  st: Stats,
  d: MouthMapData,
  t: number,
  region: Int32Array,
  featureMean: Float32Array,
  featureScale: Float32Array,
): void {
  const F1 = MOUTH_MAP_FEATURES + 1;
  const K3 = region.length * 3;
  const z = new Float64Array(F1);
  z[0] = 1;
  standardised(
    d.articulation.subarray(t * ARTICULATION_DIM),
    featureMean,
    featureScale,
    z.subarray(1),
  );
  for (let i = 0; i < F1; i++) {
    const zi = z[i]!;
    if (zi === 0) continue;
    for (let j = 0; j < F1; j++) st.G[i * F1 + j]! += zi * z[j]!;
  }
  const base = t * VERTS * 3;
  for (let k = 0; k < region.length; k++) {
    const v = base + region[k]! * 3;
    for (let c = 0; c < 3; c++) {
      const x = d.expression[v + c]!;
      for (let i = 0; i < F1; i++) st.H[i * K3 + k * 3 + c]! += z[i]! * x;
    }
  }
  st.n++;
}

/** Ridge solution from sums: the intercept (row 0) is not penalised. */
function solve(
  st: Stats,
  region: Int32Array,
  weights: Float32Array,
  featureMean: Float32Array,
  featureScale: Float32Array,
  lambda: number,
): MouthMap {
  const F = MOUTH_MAP_FEATURES;
  const F1 = F + 1;
  const K3 = region.length * 3;
  const A = Float64Array.from(st.G);
  // A constant feature (scale 0) has an all-zero row; the +1 keeps A invertible.
  for (let i = 1; i < F1; i++) {
    A[i * F1 + i]! += lambda * st.n + (featureScale[i - 1] === 0 ? 1 : 0);
  }
  const W = choleskySolve(A, st.H, F1, K3);
  return {
    weights,
    region,
    mean: Float32Array.from(W.subarray(0, K3)),
    ridge: Float32Array.from(W.subarray(K3)),
    featureMean,
    featureScale,
    lambda,
    trainFrames: st.n,
    trainRmsCm: NaN,
    channelRange: null,
    honour: null,
  };
}

function standardised(
  a: ArrayLike<number>,
  featureMean: Float32Array,
  featureScale: Float32Array,
  out: Float64Array,
): Float64Array {
  mouthFeatures(a, out);
  for (let f = 0; f < out.length; f++) out[f] = (out[f]! - featureMean[f]!) * featureScale[f]!;
  return out;
}

/** Solve A X = B for symmetric positive definite A [n, n]; B [n, m]; returns X [n, m]. */
function choleskySolve(A: Float64Array, B: Float64Array, n: number, m: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j]!;
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      if (i === j) {
        if (!(s > 0)) throw new RangeError("Mouth map: normal equations are not positive definite");
        L[i * n + i] = Math.sqrt(s);
      } else L[i * n + j] = s / L[j * n + j]!;
    }
  }
  const X = Float64Array.from(B);
  for (let c = 0; c < m; c++) {
    for (let i = 0; i < n; i++) {
      let s = X[i * m + c]!;
      for (let k = 0; k < i; k++) s -= L[i * n + k]! * X[k * m + c]!;
      X[i * m + c] = s / L[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = X[i * m + c]!;
      for (let k = i + 1; k < n; k++) s -= L[k * n + i]! * X[k * m + c]!;
      X[i * m + c] = s / L[i * n + i]!;
    }
  }
  return X;
}

/** The map's lower-face prediction [K*3] (cm) for one articulation row [8]. */
export function predictLowerFace(
  m: MouthMap,
  articulation: ArrayLike<number>,
  out = new Float32Array(m.region.length * 3),
): Float32Array {
  const F = MOUTH_MAP_FEATURES;
  const K3 = m.region.length * 3;
  let a = articulation;
  if (m.channelRange) {
    const r = m.channelRange, C = ARTICULATION_DIM;
    a = Array.from({ length: C }, (_, c) => Math.min(r[C + c]!, Math.max(r[c]!, finiteOr0(a[c]))));
  }
  const z = standardised(a, m.featureMean, m.featureScale, new Float64Array(F));
  out.set(m.mean);
  for (let f = 0; f < F; f++) {
    const zf = z[f]!;
    if (zf === 0) continue;
    const row = f * K3;
    for (let j = 0; j < K3; j++) out[j]! += zf * m.ridge[row + j]!;
  }
  return out;
}

/**
 * The expression [468*3] (cm) of a driven frame: the footage's own expression
 * (upper face: brows, blinks, nose) with the lower face from `articulation` [8]
 * through the map, blended by the smooth weights (no crease).
 */
export function driveExpression(
  m: MouthMap,
  footageExpression: Float32Array,
  articulation: ArrayLike<number>,
): Float32Array {
  if (footageExpression.length !== VERTS * 3) {
    throw new RangeError(
      `driveExpression(): expected a [468, 3] expression, got ${footageExpression.length} values`,
    );
  }
  const out = Float32Array.from(footageExpression);
  const lower = predictLowerFace(m, articulation);
  if (m.honour) honourArticulation(m, m.honour, footageExpression, lower, articulation);
  for (let k = 0; k < m.region.length; k++) {
    const i = m.region[k]!;
    const w = m.weights[i]!;
    for (let c = 0; c < 3; c++) {
      out[i * 3 + c] = (1 - w) * footageExpression[i * 3 + c]! + w * lower[k * 3 + c]!;
    }
  }
  return out;
}

/**
 * Moves the predicted lower face `lower` [K*3] (in place) along the honour
 * directions so that the blended mesh measures the driving jaw_open and
 * lip_aperture (see {@link MouthMapHonour}). A channel at 0 only bounds its
 * distance from above (the measure clamps at the neutral). Two rounds of up to 3
 * Newton steps on the chin drop along its direction, then on the lip gap along its
 * own; each move is capped at {@link MAX_HONOUR_CM}.
 */
function honourArticulation(
  m: MouthMap,
  h: MouthMapHonour,
  footage: Float32Array,
  lower: Float32Array,
  a: ArrayLike<number>,
): void {
  const K3 = m.region.length * 3;
  // Where the anchors sit in the region (-1: outside, e.g. the nose base).
  const slot = ANCHORS.map((v) => m.region.indexOf(v));
  const off = new Float32Array(12);
  const measure = (dc: number, dg: number): [number, number] => {
    ANCHORS.forEach((v, j) => {
      const k = slot[j]!;
      for (let c = 0; c < 3; c++) {
        if (k < 0) off[j * 3 + c] = footage[v * 3 + c]!;
        else {
          const x = lower[k * 3 + c]! + dc * h.directions[k * 3 + c]! +
            dg * h.directions[K3 + k * 3 + c]!;
          const w = m.weights[v]!;
          off[j * 3 + c] = (1 - w) * footage[v * 3 + c]! + w * x;
        }
      }
    });
    return anchorGeometry(h.anchors, off);
  };
  const want = (now: number, neutral: number, value: number, cm: number) =>
    value > 0 ? neutral + cm * Math.min(1, value) : Math.min(now, neutral);
  let jaw = finiteOr0(a[JAW]), ap = finiteOr0(a[APERTURE]);
  // A driven bilabial closure b ≥ 0.5 (p, b, m) wins over the jaw and aperture it
  // comes with: the lips at their neutral gap, and the jaw no more open than lets
  // the mesh measure a closure of (1 + b) / 2 (bilabial_closure is gated by the jaw,
  // measure.ts). The prior emits e.g. b = 1 with jaw_open 0.22, which no face
  // measures as closed (cap12 demo: 2 of 26 driven closures came out open).
  const bil = finiteOr0(a[BILABIAL]);
  if (bil >= 0.5) {
    const [j0, j1] = BILABIAL_JAW_RAMP;
    jaw = Math.min(jaw, j0 + (j1 - j0) * (1 - (1 + Math.min(1, bil)) / 2));
    ap = 0;
  }
  const e = 0.01;
  let dc = 0, dg = 0;
  // The chin first (its distance to the nose base is ≈ linear along its direction:
  // slope 0.7–0.8 on cap12), then the lip gap (the 3-D gap is not smooth where the
  // lips meet: a step that would need a slope under 0.2 is not taken).
  for (let round = 0; round < 2; round++) {
    for (let it = 0; it < 3; it++) {
      const c0 = measure(dc, dg)[0];
      const err = want(c0, h.neutralChinDropCm, jaw, JAW_CM) - c0;
      const slope = (measure(dc + e, dg)[0] - c0) / e;
      if (Math.abs(err) < 1e-4 || !(slope > 0.2)) break;
      dc = Math.max(-MAX_HONOUR_CM, Math.min(MAX_HONOUR_CM, dc + err / slope));
    }
    for (let it = 0; it < 3; it++) {
      const g0 = measure(dc, dg)[1];
      const err = want(g0, h.neutralLipGapCm, ap, APERTURE_CM) - g0;
      const slope = (measure(dc, dg + e)[1] - g0) / e;
      if (Math.abs(err) < 1e-4 || !(slope > 0.2)) break;
      dg = Math.max(-MAX_HONOUR_CM, Math.min(MAX_HONOUR_CM, dg + err / slope));
    }
  }
  for (let j = 0; j < K3; j++) {
    lower[j]! += dc * h.directions[j]! + dg * h.directions[K3 + j]!;
  }
}
/** Largest move along a honour direction, cm. */
const MAX_HONOUR_CM = 1.5;

/** RMS over frames and region vertices (weighted by w) of the per-vertex error, cm. */
function rmsError(m: MouthMap, d: MouthMapData, frames: readonly number[]): number {
  return mouthMapError(m, d, frames).mapRmsCm;
}

/** Held-out errors of the map and of the "no map" baseline (the training mean lower face). */
export interface MouthMapError {
  frames: number;
  /** Mean per-vertex Euclidean error over the lower face (w ≥ 0.5), mm. */
  mapMm: number;
  baselineMm: number;
  /** The same over the lip vertices only (inner and outer lip contours), mm. */
  lipsMapMm: number;
  lipsBaselineMm: number;
  /** Weighted RMS over the whole region, cm (used to pick λ). */
  mapRmsCm: number;
}

/** MediaPipe lip contour vertices (outer and inner rings). */
export const LIP_VERTICES: readonly number[] = [
  61,
  185,
  40,
  39,
  37,
  0,
  267,
  269,
  270,
  409,
  291,
  375,
  321,
  405,
  314,
  17,
  84,
  181,
  91,
  146,
  78,
  191,
  80,
  81,
  82,
  13,
  312,
  311,
  310,
  415,
  308,
  324,
  318,
  402,
  317,
  14,
  87,
  178,
  88,
  95,
];

/** Errors of `m` and of the constant-mean baseline on `frames` of `d`. */
export function mouthMapError(
  m: MouthMap,
  d: MouthMapData,
  frames: readonly number[] = usableFrames(d),
): MouthMapError {
  const lips = new Set(LIP_VERTICES);
  const pred = new Float32Array(m.region.length * 3);
  let sum = 0, base = 0, cnt = 0, lsum = 0, lbase = 0, lcnt = 0, wsq = 0, wsum = 0;
  for (const t of frames) {
    predictLowerFace(m, d.articulation.subarray(t * ARTICULATION_DIM), pred);
    const off = t * VERTS * 3;
    for (let k = 0; k < m.region.length; k++) {
      const i = m.region[k]!;
      const w = m.weights[i]!;
      let e2 = 0, b2 = 0;
      for (let c = 0; c < 3; c++) {
        const x = d.expression[off + i * 3 + c]!;
        e2 += (pred[k * 3 + c]! - x) ** 2;
        b2 += (m.mean[k * 3 + c]! - x) ** 2;
      }
      wsq += w * e2;
      wsum += w;
      if (w >= 0.5) {
        sum += Math.sqrt(e2);
        base += Math.sqrt(b2);
        cnt++;
      }
      if (lips.has(i)) {
        lsum += Math.sqrt(e2);
        lbase += Math.sqrt(b2);
        lcnt++;
      }
    }
  }
  return {
    frames: frames.length,
    mapMm: (10 * sum) / cnt,
    baselineMm: (10 * base) / cnt,
    lipsMapMm: (10 * lsum) / lcnt,
    lipsBaselineMm: (10 * lbase) / lcnt,
    mapRmsCm: Math.sqrt(wsq / wsum),
  };
}

/** The map as named tensors (stored inside the speaker model file). */
export function mouthMapToTensors(m: MouthMap): Record<string, Tensor> {
  const K = m.region.length;
  const F = MOUTH_MAP_FEATURES;
  return {
    "mouth_map.weights": { dtype: "F32", shape: [VERTS], data: m.weights },
    "mouth_map.region": { dtype: "I32", shape: [K], data: m.region },
    "mouth_map.mean": { dtype: "F32", shape: [K, 3], data: m.mean },
    "mouth_map.ridge": { dtype: "F32", shape: [F, K, 3], data: m.ridge },
    "mouth_map.feature_mean": { dtype: "F32", shape: [F], data: m.featureMean },
    "mouth_map.feature_scale": { dtype: "F32", shape: [F], data: m.featureScale },
    "mouth_map.info": {
      dtype: "F64",
      shape: [4],
      data: Float64Array.of(
        m.honour ? MOUTH_MAP_VERSION : 1,
        m.lambda,
        m.trainFrames,
        m.trainRmsCm,
      ),
    },
    ...(m.honour
      ? {
        "mouth_map.neutral": {
          dtype: "F32",
          shape: [2],
          data: Float32Array.of(m.honour.neutralChinDropCm, m.honour.neutralLipGapCm),
        },
        "mouth_map.directions": { dtype: "F32", shape: [2, K, 3], data: m.honour.directions },
        "mouth_map.anchors": { dtype: "F32", shape: [4, 3], data: m.honour.anchors },
      }
      : {}),
    ...(m.channelRange
      ? {
        "mouth_map.range": { dtype: "F32", shape: [2, ARTICULATION_DIM], data: m.channelRange },
      }
      : {}),
  };
}

/** Read a map back from tensors; `file` names the file in errors. */
export function mouthMapFromTensors(t: Record<string, Tensor>, file: string): MouthMap {
  const bad = (what: string): never => {
    throw new Error(
      `Cannot read "${file}": mouth map ${what}; re-run speaker.adapt to rebuild the speaker model`,
    );
  };
  const get = (name: string, dtype: Tensor["dtype"], shape: number[]) => {
    const x = t[`mouth_map.${name}`];
    if (!x) return bad(`tensor "mouth_map.${name}" is missing`);
    if (x.dtype !== dtype) {
      return bad(`tensor "mouth_map.${name}" is ${x.dtype}, expected ${dtype}`);
    }
    const ok = x.shape.length === shape.length &&
      x.shape.every((s, i) => shape[i]! < 0 || s === shape[i]);
    if (!ok) {
      return bad(
        `tensor "mouth_map.${name}" has shape [${x.shape}], expected [${
          shape.map((s) => (s < 0 ? "K" : s))
        }]`,
      );
    }
    return x;
  };
  const info = get("info", "F64", [4]).data as Float64Array;
  if (info[0] !== 1 && info[0] !== MOUTH_MAP_VERSION) {
    bad(`version ${info[0]}, expected 1 … ${MOUTH_MAP_VERSION}`);
  }
  const F = MOUTH_MAP_FEATURES;
  const region = get("region", "I32", [-1]).data as Int32Array;
  const K = region.length;
  if (K === 0 || region.some((i) => i < 0 || i >= VERTS)) bad("region indices out of range");
  const m: MouthMap = {
    weights: get("weights", "F32", [VERTS]).data as Float32Array,
    region,
    mean: get("mean", "F32", [K, 3]).data as Float32Array,
    ridge: get("ridge", "F32", [F, K, 3]).data as Float32Array,
    featureMean: get("feature_mean", "F32", [F]).data as Float32Array,
    featureScale: get("feature_scale", "F32", [F]).data as Float32Array,
    lambda: info[1]!,
    trainFrames: info[2]!,
    trainRmsCm: info[3]!,
    channelRange: null,
    honour: null,
  };
  if (info[0]! >= 2) {
    m.channelRange = get("range", "F32", [2, ARTICULATION_DIM]).data as Float32Array;
    const nb = get("neutral", "F32", [2]).data as Float32Array;
    m.honour = {
      neutralChinDropCm: nb[0]!,
      neutralLipGapCm: nb[1]!,
      directions: get("directions", "F32", [2, K, 3]).data as Float32Array,
      anchors: get("anchors", "F32", [4, 3]).data as Float32Array,
    };
    if (
      [...nb, ...m.honour.directions, ...m.honour.anchors, ...m.channelRange].some((v) =>
        !Number.isFinite(v)
      )
    ) bad(`honour tensors hold non-finite values`);
  }
  for (const [name, a] of Object.entries({ mean: m.mean, ridge: m.ridge, weights: m.weights })) {
    if (a.some((v) => !Number.isFinite(v))) {
      bad(`tensor "mouth_map.${name}" holds non-finite values`);
    }
  }
  return m;
}
