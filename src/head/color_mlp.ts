/**
 * The colour MLP (GGTalker's motion-aligned texture): a small network that maps
 * each Gaussian's learned feature, the frame's condition (articulation [8] + jaw
 * code) and the view direction to the RGB the splatter's `rgb` colour mode takes,
 * so texture can follow motion (teeth appearing, lip shading, creases).
 *
 * Network and weight layout: see `_color_mlp_layout.ts`. The first three feature
 * channels are a colour logit added to the network's output (a skip connection)
 * and the last layer starts at zero, so a fresh MLP renders exactly the static
 * colours it was initialised from ({@link initColorMlp}) and only learns the
 * motion-dependent part on top.
 *
 * Two implementations with the same methods ({@link ColorMlp}): {@link CpuColorMlp}
 * (this file, TypeScript, f32 storage, f64 arithmetic; also the float64 reference
 * functions the finite-difference tests use) and `WebGpuColorMlp`
 * (`_color_mlp_webgpu.ts`, WGSL passes on the splatter's device, able to write
 * straight into the splatter's parameter buffer). {@link createColorMlp} picks the
 * one matching a splat backend.
 *
 * ```ts
 * const state = initColorMlp({ count: scene.count, colors: scene.colors, seed: 1 });
 * using mlp = await createColorMlp(splat, state);
 * scene.colors = await mlp.forward(colorCondition(articulation, jawCode), viewDir);
 * const { grads } = await splat.renderBackward(scene, camera, upstream);
 * await mlp.backward(grads.colors);
 * await mlp.step({ weights: 1e-3, features: 5e-3 });
 * ```
 *
 * @module
 */
import type { Tensor } from "../tensor/safetensors.ts";
import type { SplatBackend } from "../splat/types.ts";
import { normalSampler, seededRandom } from "../splat/scene.ts";
import { type DensifyPlan, gatherRows } from "../splat/densify.ts";
import { type ColorMlpConfig, type WeightLayout, weightLayout } from "./_color_mlp_layout.ts";

export type { ColorMlpConfig } from "./_color_mlp_layout.ts";
export { weightLayout } from "./_color_mlp_layout.ts";

/** Floats of the jaw code appended to the articulation: axis-angle [3] + translation [3] (cm). */
export const JAW_CODE_DIM = 6;
/** Articulation channels (`src/articulation/mod.ts`). */
export const ARTICULATION_DIM = 8;

/** Default shape: F = 8, C = 8 + 6, H = 32 (≈1.7k weights). */
export const DEFAULT_COLOR_MLP: Readonly<ColorMlpConfig> = {
  featureDim: 8,
  condDim: ARTICULATION_DIM + JAW_CODE_DIM,
  hidden: 32,
};

/** Adam state of one parameter group. */
export interface AdamMoments {
  m: Float32Array;
  v: Float32Array;
}

/** Everything that defines a colour MLP (and optionally its optimiser), host-side. */
export interface ColorMlpState {
  config: ColorMlpConfig;
  /** Number of Gaussians N. */
  count: number;
  weights: Float32Array; // [P] flat, see weightLayout()
  features: Float32Array; // [N, F]
  /** Optimiser state (checkpoints); absent = fresh. */
  adam?: { step: number; weights: AdamMoments; features: AdamMoments };
}

/** Learning rates of one Adam step. */
export interface ColorMlpLr {
  weights: number;
  features: number;
}

/** The operations both backends provide, with the same names and signatures. */
export interface ColorMlp extends Disposable {
  readonly backend: "cpu" | "webgpu";
  readonly config: ColorMlpConfig;
  /** N, the number of Gaussians (changes with {@link ColorMlp.remap}). */
  readonly count: number;
  /**
   * RGB of every Gaussian for one frame: cond [C], viewDirs [N, 3] (per Gaussian,
   * unit, in whatever frame the model is trained in) or [3] (one direction for all,
   * e.g. an orthographic camera's axis in head space). Returns rgb [N, 3] in (0, 1).
   * Remembers its inputs for {@link ColorMlp.backward}.
   */
  forward(cond: Float32Array, viewDirs: Float32Array): Promise<Float32Array>;
  /**
   * Back-propagates dL/drgb [N, 3] of the last forward; ADDS to the weight and
   * feature gradients (several frames may be accumulated before a step).
   */
  backward(dRgb: Float32Array): Promise<void>;
  /** The accumulated gradients: weights [P], features [N, F] (copies). */
  gradients(): Promise<{ weights: Float32Array; features: Float32Array }>;
  /** Sets the accumulated gradients to zero. */
  zeroGrad(): Promise<void>;
  /** One Adam step (β1 0.9, β2 0.999, ε 1e-8) on weights and features, then zeroGrad(). */
  step(lr: ColorMlpLr): Promise<void>;
  /**
   * Follows densify/prune (`src/splat/densify.ts`): new Gaussian k takes the
   * features of row plan.source[k]; rows with plan.fresh[k] = 1 (clones, split
   * children) start with zero Adam moments, the others keep theirs. Gradients are zeroed.
   */
  remap(plan: DensifyPlan): Promise<void>;
  /** Parameters and Adam state, copied to the host (for files and checkpoints). */
  state(): Promise<ColorMlpState>;
}

