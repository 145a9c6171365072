/**
 * Customized adaptation: fit a speaker's mesh-bound Gaussian head to their
 * footage. Per iteration one training view is rendered by the splatter (`rgb`
 * colour mode) over a random background colour, the loss is (1 − λ)·L1 + λ·D-SSIM
 * inside the face mask and, against that colour, in a band outside it (the
 * silhouette objective, `silhouette.ts`: the head must end where the face ends), the
 * splatter's world-space gradients are back-propagated through the binding into
 * the local parameters, and a host Adam with per-group learning rates updates
 * them. Densify/prune (`src/splat/densify.ts`) runs on the local parameter groups
 * so the triangle ids and Adam moments carry along.
 *
 * @module
 */
import type { CanonicalMesh } from "../track/canonical_mesh.ts";
import type { GaussianScene, SplatBackend } from "../splat/types.ts";
import { seededRandom } from "../splat/scene.ts";
import { applySplit, gatherRows, maxScales, planDensify } from "../splat/densify.ts";
import {
  bindBackward,
  bindToWorld,
  type BoundGaussians,
  HEAD_FRAME,
  type LocalGrads,
} from "./binding.ts";
import { HostAdam } from "./adam.ts";
import { PoseCorrection } from "./pose_refine.ts";
import { FootageInitializer, type HeadInitializer } from "./init.ts";
import { buildInnerMouth } from "./inner_mouth.ts";
import type { SpeakerModel, SpeakerModelInfo } from "./model.ts";
import { deformedVertices } from "./render.ts";
import { colorFlatToTensors, type ColorMode, createColorSource } from "./color_source.ts";
import type { ColorMlpLr } from "./color_mlp.ts";
import type { DensifyPlan } from "../splat/densify.ts";
import type { AdaptView } from "./views.ts";
import {
  DEFAULT_SILHOUETTE,
  distanceToMask,
  type SilhouetteOptions,
  silhouetteTarget,
  silhouetteWeights,
} from "./silhouette.ts";

/** Learning rates per local parameter group (local units: offsets in triangle sizes). */
export interface AdaptLearningRates {
  offset: number;
  logScale: number;
  quat: number;
  opacityLogit: number;
  color: number;
}

export const DEFAULT_LR: AdaptLearningRates = {
  offset: 2e-3,
  logScale: 5e-3,
  quat: 1e-3,
  opacityLogit: 0.025,
  color: 5e-3,
};

export interface AdaptOptions {
  /** Optimisation steps (one view per step). */
  iterations: number;
  /** Stop after this many seconds of wall time (checked between steps). */
  maxSeconds?: number;
  seed: number;
  /** Skin Gaussians at start; default from the face's size in pixels (see {@link skinCountFor}). */
  gaussians?: number;
  lr?: Partial<AdaptLearningRates>;
  /**
   * Offset learning rate at the last iteration as a fraction of the first (default 1: no
   * decay; 0.05 measured slightly worse on cap12 held-out, 31.46 vs 31.63 dB).
   */
  offsetLrDecay?: number;
  /** Weight of the D-SSIM term, default 0.2. */
  ssimWeight?: number;
  initializer?: HeadInitializer;
  /**
   * Small per-view rigid pose refinement (learning rates in rad and cm per step,
   * from an iteration on); off by default.
   */
  poseRefine?: false | { lrRot: number; lrTrans: number; from: number };
  /**
   * Also drop skin Gaussians whose centre lies outside the face mask in most views
   * (the bright rims at the silhouette); off by default: on cap12 it cost held-out
   * SSIM at the mask edge (0.917 vs 0.921, measured together with offset decay).
   */
  pruneOutside?: boolean;
  /** Densify/prune schedule; `false` disables it. */
  densify?: false | Partial<HeadDensifyOptions>;
  /** Called after each densification. */
  onDensify?: (
    iteration: number,
    counts: { cloned: number; split: number; pruned: number },
    total: number,
  ) => void;
  /** Called after every step with the step's loss. */
  onStep?: (iteration: number, total: number, loss: number) => void;
  signal?: AbortSignal;
  /**
   * Colours: "static" per-Gaussian RGB (default) or the colour MLP ("mlp",
   * `color_source.ts`) trained jointly; the static colours keep training either way.
   */
  color?: ColorMode;
  /** Learning rates of the colour MLP (default `DEFAULT_MLP_LR` of color_source.ts). */
  colorLr?: Partial<ColorMlpLr>;
  /**
   * Silhouette objective (`silhouette.ts`): render over a random background colour each
   * step, the target being that colour in a band outside the face mask, so Gaussians on
   * the silhouette cannot keep the colour of what lies behind the face. On by default;
   * `false` is the plain masked loss (the fringe on cap12).
   */
  silhouette?: false | Partial<SilhouetteOptions>;
}

