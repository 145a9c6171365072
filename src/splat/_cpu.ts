/**
 * CPU reference backend: {@link SplatBackend} on top of `_cpu_raster.ts`
 * (forward/backward), `_loss.ts` (L1 + D-SSIM) and a host Adam optimiser with
 * 3DGS densification.
 *
 * @module
 */
import type {
  AdamOptions,
  Camera,
  DensifyOptions,
  GaussianScene,
  ImageGrads,
  LossOptions,
  RenderOptions,
  RenderOutput,
  SceneGrads,
  SceneOptimizer,
  SplatBackend,
} from "./types.ts";
import { quatToRotmat, shCoeffCount, viewParams } from "./_math.ts";
import {
  type ForwardResult,
  preprocess,
  preprocessBackward,
  rasterizeBackward,
  rasterizeForward,
  type SceneArrays,
  type SceneGrads64,
} from "./_cpu_raster.ts";
import { photometricLoss } from "./_loss.ts";
import { Workspace } from "./_workspace.ts";
import { assertScene, cloneScene, normalSampler, seededRandom } from "./scene.ts";

/** Runs `f` and turns a synchronous throw into a rejected promise. */
function attempt<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (e) {
    return Promise.reject(e);
  }
}

function background(opts?: RenderOptions): [number, number, number] {
  if (opts?.deviceColors) {
    throw new RangeError(
      "deviceColors needs the WebGPU backend; on the CPU backend pass the colours in scene.colors",
    );
  }
  const bg = opts?.background ?? [0, 0, 0];
  if (bg.length !== 3 || !bg.every(Number.isFinite)) {
    throw new RangeError(
      `Background must be 3 finite numbers, got ${JSON.stringify(bg)}`,
    );
  }
  return [bg[0], bg[1], bg[2]];
}

/**
 * Forward pass on float32 or float64 scenes (float64 results). With a workspace
 * the result lives in its buffers and is valid until the next call using it.
 */
export function forwardCpu(
  scene: SceneArrays,
  camera: Camera,
  opts?: RenderOptions,
  ws: Workspace = new Workspace(),
  /** Keep what the backward pass needs (false: render only). */
  record = true,
): ForwardResult {
  const view = viewParams(camera);
  return rasterizeForward(preprocess(scene, view, ws), background(opts), ws, record);
}

/** Forward + backward on float32 or float64 scenes (float64 gradients). */
export function forwardBackwardCpu(
  scene: SceneArrays,
  camera: Camera,
  dRgb: Float32Array | Float64Array,
  dAlpha?: Float32Array | Float64Array,
  opts?: RenderOptions,
  ws: Workspace = new Workspace(),
): { forward: ForwardResult; grads: SceneGrads64 } {
  const forward = forwardCpu(scene, camera, opts, ws);
  const np = forward.width * forward.height;
  if (dRgb.length !== np * 3) {
    throw new RangeError(
      `Upstream rgb gradient must have ${np * 3} values, got ${dRgb.length}`,
    );
  }
  if (dAlpha && dAlpha.length !== np) {
    throw new RangeError(
      `Upstream alpha gradient must have ${np} values, got ${dAlpha.length}`,
    );
  }
  const g2 = rasterizeBackward(forward, dRgb, dAlpha, ws);
  return { forward, grads: preprocessBackward(scene, forward.proj, g2, ws) };
}

function toOutput(f: ForwardResult, withCount: boolean): RenderOutput {
  const out: RenderOutput = {
    width: f.width,
    height: f.height,
    rgb: Float32Array.from(f.rgb),
    alpha: Float32Array.from(f.alpha),
    depth: Float32Array.from(f.depth),
  };
  if (withCount) out.count = f.count.slice(); // copy: f lives in a reused workspace
  return out;
}

