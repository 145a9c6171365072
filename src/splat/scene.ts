/**
 * Helpers on {@link GaussianScene}: shape assertion, copying and seeded random
 * scenes (tests and benchmarks).
 *
 * @module
 */
import type { Camera, GaussianScene } from "./types.ts";
import { shCoeffCount } from "./_math.ts";

/** Throws a RangeError naming the first array whose length does not match `count`. */
export function assertScene(scene: GaussianScene): void {
  const n = scene.count;
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(
      `Scene count must be a non-negative integer, got ${n}`,
    );
  }
  if (scene.colorMode !== "sh" && scene.colorMode !== "rgb") {
    throw new RangeError(
      `Scene colorMode must be "sh" or "rgb", got "${scene.colorMode}"`,
    );
  }
  if (
    scene.colorMode === "sh" &&
    !(Number.isInteger(scene.shDegree) && scene.shDegree >= 0 &&
      scene.shDegree <= 3)
  ) {
    throw new RangeError(`Scene shDegree must be 0..3, got ${scene.shDegree}`);
  }
  const colorWidth = scene.colorMode === "sh" ? shCoeffCount(scene.shDegree) * 3 : 3;
  const want: [string, ArrayLike<number>, number][] = [
    ["means", scene.means, 3],
    ["logScales", scene.logScales, 3],
    ["quats", scene.quats, 4],
    ["opacityLogits", scene.opacityLogits, 1],
    ["colors", scene.colors, colorWidth],
  ];
  for (const [name, arr, w] of want) {
    if (arr.length !== n * w) {
      throw new RangeError(
        `Scene ${name} must have ${n}×${w} = ${n * w} values, got ${arr.length}`,
      );
    }
  }
}

/** A deep copy of a scene. */
export function cloneScene(scene: GaussianScene): GaussianScene {
  return {
    count: scene.count,
    means: scene.means.slice(),
    logScales: scene.logScales.slice(),
    quats: scene.quats.slice(),
    opacityLogits: scene.opacityLogits.slice(),
    shDegree: scene.shDegree,
    colorMode: scene.colorMode,
    colors: scene.colors.slice(),
  };
}

/** Deterministic PRNG (mulberry32) returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples from a uniform PRNG (Box–Muller). */
export function normalSampler(rand: () => number): () => number {
  return () => {
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

export interface RandomSceneOptions {
  count: number;
  seed?: number;
  shDegree?: number;
  colorMode?: "sh" | "rgb";
  /** Means are uniform in the cube [−extent, extent]³ around `center`. */
  extent?: number;
  center?: [number, number, number];
  /** Log-scale range [min, max]. */
  logScaleRange?: [number, number];
  /** Opacity-logit range [min, max]. */
  opacityLogitRange?: [number, number];
}

/** A seeded random scene (tests and benchmarks). */
export function randomScene(opts: RandomSceneOptions): GaussianScene {
  const n = opts.count;
  const rand = seededRandom(opts.seed ?? 1);
  const gauss = normalSampler(rand);
  const deg = opts.shDegree ?? 0;
  const mode = opts.colorMode ?? "sh";
  const ext = opts.extent ?? 1;
  const [cx, cy, cz] = opts.center ?? [0, 0, 0];
  const [ls0, ls1] = opts.logScaleRange ?? [-3, -1.5];
  const [ol0, ol1] = opts.opacityLogitRange ?? [-1, 2];
  const k = mode === "sh" ? shCoeffCount(deg) : 1;
  const s: GaussianScene = {
    count: n,
    means: new Float32Array(n * 3),
    logScales: new Float32Array(n * 3),
    quats: new Float32Array(n * 4),
    opacityLogits: new Float32Array(n),
    shDegree: deg,
    colorMode: mode,
    colors: new Float32Array(n * k * 3),
  };
  for (let i = 0; i < n; i++) {
    s.means[i * 3] = cx + (rand() * 2 - 1) * ext;
    s.means[i * 3 + 1] = cy + (rand() * 2 - 1) * ext;
    s.means[i * 3 + 2] = cz + (rand() * 2 - 1) * ext;
    for (let j = 0; j < 3; j++) {
      s.logScales[i * 3 + j] = ls0 + rand() * (ls1 - ls0);
    }
    for (let j = 0; j < 4; j++) s.quats[i * 4 + j] = gauss();
    s.opacityLogits[i] = ol0 + rand() * (ol1 - ol0);
    if (mode === "rgb") {
      for (let j = 0; j < 3; j++) s.colors[i * 3 + j] = rand();
    } else {
      for (let j = 0; j < 3; j++) s.colors[i * k * 3 + j] = (rand() - 0.5) * 3;
      for (let j = 3; j < k * 3; j++) {
        s.colors[i * k * 3 + j] = (rand() - 0.5) * 0.6;
      }
    }
  }
  return s;
}

/** A pinhole camera at the origin looking down +z (identity pose), centred principal point. */
export function simplePinhole(
  width: number,
  height: number,
  fovXDeg = 60,
): Camera {
  const fx = 0.5 * width / Math.tan((fovXDeg * Math.PI) / 360);
  return {
    kind: "pinhole",
    width,
    height,
    fx,
    fy: fx,
    cx: width / 2,
    cy: height / 2,
    R: [1, 0, 0, 0, 1, 0, 0, 0, 1],
    t: [0, 0, 0],
  };
}

/** Summary statistics of a scene (for `dub splat info`). */
export interface SceneSummary {
  count: number;
  colorMode: "sh" | "rgb";
  shDegree: number;
  /** Axis-aligned bounds of the means. */
  boundsMin: [number, number, number];
  boundsMax: [number, number, number];
  /** Opacity (after the sigmoid). */
  opacity: { min: number; mean: number; median: number; max: number; below0005: number };
  /** Largest of the three scales (world units, after exp). */
  maxScale: { min: number; median: number; max: number };
}

function median(values: Float64Array): number {
  if (values.length === 0) return NaN;
  const s = values.slice().sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Counts, bounds, opacity and scale statistics of a scene. */
export function summarizeScene(scene: GaussianScene): SceneSummary {
  assertScene(scene);
  const n = scene.count;
  const lo: [number, number, number] = [Infinity, Infinity, Infinity];
  const hi: [number, number, number] = [-Infinity, -Infinity, -Infinity];
  const op = new Float64Array(n), ms = new Float64Array(n);
  let sum = 0, below = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const v = scene.means[i * 3 + c]!;
      if (v < lo[c]!) lo[c] = v;
      if (v > hi[c]!) hi[c] = v;
    }
    const o = 1 / (1 + Math.exp(-scene.opacityLogits[i]!));
    op[i] = o;
    sum += o;
    if (o < 0.005) below++;
    ms[i] = Math.exp(
      Math.max(scene.logScales[i * 3]!, scene.logScales[i * 3 + 1]!, scene.logScales[i * 3 + 2]!),
    );
  }
  const min = (a: Float64Array) => a.reduce((m, v) => Math.min(m, v), Infinity);
  const max = (a: Float64Array) => a.reduce((m, v) => Math.max(m, v), -Infinity);
  return {
    count: n,
    colorMode: scene.colorMode,
    shDegree: scene.colorMode === "sh" ? scene.shDegree : 0,
    boundsMin: lo,
    boundsMax: hi,
    opacity: {
      min: min(op),
      mean: n ? sum / n : NaN,
      median: median(op),
      max: max(op),
      below0005: below,
    },
    maxScale: { min: min(ms), median: median(ms), max: max(ms) },
  };
}
