/**
 * The WebGPU colour MLP against the CPU one (float64 arithmetic). Skips, with a
 * message, when no WebGPU adapter exists (on Linux: Mesa's `mesa-vulkan-drivers`
 * and XDG_RUNTIME_DIR set for Vulkan).
 *
 * Tolerances (calibrated on llvmpipe/Vulkan, f32 GPU vs f64-arithmetic CPU): rgb
 * agrees to ~1e-7 (bound 1e-5); gradients are compared by relative L2 error per
 * group (measured ~1e-7–1e-6; bound 1e-4: a wrong term or a missed Gaussian gives
 * O(1e-2) or more). Adam steps divide by sqrt(v) and amplify f32 rounding of tiny
 * gradients, so parameters after a step are compared to 1e-5 absolute.
 */
import assert from "node:assert/strict";
import { createWebGpuBackend, type WebGpuBackend } from "../splat/_webgpu.ts";
import { CpuBackend } from "../splat/_cpu.ts";
import { gpuContextOf } from "../splat/mod.ts";
import { normalSampler, randomScene, seededRandom, simplePinhole } from "../splat/scene.ts";
import type { GaussianScene } from "../splat/types.ts";
import {
  type ColorMlpConfig,
  type ColorMlpState,
  CpuColorMlp,
  initColorMlp,
  weightLayout,
} from "./color_mlp.ts";
import { mlpShaderSource, WebGpuColorMlp } from "./_color_mlp_webgpu.ts";
import { plan } from "./_color_mlp_testing.ts";
import { MLP_PARAMS, mlpPrelude, packMlpParams } from "./_color_mlp_layout.ts";

let gpu: WebGpuBackend | undefined;
try {
  gpu = (await createWebGpuBackend()) as WebGpuBackend;
} catch (e) {
  console.warn(
    `Skipping WebGPU colour-MLP tests: ${
      (e as Error).message
    } (install mesa-vulkan-drivers, set XDG_RUNTIME_DIR)`,
  );
}
const opts = { ignore: gpu === undefined, sanitizeOps: false, sanitizeResources: false };

const CFG: ColorMlpConfig = { featureDim: 6, condDim: 5, hidden: 12 };

/** A seeded state with every layer non-zero (so every gradient path is exercised). */
function seededState(n: number, seed = 7, cfg = CFG): ColorMlpState {
  const g = normalSampler(seededRandom(seed));
  const s = initColorMlp({ count: n, config: cfg, seed });
  const L = weightLayout(cfg);
  for (let k = L.b1; k < L.w2; k++) s.weights[k] = 0.2 * g();
  for (let k = L.b2; k < L.w3; k++) s.weights[k] = 0.2 * g();
  for (let k = L.w3; k < L.total; k++) s.weights[k] = 0.4 * g();
  for (let k = 0; k < s.features.length; k++) s.features[k] = g();
  return s;
}

function randArray(n: number, seed: number, scale = 1): Float32Array {
  const g = normalSampler(seededRandom(seed));
  return Float32Array.from({ length: n }, () => scale * g());
}

function relL2(a: Float32Array, b: Float32Array): number {
  let d = 0, s = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    s += b[i]! ** 2;
  }
  return Math.sqrt(d / Math.max(s, 1e-30));
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

Deno.test("colour MLP layout: host MlpParams offsets match the WGSL struct", opts, async () => {
  const ctx = gpuContextOf(gpu!)!;
  const dev = ctx.device;
  const fields = MLP_PARAMS.fields;
  const code = mlpPrelude(CFG) + `
@group(0) @binding(0) var<uniform> mp: MlpParams;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(1)
fn main() {
${
    fields.map(([n, t], k) =>
      `  out[${k}u] = ${t === "f32" ? `bitcast<u32>(mp.${n})` : `mp.${n}`};`
    ).join("\n")
  }
}`;
  const values: Record<string, number> = {};
  fields.forEach(([n, t], k) => (values[n] = t === "f32" ? 0.5 + k : 1000 + k));
  const host = packMlpParams(values);
  const ubuf = dev.createBuffer({
    size: host.byteLength,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  dev.queue.writeBuffer(ubuf, 0, host);
  const obuf = dev.createBuffer({
    size: 4 * fields.length,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
  });
  const module = dev.createShaderModule({ code });
  const pipe = dev.createComputePipeline({
    layout: "auto",
    compute: { module, entryPoint: "main" },
  });
  const enc = dev.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipe);
  pass.setBindGroup(
    0,
    dev.createBindGroup({
      layout: pipe.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: ubuf } }, {
        binding: 1,
        resource: { buffer: obuf },
      }],
    }),
  );
  pass.dispatchWorkgroups(1);
  pass.end();
  dev.queue.submit([enc.finish()]);
  const [r] = await ctx.readback([{ buffer: obuf, bytes: 4 * fields.length }]);
  const got = new Uint32Array(r!);
  const want = new Uint32Array(host, 0, fields.length);
  assert.deepEqual(Array.from(got), Array.from(want));
  ubuf.destroy();
  obuf.destroy();
});