type Arr = Float32Array | Float64Array;

function checkConfig(c: ColorMlpConfig): void {
  for (const [k, min] of [["featureDim", 3], ["condDim", 0], ["hidden", 1]] as const) {
    const v = c[k];
    if (!Number.isInteger(v) || v < min) {
      throw new RangeError(`Colour MLP ${k} must be an integer ≥ ${min}, got ${v}`);
    }
  }
}

function checkLength(what: string, a: ArrayLike<number>, want: number, shape: string): void {
  if (a.length !== want) {
    throw new RangeError(`Colour MLP ${what} must be ${shape} = ${want} values, got ${a.length}`);
  }
}

/** Checks the shapes of a state; throws a RangeError naming the first bad array. */
export function assertColorMlpState(s: ColorMlpState): void {
  checkConfig(s.config);
  if (!Number.isInteger(s.count) || s.count < 0) {
    throw new RangeError(`Colour MLP count must be a non-negative integer, got ${s.count}`);
  }
  const P = weightLayout(s.config).total, F = s.config.featureDim;
  checkLength("weights", s.weights, P, `[${P}]`);
  checkLength("features", s.features, s.count * F, `[${s.count}, ${F}]`);
  if (s.adam) {
    for (const k of ["m", "v"] as const) {
      checkLength(`Adam ${k} of the weights`, s.adam.weights[k], P, `[${P}]`);
      checkLength(`Adam ${k} of the features`, s.adam.features[k], s.count * F, `[N, F]`);
    }
  }
}

/** The frame condition: articulation [8] followed by the jaw code [J] → [8 + J]. */
export function colorCondition(articulation: Float32Array, jawCode: Float32Array): Float32Array {
  checkLength("articulation", articulation, ARTICULATION_DIM, `[${ARTICULATION_DIM}]`);
  const c = new Float32Array(ARTICULATION_DIM + jawCode.length);
  c.set(articulation, 0);
  c.set(jawCode, ARTICULATION_DIM);
  return c;
}

/**
 * The jaw code [6] of a rigid jaw transform (p' = R·p + t relative to the neutral
 * mesh, as `fitJaw()` of inner_mouth.ts returns): axis-angle of R (radians) then t (cm).
 */
export function jawCode(jaw: { R: ArrayLike<number>; t: ArrayLike<number> }): Float32Array {
  const R = jaw.R;
  const rx = R[7]! - R[5]!, ry = R[2]! - R[6]!, rz = R[3]! - R[1]!; // 2·sin θ·axis
  const s = Math.hypot(rx, ry, rz) / 2, c = (R[0]! + R[4]! + R[8]! - 1) / 2;
  const theta = Math.atan2(s, c);
  const k = s > 1e-9 ? theta / (2 * s) : 0.5; // small angles: axis-angle ≈ vee(R − Rᵀ)/2
  return Float32Array.from([k * rx, k * ry, k * rz, jaw.t[0]!, jaw.t[1]!, jaw.t[2]!]);
}

/**
 * Per-Gaussian view directions in each Gaussian's binding frame: dᵢ = F_{frame(i)}ᵀ·v
 * for the unit world-space direction v from the camera into the scene (for an
 * orthographic camera the third row of its world-to-camera R). Local directions
 * tell the MLP how the surface under each Gaussian faces the camera as the mesh
 * deforms. `rot` [K, 9] row-major frame rotations (columns = the frame's axes),
 * `frameOf` [N] frame index per Gaussian → [N, 3].
 */
