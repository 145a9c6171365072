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
import { sceneLayout } from "../src/splat/_webgpu_render.ts";
import { benchCases, cpuMs, loadNote, LR, median } from "./_splat_common.ts";

/** Median wall and CPU ms of `reps` runs. */
async function timeIt(reps: number, f: () => Promise<unknown>): Promise<[number, number]> {
  const w: number[] = [], c: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now(), c0 = cpuMs();
    await f();
    w.push(performance.now() - t);
    c.push(cpuMs() - c0);
  }
  return [median(w), median(c)];
}
const ms = (v: number) => (v < 10 ? v.toFixed(1) : v.toFixed(0));

const be = (await createWebGpuBackend()) as WebGpuBackend;
console.log(
  `${be.device}; DENO_WEBGPU_BACKEND=${
    Deno.env.get("DENO_WEBGPU_BACKEND") ?? "(default)"
  }; ${loadNote()}`,
);
console.log("Times: median wall ms / process CPU ms (CPU time is steadier on a shared machine).");
console.log(
  "| size | gaussians | instances | fwd | fwd+bwd | step | adam | staged shares of a step |",
);
console.log("|---|---|---|---|---|---|---|---|");
// Same scenes and cameras as bench/splat_bench.ts (CPU reference).
for (const { size, count, scene, cam, np, target } of benchCases()) {
  const up = { rgb: new Float32Array(np * 3).fill(0.01) };
  const reps = count >= 200_000 || size >= 512 ? 3 : 5;
  await be.renderBackward(scene, cam, up); // warm-up (pipelines, buffers)
  const fwd = await timeIt(reps, () => be.render(scene, cam));
  const fb = await timeIt(reps, () => be.renderBackward(scene, cam, up));
  const opt = be.createOptimizer(scene, { lr: LR });
  await opt.step(cam, target);
  const st = await timeIt(reps, () => opt.step(cam, target));
  // Staged per-pass timing of one optimiser step (each pass submitted and awaited).
  const shares = new Map<string, number>();
  be.setTimer({ record: (s, t) => shares.set(s, (shares.get(s) ?? 0) + t) });
  await opt.step(cam, target);
  be.setTimer(undefined);
  opt[Symbol.dispose]();
  const adam = shares.get("adam") ?? 0;
  const total = [...shares.values()].reduce((a, b) => a + b, 0);
  const instances = (await be.renderer.forward(
    be.renderer.buf("scene_params", 4),
    sceneLayout(scene),
    cam,
    [0, 0, 0],
  )).instances;
  console.log(
    `| ${size}² | ${count / 1000}k | ${instances} | ${ms(fwd[0])} / ${ms(fwd[1])} | ${
      ms(fb[0])
    } / ${ms(fb[1])} | ${ms(st[0])} / ${ms(st[1])} | ${ms(adam)} | ${
      [...shares].map(([k, v]) => `${k} ${Math.round(100 * v / total)}%`).join(", ")
    } |`,
  );
}
be[Symbol.dispose]();
