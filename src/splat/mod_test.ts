import assert from "node:assert/strict";
import { createSplatBackend, randomScene, simplePinhole, SplatBackendError } from "./mod.ts";

Deno.test("createSplatBackend() returns the CPU backend on request", async () => {
  using b = await createSplatBackend({ backend: "cpu" });
  assert.equal(b.name, "cpu");
  assert.match(b.reason, /^cpu: requested/);
  const out = await b.render(randomScene({ count: 5, center: [0, 0, 3] }), simplePinhole(16, 16));
  assert.equal(out.rgb.length, 16 * 16 * 3);
});

Deno.test("createSplatBackend() auto picks a working backend and says why; webgpu fails clearly or works", async () => {
  let webgpuOk = false;
  try {
    using g = await createSplatBackend({ backend: "webgpu" });
    assert.equal(g.name, "webgpu");
    webgpuOk = true;
  } catch (e) {
    assert.ok(e instanceof SplatBackendError, String(e));
    assert.match(e.message, /WebGPU/);
  }
  using b = await createSplatBackend({ backend: "auto", calibration: { count: 300, size: 48 } });
  assert.ok(b.name === "cpu" || b.name === "webgpu");
  if (webgpuOk) {
    assert.match(b.reason, /faster in calibration \(\d+\.\d ms vs (cpu|webgpu) \d+\.\d ms/);
  } else assert.match(b.reason, /^cpu: .*WebGPU/);
  const out = await b.render(randomScene({ count: 5, center: [0, 0, 3] }), simplePinhole(16, 16));
  assert.equal(out.width, 16);
  await assert.rejects(
    () => createSplatBackend({ backend: "gpu" as never }),
    /Unknown splat backend "gpu"/,
  );
});

Deno.test("renderLossBackward() equals render + loss + renderBackward on every available backend", async () => {
  const scene = randomScene({ count: 60, seed: 9, center: [0, 0, 3], extent: 1, colorMode: "rgb" });
  const cam = simplePinhole(40, 32);
  const target = Float32Array.from({ length: 40 * 32 * 3 }, (_, i) => (i * 37 % 101) / 100);
  const mask = Float32Array.from({ length: 40 * 32 }, (_, i) => (i % 7 ? 1 : 0));
  const names: ("cpu" | "webgpu")[] = ["cpu"];
  try {
    using g = await createSplatBackend({ backend: "webgpu" });
    void g;
    names.push("webgpu");
  } catch { /* no adapter: the CPU reference only */ }
  for (const name of names) {
    using b = await createSplatBackend({ backend: name });
    const out = await b.render(scene, cam);
    const l = await b.loss(out, target, { mask });
    const sep = await b.renderBackward(scene, cam, l.grads);
    const fused = await b.renderLossBackward(scene, cam, target, { mask });
    // The same operations; the separate path computes the loss on the float32 copy of the
    // render (the fused one on the CPU's float64 image), so allow rounding: 1e-5 relative
    // on the CPU, 1e-4 on the GPU (f32 reductions in a different order).
    const tol = name === "cpu" ? 1e-5 : 1e-4;
    assert.ok(Math.abs(fused.loss - l.loss) <= tol * Math.abs(l.loss), `${name} loss`);
    for (
      const k of ["means", "logScales", "quats", "opacityLogits", "colors", "means2dAbs"] as const
    ) {
      const a = fused.grads[k], e = sep.grads[k];
      let worst = 0, scale = 0;
      for (let i = 0; i < a.length; i++) {
        worst = Math.max(worst, Math.abs(a[i]! - e[i]!));
        scale = Math.max(scale, Math.abs(e[i]!));
      }
      assert.ok(worst <= tol * 10 * scale, `${name} ${k}: ${worst} (scale ${scale})`);
    }
    assert.deepEqual(fused.output.rgb, sep.output.rgb);
  }
});
