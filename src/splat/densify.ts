/**
 * Densification and pruning (the 3DGS paper's adaptive density control) as one
 * host-side policy, separate from the renderers: {@link planDensify} decides which
 * Gaussians to clone, split or drop; {@link gatherRows} applies that decision to
 * any named per-Gaussian array (scene parameters, optimiser moments, or a caller's
 * extra arrays such as triangle ids, local offsets or colour-MLP features), and
 * {@link applySplit} moves and shrinks the split children. Both splat backends'
 * `densifyAndPrune` and the head adaptation (`src/head/`) use it.
 *
 * Rules: a Gaussian whose mean |dL/dmean2D| over the views where it was visible
 * is ≥ `gradThreshold` is cloned when its largest scale is ≤ `scaleThreshold`,
 * else split into two samples drawn from it (position + R·(ε ∘ σ), ε ~ N(0, 1))
 * with scales / 1.6; then every row with opacity < `minOpacity` (or marked by the
 * caller in `drop`) is dropped. Row
 * order: survivors, clones, split children (two per split Gaussian). New rows
 * (clones, children) start with fresh optimiser state.
 *
 * @module
 */
import type { DensifyOptions } from "./types.ts";
import { quatToRotmat } from "./_math.ts";
import { normalSampler, seededRandom } from "./scene.ts";

/** What the decision looks at, per Gaussian (N rows). */
export interface DensifyInput {
  count: number;
  /** Σ |dL/dmean2D| (pixels) over the views where the Gaussian was visible. */
  gradSum: ArrayLike<number>; // [N]
  /** Number of those views. */
  views: ArrayLike<number>; // [N]
  /** Largest standard deviation, in the units of `scaleThreshold`. */
  maxScale: ArrayLike<number>; // [N]
  opacityLogits: ArrayLike<number>; // [N]
  /** Rows to drop whatever their opacity (non-zero = drop; their clones go too). */
  drop?: ArrayLike<number>; // [N]
}

/** The decision: output row k is a copy of input row `source[k]`. */
export interface DensifyPlan {
  count: number; // M output rows
  source: Int32Array; // [M]
  /** 1 for new rows (clones, split children): optimiser state starts at zero. */
  fresh: Uint8Array; // [M]
  /** 1 for split children (to be moved and shrunk by {@link applySplit}). */
  split: Uint8Array; // [M]
  /** Standard-normal draws for split children (0 elsewhere). */
  noise: Float32Array; // [M, 3]
  counts: { cloned: number; split: number; pruned: number };
}

/** Decides clone / split / prune (deterministic for `opts.seed`). */
export function planDensify(input: DensifyInput, opts: DensifyOptions): DensifyPlan {
  const n = input.count;
  for (
    const [name, a] of [
      ["gradSum", input.gradSum],
      ["views", input.views],
      ["maxScale", input.maxScale],
      ["opacityLogits", input.opacityLogits],
    ] as const
  ) {
    if (a.length !== n) {
      throw new RangeError(`planDensify(): "${name}" has ${a.length} rows, expected ${n}`);
    }
  }
  const action = new Uint8Array(n); // 0 keep, 1 clone, 2 split
  let cloned = 0, split = 0;
  for (let i = 0; i < n; i++) {
    const d = input.views[i]!;
    const grad = d > 0 ? input.gradSum[i]! / d : 0;
    if (!(grad >= opts.gradThreshold)) continue;
    if (input.maxScale[i]! <= opts.scaleThreshold) action[i] = 1, cloned++;
    else action[i] = 2, split++;
  }
  const src: number[] = [];
  for (let i = 0; i < n; i++) if (action[i] !== 2) src.push(i);
  for (let i = 0; i < n; i++) if (action[i] === 1) src.push(i);
  const firstNew = n - split;
  for (let i = 0; i < n; i++) if (action[i] === 2) src.push(i, i);
  // Noise for every candidate child in order (so a pruned child still consumes its draws).
  const rand = normalSampler(seededRandom(opts.seed ?? 0));
  const cand = src.length;
  const candNoise = new Float32Array(cand * 3);
  for (let j = 0; j < cand; j++) {
    if (action[src[j]!] === 2) {
      candNoise[j * 3] = rand(), candNoise[j * 3 + 1] = rand(), candNoise[j * 3 + 2] = rand();
    }
  }
  const minLogit = Math.log(opts.minOpacity / (1 - opts.minOpacity));
  const keep: number[] = [];
  for (let j = 0; j < cand; j++) {
    const i = src[j]!;
    if (!(input.opacityLogits[i]! < minLogit) && !input.drop?.[i]) keep.push(j);
  }
  const m = keep.length;
  const plan: DensifyPlan = {
    count: m,
    source: new Int32Array(m),
    fresh: new Uint8Array(m),
    split: new Uint8Array(m),
    noise: new Float32Array(m * 3),
    counts: { cloned, split, pruned: cand - m },
  };
  keep.forEach((j, k) => {
    const i = src[j]!;
    plan.source[k] = i;
    plan.fresh[k] = j >= firstNew ? 1 : 0;
    plan.split[k] = action[i] === 2 ? 1 : 0;
    plan.noise.set(candNoise.subarray(j * 3, j * 3 + 3), k * 3);
  });
  return plan;
}