export function localViewDirs(
  rot: ArrayLike<number>,
  frameOf: Int32Array,
  view: ArrayLike<number>,
  out: Float32Array = new Float32Array(3 * frameOf.length),
): Float32Array {
  const n = Math.hypot(view[0]!, view[1]!, view[2]!) || 1;
  const v0 = view[0]! / n, v1 = view[1]! / n, v2 = view[2]! / n;
  for (let i = 0; i < frameOf.length; i++) {
    const o = 9 * frameOf[i]!;
    for (let c = 0; c < 3; c++) {
      out[3 * i + c] = rot[o + c]! * v0 + rot[o + 3 + c]! * v1 + rot[o + 6 + c]! * v2;
    }
  }
  return out;
}

const logit = (p: number) => {
  const q = Math.min(0.995, Math.max(0.005, p));
  return Math.log(q / (1 - q));
};

/**
 * A fresh colour MLP: features[:, 0..3] = logit of the static colours (clamped to
 * [0.005, 0.995]; grey when `colors` is absent), the other feature channels
 * N(0, 0.1²), W1/W2 He-initialised, b1 = b2 = 0, W3 = b3 = 0 (so the first forward
 * returns exactly the static colours). Seeded: the same inputs give the same state.
 */
export function initColorMlp(opts: {
  count: number;
  colors?: Float32Array; // [N, 3] in [0, 1]
  config?: ColorMlpConfig;
  seed?: number;
}): ColorMlpState {
  const config = { ...(opts.config ?? DEFAULT_COLOR_MLP) };
  checkConfig(config);
  const n = opts.count, F = config.featureDim, H = config.hidden;
  if (opts.colors) checkLength("initial colors", opts.colors, 3 * n, `[${n}, 3]`);
  const L = weightLayout(config);
  const gauss = normalSampler(seededRandom(opts.seed ?? 1));
  const weights = new Float32Array(L.total);
  const s1 = Math.sqrt(2 / L.inDim), s2 = Math.sqrt(2 / H);
  for (let k = 0; k < H * L.inDim; k++) weights[L.w1 + k] = s1 * gauss();
  for (let k = 0; k < H * H; k++) weights[L.w2 + k] = s2 * gauss();
  const features = new Float32Array(n * F);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      features[i * F + c] = logit(opts.colors ? opts.colors[i * 3 + c]! : 0.5);
    }
    for (let c = 3; c < F; c++) features[i * F + c] = 0.1 * gauss();
  }
  return { config, count: n, weights, features };
}

// ---------------------------------------------------------------------------
// Reference math (generic over f32/f64 storage, f64 arithmetic)

/**
 * Per-frame part of the first layer: base[j] = b1[j] + Σ_k W1[j, F+k]·cond[k]
 * (+ Σ_k W1[j, F+C+k]·dir[k] when one direction is shared by all Gaussians).
 */
function firstLayerBase(
  c: ColorMlpConfig,
  w: Arr,
  cond: Arr,
  sharedDir: Arr | undefined,
  base: Float64Array, // [H]
): void {
  const L = weightLayout(c), F = c.featureDim, C = c.condDim;
  for (let j = 0; j < c.hidden; j++) {
    const row = L.w1 + j * L.inDim;
    let s = w[L.b1 + j]!;
    for (let k = 0; k < C; k++) s += w[row + F + k]! * cond[k]!;
    if (sharedDir) { for (let k = 0; k < 3; k++) s += w[row + F + C + k]! * sharedDir[k]!; }
    base[j] = s;
  }
}

/** Scratch of one Gaussian's forward pass. */
interface Scratch {
  L: WeightLayout;
  base: Float64Array; // [H]
  a1: Float64Array; // [H] pre-activations
  a2: Float64Array;
  h1: Float64Array; // [H]
  h2: Float64Array;
  z: Float64Array; // [3]
  d1: Float64Array; // [H] dL/da1
  d2: Float64Array;
}

function scratch(c: ColorMlpConfig): Scratch {
  const H = c.hidden;
  const f = () => new Float64Array(H);
  return {
    L: weightLayout(c),
    base: f(),
    a1: f(),
    a2: f(),
    h1: f(),
    h2: f(),
    z: new Float64Array(3),
    d1: f(),
    d2: f(),
  };
}

