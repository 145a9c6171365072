/**
 * What the CPU and WebGPU splat benchmarks share, so their numbers are for the
 * same scenes: sizes, counts, learning rates, the scene, and timing helpers.
 * (Files starting with `_` are not run by `deno task bench`.)
 */
import process from "node:process";
import { randomScene } from "../src/splat/scene.ts";

export const quick = Deno.args.includes("--quick");
export const sizes = quick ? [256] : [256, 512];
export const counts = quick ? [50_000] : [10_000, 50_000, 200_000];
export const LR = {
  means: 1.6e-4,
  logScales: 5e-3,
  quats: 1e-3,
  opacityLogits: 5e-2,
  colors: 2.5e-3,
};

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Process CPU time in ms (user + system, all threads incl. llvmpipe's workers). */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** The benchmark scene: a head-like blob (SH degree 3), Gaussians of a few pixels. */
export function benchScene(count: number) {
  return randomScene({
    count,
    seed: 1,
    shDegree: 3,
    center: [0, 0, 4],
    extent: 1.2,
    logScaleRange: [-4.5, -2.5],
  });
}