/** Densification of the head (host-side policy of `src/splat/densify.ts`). */
export interface HeadDensifyOptions {
  /** Run every this many iterations… */
  every: number;
  /** …from this iteration… */
  from: number;
  /** …until this fraction of the iterations. */
  untilFraction: number;
  /** Mean |dL/dmean2D| (px) threshold; default the reference's 0.0002 NDC at the crop width. */
  gradThreshold?: number;
  /** Clone below / split above this size in pixels (σ). */
  scaleThresholdPx: number;
  minOpacity: number;
  /** Never grow beyond this multiple of the initial count. */
  maxGrowth: number;
}

export const DEFAULT_DENSIFY: HeadDensifyOptions = {
  every: 100,
  from: 100,
  untilFraction: 0.7,
  scaleThresholdPx: 1.5,
  minOpacity: 0.005,
  maxGrowth: 2.5,
};

export interface AdaptResult {
  model: SpeakerModel;
  /** Loss per iteration. */
  losses: number[];
  iterations: number;
  seconds: number;
}

/**
 * Skin Gaussians for a face: about 0.7 per face-mask pixel of the mean view (a
 * 400×300 webcam face of ≈ 18k mask pixels gets ≈ 12k), at least one per triangle.
 */
export function skinCountFor(views: readonly AdaptView[]): number {
  let px = 0;
  for (const v of views) px += v.mask.reduce((a, b) => a + b, 0) / views.length;
  return Math.max(898, Math.round(px * 0.7));
}

/** The mutable state of an adaptation (what a checkpoint holds). */
export interface AdaptState {
  gaussians: BoundGaussians;
  part: Uint8Array;
  adam: HostAdam;
  iteration: number;
  losses: number[];
  /** Densification statistics since the last densify: Σ |dL/dmean2D| px and visible views. */
  gradSum: Float64Array; // [N]
  gradViews: Float64Array; // [N]
  /** Gaussian count after initialisation (caps growth). */
  initialCount: number;
  /** Further named state saved in checkpoints (e.g. the colour MLP's). */
  extra: Map<string, Float32Array>;
  /** Per-view pose corrections (with pose refinement). */
  poses?: PoseCorrection[];
}

/** Starts an adaptation: initialiser for the skin, built inner mouth. */
export async function initAdaptation(
  views: readonly AdaptView[],
  mesh: CanonicalMesh,
  neutral: Float32Array,
  opts: AdaptOptions,
): Promise<AdaptState> {
  const init = opts.initializer ?? new FootageInitializer();
  const skin = await init.init({
    views,
    count: opts.gaussians ?? skinCountFor(views),
    seed: opts.seed,
    triangles: mesh.triangles,
  });
  const mouth = buildInnerMouth(deformedVertices(mesh, neutral));
  const gaussians = concatBound(skin, mouth.gaussians);
  const part = new Uint8Array(gaussians.count);
  part.set(mouth.part, skin.count);
  return {
    gaussians,
    part,
    adam: new HostAdam({ ...DEFAULT_LR, ...opts.lr } as unknown as Record<string, number>),
    iteration: 0,
    losses: [],
    gradSum: new Float64Array(gaussians.count),
    gradViews: new Float64Array(gaussians.count),
    initialCount: gaussians.count,
    extra: new Map(),
  };
}

export function concatBound(a: BoundGaussians, b: BoundGaussians): BoundGaussians {
  const cat = <T extends Float32Array | Int32Array>(x: T, y: T): T => {
    const o = new (x.constructor as { new (n: number): T })(x.length + y.length);
    o.set(x);
    o.set(y, x.length);
    return o;
  };
  return {
    count: a.count + b.count,
    frame: cat(a.frame, b.frame),
    offset: cat(a.offset, b.offset),
    logScale: cat(a.logScale, b.logScale),
    quat: cat(a.quat, b.quat),
    opacityLogit: cat(a.opacityLogit, b.opacityLogit),
    color: cat(a.color, b.color),
  };
}

/** World-space scene buffers for a model, reused across steps while N is unchanged. */
function sceneFor(g: BoundGaussians, prev?: GaussianScene): GaussianScene {
  if (prev && prev.count === g.count) {
    prev.opacityLogits.set(g.opacityLogit);
    prev.colors.set(g.color);
    return prev;
  }
  return {
    count: g.count,
    means: new Float32Array(g.count * 3),
    logScales: new Float32Array(g.count * 3),
    quats: new Float32Array(g.count * 4),
    opacityLogits: Float32Array.from(g.opacityLogit),
    shDegree: 0,
    colorMode: "rgb",
    colors: Float32Array.from(g.color),
  };
}