function forwardOne(
  c: ColorMlpConfig,
  w: Arr,
  feat: Arr,
  i: number,
  dirs: Arr,
  perGaussianDir: boolean,
  s: Scratch,
): void {
  const L = s.L, F = c.featureDim, C = c.condDim, H = c.hidden, IN = L.inDim;
  const fo = i * F, dO = 3 * i;
  for (let j = 0; j < H; j++) {
    const row = L.w1 + j * IN;
    let a = s.base[j]!;
    for (let k = 0; k < F; k++) a += w[row + k]! * feat[fo + k]!;
    if (perGaussianDir) {
      a += w[row + F + C]! * dirs[dO]! + w[row + F + C + 1]! * dirs[dO + 1]! +
        w[row + F + C + 2]! * dirs[dO + 2]!;
    }
    s.a1[j] = a;
    s.h1[j] = a > 0 ? a : 0;
  }
  for (let j = 0; j < H; j++) {
    const row = L.w2 + j * H;
    let a = w[L.b2 + j]!;
    for (let k = 0; k < H; k++) a += w[row + k]! * s.h1[k]!;
    s.a2[j] = a;
    s.h2[j] = a > 0 ? a : 0;
  }
  for (let o = 0; o < 3; o++) {
    const row = L.w3 + o * H;
    let a = w[L.b3 + o]! + feat[fo + o]!;
    for (let k = 0; k < H; k++) a += w[row + k]! * s.h2[k]!;
    s.z[o] = a;
  }
}

function checkInputs(c: ColorMlpConfig, n: number, cond: Arr, dirs: Arr): boolean {
  checkLength("condition", cond, c.condDim, `[${c.condDim}]`);
  if (dirs.length !== 3 && dirs.length !== 3 * n) {
    throw new RangeError(
      `Colour MLP view directions must be [${n}, 3] or [3], got ${dirs.length} values`,
    );
  }
  return dirs.length === 3 * n && !(n === 1);
}

/**
 * Reference forward: rgb [N, 3] = sigmoid(MLP(features [N, F], cond [C], dirs [N, 3] | [3])).
 * Works on Float32Array or Float64Array storage; arithmetic in f64.
 */
export function colorMlpForwardRef(
  c: ColorMlpConfig,
  weights: Arr, // [P]
  features: Arr, // [N, F]
  cond: Arr, // [C]
  dirs: Arr, // [N, 3] or [3]
  out: Arr, // [N, 3]
): void {
  const n = features.length / c.featureDim;
  const per = checkInputs(c, n, cond, dirs);
  checkLength("rgb output", out, 3 * n, `[${n}, 3]`);
  const s = scratch(c);
  firstLayerBase(c, weights, cond, per ? undefined : dirs, s.base);
  for (let i = 0; i < n; i++) {
    forwardOne(c, weights, features, i, dirs, per, s);
    for (let o = 0; o < 3; o++) out[3 * i + o] = 1 / (1 + Math.exp(-s.z[o]!));
  }
}

/**
 * Reference backward: given dL/drgb [N, 3], ADDS dL/dweights [P] to gWeights and
 * dL/dfeatures [N, F] to gFeatures. Recomputes each Gaussian's activations (no
 * stored forward state).
 */