Deno.test("colour MLP WGSL passes compile", opts, async () => {
  using mlp = new WebGpuColorMlp(gpu!, seededState(3));
  await mlp.compileAll();
  assert.ok(mlpShaderSource("color_mlp_forward.wgsl", CFG).includes("struct MlpParams"));
});

for (const per of [true, false]) {
  Deno.test(
    `WebGpuColorMlp forward and gradients match the CPU (${
      per ? "per-Gaussian" : "shared"
    } view direction)`,
    opts,
    async () => {
      // 600 Gaussians: three weight-gradient chunks, the last one partial.
      const n = 600;
      const st = seededState(n);
      using g = new WebGpuColorMlp(gpu!, st);
      using c = new CpuColorMlp(st);
      const cond = randArray(CFG.condDim, 11);
      const dirs = randArray(per ? 3 * n : 3, 12);
      const rg = await g.forward(cond, dirs), rc = await c.forward(cond, dirs);
      assert.ok(maxAbs(rg, rc) < 1e-5, `rgb max diff ${maxAbs(rg, rc)}`);
      // Upstream with some all-zero Gaussians (the skip path) — twice, accumulated.
      const up = randArray(3 * n, 13);
      for (let i = 0; i < n; i += 7) up.fill(0, 3 * i, 3 * i + 3);
      for (let k = 0; k < 2; k++) {
        await g.backward(up);
        await c.backward(up);
      }
      const gg = await g.gradients(), gc = await c.gradients();
      const ew = relL2(gg.weights, gc.weights), ef = relL2(gg.features, gc.features);
      assert.ok(ew < 1e-4, `weight gradient rel. L2 ${ew}`);
      assert.ok(ef < 1e-4, `feature gradient rel. L2 ${ef}`);
      // Adam step (also zeroes the gradients).
      await g.step({ weights: 1e-2, features: 1e-2 });
      await c.step({ weights: 1e-2, features: 1e-2 });
      const sg = await g.state(), sc = await c.state();
      assert.ok(
        maxAbs(sg.weights, sc.weights) < 1e-5,
        `weights after Adam ${maxAbs(sg.weights, sc.weights)}`,
      );
      assert.ok(maxAbs(sg.features, sc.features) < 1e-5);
      assert.equal(sg.adam!.step, 1);
      const z = await g.gradients();
      assert.ok(z.weights.every((x) => x === 0) && z.features.every((x) => x === 0));
    },
  );
}

Deno.test("WebGpuColorMlp.remap() matches the CPU remap", opts, async () => {
  const n = 10;
  const st = seededState(n, 3);
  using g = new WebGpuColorMlp(gpu!, st);
  using c = new CpuColorMlp(st);
  const cond = randArray(CFG.condDim, 1), dirs = randArray(3, 2);
  for (const m of [g, c]) {
    await m.forward(cond, dirs);
    await m.backward(randArray(3 * n, 3));
    await m.step({ weights: 1e-3, features: 1e-3 });
  }
  const p = plan([9, 0, 3, 3], [0, 0, 0, 1]);
  await g.remap(p);
  await c.remap(p);
  const sg = await g.state(), sc = await c.state();
  assert.equal(g.count, 4);
  assert.ok(maxAbs(sg.features, sc.features) < 1e-6);
  assert.ok(maxAbs(sg.adam!.features.m, sc.adam!.features.m) < 1e-6);
  assert.ok(sg.adam!.features.v.subarray(3 * CFG.featureDim).every((x) => x === 0));
  const rg = await g.forward(cond, dirs), rc = await c.forward(cond, dirs);
  assert.ok(maxAbs(rg, rc) < 1e-5);
});