/** The masked photometric loss of the current state on one view (no update). */
export async function viewLoss(
  backend: SplatBackend,
  g: BoundGaussians,
  view: AdaptView,
  ssimWeight = 0.2,
): Promise<number> {
  const scene = sceneFor(g);
  bindToWorld(g, view.frames, scene);
  const out = await backend.render(scene, view.camera);
  return (await backend.loss(out, view.rgb, { mask: view.mask, ssimWeight })).loss;
}

/**
 * Runs (or continues) the adaptation from `state` until `opts.iterations` steps in
 * total or `maxSeconds`. Deterministic on the CPU backend for a given seed (the view
 * order depends only on the seed and the iteration number).
 */
export async function runAdaptation(
  backend: SplatBackend,
  views: readonly AdaptView[],
  state: AdaptState,
  opts: AdaptOptions & {
    onCheckpoint?: (s: AdaptState) => Promise<void>;
    checkpointEvery?: number;
  },
): Promise<{ seconds: number }> {
  const t0 = performance.now();
  const ssimWeight = opts.ssimWeight ?? 0.2;
  let scene: GaussianScene | undefined;
  let grads: LocalGrads | undefined;
  const sil = opts.silhouette === false ? null : { ...DEFAULT_SILHOUETTE, ...opts.silhouette };
  const silWeights = new Map<AdaptView, Float32Array>();
  let silTarget = new Float32Array(0);
  // Static colours or the colour MLP (resumed from state.extra after a checkpoint).
  using color = await createColorSource(backend, opts.color ?? "static", () => state.gaussians, {
    seed: opts.seed,
    ...(opts.colorLr ? { lr: opts.colorLr } : {}),
    flat: state.extra,
  });
  try {
    while (state.iteration < opts.iterations) {
      opts.signal?.throwIfAborted();
      if (opts.maxSeconds !== undefined && (performance.now() - t0) / 1000 >= opts.maxSeconds) {
        break;
      }
      const it = state.iteration;
      const vi = viewIndex(opts.seed, it, views.length);
      const view = views[vi]!;
      if (opts.poseRefine && !state.poses) state.poses = views.map(() => new PoseCorrection());
      const g = state.gaussians;
      scene = sceneFor(g, scene);
      bindToWorld(g, view.frames, scene);
      const pose = state.poses?.[vi];
      pose?.apply(scene);
      let ro = await color.prepare(scene, view.frames, view.articulation, view.camera);
      let target = view.rgb, mask = view.mask;
      if (sil) {
        // A background colour per step (seeded: the run stays deterministic); the target
        // shows it in the band outside the face mask.
        const bg = backgroundFor(opts.seed, it);
        let wts = silWeights.get(view);
        if (!wts) {
          wts = silhouetteWeights(
            view.mask,
            distanceToMask(view.mask, view.crop.w, view.crop.h),
            sil,
          );
          silWeights.set(view, wts);
        }
        if (silTarget.length !== view.rgb.length) silTarget = new Float32Array(view.rgb.length);
        target = silhouetteTarget(view.rgb, view.mask, bg, silTarget);
        mask = wts;
        ro = { ...ro, background: bg };
      }
      const l = await backend.renderLossBackward(
        scene,
        view.camera,
        target,
        { mask, ssimWeight },
        ro,
      );
      const sg = l.grads;
      await color.backward(sg);
      if (!grads || grads.offset.length !== g.count * 3) {
        grads = {
          offset: new Float64Array(g.count * 3),
          logScale: new Float64Array(g.count * 3),
          quat: new Float64Array(g.count * 4),
        };
      }
      if (pose && opts.poseRefine) {
        // Gradient at the pose as rendered; pull back with that pose; then update it.
        const pg = PoseCorrection.gradient(scene, sg);
        pose.pullBack(sg);
        if (it >= opts.poseRefine.from) {
          pose.step(pg, opts.poseRefine.lrRot, opts.poseRefine.lrTrans);
        }
      }
      bindBackward(g, view.frames, sg, grads);
      for (let i = 0; i < g.count; i++) {
        const a = sg.means2dAbs[i]!;
        if (a > 0) state.gradSum[i]! += a, state.gradViews[i]! += 1;
      }
      // Offsets: exponential learning-rate decay to `offsetLrDecay` of the start (as 3DGS
      // does for positions), so the fine placement settles at the end.
      const baseOffsetLr = opts.lr?.offset ?? DEFAULT_LR.offset;
      state.adam.lr.offset = baseOffsetLr *
        (opts.offsetLrDecay ?? 1) ** (it / Math.max(1, opts.iterations));
      state.adam.step(
        {
          offset: g.offset,
          logScale: g.logScale,
          quat: g.quat,
          opacityLogit: g.opacityLogit,
          color: g.color,
        },
        {
          offset: grads.offset,
          logScale: grads.logScale,
          quat: grads.quat,
          opacityLogit: sg.opacityLogits,
          color: sg.colors,
        },
      );
      clampColors(g.color);
      clampOffsets(g);
      await color.step();
      state.losses.push(l.loss);
      state.iteration++;
      if (opts.densify !== false) {
        const d = { ...DEFAULT_DENSIFY, ...opts.densify };
        const it1 = state.iteration;
        if (it1 >= d.from && it1 % d.every === 0 && it1 <= d.untilFraction * opts.iterations) {
          let plan: DensifyPlan | undefined;
          const counts = densifyState(
            state,
            views,
            d,
            opts.seed + it1,
            (p) => (plan = p),
            false,
            opts.pruneOutside ?? false,
          );
          if (plan) await color.remap(plan);
          opts.onDensify?.(it1, counts, state.gaussians.count);
        }
      }
      opts.onStep?.(state.iteration, opts.iterations, l.loss);
      if (
        opts.onCheckpoint && opts.checkpointEvery && state.iteration % opts.checkpointEvery === 0
      ) {
        await color.saveTo(state.extra);
        await opts.onCheckpoint(state);
      }
    }
    // Last: drop what drifted outside the face mask (see outsideFaceMask()).
    if (opts.densify !== false && opts.pruneOutside && state.iteration > 0) {
      const d = { ...DEFAULT_DENSIFY, ...opts.densify };
      let plan: DensifyPlan | undefined;
      const counts = densifyState(state, views, d, opts.seed, (p) => (plan = p), true, true);
      if (plan) await color.remap(plan);
      opts.onDensify?.(state.iteration, counts, state.gaussians.count);
    }
  } finally {
    // Also on abort: the checkpoint written by the caller must hold the matching MLP.
    await color.saveTo(state.extra);
  }
  return { seconds: (performance.now() - t0) / 1000 };
}