export function colorMlpBackwardRef(
  c: ColorMlpConfig,
  weights: Arr,
  features: Arr,
  cond: Arr,
  dirs: Arr,
  dRgb: Arr, // [N, 3]
  gWeights: Arr, // [P]
  gFeatures: Arr, // [N, F]
): void {
  const n = features.length / c.featureDim;
  const per = checkInputs(c, n, cond, dirs);
  checkLength("rgb gradient", dRgb, 3 * n, `[${n}, 3]`);
  const L = weightLayout(c), F = c.featureDim, C = c.condDim, H = c.hidden, IN = L.inDim;
  checkLength("weight gradient", gWeights, L.total, `[${L.total}]`);
  checkLength("feature gradient", gFeatures, n * F, `[${n}, ${F}]`);
  const s = scratch(c);
  firstLayerBase(c, weights, cond, per ? undefined : dirs, s.base);
  // dL/db1 summed over Gaussians: the condition (and a shared direction) column
  // gradients are its outer product with cond (dir), added once at the end.
  // Weight gradients of this call summed in f64, added to gWeights once at the end.
  const gw = new Float64Array(L.total);
  const sumD1 = new Float64Array(H);
  const dz = new Float64Array(3);
  for (let i = 0; i < n; i++) {
    const g0 = dRgb[3 * i]!, g1 = dRgb[3 * i + 1]!, g2 = dRgb[3 * i + 2]!;
    if (g0 === 0 && g1 === 0 && g2 === 0) continue;
    forwardOne(c, weights, features, i, dirs, per, s);
    const fo = i * F, dO = 3 * i;
    for (let o = 0; o < 3; o++) {
      const y = 1 / (1 + Math.exp(-s.z[o]!));
      dz[o] = dRgb[3 * i + o]! * y * (1 - y);
      gFeatures[fo + o] = gFeatures[fo + o]! + dz[o]!; // skip connection
      gw[L.b3 + o] = gw[L.b3 + o]! + dz[o]!;
      const row = L.w3 + o * H;
      for (let k = 0; k < H; k++) gw[row + k] = gw[row + k]! + dz[o]! * s.h2[k]!;
    }
    for (let k = 0; k < H; k++) {
      const dh = weights[L.w3 + k]! * dz[0]! + weights[L.w3 + H + k]! * dz[1]! +
        weights[L.w3 + 2 * H + k]! * dz[2]!;
      s.d2[k] = s.a2[k]! > 0 ? dh : 0;
    }
    s.d1.fill(0);
    for (let j = 0; j < H; j++) {
      const d = s.d2[j]!;
      if (d === 0) continue;
      gw[L.b2 + j] = gw[L.b2 + j]! + d;
      const row = L.w2 + j * H;
      for (let k = 0; k < H; k++) {
        gw[row + k] = gw[row + k]! + d * s.h1[k]!;
        s.d1[k] = s.d1[k]! + d * weights[row + k]!;
      }
    }
    for (let j = 0; j < H; j++) {
      const d = s.a1[j]! > 0 ? s.d1[j]! : 0;
      if (d === 0) continue;
      sumD1[j] = sumD1[j]! + d;
      const row = L.w1 + j * IN;
      for (let k = 0; k < F; k++) {
        gw[row + k] = gw[row + k]! + d * features[fo + k]!;
        gFeatures[fo + k] = gFeatures[fo + k]! + d * weights[row + k]!;
      }
      if (per) {
        for (let k = 0; k < 3; k++) {
          gw[row + F + C + k] = gw[row + F + C + k]! + d * dirs[dO + k]!;
        }
      }
    }
  }
  for (let j = 0; j < H; j++) {
    const d = sumD1[j]!, row = L.w1 + j * IN;
    gw[L.b1 + j] = gw[L.b1 + j]! + d;
    for (let k = 0; k < C; k++) gw[row + F + k] = gw[row + F + k]! + d * cond[k]!;
    if (!per) {
      for (let k = 0; k < 3; k++) {
        gw[row + F + C + k] = gw[row + F + C + k]! + d * dirs[k]!;
      }
    }
  }
  for (let k = 0; k < L.total; k++) gWeights[k] = gWeights[k]! + gw[k]!;
}

// ---------------------------------------------------------------------------
// Adam (shared by the CPU class and the tests of the WebGPU class)

export const ADAM_BETA1 = 0.9;
export const ADAM_BETA2 = 0.999;
export const ADAM_EPS = 1e-8;

/** One Adam update in place (torch semantics, step t ≥ 1). */
export function adamUpdate(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  lr: number,
  t: number,
): void {
  const b1 = 1 - ADAM_BETA1 ** t, b2s = Math.sqrt(1 - ADAM_BETA2 ** t);
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]!;
    const mi = ADAM_BETA1 * m[i]! + (1 - ADAM_BETA1) * gi;
    const vi = ADAM_BETA2 * v[i]! + (1 - ADAM_BETA2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i]! - (lr / b1) * mi / (Math.sqrt(vi) / b2s + ADAM_EPS);
  }
}

// ---------------------------------------------------------------------------
// CPU implementation

/** The colour MLP on the CPU (f32 storage, f64 arithmetic). */
export class CpuColorMlp implements ColorMlp {
  readonly backend = "cpu" as const;
  readonly config: ColorMlpConfig;
  #n: number;
  #w: Float32Array;
  #f: Float32Array;
  #gw: Float32Array;
  #gf: Float32Array;
  #mw: Float32Array;
  #vw: Float32Array;
  #mf: Float32Array;
  #vf: Float32Array;
  #t: number;
  #cond: Float32Array | undefined;
  #dirs: Float32Array | undefined;

