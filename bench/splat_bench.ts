/**
 * CPU reference splatter benchmark: forward, forward+backward and one optimiser
 * step (forward + loss + backward + Adam) for 256² and 512² images with 10k, 50k
 * and 200k Gaussians, plus one Adam update alone and the share of time per pass
 * (project+sort+bin, blend forward, loss, blend backward, project backward,
 * Adam). Same scene and camera as `splat_webgpu_bench.ts` so the numbers compare.
 * Buffers are reused across calls (a `Workspace`), as in a training loop.
 *
 * Times are the median process CPU time (user + system) per call: the code is
 * single-threaded, so on an idle machine this equals the wall time, and it stays
 * meaningful when other jobs share the cores. The wall-time median of
 * forward+backward is printed too.
 *
 * Run: `deno run -A bench/splat_bench.ts [--quick] [--max-s 60]`. A configuration
 * whose forward pass predicts more than `--max-s` seconds for the backward
 * measurements skips them (printed as "skip").
 *
 * @module
 */
import { CpuOptimizer } from "../src/splat/_cpu.ts";
import {
  preprocess,
  preprocessBackward,
  rasterizeBackward,
  rasterizeForward,
} from "../src/splat/_cpu_raster.ts";
import { photometricLoss } from "../src/splat/_loss.ts";
import { viewParams } from "../src/splat/_math.ts";
import { Workspace } from "../src/splat/_workspace.ts";
import { simplePinhole } from "../src/splat/scene.ts";
import { benchCases, benchScene, cpuMs, loadNote, LR, median } from "./_splat_common.ts";

const maxIdx = Deno.args.indexOf("--max-s");
const maxS = maxIdx >= 0 ? Number(Deno.args[maxIdx + 1]) : 60;

/** Median CPU ms and wall ms of `reps` calls of `f` (after one warm-up call). */
function timeIt(reps: number, f: () => void): { cpu: number; wall: number } {
  f();
  const cpu: number[] = [], wall: number[] = [];
  for (let r = 0; r < reps; r++) {
    const c = cpuMs(), t = performance.now();
    f();
    wall.push(performance.now() - t);
    cpu.push(cpuMs() - c);
  }
  return { cpu: median(cpu), wall: median(wall) };
}

const ms = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(0));
const pct = (v: number, total: number) => `${Math.round((100 * v) / total)}%`;

// Warm the JIT on a small scene so the first row is not penalised.
{
  const cam = simplePinhole(128, 128, 60);
  const opt = new CpuOptimizer(benchScene(5000), { lr: LR });
  for (let i = 0; i < 4; i++) opt.stepSync(cam, new Float32Array(128 * 128 * 3).fill(0.5));
}

console.log(`CPU reference, SH degree 3; ${loadNote()}`);
console.log(
  "| size | gaussians | fwd ms | fwd+bwd ms | (wall) | step ms | adam ms | project+sort+bin | blend fwd | loss | blend bwd | project bwd | adam |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const { size, count, scene, cam, np, target } of benchCases()) {
  const view = viewParams(cam);
  const ws = new Workspace();
  const up = new Float32Array(np * 3).fill(0.01);
  const forward = () => rasterizeForward(preprocess(scene, view, ws), [0, 0, 0], ws);
  const c0 = cpuMs();
  forward();
  const firstMs = cpuMs() - c0;
  const reps = firstMs > 2000 ? 2 : firstMs > 500 ? 3 : 5;
  const fwd = timeIt(reps, forward);
  // Backward ≈ 1.5–2.5× the forward; the step adds loss and Adam.
  if (fwd.cpu * 8 * (reps + 1) > maxS * 1000) {
    console.log(
      `| ${size}² | ${count / 1000}k | ${ms(fwd.cpu)} | skip | | skip | skip | | | | | | |`,
    );
    continue;
  }
  const fb = timeIt(reps, () => {
    const p = preprocess(scene, view, ws);
    const f = rasterizeForward(p, [0, 0, 0], ws);
    preprocessBackward(scene, p, rasterizeBackward(f, up, undefined, ws), ws);
  });
  // One optimiser step, pass by pass.
  const opt = new CpuOptimizer(scene, { lr: LR });
  const pass = [0, 0, 0, 0, 0, 0];
  const step = timeIt(reps, () => {
    let t = cpuMs();
    const lap = (k: number) => {
      const now = cpuMs();
      pass[k] = pass[k]! + now - t;
      t = now;
    };
    const p = preprocess(scene, view, ws);
    lap(0);
    const f = rasterizeForward(p, [0, 0, 0], ws);
    lap(1);
    const l = photometricLoss(f.rgb, target, size, size, 0.2, undefined, ws);
    lap(2);
    const g2 = rasterizeBackward(f, l.grad, undefined, ws);
    lap(3);
    const g = preprocessBackward(scene, p, g2, ws);
    lap(4);
    opt.applyAdam(g);
    lap(5);
  });
  const pg = preprocess(scene, view, ws);
  const g = preprocessBackward(
    scene,
    pg,
    rasterizeBackward(rasterizeForward(pg, [0, 0, 0], ws), up, undefined, ws),
    ws,
  );
  const adam = timeIt(reps, () => opt.applyAdam(g));
  const total = pass.reduce((a, b) => a + b, 0);
  console.log(
    `| ${size}² | ${count / 1000}k | ${ms(fwd.cpu)} | ${ms(fb.cpu)} | ${ms(fb.wall)} | ${
      ms(step.cpu)
    } | ${ms(adam.cpu)} | ${pass.map((v) => pct(v, total)).join(" | ")} |`,
  );
}
