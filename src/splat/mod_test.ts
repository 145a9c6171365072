import assert from "node:assert/strict";
import { createSplatBackend, randomScene, simplePinhole, SplatBackendError } from "./mod.ts";

/** Whether this machine has a WebGPU adapter (a GPU, or Mesa's llvmpipe/lavapipe). */
const adapter = await navigator.gpu?.requestAdapter().catch(() => null) ?? null;
const NO_WEBGPU = "no WebGPU adapter here (install Debian mesa-vulkan-drivers for lavapipe)";
if (!adapter) console.log(`skip: WebGPU-backend tests: ${NO_WEBGPU}`);

Deno.test("createSplatBackend() returns the CPU backend on request", async () => {
  using b = await createSplatBackend({ backend: "cpu" });
  assert.equal(b.name, "cpu");
  assert.match(b.reason, /^cpu: requested/);
  const out = await b.render(randomScene({ count: 5, center: [0, 0, 3] }), simplePinhole(16, 16));
  assert.equal(out.rgb.length, 16 * 16 * 3);
  await assert.rejects(
    () => createSplatBackend({ backend: "gpu" as never }),
    /Unknown splat backend "gpu"/,
  );
});

Deno.test({
  name: "createSplatBackend() gives the WebGPU backend on request where an adapter exists",
  ignore: !adapter,
  fn: async () => {
    using g = await createSplatBackend({ backend: "webgpu" });
    assert.equal(g.name, "webgpu");
    assert.match(g.reason, /^webgpu: requested/);
    const out = await g.render(randomScene({ count: 5, center: [0, 0, 3] }), simplePinhole(16, 16));
    assert.equal(out.rgb.length, 16 * 16 * 3);
  },
});

Deno.test({
  name: "createSplatBackend() auto times both backends where an adapter exists and says which won",
  ignore: !adapter,
  fn: async () => {
    using b = await createSplatBackend({
      backend: "auto",
      calibration: { count: 300, size: 48 },
    });
    assert.ok(b.name === "cpu" || b.name === "webgpu");
    assert.match(
      b.reason,
      /(faster in calibration \(\d+\.\d ms vs (cpu|webgpu) \d+\.\d ms|hardware adapter)/,
    );
  },
});

// Without an adapter. Runs everywhere: in a child process whose WebGPU is pointed at a
// backend this OS lacks (DENO_WEBGPU_BACKEND=dx12 on Linux/macOS gives no adapter);
// on a machine without any adapter, in this process as well.
Deno.test("createSplatBackend() without a WebGPU adapter: webgpu fails with a clear error, auto falls back to the CPU", async () => {
  const check = async () => {
    await assert.rejects(
      () => createSplatBackend({ backend: "webgpu" }),
      (e: Error) => e instanceof SplatBackendError && /WebGPU/.test(e.message) && !!e.hint,
    );
    using b = await createSplatBackend({ backend: "auto" });
    assert.equal(b.name, "cpu");
    assert.match(b.reason, /^cpu: .*WebGPU/);
  };
  if (!adapter) await check();
  if (Deno.build.os === "windows") return; // dx12 exists there
  const mod = new URL("./mod.ts", import.meta.url).href;
  const script = `
    import { createSplatBackend, SplatBackendError } from ${JSON.stringify(mod)};
    let webgpu = "";
    try { await createSplatBackend({ backend: "webgpu" }); webgpu = "created"; }
    catch (e) { webgpu = (e instanceof SplatBackendError ? "SplatBackendError: " : "other: ") + e.message + " | hint: " + e.hint; }
    const b = await createSplatBackend({ backend: "auto" });
    console.log(JSON.stringify({ webgpu, auto: b.name, reason: b.reason }));
  `;
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    env: { DENO_WEBGPU_BACKEND: "dx12" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(o.code, 0, new TextDecoder().decode(o.stderr));
  const r = JSON.parse(new TextDecoder().decode(o.stdout).trim().split("\n").pop()!);
  assert.match(
    r.webgpu,
    /^SplatBackendError: WebGPU is not available here: .* \| hint: use --backend cpu/,
  );
  assert.equal(r.auto, "cpu");
  assert.match(r.reason, /^cpu: .*WebGPU/);
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