  constructor(state: ColorMlpState) {
    assertColorMlpState(state);
    this.config = { ...state.config };
    this.#n = state.count;
    this.#w = state.weights.slice();
    this.#f = state.features.slice();
    this.#gw = new Float32Array(this.#w.length);
    this.#gf = new Float32Array(this.#f.length);
    this.#mw = state.adam?.weights.m.slice() ?? new Float32Array(this.#w.length);
    this.#vw = state.adam?.weights.v.slice() ?? new Float32Array(this.#w.length);
    this.#mf = state.adam?.features.m.slice() ?? new Float32Array(this.#f.length);
    this.#vf = state.adam?.features.v.slice() ?? new Float32Array(this.#f.length);
    this.#t = state.adam?.step ?? 0;
  }

  get count(): number {
    return this.#n;
  }

  // deno-lint-ignore require-await -- async so that bad input rejects like the WebGPU class
  async forward(cond: Float32Array, viewDirs: Float32Array): Promise<Float32Array> {
    const out = new Float32Array(3 * this.#n);
    colorMlpForwardRef(this.config, this.#w, this.#f, cond, viewDirs, out);
    this.#cond = cond.slice();
    this.#dirs = viewDirs.slice();
    return out;
  }

  // deno-lint-ignore require-await -- async so that bad input rejects like the WebGPU class
  async backward(dRgb: Float32Array): Promise<void> {
    if (!this.#cond || !this.#dirs) {
      throw new Error("Colour MLP backward() called before forward()");
    }
    colorMlpBackwardRef(
      this.config,
      this.#w,
      this.#f,
      this.#cond,
      this.#dirs,
      dRgb,
      this.#gw,
      this.#gf,
    );
  }

  // deno-lint-ignore require-await -- async so that bad input rejects like the WebGPU class
  async gradients(): Promise<{ weights: Float32Array; features: Float32Array }> {
    return { weights: this.#gw.slice(), features: this.#gf.slice() };
  }

  // deno-lint-ignore require-await -- async so that bad input rejects like the WebGPU class
  async zeroGrad(): Promise<void> {
    this.#gw.fill(0);
    this.#gf.fill(0);
  }

  async step(lr: ColorMlpLr): Promise<void> {
    this.#t++;
    adamUpdate(this.#w, this.#gw, this.#mw, this.#vw, lr.weights, this.#t);
    adamUpdate(this.#f, this.#gf, this.#mf, this.#vf, lr.features, this.#t);
    await this.zeroGrad();
  }

  // deno-lint-ignore require-await -- async so that bad input rejects like the WebGPU class
  async remap(plan: DensifyPlan): Promise<void> {
    const F = this.config.featureDim;
    this.#f = gatherRows(plan, this.#f, F);
    this.#mf = gatherRows(plan, this.#mf, F, true);
    this.#vf = gatherRows(plan, this.#vf, F, true);
    this.#gf = new Float32Array(this.#f.length);
    this.#gw.fill(0);
    this.#n = plan.count;
    this.#cond = this.#dirs = undefined;
  }

  // deno-lint-ignore require-await -- async so that bad input rejects like the WebGPU class
  async state(): Promise<ColorMlpState> {
    return {
      config: { ...this.config },
      count: this.#n,
      weights: this.#w.slice(),
      features: this.#f.slice(),
      adam: {
        step: this.#t,
        weights: { m: this.#mw.slice(), v: this.#vw.slice() },
        features: { m: this.#mf.slice(), v: this.#vf.slice() },
      },
    };
  }

  [Symbol.dispose](): void {}
}

/**
 * The colour MLP on the same backend as `splat`: {@link CpuColorMlp} for the CPU
 * backend, `WebGpuColorMlp` on the WebGPU backend's device otherwise.
 */
export async function createColorMlp(
  splat: Pick<SplatBackend, "name">,
  state: ColorMlpState,
): Promise<ColorMlp> {
  if (splat.name === "cpu") return new CpuColorMlp(state);
  const { WebGpuColorMlp } = await import("./_color_mlp_webgpu.ts");
  // deno-lint-ignore no-explicit-any
  return new WebGpuColorMlp(splat as any, state);
}

// ---------------------------------------------------------------------------
// Tensors (speaker model file, checkpoints)

/** Tensor names (prefix "color_mlp."). */
const T = {
  config: "color_mlp.config", // I32 [3]: F, C, H
  weights: "color_mlp.weights", // F32 [P]
  features: "color_mlp.features", // F32 [N, F]
  step: "color_mlp.adam_step", // I32 [1]
  mw: "color_mlp.adam_m_weights",
  vw: "color_mlp.adam_v_weights",
  mf: "color_mlp.adam_m_features",
  vf: "color_mlp.adam_v_features",
} as const;

/**
 * The state as named tensors (all "color_mlp.*"): config I32 [3] (F, C, H),
 * weights F32 [P], features F32 [N, F], and with `optimizer` the Adam step I32 [1]
 * and moments (same shapes as weights/features).
 */
export function colorMlpToTensors(
  s: ColorMlpState,
  opts: { optimizer?: boolean } = {},
): Record<string, Tensor> {
  assertColorMlpState(s);
  const c = s.config, P = s.weights.length, F = c.featureDim;
  const out: Record<string, Tensor> = {
    [T.config]: {
      dtype: "I32",
      shape: [3],
      data: Int32Array.from([c.featureDim, c.condDim, c.hidden]),
    },
    [T.weights]: { dtype: "F32", shape: [P], data: s.weights.slice() },
    [T.features]: { dtype: "F32", shape: [s.count, F], data: s.features.slice() },
  };
  if (opts.optimizer && s.adam) {
    out[T.step] = { dtype: "I32", shape: [1], data: Int32Array.from([s.adam.step]) };
    out[T.mw] = { dtype: "F32", shape: [P], data: s.adam.weights.m.slice() };
    out[T.vw] = { dtype: "F32", shape: [P], data: s.adam.weights.v.slice() };
    out[T.mf] = { dtype: "F32", shape: [s.count, F], data: s.adam.features.m.slice() };
    out[T.vf] = { dtype: "F32", shape: [s.count, F], data: s.adam.features.v.slice() };
  }
  return out;
}

/** Whether a tensor set holds a colour MLP (a model saved with static colours has none). */
export function hasColorMlp(t: Record<string, Tensor> | Map<string, Tensor>): boolean {
  return t instanceof Map ? t.has(T.config) : T.config in t;
}

/**
 * Reads a state written by {@link colorMlpToTensors}; `file` names the source in
 * errors. Throws `Cannot read "file": …` for missing, mistyped or mis-shaped tensors.
 */
export function colorMlpFromTensors(
  t: Record<string, Tensor> | Map<string, Tensor>,
  file: string,
): ColorMlpState {
  const get = (name: string) => (t instanceof Map ? t.get(name) : t[name]);
  const bad = (msg: string) =>
    new Error(
      `Cannot read "${file}": ${msg}; the colour MLP in this file is corrupt or from another version`,
    );
  const need = (name: string, dtype: string, shape: number[]): Tensor => {
    const x = get(name);
    if (!x) throw bad(`tensor "${name}" is missing`);
    if (x.dtype !== dtype) throw bad(`tensor "${name}" is ${x.dtype}, expected ${dtype}`);
    if (x.shape.length !== shape.length || x.shape.some((d, i) => d !== shape[i])) {
      throw bad(`tensor "${name}" has shape [${x.shape}], expected [${shape}]`);
    }
    return x;
  };
  const cfg = get(T.config);
  if (!cfg) throw bad(`tensor "${T.config}" is missing`);
  const cd = need(T.config, "I32", [3]).data;
  const config: ColorMlpConfig = { featureDim: cd[0]!, condDim: cd[1]!, hidden: cd[2]! };
  try {
    checkConfig(config);
  } catch (e) {
    throw bad((e as Error).message);
  }
  const P = weightLayout(config).total, F = config.featureDim;
  const feats = get(T.features);
  const n = feats?.shape[0] ?? -1;
  const f32 = (name: string, shape: number[]) => need(name, "F32", shape).data as Float32Array;
  const weights = f32(T.weights, [P]);
  const features = f32(T.features, [n, F]);
  for (const [name, a] of [[T.weights, weights], [T.features, features]] as const) {
    if (!a.every(Number.isFinite)) throw bad(`tensor "${name}" holds non-finite values`);
  }
  const state: ColorMlpState = { config, count: n, weights, features };
  if (get(T.step)) {
    state.adam = {
      step: need(T.step, "I32", [1]).data[0]!,
      weights: { m: f32(T.mw, [P]), v: f32(T.vw, [P]) },
      features: { m: f32(T.mf, [n, F]), v: f32(T.vf, [n, F]) },
    };
  }
  return state;
}