function toSceneGrads(g: SceneGrads64): SceneGrads {
  return {
    means: Float32Array.from(g.means),
    logScales: Float32Array.from(g.logScales),
    quats: Float32Array.from(g.quats),
    opacityLogits: Float32Array.from(g.opacityLogits),
    colors: Float32Array.from(g.colors),
    means2dAbs: Float32Array.from(g.means2dAbs),
  };
}

/** The CPU reference backend (the spec, and the fallback without a GPU adapter). */
export class CpuBackend implements SplatBackend {
  readonly name = "cpu" as const;
  #ws = new Workspace();
  readonly device = "CPU reference (TypeScript, float64 arithmetic, single thread)";

  render(scene: GaussianScene, camera: Camera, opts?: RenderOptions): Promise<RenderOutput> {
    return attempt(() => {
      assertScene(scene);
      return toOutput(
        forwardCpu(scene, camera, opts, this.#ws, false),
        opts?.withCount ?? false,
      );
    });
  }

  renderBackward(
    scene: GaussianScene,
    camera: Camera,
    upstream: ImageGrads,
    opts?: RenderOptions,
  ): Promise<{ output: RenderOutput; grads: SceneGrads }> {
    return attempt(() => {
      assertScene(scene);
      const { forward, grads } = forwardBackwardCpu(
        scene,
        camera,
        upstream.rgb,
        upstream.alpha,
        opts,
        this.#ws,
      );
      return { output: toOutput(forward, opts?.withCount ?? false), grads: toSceneGrads(grads) };
    });
  }

  loss(
    rendered: RenderOutput,
    target: Float32Array,
    opts?: LossOptions,
  ): Promise<{ loss: number; grads: ImageGrads }> {
    return attempt(() => {
      const r = photometricLoss(
        rendered.rgb,
        target,
        rendered.width,
        rendered.height,
        opts?.ssimWeight ?? 0.2,
        opts?.mask,
        this.#ws,
      );
      return { loss: r.loss, grads: { rgb: Float32Array.from(r.grad) } };
    });
  }

  createOptimizer(scene: GaussianScene, adam: AdamOptions): SceneOptimizer {
    return new CpuOptimizer(scene, adam);
  }

  [Symbol.dispose](): void {}
}

type Group = "means" | "logScales" | "quats" | "opacityLogits" | "colors";
const GROUPS: Group[] = [
  "means",
  "logScales",
  "quats",
  "opacityLogits",
  "colors",
];

/** Adam (torch semantics, bias-corrected) with per-group learning rates, plus 3DGS densification. */
export class CpuOptimizer implements SceneOptimizer {
  #scene: GaussianScene;
  #adam: Required<AdamOptions>;
  #m: Record<Group, Float32Array>;
  #v: Record<Group, Float32Array>;
  #t = 0;
  #ws = new Workspace();
  /** Σ |dL/dmean2D| (pixels) over the views where each Gaussian was visible, and that count. */
  #gradAccum: Float64Array;
  #denom: Float64Array;

  constructor(scene: GaussianScene, adam: AdamOptions) {
    assertScene(scene);
    for (const g of GROUPS) {
      const lr = adam.lr[g];
      if (!(Number.isFinite(lr) && lr >= 0)) {
        throw new RangeError(`Adam learning rate of "${g}" must be a finite number ≥ 0, got ${lr}`);
      }
    }
    this.#scene = cloneScene(scene);
    this.#adam = { beta1: 0.9, beta2: 0.999, eps: 1e-15, ...adam } as Required<
      AdamOptions
    >;
    this.#m = this.#zeros();
    this.#v = this.#zeros();
    this.#gradAccum = new Float64Array(scene.count);
    this.#denom = new Float64Array(scene.count);
  }

  #zeros(): Record<Group, Float32Array> {
    const s = this.#scene;
    return {
      means: new Float32Array(s.means.length),
      logScales: new Float32Array(s.logScales.length),
      quats: new Float32Array(s.quats.length),
      opacityLogits: new Float32Array(s.opacityLogits.length),
      colors: new Float32Array(s.colors.length),
    };
  }