/** A small rgb-mode scene in front of a pinhole camera. */
function rgbScene(n: number): GaussianScene {
  return randomScene({ count: n, seed: 21, colorMode: "rgb", center: [0, 0, 4], extent: 1 });
}

Deno.test(
  "deviceColors: the splatter renders and back-propagates the MLP's colours without a host round trip",
  opts,
  async () => {
    const n = 300;
    const scene = rgbScene(n);
    const camera = simplePinhole(48, 40);
    const st = seededState(n, 5);
    using g = new WebGpuColorMlp(gpu!, st);
    using c = new CpuColorMlp(st);
    const cond = randArray(CFG.condDim, 8), dirs = randArray(3 * n, 9);
    // CPU reference: MLP colours on the host, CPU splatter.
    const cpu = new CpuBackend();
    const colors = await c.forward(cond, dirs);
    const up = { rgb: randArray(48 * 40 * 3, 10, 0.1) };
    const ref = await cpu.renderBackward({ ...scene, colors }, camera, up);
    await c.backward(ref.grads.colors);
    // WebGPU: stale host colours (zeros) are overwritten on the device by the MLP.
    const res = await gpu!.renderBackward(
      { ...scene, colors: new Float32Array(3 * n) },
      camera,
      up,
      {
        deviceColors: g.deviceColors(cond, dirs),
      },
    );
    const img = maxAbs(res.output.rgb, ref.output.rgb);
    // Splatter tolerance as in src/splat/_webgpu_test.ts (f32 vs f64, α cut-offs).
    assert.ok(img < 1e-3, `image max diff ${img}`);
    const gg = await g.gradients(), gc = await c.gradients();
    const ew = relL2(gg.weights, gc.weights), ef = relL2(gg.features, gc.features);
    // Splatter gradients agree to ~1e-6 rel.; the MLP adds ~1e-7. Bound 2e-3 as the splatter's.
    assert.ok(ew < 2e-3, `weight gradient rel. L2 ${ew}`);
    assert.ok(ef < 2e-3, `feature gradient rel. L2 ${ef}`);
    assert.ok(gc.weights.some((x) => Math.abs(x) > 1e-6), "reference gradient is zero");
    // The CPU backend refuses the device hook with a clear message.
    await assert.rejects(
      () => cpu.render({ ...scene, colors }, camera, { deviceColors: g.deviceColors(cond, dirs) }),
      /deviceColors needs the WebGPU backend/,
    );
  },
);

Deno.test(
  "deviceColors in WebGpuOptimizer.step(): the MLP learns a target colour on the device",
  opts,
  async () => {
    const n = 200, W = 32, H = 32;
    const scene = rgbScene(n);
    scene.opacityLogits.fill(3);
    const camera = simplePinhole(W, H);
    using mlp = new WebGpuColorMlp(gpu!, initColorMlp({ count: n, config: CFG, seed: 2 }));
    const lr0 = { means: 0, logScales: 0, quats: 0, opacityLogits: 0, colors: 0 };
    using opt = gpu!.createOptimizer(scene, { lr: lr0 });
    // An attainable target: the same scene with every Gaussian orange.
    const orange = new Float32Array(3 * n);
    for (let i = 0; i < n; i++) orange.set([0.8, 0.2, 0.1], 3 * i);
    const target = (await gpu!.render({ ...scene, colors: orange }, camera)).rgb;
    const cond = randArray(CFG.condDim, 4), dir = Float32Array.from([0, 0, 1]);
    const losses: number[] = [];
    for (let it = 0; it < 40; it++) {
      losses.push(
        await opt.step(camera, target, { ssimWeight: 0 }, {
          deviceColors: mlp.deviceColors(cond, dir),
        }),
      );
      mlp.encodeStep({ weights: 1e-2, features: 5e-2 });
    }
    // Calibrated on llvmpipe: L1 0.10 (grey) → 0.003 after 40 steps (Adam oscillates
    // between 0.001 and 0.02 on the way). Require a 5× drop.
    assert.ok(losses.at(-1)! < 0.2 * losses[0]!, `loss ${losses[0]} → ${losses.at(-1)}`);
  },
);
