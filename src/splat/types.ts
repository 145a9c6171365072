/**
 * Data contract of the splatter, shared by the CPU reference (`_cpu*.ts`) and the
 * WebGPU backend (`_webgpu*.ts`, `*.wgsl`). All arrays are flat, row-major
 * Float32Arrays; shapes are given in comments and asserted by `assertScene()`
 * (in `scene.ts`).
 *
 * Changes since the first version (documentation only, no shape or type change):
 * pixel convention of cx/cy, meaning of depth/count, unit of `means2dAbs` and
 * `gradThreshold`, SH view direction of the ortho camera. The math is specified
 * by `_math.ts` and the CPU reference.
 *
 * @module
 */

/** A Gaussian scene. */
export interface GaussianScene {
  /** Number of Gaussians N. */
  count: number;
  means: Float32Array; // [N, 3] world space
  logScales: Float32Array; // [N, 3] log of the standard deviations
  quats: Float32Array; // [N, 4] (w, x, y, z), need not be normalised
  opacityLogits: Float32Array; // [N] opacity = sigmoid(logit)
  /** SH degree 0..3 when colours are SH; ignored when `colorMode` is "rgb". */
  shDegree: number;
  /**
   * "sh": `colors` holds SH coefficients [N, K, 3] with K = (deg+1)^2, evaluated
   * like the reference (DC·0.28209479177387814 + … + 0.5, clamped ≥ 0).
   * "rgb": `colors` holds a per-Gaussian RGB [N, 3] used as is (fed by the color MLP).
   */
  colorMode: "sh" | "rgb";
  colors: Float32Array;
}

/**
 * Pinhole camera (world-to-camera pose, camera looks down +z, y down). Pixel
 * (px, py) covers [px, px + 1) × [py, py + 1), so a centred principal point is
 * cx = width / 2, cy = height / 2 (equivalent to the reference's ndc2Pix).
 */
export interface PinholeCamera {
  kind: "pinhole";
  width: number;
  height: number;
  fx: number;
  fy: number;
  cx: number;
  cy: number;
  /** World-to-camera rotation, row-major [3, 3]. */
  R: Float32Array | number[];
  /** World-to-camera translation [3]. */
  t: Float32Array | number[];
  /** Near plane (camera-space z), default 0.01; Gaussians with z ≤ near are culled. */
  near?: number;
  far?: number;
}

/**
 * Orthographic / weak-perspective camera: pixel = s · (R·x + t)_xy + (cx, cy),
 * depth = (R·x + t)_z. Face tracking yields one. No near-plane culling; the SH
 * view direction is the camera's forward axis (third row of R) for every Gaussian.
 */
export interface OrthoCamera {
  kind: "ortho";
  width: number;
  height: number;
  /** Pixels per world unit. */
  scale: number;
  cx: number;
  cy: number;
  R: Float32Array | number[];
  t: Float32Array | number[];
}

export type Camera = PinholeCamera | OrthoCamera;

export interface RenderOptions {
  /** Background RGB in [0, 1], default black. */
  background?: [number, number, number];
  /** Also return the per-pixel count of Gaussians that contributed. */
  withCount?: boolean;
  /**
   * WebGPU backend, `rgb` colour mode only: the colours come from the device (the
   * colour MLP, `src/head/color_mlp.ts`) instead of `scene.colors`, and their
   * gradient stays there. The CPU backend rejects it.
   */
  deviceColors?: DeviceColors;
}

/**
 * A device-side colour source for the `rgb` mode. The WebGPU backend calls
 * `writeColors` after uploading the parameters and before projecting (the hook
 * records GPU work writing rgb [N, 3] into `buffer` from float `offset`), and
 * after a backward pass `readColorGrads` with the gradient buffer and the offset of
 * dL/drgb [N, 3] (recorded before anything is read back). On the backend's command
 * stream, so no host round trip and no extra submit is needed.
 */
export interface DeviceColors {
  writeColors(buffer: GPUBuffer, offset: number): void;
  readColorGrads(buffer: GPUBuffer, offset: number): void;
}

export interface RenderOutput {
  width: number;
  height: number;
  rgb: Float32Array; // [H, W, 3]
  alpha: Float32Array; // [H, W] accumulated opacity
  depth: Float32Array; // [H, W] alpha-weighted camera-space depth Σ z·α·T (not divided by alpha)
  count?: Uint32Array; // [H, W] number of Gaussians blended into the pixel
}