/**
 * Skin Gaussians whose centre projects outside the face mask in more than half of
 * the views where it lands in the crop: nothing constrains them (the loss is
 * masked), so they drift into bright rims at the face's silhouette.
 */
export function outsideFaceMask(state: AdaptState, views: readonly AdaptView[]): Uint8Array {
  const g = state.gaussians;
  const n = g.count;
  const outside = new Uint16Array(n), seen = new Uint16Array(n);
  const w = {
    means: new Float32Array(n * 3),
    logScales: new Float32Array(n * 3),
    quats: new Float32Array(n * 4),
  };
  for (const v of views) {
    bindToWorld(g, v.frames, w);
    const R = v.camera.R, t = v.camera.t, s = v.camera.scale;
    for (let i = 0; i < n; i++) {
      if (state.part[i] !== 0) continue;
      const x = w.means[i * 3]!, y = w.means[i * 3 + 1]!, z = w.means[i * 3 + 2]!;
      const px = Math.floor(s * (R[0]! * x + R[1]! * y + R[2]! * z + t[0]!) + v.camera.cx);
      const py = Math.floor(s * (R[3]! * x + R[4]! * y + R[5]! * z + t[1]!) + v.camera.cy);
      if (px < 0 || py < 0 || px >= v.crop.w || py >= v.crop.h) continue;
      seen[i]!++;
      if (v.mask[py * v.crop.w + px]! < 0.5) outside[i]!++;
    }
  }
  const drop = new Uint8Array(n);
  for (let i = 0; i < n; i++) drop[i] = seen[i]! > 0 && outside[i]! * 2 > seen[i]! ? 1 : 0;
  return drop;
}

/**
 * Clone/split/prune on the local parameter groups: the decision uses world sizes
 * in pixels (mean over the views), and every per-Gaussian array (frame ids, part
 * labels, parameters, Adam moments) is gathered by the same plan.
 */
