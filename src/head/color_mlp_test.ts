import assert from "node:assert/strict";
import {
  colorCondition,
  colorMlpBackwardRef,
  type ColorMlpConfig,
  colorMlpForwardRef,
  colorMlpFromTensors,
  colorMlpToTensors,
  CpuColorMlp,
  createColorMlp,
  initColorMlp,
  jawCode,
  localViewDirs,
  weightLayout,
} from "./color_mlp.ts";
import { normalSampler, seededRandom } from "../splat/scene.ts";
import { parseSafetensors, writeSafetensors } from "../tensor/safetensors.ts";
import { plan } from "./_color_mlp_testing.ts";

const CFG: ColorMlpConfig = { featureDim: 5, condDim: 4, hidden: 6 };

/** A seeded problem in float64 with non-zero last layer (so every path carries gradient). */
function problem(n: number, perGaussianDir: boolean, seed = 3) {
  const g = normalSampler(seededRandom(seed));
  const st = initColorMlp({ count: n, config: CFG, seed });
  const w = Float64Array.from(st.weights);
  const L = weightLayout(CFG);
  for (let k = L.w3; k < L.total; k++) w[k] = 0.5 * g();
  for (let k = L.b1; k < L.b1 + CFG.hidden; k++) w[k] = 0.3 * g();
  for (let k = L.b2; k < L.b2 + CFG.hidden; k++) w[k] = 0.3 * g();
  const f = Float64Array.from({ length: n * CFG.featureDim }, () => g());
  const cond = Float64Array.from({ length: CFG.condDim }, () => g());
  const dirs = Float64Array.from({ length: perGaussianDir ? 3 * n : 3 }, () => g());
  const up = Float64Array.from({ length: 3 * n }, () => g()); // dL/drgb
  return { w, f, cond, dirs, up };
}

/** L = Σ up·rgb, so dL/drgb = up. */
function lossOf(p: ReturnType<typeof problem>, n: number): number {
  const out = new Float64Array(3 * n);
  colorMlpForwardRef(CFG, p.w, p.f, p.cond, p.dirs, out);
  let s = 0;
  for (let i = 0; i < out.length; i++) s += p.up[i]! * out[i]!;
  return s;
}

for (const per of [true, false]) {
  Deno.test(
    `colorMlpBackwardRef() matches float64 central differences (${
      per ? "per-Gaussian" : "shared"
    } view direction)`,
    () => {
      const n = 7;
      const p = problem(n, per);
      const gw = new Float64Array(p.w.length), gf = new Float64Array(p.f.length);
      colorMlpBackwardRef(CFG, p.w, p.f, p.cond, p.dirs, p.up, gw, gf);
      const h = 1e-6;
      // Calibrated: with h = 1e-6 in float64 the central difference is exact to
      // ~1e-9 (measured max abs error 2e-10–7e-10); a wrong term is off by O(0.01–1).
      const check = (arr: Float64Array, grad: Float64Array, what: string) => {
        let maxErr = 0, maxG = 0;
        for (let k = 0; k < arr.length; k++) {
          const x = arr[k]!;
          arr[k] = x + h;
          const lp = lossOf(p, n);
          arr[k] = x - h;
          const lm = lossOf(p, n);
          arr[k] = x;
          const fd = (lp - lm) / (2 * h);
          maxErr = Math.max(maxErr, Math.abs(fd - grad[k]!));
          maxG = Math.max(maxG, Math.abs(fd));
        }
        assert.ok(maxG > 1e-3, `${what}: gradient is trivially zero`);
        assert.ok(maxErr < 1e-6, `${what}: max |analytic − numeric| = ${maxErr}`);
      };
      check(p.w, gw, "weights");
      check(p.f, gf, "features");
    },
  );
}

