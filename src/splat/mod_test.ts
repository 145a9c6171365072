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
