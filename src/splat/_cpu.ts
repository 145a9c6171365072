/**
 * CPU reference backend: {@link SplatBackend} on top of `_cpu_raster.ts`
 * (forward/backward), `_loss.ts` (L1 + D-SSIM) and a host Adam optimiser; its
 * densification is the shared host-side policy of `densify.ts`.
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
import { shCoeffCount, viewParams } from "./_math.ts";
import { applySplit, gatherRows, maxScales, planDensify } from "./densify.ts";
import { background, checkUpstream, ssimWeight } from "./_backend.ts";
import {
  type ForwardResult,
  preprocess,
  preprocessBackward,
  rasterizeBackward,
  rasterizeForward,
  type SceneArrays,
  type SceneGrads64,
} from "./_cpu_raster.ts";
import { type LossResult, photometricLoss } from "./_loss.ts";
import { Workspace } from "./_workspace.ts";
import { assertScene, cloneScene } from "./scene.ts";

/** Runs `f` and turns a synchronous throw into a rejected promise. */
function attempt<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (e) {
    return Promise.reject(e);
  }
}

/** The CPU backend's background: as the WebGPU one's, but device colours cannot exist here. */
function cpuBackground(opts?: RenderOptions): [number, number, number] {
  if (opts?.deviceColors) {
    throw new RangeError(
      "deviceColors needs the WebGPU backend; on the CPU backend pass the colours in scene.colors",
    );
  }
  return background(opts);
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
  return rasterizeForward(preprocess(scene, view, ws), cpuBackground(opts), ws, record);
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
  checkUpstream(forward.width * forward.height, dRgb, dAlpha);
  return { forward, grads: backwardCpu(scene, forward, dRgb, dAlpha, ws) };
}

/** dL/dscene (float64) of the pass `forward` from upstream image gradients. */
function backwardCpu(
  scene: SceneArrays,
  forward: ForwardResult,
  dRgb: Float32Array | Float64Array, // [H, W, 3]
  dAlpha: Float32Array | Float64Array | undefined, // [H, W]
  ws: Workspace,
): SceneGrads64 {
  const g2 = rasterizeBackward(forward, dRgb, dAlpha, ws);
  return preprocessBackward(scene, forward.proj, g2, ws);
}

/** Photometric loss (L1 + D-SSIM) of a rendered image [H, W, 3] against `target`. */
function lossCpu(
  rgb: ArrayLike<number>,
  width: number,
  height: number,
  target: Float32Array,
  loss: LossOptions | undefined,
  ws: Workspace,
): LossResult {
  return photometricLoss(rgb, target, width, height, ssimWeight(loss), loss?.mask, ws);
}

/**
 * Forward, photometric loss against `target` [H, W, 3] and backward from it: one
 * optimiser step's gradients (float64) and `renderLossBackward`.
 */
export function forwardLossBackwardCpu(
  scene: SceneArrays,
  camera: Camera,
  target: Float32Array,
  loss?: LossOptions,
  opts?: RenderOptions,
  ws: Workspace = new Workspace(),
): { forward: ForwardResult; loss: number; grads: SceneGrads64 } {
  const forward = forwardCpu(scene, camera, opts, ws);
  const l = lossCpu(forward.rgb, forward.width, forward.height, target, loss, ws);
  return { forward, loss: l.loss, grads: backwardCpu(scene, forward, l.grad, undefined, ws) };
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
      const r = lossCpu(rendered.rgb, rendered.width, rendered.height, target, opts, this.#ws);
      return { loss: r.loss, grads: { rgb: Float32Array.from(r.grad) } };
    });
  }

  renderLossBackward(
    scene: GaussianScene,
    camera: Camera,
    target: Float32Array,
    loss?: LossOptions,
    opts?: RenderOptions,
  ): Promise<{ loss: number; output: RenderOutput; grads: SceneGrads }> {
    return attempt(() => {
      assertScene(scene);
      const r = forwardLossBackwardCpu(scene, camera, target, loss, opts, this.#ws);
      return {
        loss: r.loss,
        output: toOutput(r.forward, opts?.withCount ?? false),
        grads: toSceneGrads(r.grads),
      };
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
    const { forward: f, loss: l, grads: g } = forwardLossBackwardCpu(
      this.#scene,
      camera,
      target,
      loss,
      opts,
      this.#ws,
    );
    for (let i = 0; i < this.#scene.count; i++) {
      if (f.proj.radius[i]! > 0) {
        this.#gradAccum[i] = this.#gradAccum[i]! + g.means2dAbs[i]!;
        this.#denom[i] = this.#denom[i]! + 1;
      }
    }
    this.applyAdam(g);
    return l;
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
    const kc = s.colorMode === "sh" ? shCoeffCount(s.shDegree) * 3 : 3;
    const plan = planDensify({
      count: s.count,
      gradSum: this.#gradAccum,
      views: this.#denom,
      maxScale: maxScales(s.logScales),
      opacityLogits: s.opacityLogits,
    }, opts);
    const width: Record<Group, number> = {
      means: 3,
      logScales: 3,
      quats: 4,
      opacityLogits: 1,
      colors: kc,
    };
    const ns = { ...s, count: plan.count } as GaussianScene;
    const nm = {} as Record<Group, Float32Array>, nv = {} as Record<Group, Float32Array>;
    for (const name of GROUPS) {
      ns[name] = gatherRows(plan, s[name], width[name]);
      nm[name] = gatherRows(plan, this.#m[name], width[name], true);
      nv[name] = gatherRows(plan, this.#v[name], width[name], true);
    }
    applySplit(plan, ns.means, ns.logScales, ns.quats);
    this.#scene = ns;
    this.#m = nm;
    this.#v = nv;
    this.#gradAccum = new Float64Array(ns.count);
    this.#denom = new Float64Array(ns.count);
    return plan.counts;
  }

  [Symbol.dispose](): void {}
}