/** Upstream gradient of a scalar loss w.r.t. the rendered images. */
export interface ImageGrads {
  rgb: Float32Array; // [H, W, 3]
  alpha?: Float32Array; // [H, W]
}

/** Gradients with the same shapes as the scene's parameter arrays. */
export interface SceneGrads {
  means: Float32Array; // [N, 3]
  logScales: Float32Array; // [N, 3]
  quats: Float32Array; // [N, 4]
  opacityLogits: Float32Array; // [N]
  colors: Float32Array; // same shape as scene.colors
  /**
   * |dL/d(mean2D)| per Gaussian in pixel units (norm of the 2D gradient summed over
   * the pixels of this render; 0 for culled Gaussians), for densification.
   */
  means2dAbs: Float32Array; // [N]
}

/** Photometric loss: (1 - ssimWeight)·L1 + ssimWeight·(1 - SSIM), optionally masked. */
export interface LossOptions {
  /** Weight of the D-SSIM term (reference 3DGS: 0.2). */
  ssimWeight?: number;
  /** Per-pixel weight mask [H, W] in [0, 1]; default all ones. */
  mask?: Float32Array;
}

/** Adam with one learning rate per parameter group (3DGS defaults in the docs). */
export interface AdamOptions {
  lr: {
    means: number;
    logScales: number;
    quats: number;
    opacityLogits: number;
    colors: number;
  };
  beta1?: number; // default 0.9
  beta2?: number; // default 0.999
  eps?: number; // default 1e-15
}

/** Densification as in the 3DGS paper: clone small / split large Gaussians with a large view-space gradient, prune transparent ones. */
export interface DensifyOptions {
  /**
   * Mean |dL/d mean2D| (pixel units, averaged over the steps where the Gaussian was
   * visible) at or above which a Gaussian is densified. The reference's 0.0002 is in
   * NDC units; the pixel equivalent is 0.0002 · 2 / width (e.g. 7.8e-7 at 512 px).
   */
  gradThreshold: number;
  /** Scale (world units) separating clone (below) from split (above). */
  scaleThreshold: number;
  /** Prune Gaussians with opacity below this (reference 0.005). */
  minOpacity: number;
  /** Seed for the split sampling. */
  seed?: number;
}

/** A rendering + differentiation backend ("cpu" is the reference and the spec). */
export interface SplatBackend extends Disposable {
  readonly name: "cpu" | "webgpu";
  /** Human-readable device description (e.g. the WebGPU adapter). */
  readonly device: string;
  render(scene: GaussianScene, camera: Camera, opts?: RenderOptions): Promise<RenderOutput>;
  /** Forward pass then backward pass for the given upstream image gradients. */
  renderBackward(
    scene: GaussianScene,
    camera: Camera,
    upstream: ImageGrads,
    opts?: RenderOptions,
  ): Promise<{ output: RenderOutput; grads: SceneGrads }>;
  /** Loss value and dL/dRGB of a rendered image against a target [H, W, 3]. */
  loss(
    rendered: RenderOutput,
    target: Float32Array,
    opts?: LossOptions,
  ): Promise<{ loss: number; grads: ImageGrads }>;
  /**
   * Forward, photometric loss against `target` [H, W, 3] and backward in one pass:
   * the same result as `render` + `loss` + `renderBackward` without the second
   * forward (for optimisers that keep their parameters on the host, e.g. the head).
   */
  renderLossBackward(
    scene: GaussianScene,
    camera: Camera,
    target: Float32Array,
    loss?: LossOptions,
    opts?: RenderOptions,
  ): Promise<{ loss: number; output: RenderOutput; grads: SceneGrads }>;
  /** An optimiser whose parameters and Adam state live on this backend's device. */
  createOptimizer(scene: GaussianScene, adam: AdamOptions): SceneOptimizer;
}

export interface SceneOptimizer extends Disposable {
  /** Render from `camera`, compute the loss against `target` [H, W, 3], backprop, Adam update. Returns the loss before the update. */
  step(
    camera: Camera,
    target: Float32Array,
    loss?: LossOptions,
    opts?: RenderOptions,
  ): Promise<number>;
  /** The current parameters, copied back to the host. */
  scene(): Promise<GaussianScene>;
  /** Clone/split/prune using the view-space gradients accumulated since the last call. */
  densifyAndPrune(opts: DensifyOptions): Promise<{ cloned: number; split: number; pruned: number }>;
}
