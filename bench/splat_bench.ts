/**
 * CPU reference splatter benchmark: forward, forward+backward and one optimiser
 * step (forward + loss + backward + Adam) for 256² and 512² images with 10k, 50k
 * and 200k Gaussians, plus the share of time per pass (project+sort+bin, blend
 * forward, loss, blend backward, project backward, Adam). Same scene and camera as
 * `splat_webgpu_bench.ts` so the numbers compare.
 *
 * Run: `deno run -A bench/splat_bench.ts [--quick] [--max-s 60]`. A configuration
 * whose forward pass alone predicts a forward+backward over `--max-s` seconds
 * skips the backward/step columns (printed as "skip").
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
import { randomScene, simplePinhole } from "../src/splat/scene.ts";

const quick = Deno.args.includes("--quick");
const maxIdx = Deno.args.indexOf("--max-s");
const maxS = maxIdx >= 0 ? Number(Deno.args[maxIdx + 1]) : 60;
const sizes = quick ? [256] : [256, 512];
const counts = quick ? [50_000] : [10_000, 50_000, 200_000];

const LR = { means: 1.6e-4, logScales: 5e-3, quats: 1e-3, opacityLogits: 5e-2, colors: 2.5e-3 };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Runs `f` `reps` times (after one warm-up unless `warm` is false); median ms. */
function timeIt(reps: number, f: () => void, warm = true): number {
  if (warm) f();
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    f();
    ts.push(performance.now() - t);
  }
  return median(ts);
}

const ms = (
  v: number | undefined,
) => (v === undefined ? "skip" : v < 10 ? v.toFixed(2) : v.toFixed(0));
const pct = (v: number, total: number) => `${Math.round((100 * v) / total)}%`;

console.log(
  `CPU reference; load average ${
    Deno.loadavg().map((v) => v.toFixed(1)).join(" ")
  } (2 cores shared)`,
);
console.log(
  "| size | gaussians | fwd ms | fwd+bwd ms | step ms | adam ms | project+sort+bin | blend fwd | loss | blend bwd | project bwd | adam |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const size of sizes) {
  for (const count of counts) {
    const scene = randomScene({
      count,
      seed: 1,
      shDegree: 3,
      center: [0, 0, 4],
      extent: 1.2,
      logScaleRange: [-4.5, -2.5],
    });
    const cam = simplePinhole(size, size, 60);
    const view = viewParams(cam);
    const ws = new Workspace(); // reused buffers, as in a training loop
    const np = size * size;
    const target = new Float32Array(np * 3).fill(0.5);
    const up = new Float32Array(np * 3).fill(0.01);
    // Forward (first call also warms the JIT).
    const t0 = performance.now();
    rasterizeForward(preprocess(scene, view, ws), [0, 0, 0], ws);
    const firstMs = performance.now() - t0;
    const reps = firstMs > 5000 ? 1 : firstMs > 1000 ? 2 : 5;
    const fwd = timeIt(
      reps,
      () => rasterizeForward(preprocess(scene, view, ws), [0, 0, 0], ws),
      false,
    );
    // Backward costs ≈ 1.5–2.5× the forward here; skip when the estimate is too long.
    if (fwd * 3.5 * (reps + 1) > maxS * 1000) {
      console.log(`| ${size}² | ${count / 1000}k | ${ms(fwd)} | skip | skip | skip | | | | | | |`);
      continue;
    }
    const fb = timeIt(reps, () => {
      const p = preprocess(scene, view, ws);
      const f = rasterizeForward(p, [0, 0, 0], ws);
      preprocessBackward(scene, p, rasterizeBackward(f, up, undefined, ws), ws);
    });
    // Per-pass shares of one optimiser step, and the step itself.
    const opt = new CpuOptimizer(scene, { lr: LR });
    const pass = [0, 0, 0, 0, 0, 0];
    const stepMs = timeIt(reps, () => {
      let t = performance.now();
      const p = preprocess(scene, view, ws);
      pass[0]! += performance.now() - t, t = performance.now();
      const f = rasterizeForward(p, [0, 0, 0], ws);
      pass[1]! += performance.now() - t, t = performance.now();
      const l = photometricLoss(f.rgb, target, size, size, 0.2, undefined, ws);
      pass[2]! += performance.now() - t, t = performance.now();
      const g2 = rasterizeBackward(f, l.grad, undefined, ws);
      pass[3]! += performance.now() - t, t = performance.now();
      const g = preprocessBackward(scene, p, g2, ws);
      pass[4]! += performance.now() - t, t = performance.now();
      opt.applyAdam(g);
      pass[5]! += performance.now() - t;
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
      `| ${size}² | ${count / 1000}k | ${ms(fwd)} | ${ms(fb)} | ${ms(stepMs)} | ${ms(adam)} | ${
        pass.map((v) => pct(v, total)).join(" | ")
      } |`,
    );
  }
}
