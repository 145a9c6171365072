import assert from "node:assert/strict";
import { CpuBackend } from "../splat/_cpu.ts";
import { seededRandom } from "../splat/scene.ts";
import type { OrthoCamera } from "../splat/types.ts";
import {
  allocFrames,
  type BindingFrames,
  type BoundGaussians,
  FRAME_COUNT,
  JAW_FRAME,
} from "./binding.ts";
import { colorInputs, createColorSource, modelColors } from "./color_source.ts";

function identityFrames(): BindingFrames {
  const f = allocFrames();
  for (let k = 0; k < FRAME_COUNT; k++) {
    f.rot.set([1, 0, 0, 0, 1, 0, 0, 0, 1], 9 * k);
    f.quat.set([1, 0, 0, 0], 4 * k);
    f.size[k] = 1;
  }
  return f;
}

function gaussians(n: number): BoundGaussians {
  const r = seededRandom(3);
  return {
    count: n,
    frame: Int32Array.from({ length: n }, (_, i) => i % 5),
    offset: new Float32Array(3 * n),
    logScale: new Float32Array(3 * n),
    quat: new Float32Array(4 * n),
    opacityLogit: new Float32Array(n),
    color: Float32Array.from({ length: 3 * n }, () => 0.1 + 0.8 * r()),
  };
}

const camera: OrthoCamera = {
  kind: "ortho",
  width: 8,
  height: 8,
  scale: 1,
  cx: 4,
  cy: 4,
  R: [1, 0, 0, 0, 0, -1, 0, 1, 0], // looks along world +y
  t: [0, 0, 10],
};

Deno.test("colorInputs(): condition = articulation + jaw code, dirs = camera axis in each frame", () => {
  const f = identityFrames();
  f.origin.set([0.1, 0.2, 0.3], 3 * JAW_FRAME);
  f.rot.set([0, -1, 0, 1, 0, 0, 0, 0, 1], 9 * 3); // frame 3: 90° about z
  const art = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  const { cond, dirs } = colorInputs(f, Int32Array.from([0, 3]), art, camera);
  assert.deepEqual(Array.from(cond.subarray(0, 8)), Array.from(art));
  assert.deepEqual(Array.from(cond.subarray(8)).map((x) => +x.toFixed(6)), [
    0,
    0,
    0,
    0.1,
    0.2,
    0.3,
  ]);
  // World view dir (0, 1, 0): frame 0 sees it as is; frame 3 (axes a = y, b = −x) sees (1, 0, 0).
  assert.deepEqual(Array.from(dirs).map((x) => +x.toFixed(6) + 0), [0, 1, 0, 1, 0, 0]);
});

Deno.test("createColorSource(): a fresh MLP gives the static colours; static fills them in", async () => {
  const g = gaussians(20);
  const cpu = new CpuBackend();
  const art = new Float32Array(8).fill(0.5);
  using stat = await createColorSource(cpu, "static", () => g);
  using mlp = await createColorSource(cpu, "mlp", () => g, { seed: 4 });
  const a = { colors: new Float32Array(60) }, b = { colors: new Float32Array(60) };
  assert.deepEqual(await stat.prepare(a, identityFrames(), art, camera), {});
  assert.deepEqual(await mlp.prepare(b, identityFrames(), art, camera), {});
  assert.deepEqual(a.colors, g.color);
  for (let i = 0; i < 60; i++) assert.ok(Math.abs(b.colors[i]! - g.color[i]!) < 1e-5);
  assert.deepEqual(await stat.toTensors(), {});
  const t = await mlp.toTensors();
  assert.deepEqual(t["color_mlp.features"]!.shape, [20, 8]);
  // A model carrying these tensors renders with them; one without uses its static colours.
  const c = { colors: new Float32Array(60) };
  await modelColors(
    cpu,
    { gaussians: g, extra: new Map(Object.entries(t)) },
    c,
    identityFrames(),
    art,
    camera,
  );
  assert.deepEqual(c.colors, b.colors);
  await assert.rejects(
    () => createColorSource(cpu, "fancy" as "mlp", () => g),
    /Colour mode must be "static" or "mlp", got "fancy"/,
  );
});
