/**
 * Colour MLP micro-benchmark: forward + backward (and one Adam step) of the
 * default network (F = 8, C = 14, H = 32) for N = 20k and 40k Gaussians, on the
 * CPU and on WebGPU (the splatter's device).
 *
 *   deno run -A bench/color_mlp_bench.ts [--quick]
 *
 * CPU: wall ms and process CPU ms (single-threaded). WebGPU: wall ms (and process
 * CPU ms, which on llvmpipe is the software GPU's work, robust to machine load) of the device
 * path used during adaptation (`encodeForward` into a device buffer +
 * `encodeBackward` from one, as with `RenderOptions.deviceColors`; waits for the
 * queue, no read-back), and of the host-array path (`forward` + `backward`, which
 * uploads/reads back [N, 3]). Median of the repeats, after one warm-up.
 */
import { CpuColorMlp, initColorMlp } from "../src/head/color_mlp.ts";
import { WebGpuColorMlp } from "../src/head/_color_mlp_webgpu.ts";
import { createWebGpuBackend } from "../src/splat/_webgpu.ts";
import { gpuContextOf } from "../src/splat/mod.ts";
import { normalSampler, seededRandom } from "../src/splat/scene.ts";
import { cpuMs, median, quick } from "./_splat_common.ts";

const counts = [20_000, 40_000];
const reps = quick ? 3 : 7;
const LR = { weights: 1e-3, features: 5e-3 };

function inputs(n: number) {
  const g = normalSampler(seededRandom(2));
  const r = seededRandom(3);
  const colors = Float32Array.from({ length: 3 * n }, () => r());
  const state = initColorMlp({ count: n, colors, seed: 1 });
  // A trained-looking last layer (a zero W3 would let the backward skip work).
  for (let k = state.weights.length - 99; k < state.weights.length; k++) {
    state.weights[k] = 0.1 * g();
  }
  const cond = Float32Array.from({ length: 14 }, () => g());
  const dirs = Float32Array.from({ length: 3 * n }, () => g());
  const up = Float32Array.from({ length: 3 * n }, () => 0.01 * g());
  return { state, cond, dirs, up };
}

const rows: string[] = [];
for (const n of counts) {
  const { state, cond, dirs, up } = inputs(n);
  using mlp = new CpuColorMlp(state);
  const fwd: number[] = [], bwd: number[] = [], cpu: number[] = [], adam: number[] = [];
  for (let k = 0; k <= reps; k++) {
    const c0 = cpuMs(), t0 = performance.now();
    await mlp.forward(cond, dirs);
    const t1 = performance.now();
    await mlp.backward(up);
    const t2 = performance.now();
    const c1 = cpuMs();
    await mlp.step(LR);
    const t3 = performance.now();
    if (k === 0) continue;
    fwd.push(t1 - t0), bwd.push(t2 - t1), cpu.push(c1 - c0), adam.push(t3 - t2);
  }
  rows.push(
    `cpu     N=${n}: forward ${median(fwd).toFixed(1)} ms, backward ${
      median(bwd).toFixed(1)
    } ms, fwd+bwd ${(median(fwd) + median(bwd)).toFixed(1)} ms wall / ${
      median(cpu).toFixed(1)
    } ms CPU; Adam ${median(adam).toFixed(1)} ms`,
  );
  console.log(rows.at(-1));
}

let backend;
try {
  backend = await createWebGpuBackend();
} catch (e) {
  console.log(`webgpu: skipped (${(e as Error).message})`);
}
if (backend) {
  const ctx = gpuContextOf(backend)!;
  console.log(`webgpu: ${backend.device}`);
  for (const n of counts) {
    const { state, cond, dirs, up } = inputs(n);
    using mlp = new WebGpuColorMlp(backend, state);
    const out = ctx.device.createBuffer({ size: 12 * n, usage: 0x80 | 0x4 | 0x8 });
    ctx.write(out, up); // stands in for the splatter's colour gradient
    const dev: number[] = [], devCpu: number[] = [], host: number[] = [], adam: number[] = [];
    for (let k = 0; k <= reps; k++) {
      const c0 = cpuMs();
      let t0 = performance.now();
      mlp.encodeForward(cond, dirs, { buffer: out, offset: 0 });
      mlp.encodeBackward({ buffer: out, offset: 0 });
      await ctx.idle();
      const d = performance.now() - t0, dc = cpuMs() - c0;
      t0 = performance.now();
      mlp.encodeStep(LR);
      await ctx.idle();
      const a = performance.now() - t0;
      t0 = performance.now();
      await mlp.forward(cond, dirs);
      await mlp.backward(up);
      await mlp.gradients();
      const h = performance.now() - t0;
      if (k === 0) continue;
      dev.push(d), devCpu.push(dc), adam.push(a), host.push(h);
    }
    out.destroy();
    rows.push(
      `webgpu  N=${n}: fwd+bwd ${median(dev).toFixed(1)} ms wall / ${
        median(devCpu).toFixed(1)
      } ms CPU (llvmpipe's threads) on the device path, ${
        median(host).toFixed(1)
      } ms with host arrays (+ upload/read-back); Adam ${median(adam).toFixed(1)} ms`,
    );
    console.log(rows.at(-1));
  }
  backend[Symbol.dispose]();
}