Deno.test("colorMlpBackwardRef() accumulates into the gradients it is given", () => {
  const n = 4;
  const p = problem(n, true);
  const gw1 = new Float64Array(p.w.length), gf1 = new Float64Array(p.f.length);
  colorMlpBackwardRef(CFG, p.w, p.f, p.cond, p.dirs, p.up, gw1, gf1);
  const gw2 = gw1.slice(), gf2 = gf1.slice();
  colorMlpBackwardRef(CFG, p.w, p.f, p.cond, p.dirs, p.up, gw2, gf2);
  for (let k = 0; k < gw1.length; k++) assert.ok(Math.abs(gw2[k]! - 2 * gw1[k]!) < 1e-12);
  for (let k = 0; k < gf1.length; k++) assert.ok(Math.abs(gf2[k]! - 2 * gf1[k]!) < 1e-12);
});

Deno.test("initColorMlp() renders the static colours it was initialised from", async () => {
  const n = 50;
  const rand = seededRandom(9);
  const colors = Float32Array.from({ length: 3 * n }, () => 0.05 + 0.9 * rand());
  using mlp = new CpuColorMlp(initColorMlp({ count: n, colors, seed: 2 }));
  const cond = colorCondition(new Float32Array(8).fill(0.3), new Float32Array(6).fill(0.1));
  const rgb = await mlp.forward(cond, Float32Array.from([0, 0, 1]));
  for (let i = 0; i < 3 * n; i++) assert.ok(Math.abs(rgb[i]! - colors[i]!) < 1e-5);
  // Same seed, same state; another seed, other hidden weights.
  const a = initColorMlp({ count: n, colors, seed: 2 }),
    b = initColorMlp({ count: n, colors, seed: 3 });
  assert.deepEqual(a.weights, (await mlp.state()).weights);
  assert.notDeepEqual(a.weights, b.weights);
});

Deno.test("CpuColorMlp learns a colour that depends on the condition", async () => {
  // Two frames whose condition differs; every Gaussian must be dark in frame A and
  // bright in frame B — impossible for static colours (best is the mean: error
  // 0.35 per channel), easy for the MLP.
  const n = 40;
  using mlp = new CpuColorMlp(initColorMlp({ count: n, seed: 5 }));
  const condA = colorCondition(new Float32Array(8), new Float32Array(6));
  const condB = colorCondition(new Float32Array(8).fill(1), new Float32Array(6));
  const dir = Float32Array.from([0, 0, 1]);
  const err = async (cond: Float32Array, target: number, train: boolean) => {
    const rgb = await mlp.forward(cond, dir);
    const g = new Float32Array(rgb.length);
    let e = 0;
    for (let i = 0; i < rgb.length; i++) {
      g[i] = (2 * (rgb[i]! - target)) / rgb.length;
      e += Math.abs(rgb[i]! - target) / rgb.length;
    }
    if (train) await mlp.backward(g);
    return e;
  };
  const before = (await err(condA, 0.15, false) + await err(condB, 0.85, false)) / 2;
  for (let it = 0; it < 150; it++) {
    await err(condA, 0.15, true);
    await err(condB, 0.85, true);
    await mlp.step({ weights: 1e-2, features: 1e-2 });
  }
  const after = (await err(condA, 0.15, false) + await err(condB, 0.85, false)) / 2;
  // Calibrated: starts at 0.35 (grey), reaches ≈0.02 after 150 steps; static colours
  // cannot go below 0.35.
  assert.ok(before > 0.3, `before ${before}`);
  assert.ok(after < 0.08, `after ${after}`);
});

Deno.test("CpuColorMlp.remap() carries features and Adam moments, fresh rows start at zero", async () => {
  const n = 5;
  using mlp = new CpuColorMlp(initColorMlp({ count: n, config: CFG, seed: 1 }));
  const dirs = new Float32Array(3 * n).fill(0.5);
  await mlp.forward(new Float32Array(CFG.condDim).fill(1), dirs);
  await mlp.backward(new Float32Array(3 * n).fill(1));
  await mlp.step({ weights: 1e-3, features: 1e-3 });
  const before = await mlp.state();
  await mlp.remap(plan([4, 0, 0], [0, 0, 1]));
  const after = await mlp.state();
  const F = CFG.featureDim;
  assert.equal(mlp.count, 3);
  assert.deepEqual(after.features.subarray(0, F), before.features.subarray(4 * F, 5 * F));
  assert.deepEqual(after.features.subarray(2 * F), before.features.subarray(0, F));
  assert.deepEqual(
    after.adam!.features.m.subarray(F, 2 * F),
    before.adam!.features.m.subarray(0, F),
  );
  assert.ok(after.adam!.features.m.subarray(2 * F).every((x) => x === 0));
  await assert.rejects(() => mlp.remap(plan([3], [0])), /row 3 out of range \(3 rows\)/);
});