export function densifyState(
  state: AdaptState,
  views: readonly AdaptView[],
  d: HeadDensifyOptions,
  seed: number,
  /** Receives the plan, e.g. to carry extra per-Gaussian state (colour-MLP features). */
  onPlan?: (plan: DensifyPlan) => void,
  /** Only prune (after the last step): no clone or split. */
  finalPass = false,
  /** Drop skin Gaussians outside the face mask (see {@link outsideFaceMask}). */
  pruneOutside = false,
): { cloned: number; split: number; pruned: number } {
  const g = state.gaussians;
  const n = g.count;
  // σ in pixels: local σ · k (per view) · camera scale, averaged over views.
  const logPx = new Float64Array(n);
  for (const v of views) {
    for (let i = 0; i < n; i++) {
      logPx[i]! += Math.log(v.frames.size[g.frame[i]!]! * v.camera.scale) / views.length;
    }
  }
  const width = views.reduce((a, v) => a + v.crop.w, 0) / views.length;
  const grow = state.initialCount * d.maxGrowth > n && !finalPass;
  const plan = planDensify({
    count: n,
    gradSum: state.gradSum,
    views: state.gradViews,
    maxScale: maxScales(g.logScale, logPx),
    opacityLogits: g.opacityLogit,
    ...(pruneOutside ? { drop: outsideFaceMask(state, views) } : {}),
  }, {
    gradThreshold: grow ? d.gradThreshold ?? (0.0002 * 2) / width : Infinity,
    scaleThreshold: d.scaleThresholdPx,
    minOpacity: d.minOpacity,
    seed,
  });
  const next: BoundGaussians = {
    count: plan.count,
    frame: gatherRows(plan, g.frame, 1),
    offset: gatherRows(plan, g.offset, 3),
    logScale: gatherRows(plan, g.logScale, 3),
    quat: gatherRows(plan, g.quat, 4),
    opacityLogit: gatherRows(plan, g.opacityLogit, 1),
    color: gatherRows(plan, g.color, 3),
  };
  applySplit(plan, next.offset, next.logScale, next.quat);
  const widths: Record<string, number> = {
    offset: 3,
    logScale: 3,
    quat: 4,
    opacityLogit: 1,
    color: 3,
  };
  for (const mom of [state.adam.m, state.adam.v]) {
    for (const [name, arr] of mom) {
      mom.set(name, gatherRows(plan, arr, widths[name] ?? arr.length / n, true));
    }
  }
  state.part = gatherRows(plan, state.part, 1);
  state.gaussians = next;
  state.gradSum = new Float64Array(plan.count);
  state.gradViews = new Float64Array(plan.count);
  onPlan?.(plan);
  return plan.counts;
}

/**
 * Keeps skin Gaussians near their triangle: |offset| ≤ 2 triangle sizes in the
 * plane, ≤ 1 along the normal. Unclamped, the few that get no loss (outside the
 * face mask) drifted metres away on cap12 (2 of 20k), and would render in the
 * frame far from the face.
 */
function clampOffsets(g: BoundGaussians): void {
  for (let i = 0; i < g.count; i++) {
    if (g.frame[i]! >= HEAD_FRAME) continue;
    const o = i * 3;
    g.offset[o] = Math.min(2, Math.max(-2, g.offset[o]!));
    g.offset[o + 1] = Math.min(2, Math.max(-2, g.offset[o + 1]!));
    g.offset[o + 2] = Math.min(1, Math.max(-1, g.offset[o + 2]!));
  }
}

function clampColors(c: Float32Array): void {
  for (let i = 0; i < c.length; i++) c[i] = Math.min(1, Math.max(0, c[i]!));
}

/** The random background colour of iteration `it` (uniform in [0, 1]³, seeded). */
export function backgroundFor(seed: number, it: number): [number, number, number] {
  const r = seededRandom((seed * 2654435761 + it * 40503 + 12345) >>> 0);
  return [r(), r(), r()];
}

/** View for iteration `it`: a seeded permutation per epoch. */
export function viewIndex(seed: number, it: number, n: number): number {
  const epoch = Math.floor(it / n);
  const r = seededRandom((seed * 7919 + epoch * 104729) >>> 0);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  return perm[it % n]!;
}

/** Builds the speaker model from an adaptation state. */
export function stateToModel(
  state: AdaptState,
  neutral: Float32Array,
  info: SpeakerModelInfo,
): SpeakerModel {
  return {
    gaussians: state.gaussians,
    part: state.part,
    neutral,
    // The colour MLP's weights and features when it was trained (not its optimiser state).
    extra: new Map(Object.entries(colorFlatToTensors(state.extra))),
    info: {
      ...info,
      iterations: state.iteration,
      ...(state.losses.length ? { finalLoss: state.losses.at(-1)! } : {}),
    },
  };
}
