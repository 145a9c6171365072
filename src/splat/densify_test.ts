import assert from "node:assert/strict";
import { applySplit, gatherGroups, gatherRows, planDensify } from "./densify.ts";

Deno.test("planDensify() + gatherRows() carry extra per-Gaussian arrays along clone, split and prune", () => {
  // 4 Gaussians: 0 small + high grad (clone), 1 large + high grad (split),
  // 2 low grad (keep), 3 transparent (prune).
  const plan = planDensify({
    count: 4,
    gradSum: [2, 4, 0.1, 0],
    views: [1, 2, 1, 1],
    maxScale: [0.01, 0.5, 0.01, 0.01],
    opacityLogits: [2, 2, 2, -9],
  }, { gradThreshold: 1, scaleThreshold: 0.1, minOpacity: 0.005, seed: 1 });
  assert.deepEqual(plan.counts, { cloned: 1, split: 1, pruned: 1 });
  // Survivors 0, 2 (3 pruned), clone of 0, two children of 1.
  assert.deepEqual([...plan.source], [0, 2, 0, 1, 1]);
  assert.deepEqual([...plan.fresh], [0, 0, 1, 1, 1]);
  assert.deepEqual([...plan.split], [0, 0, 0, 1, 1]);
  const tri = Int32Array.from([10, 11, 12, 13]);
  const feat = Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3]);
  const moment = Float32Array.from([5, 6, 7, 8]);
  const g = gatherGroups(plan, { tri: [tri, 1], feat: [feat, 2], m: [moment, 1, true] });
  assert.deepEqual([...g.tri], [10, 12, 10, 11, 11]);
  assert.deepEqual([...g.feat], [0, 0, 2, 2, 0, 0, 1, 1, 1, 1]);
  assert.deepEqual([...g.m], [5, 7, 0, 0, 0]);
  // Split children: moved by R·(ε∘σ) (identity rotation here) and shrunk by 1.6.
  const means = gatherRows(plan, new Float32Array(12), 3);
  const ls = gatherRows(plan, new Float32Array(12).fill(Math.log(0.5)), 3);
  const q = gatherRows(
    plan,
    Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]),
    4,
  );
  applySplit(plan, means, ls, q);
  for (let k = 0; k < 5; k++) {
    for (let c = 0; c < 3; c++) {
      const want = plan.split[k] ? plan.noise[k * 3 + c]! * 0.5 : 0;
      assert.ok(Math.abs(means[k * 3 + c]! - want) < 1e-6);
      const wantLs = Math.log(0.5) - (plan.split[k] ? Math.log(1.6) : 0);
      assert.ok(Math.abs(ls[k * 3 + c]! - wantLs) < 1e-6);
    }
  }
  // The two children of one split draw different samples.
  assert.notDeepEqual([...plan.noise.subarray(9, 12)], [...plan.noise.subarray(12, 15)]);
});
