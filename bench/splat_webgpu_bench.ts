/**
 * WebGPU splatter benchmark: forward, forward+backward and one optimiser step
 * (forward + loss + backward + Adam) for 256² and 512² images with 10k, 50k and
 * 200k Gaussians, plus the share of time per pass (staged timing: each pass is
 * submitted and awaited on its own, which adds a sync per pass, so the shares are
 * indicative and the staged total exceeds the pipelined one).
 *
 * Run: `XDG_RUNTIME_DIR=$(mktemp -d) DENO_WEBGPU_BACKEND=gl|vulkan deno run -A bench/splat_webgpu_bench.ts [--quick]`
 *
 * @module
 */
import { createWebGpuBackend, type WebGpuBackend } from "../src/splat/_webgpu.ts";
import { randomScene } from "../src/splat/scene.ts";
import type { Camera } from "../src/splat/types.ts";

const quick = Deno.args.includes("--quick");
const sizes = quick ? [256] : [256, 512];
const counts = quick ? [50_000] : [10_000, 50_000, 200_000];
const reps = quick ? 3 : 5;

function camera(size: number): Camera {
  const fx = 0.5 * size / Math.tan(Math.PI / 6);
  return {
    kind: "pinhole",
    width: size,
    height: size,
    fx,
    fy: fx,
    cx: size / 2,
    cy: size / 2,
    R: [1, 0, 0, 0, 1, 0, 0, 0, 1],
    t: [0, 0, 0],
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const be = (await createWebGpuBackend()) as WebGpuBackend;
console.log(
  `device: ${be.device}; DENO_WEBGPU_BACKEND=${Deno.env.get("DENO_WEBGPU_BACKEND") ?? "(default)"}`,
);
for (const size of sizes) {
  for (const count of counts) {
    // A head-sized blob of Gaussians filling most of the frame; scales chosen so a
    // Gaussian covers a few pixels to a few tiles at 256².
    const scene = randomScene({
      count,
      seed: 1,
      shDegree: 3,
      center: [0, 0, 4],
      extent: 1.2,
      logScaleRange: [-4.5, -2.5],
    });
    const cam = camera(size);
    const np = size * size;
    const up = { rgb: new Float32Array(np * 3).fill(0.01) };
    const target = new Float32Array(np * 3).fill(0.5);
    await be.render(scene, cam); // warm-up (pipelines, buffers)
    const fwd: number[] = [], fb: number[] = [], st: number[] = [];
    for (let r = 0; r < reps; r++) {
      let t = performance.now();
      await be.render(scene, cam);
      fwd.push(performance.now() - t);
      t = performance.now();
      await be.renderBackward(scene, cam, up);
      fb.push(performance.now() - t);
    }
    const opt = be.createOptimizer(scene, {
      lr: { means: 1.6e-4, logScales: 5e-3, quats: 1e-3, opacityLogits: 5e-2, colors: 2.5e-3 },
    });
    await opt.step(cam, target);
    for (let r = 0; r < reps; r++) {
      const t = performance.now();
      await opt.step(cam, target);
      st.push(performance.now() - t);
    }
    // Staged per-pass timing of one optimiser step.
    const shares = new Map<string, number>();
    be.setTimer({ record: (s, ms) => shares.set(s, (shares.get(s) ?? 0) + ms) });
    await opt.step(cam, target);
    be.setTimer(undefined);
    opt[Symbol.dispose]();
    const total = [...shares.values()].reduce((a, b) => a + b, 0);
    const f = (x: number) => x.toFixed(1).padStart(7);
    console.log(
      `${size}² ${String(count).padStart(6)} G: forward ${f(median(fwd))} ms | fwd+bwd ${
        f(median(fb))
      } ms | optimiser step (fwd+loss+bwd+Adam) ${f(median(st))} ms`,
    );
    console.log(
      "    staged step: " + [...shares].map(([k, v]) =>
        `${k} ${(100 * v / total).toFixed(0)}%`
      ).join(", ") + ` (total ${total.toFixed(0)} ms)`,
    );
  }
}
be[Symbol.dispose]();
