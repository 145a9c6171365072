/**
 * Data contract of the splatter, shared by the CPU reference (`_cpu*.ts`) and the
 * WebGPU backend (`_webgpu*.ts`, `*.wgsl`). All arrays are flat, row-major
 * Float32Arrays; shapes are given in comments and asserted by `assertScene()`.
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

/** Pinhole camera (world-to-camera pose). */
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
  /** Near plane (camera-space z), default 0.01. */
  near?: number;
  far?: number;
}

/**
 * Orthographic / weak-perspective camera: pixel = s · (R·x + t)_xy + (cx, cy),
 * depth = (R·x + t)_z. Face tracking yields one.
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
}

export interface RenderOutput {
  width: number;
  height: number;
  rgb: Float32Array; // [H, W, 3]
  alpha: Float32Array; // [H, W] accumulated opacity
  depth: Float32Array; // [H, W] alpha-weighted camera-space depth
  count?: Uint32Array; // [H, W]
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
  /** |dL/d(mean2D)| per Gaussian (view-space positional gradient, for densification). */
  means2dAbs: Float32Array; // [N]
}
