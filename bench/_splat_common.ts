/**
 * What the CPU and WebGPU splat benchmarks share, so their numbers are for the
 * same scenes: sizes, counts, learning rates, the scene, and timing helpers.
 * (Files starting with `_` are not run by `deno task bench`.)
 */
import process from "node:process";
import { randomScene, simplePinhole } from "../src/splat/scene.ts";

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

/** "load average a b c (2 cores shared)": how busy the machine was (printed in the header). */
export function loadNote(): string {
  return `load average ${Deno.loadavg().map((v) => v.toFixed(1)).join(" ")} (2 cores shared)`;
}

/**
 * Every benchmark configuration (sizes × counts) with the same scene, camera and
 * uniform target [size, size, 3] for both backends.
 */
export function* benchCases(): Generator<{
  size: number;
  count: number;
  scene: ReturnType<typeof benchScene>;
  cam: ReturnType<typeof simplePinhole>;
  np: number;
  target: Float32Array;
}> {
  for (const size of sizes) {
    for (const count of counts) {
      const np = size * size;
      yield {
        size,
        count,
        scene: benchScene(count),
        cam: simplePinhole(size, size, 60),
        np,
        target: new Float32Array(np * 3).fill(0.5),
      };
    }
  }
}