type Rows = Float32Array | Float64Array | Int32Array | Uint8Array | Uint32Array;

/**
 * Applies the plan to a per-Gaussian array of `width` values per row. With
 * `state: true` (optimiser moments, statistics) new rows are zero; otherwise
 * they copy their source row.
 */
export function gatherRows<T extends Rows>(
  plan: DensifyPlan,
  data: T,
  width: number,
  state = false,
): T {
  const n = data.length / width;
  if (!Number.isInteger(n)) {
    throw new RangeError(`gatherRows(): ${data.length} values is not a multiple of ${width}`);
  }
  const out = new (data.constructor as { new (len: number): T })(plan.count * width);
  for (let k = 0; k < plan.count; k++) {
    if (state && plan.fresh[k]) continue;
    const i = plan.source[k]!;
    if (i >= n) throw new RangeError(`gatherRows(): row ${i} out of range (${n} rows)`);
    out.set(data.subarray(i * width, (i + 1) * width), k * width);
  }
  return out;
}

/** {@link gatherRows} over named groups: `{ name: [data, width, state?] }`. */
export function gatherGroups<K extends string>(
  plan: DensifyPlan,
  groups: Record<K, readonly [Rows, number, boolean?]>,
): Record<K, Rows> {
  const out = {} as Record<K, Rows>;
  for (const name of Object.keys(groups) as K[]) {
    const [data, width, state] = groups[name];
    out[name] = gatherRows(plan, data, width, state ?? false);
  }
  return out;
}

/**
 * Moves and shrinks split children in gathered arrays (in place): mean +=
 * R(q)·(ε ∘ exp(logScale)), logScale −= log 1.6. Works in whatever frame the arrays
 * are expressed (world, or a triangle's local frame).
 */
export function applySplit(
  plan: DensifyPlan,
  means: Float32Array | Float64Array, // [M, 3]
  logScales: Float32Array | Float64Array, // [M, 3]
  quats: ArrayLike<number>, // [M, 4]
): void {
  const rot = new Float64Array(9);
  const shrink = Math.log(1.6);
  for (let k = 0; k < plan.count; k++) {
    if (!plan.split[k]) continue;
    const qw = quats[k * 4]!,
      qx = quats[k * 4 + 1]!,
      qy = quats[k * 4 + 2]!,
      qz = quats[k * 4 + 3]!;
    const qn = Math.hypot(qw, qx, qy, qz) || 1;
    quatToRotmat(qw / qn, qx / qn, qy / qn, qz / qn, rot);
    const e0 = plan.noise[k * 3]! * Math.exp(logScales[k * 3]!);
    const e1 = plan.noise[k * 3 + 1]! * Math.exp(logScales[k * 3 + 1]!);
    const e2 = plan.noise[k * 3 + 2]! * Math.exp(logScales[k * 3 + 2]!);
    for (let c = 0; c < 3; c++) {
      means[k * 3 + c] = means[k * 3 + c]! + rot[c * 3]! * e0 + rot[c * 3 + 1]! * e1 +
        rot[c * 3 + 2]! * e2;
      logScales[k * 3 + c] = logScales[k * 3 + c]! - shrink;
    }
  }
}

/** Largest scale per Gaussian from log-scales [N, 3] (plus a per-row log offset). */
export function maxScales(
  logScales: ArrayLike<number>,
  logOffset?: ArrayLike<number>,
): Float64Array {
  const n = logScales.length / 3;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = Math.exp(
      Math.max(logScales[i * 3]!, logScales[i * 3 + 1]!, logScales[i * 3 + 2]!) +
        (logOffset?.[i] ?? 0),
    );
  }
  return out;
}