  /** Adam update of all groups from float64 gradients (exposed for benchmarks). */
  applyAdam(g: SceneGrads64): void {
    this.#t++;
    const { beta1: b1, beta2: b2, eps } = this.#adam;
    const bc1 = 1 - b1 ** this.#t, bc2 = Math.sqrt(1 - b2 ** this.#t);
    for (const name of GROUPS) {
      const lr = this.#adam.lr[name];
      const p = this.#scene[name],
        m = this.#m[name],
        v = this.#v[name],
        gr = g[name];
      const step = lr / bc1;
      for (let i = 0; i < p.length; i++) {
        const gi = gr[i]!;
        const mi = b1 * m[i]! + (1 - b1) * gi;
        const vi = b2 * v[i]! + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i]! - step * mi / (Math.sqrt(vi) / bc2 + eps);
      }
    }
  }

  step(
    camera: Camera,
    target: Float32Array,
    loss?: LossOptions,
    opts?: RenderOptions,
  ): Promise<number> {
    return attempt(() => this.stepSync(camera, target, loss, opts));
  }

  /** Synchronous {@link step}. */
  stepSync(
    camera: Camera,
    target: Float32Array,
    loss?: LossOptions,
    opts?: RenderOptions,
  ): number {
    const ws = this.#ws;
    const f = forwardCpu(this.#scene, camera, opts, ws);
    const l = photometricLoss(
      f.rgb,
      target,
      f.width,
      f.height,
      loss?.ssimWeight ?? 0.2,
      loss?.mask,
      ws,
    );
    const g2 = rasterizeBackward(f, l.grad, undefined, ws);
    const g = preprocessBackward(this.#scene, f.proj, g2, ws);
    for (let i = 0; i < this.#scene.count; i++) {
      if (f.proj.radius[i]! > 0) {
        this.#gradAccum[i] = this.#gradAccum[i]! + g.means2dAbs[i]!;
        this.#denom[i] = this.#denom[i]! + 1;
      }
    }
    this.applyAdam(g);
    return l.loss;
  }

  scene(): Promise<GaussianScene> {
    return Promise.resolve(cloneScene(this.#scene));
  }

  densifyAndPrune(
    opts: DensifyOptions,
  ): Promise<{ cloned: number; split: number; pruned: number }> {
    return attempt(() => this.#densify(opts));
  }

  #densify(opts: DensifyOptions): { cloned: number; split: number; pruned: number } {
    const s = this.#scene;
    const n = s.count;
    const kc = s.colorMode === "sh" ? shCoeffCount(s.shDegree) * 3 : 3;
    const rand = normalSampler(seededRandom(opts.seed ?? 0));
    // Per-Gaussian decision: 0 keep, 1 clone (keep + copy), 2 split (replace by 2 samples).
    const action = new Uint8Array(n);
    let cloned = 0, split = 0;
    for (let i = 0; i < n; i++) {
      const d = this.#denom[i]!;
      const grad = d > 0 ? this.#gradAccum[i]! / d : 0;
      if (!(grad >= opts.gradThreshold)) continue;
      const maxScale = Math.exp(
        Math.max(
          s.logScales[i * 3]!,
          s.logScales[i * 3 + 1]!,
          s.logScales[i * 3 + 2]!,
        ),
      );
      if (maxScale <= opts.scaleThreshold) {
        action[i] = 1;
        cloned++;
      } else {
        action[i] = 2;
        split++;
      }
    }
    // Order as the reference: survivors, clones, split children; then prune by opacity.
    const src: number[] = [];
    for (let i = 0; i < n; i++) if (action[i] !== 2) src.push(i);
    for (let i = 0; i < n; i++) if (action[i] === 1) src.push(i);
    const firstNew = n - split; // index in `src` where fresh Adam state starts
    for (let i = 0; i < n; i++) if (action[i] === 2) src.push(i, i);
    const total = src.length;
    const rot = new Float64Array(9);
    const means = new Float32Array(total * 3),
      logScales = new Float32Array(total * 3);
    const quats = new Float32Array(total * 4),
      opac = new Float32Array(total),
      colors = new Float32Array(total * kc);
    for (let j = 0; j < total; j++) {
      const i = src[j]!;
      for (let c = 0; c < 3; c++) {
        means[j * 3 + c] = s.means[i * 3 + c]!, logScales[j * 3 + c] = s.logScales[i * 3 + c]!;
      }
      for (let c = 0; c < 4; c++) quats[j * 4 + c] = s.quats[i * 4 + c]!;
      opac[j] = s.opacityLogits[i]!;
      colors.set(s.colors.subarray(i * kc, (i + 1) * kc), j * kc);
      if (action[i] === 2) {
        // Sample a position from the Gaussian; shrink the scale by 1/(0.8·2).
        const qw = s.quats[i * 4]!,
          qx = s.quats[i * 4 + 1]!,
          qy = s.quats[i * 4 + 2]!,
          qz = s.quats[i * 4 + 3]!;
        const qn = Math.hypot(qw, qx, qy, qz) || 1;
        quatToRotmat(qw / qn, qx / qn, qy / qn, qz / qn, rot);
        const e0 = rand() * Math.exp(s.logScales[i * 3]!);
        const e1 = rand() * Math.exp(s.logScales[i * 3 + 1]!);
        const e2 = rand() * Math.exp(s.logScales[i * 3 + 2]!);
        for (let c = 0; c < 3; c++) {
          means[j * 3 + c] = s.means[i * 3 + c]! + rot[c * 3]! * e0 +
            rot[c * 3 + 1]! * e1 + rot[c * 3 + 2]! * e2;
          logScales[j * 3 + c] = s.logScales[i * 3 + c]! - Math.log(1.6);
        }
      }
    }
    // Prune transparent ones.
    const minLogit = Math.log(opts.minOpacity / (1 - opts.minOpacity));
    const keep: number[] = [];
    for (let j = 0; j < total; j++) if (!(opac[j]! < minLogit)) keep.push(j);
    const pruned = total - keep.length;
    const m = this.#m, v = this.#v;
    const oldM = m, oldV = v;
    const ns: GaussianScene = {
      count: keep.length,
      means: new Float32Array(keep.length * 3),
      logScales: new Float32Array(keep.length * 3),
      quats: new Float32Array(keep.length * 4),
      opacityLogits: new Float32Array(keep.length),
      shDegree: s.shDegree,
      colorMode: s.colorMode,
      colors: new Float32Array(keep.length * kc),
    };
    const width: Record<Group, number> = {
      means: 3,
      logScales: 3,
      quats: 4,
      opacityLogits: 1,
      colors: kc,
    };
    const newParams: Record<Group, Float32Array> = {
      means,
      logScales,
      quats,
      opacityLogits: opac,
      colors,
    };
    this.#scene = ns;
    const nm = this.#zeros(), nv = this.#zeros();
    for (const name of GROUPS) {
      const w = width[name];
      const dst = ns[name], srcArr = newParams[name];
      for (let k = 0; k < keep.length; k++) {
        const j = keep[k]!;
        dst.set(srcArr.subarray(j * w, (j + 1) * w), k * w);
        if (j < firstNew) {
          const i = src[j]!;
          nm[name].set(oldM[name].subarray(i * w, (i + 1) * w), k * w);
          nv[name].set(oldV[name].subarray(i * w, (i + 1) * w), k * w);
        }
      }
    }
    this.#m = nm;
    this.#v = nv;
    this.#gradAccum = new Float64Array(ns.count);
    this.#denom = new Float64Array(ns.count);
    return { cloned, split, pruned };
  }

  [Symbol.dispose](): void {}
}