Deno.test("colorMlpToTensors() round-trips through a safetensors file; bad files are rejected", async () => {
  const n = 6;
  using mlp = await createColorMlp(
    { name: "cpu" },
    initColorMlp({ count: n, config: CFG, seed: 4 }),
  );
  await mlp.forward(new Float32Array(CFG.condDim), Float32Array.from([0, 0, 1]));
  await mlp.backward(new Float32Array(3 * n).fill(0.1));
  await mlp.step({ weights: 1e-3, features: 1e-3 });
  const s = await mlp.state();
  const t = colorMlpToTensors(s, { optimizer: true });
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/m.safetensors`;
    await writeSafetensors(
      path,
      Object.entries(t).map(([name, x]) => ({
        name,
        dtype: x.dtype,
        shape: x.shape,
        data: new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength),
      })),
      {},
    );
    const back = colorMlpFromTensors(
      parseSafetensors(await Deno.readFile(path), path).tensors,
      path,
    );
    assert.deepEqual(back, s);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const broken = { ...t };
  delete broken["color_mlp.weights"];
  assert.throws(
    () => colorMlpFromTensors(broken, "x.safetensors"),
    /Cannot read "x\.safetensors": tensor "color_mlp\.weights" is missing/,
  );
  const wrong = {
    ...t,
    "color_mlp.features": { dtype: "F32" as const, shape: [n, 2], data: new Float32Array(2 * n) },
  };
  assert.throws(
    () => colorMlpFromTensors(wrong, "y.safetensors"),
    /"y\.safetensors".*shape \[6,2\], expected \[6,5\]/,
  );
  const nan = {
    ...t,
    "color_mlp.weights": { ...t["color_mlp.weights"]!, data: s.weights.map(() => NaN) },
  };
  assert.throws(() => colorMlpFromTensors(nan, "z.safetensors"), /non-finite/);
});

Deno.test("CpuColorMlp rejects mis-shaped inputs with the expected shape", async () => {
  using mlp = new CpuColorMlp(initColorMlp({ count: 4, config: CFG }));
  await assert.rejects(
    () => mlp.forward(new Float32Array(3), new Float32Array(3)),
    /condition must be \[4\] = 4 values, got 3/,
  );
  await assert.rejects(
    () => mlp.forward(new Float32Array(4), new Float32Array(5)),
    /view directions must be \[4, 3\] or \[3\]/,
  );
  await assert.rejects(() => mlp.backward(new Float32Array(12)), /before forward/);
  assert.throws(
    () => initColorMlp({ count: 2, config: { ...CFG, featureDim: 2 } }),
    /featureDim must be an integer ≥ 3/,
  );
});

Deno.test("jawCode() gives axis-angle and translation; localViewDirs() rotates into each frame", () => {
  const a = 0.3; // rotation about x by 0.3 rad
  const R = [1, 0, 0, 0, Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a)];
  const j = jawCode({ R, t: [0.1, -0.2, 0.3] });
  const want = [a, 0, 0, 0.1, -0.2, 0.3];
  for (let k = 0; k < 6; k++) assert.ok(Math.abs(j[k]! - want[k]!) < 1e-6, `jaw code ${j}`);
  assert.deepEqual(Array.from(jawCode({ R: [1, 0, 0, 0, 1, 0, 0, 0, 1], t: [0, 0, 0] })), [
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
  // Frame 0: identity; frame 1: R above. The view (0, 0, 1) seen from frame 1 is Rᵀ·v.
  const rot = Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1, ...R]);
  const d = localViewDirs(rot, Int32Array.from([0, 1]), [0, 0, 2]);
  const wantD = [0, 0, 1, 0, Math.sin(a), Math.cos(a)];
  for (let k = 0; k < 6; k++) assert.ok(Math.abs(d[k]! - wantD[k]!) < 1e-6, `dirs ${d}`);
});
