import assert from "node:assert/strict";
import { CpuBackend, CpuOptimizer, forwardBackwardCpu, forwardCpu } from "./_cpu.ts";
import { rasterizeBackward, type SceneArrays } from "./_cpu_raster.ts";
import { photometricLoss } from "./_loss.ts";
import { randomScene, simplePinhole } from "./scene.ts";
import type { Camera, GaussianScene } from "./types.ts";

const close = (a: number, b: number, tol = 1e-9, msg = "") =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${msg} ${a} vs ${b}`);
const logit = (o: number) => Math.log(o / (1 - o));

/** A float64 scene of isotropic Gaussians with RGB colours. */
function rgbScene(
  gs: { mean: number[]; scale: number; opacity: number; rgb: number[] }[],
): SceneArrays {
  return {
    count: gs.length,
    means: Float64Array.from(gs.flatMap((g) => g.mean)),
    logScales: Float64Array.from(gs.flatMap((g) => [1, 1, 1].map(() => Math.log(g.scale)))),
    quats: Float64Array.from(gs.flatMap(() => [1, 0, 0, 0])),
    opacityLogits: Float64Array.from(gs.map((g) => logit(g.opacity))),
    shDegree: 0,
    colorMode: "rgb",
    colors: Float64Array.from(gs.flatMap((g) => g.rgb)),
  };
}

// 32×32, f = 32, principal point at pixel (16, 16)'s centre.
const CAM: Camera = {
  kind: "pinhole",
  width: 32,
  height: 32,
  fx: 32,
  fy: 32,
  cx: 16.5,
  cy: 16.5,
  R: [1, 0, 0, 0, 1, 0, 0, 0, 1],
  t: [0, 0, 0],
};
const BG: [number, number, number] = [0.1, 0.2, 0.3];

Deno.test("forwardCpu() renders one Gaussian: centre value, falloff, alpha cut-off", () => {
  const s = rgbScene([{ mean: [0, 0, 2], scale: 0.1, opacity: 0.8, rgb: [1, 0.5, 0.25] }]);
  const f = forwardCpu(s, CAM, { background: BG });
  const varPx = (32 * 0.1 / 2) ** 2 + 0.3; // (f·s/z)² + dilation = 2.86
  const px = (x: number, y: number) => [0, 1, 2].map((c) => f.rgb[(y * 32 + x) * 3 + c]!);
  const expectAt = (x: number, y: number, alpha: number) => {
    const got = px(x, y);
    [1, 0.5, 0.25].forEach((c, i) =>
      close(got[i]!, c * alpha + (1 - alpha) * BG[i]!, 1e-12, `pixel ${x},${y}`)
    );
    close(f.alpha[y * 32 + x]!, alpha, 1e-12);
  };
  expectAt(16, 16, 0.8);
  close(f.depth[16 * 32 + 16]!, 2 * 0.8, 1e-12);
  assert.equal(f.count[16 * 32 + 16], 1);
  expectAt(17, 16, 0.8 * Math.exp(-0.5 / varPx));
  expectAt(16, 13, 0.8 * Math.exp(-4.5 / varPx));
  expectAt(18, 17, 0.8 * Math.exp(-0.5 * (4 + 1) / varPx));
  // dx = 5: α ≈ 0.0101 ≥ 1/255 blends; dx = 6: α ≈ 0.0015 < 1/255 is skipped entirely.
  expectAt(21, 16, 0.8 * Math.exp(-12.5 / varPx));
  assert.deepEqual(px(22, 16), BG);
  assert.equal(f.alpha[16 * 32 + 22], 0);
  assert.equal(f.count[16 * 32 + 22], 0);
});

Deno.test("forwardCpu() stops before the Gaussian that would bring T below 1e-4 and clamps α at 0.99", () => {
  const s = rgbScene([
    { mean: [0, 0, 4], scale: 0.05, opacity: 0.9, rgb: [0, 0, 1] }, // third in depth
    { mean: [0, 0, 2], scale: 0.05, opacity: 0.99995, rgb: [1, 0, 0] }, // α clamped to 0.99
    { mean: [0, 0, 3], scale: 0.05, opacity: 0.98, rgb: [0, 1, 0] },
    { mean: [0, 0, 5], scale: 0.05, opacity: 0.5, rgb: [1, 1, 1] },
  ]);
  const dRgb = new Float64Array(32 * 32 * 3);
  const c = 16 * 32 + 16;
  dRgb[c * 3] = 1, dRgb[c * 3 + 1] = 1, dRgb[c * 3 + 2] = 1;
  const { forward: f, grads } = forwardBackwardCpu(s, CAM, dRgb, undefined, { background: BG });
  const T = 0.01 * 0.02; // after the 0.99 and 0.98 layers; the 0.9 layer would give 2e-5 < 1e-4
  close(f.rgb[c * 3]!, 0.99 + T * BG[0], 1e-12);
  close(f.rgb[c * 3 + 1]!, 0.98 * 0.01 + T * BG[1], 1e-12);
  close(f.rgb[c * 3 + 2]!, T * BG[2], 1e-12);
  close(f.alpha[c]!, 1 - T, 1e-12);
  assert.equal(f.count[c], 2);
  // Only the two blended Gaussians receive colour gradient from that pixel.
  close(grads.colors[1 * 3]!, 0.99, 1e-12);
  close(grads.colors[2 * 3 + 1]!, 0.98 * 0.01, 1e-12);
  assert.equal(grads.colors[0 * 3 + 2], 0);
  assert.equal(grads.colors[3 * 3], 0);
});

Deno.test("forwardCpu() culls Gaussians behind the near plane and keeps depth order", () => {
  const s = rgbScene([
    { mean: [0, 0, -1], scale: 0.5, opacity: 0.9, rgb: [1, 0, 0] },
    { mean: [0, 0, 0.005], scale: 0.5, opacity: 0.9, rgb: [1, 0, 0] },
    { mean: [0, 0, 3], scale: 0.2, opacity: 0.5, rgb: [0, 0, 1] },
    { mean: [0, 0, 2], scale: 0.2, opacity: 0.5, rgb: [0, 1, 0] },
  ]);
  const f = forwardCpu(s, CAM);
  assert.deepEqual([...f.proj.sorted], [3, 2]);
  const c = 16 * 32 + 16;
  close(f.rgb[c * 3]!, 0, 1e-12);
  close(f.rgb[c * 3 + 1]!, 0.5, 1e-12);
  close(f.rgb[c * 3 + 2]!, 0.25, 1e-12);
});

/** dL/dθ by central differences against the analytic backward for every parameter. */
function checkGradients(s: SceneArrays, cam: Camera, label: string): void {
  const W = cam.width, H = cam.height;
  const dR = new Float64Array(W * H * 3).map((_, i) => Math.sin(i * 0.71 + 0.3));
  const dA = new Float64Array(W * H).map((_, i) => Math.cos(i * 1.37));
  const opts = { background: [0.2, 0.4, 0.6] as [number, number, number] };
  const L = () => {
    const f = forwardCpu(s, cam, opts);
    let l = 0;
    for (let i = 0; i < f.rgb.length; i++) l += f.rgb[i]! * dR[i]!;
    for (let i = 0; i < f.alpha.length; i++) l += f.alpha[i]! * dA[i]!;
    return l;
  };
  const { forward, grads } = forwardBackwardCpu(s, cam, dR, dA, opts);
  if (cam.kind === "ortho") {
    // Ortho: J and the SH direction do not depend on the mean, so dL/dmean = Rᵀ·(scale·dL/dmean2D, 0)
    // and means2dAbs = |dL/dmean| / scale.
    for (let i = 0; i < s.count; i++) {
      const gm = Math.hypot(grads.means[i * 3]!, grads.means[i * 3 + 1]!, grads.means[i * 3 + 2]!);
      close(grads.means2dAbs[i]!, gm / cam.scale, 1e-9, `means2dAbs[${i}]`);
    }
    assert.ok(grads.means2dAbs.some((v) => v > 1e-3));
  }
  if (cam.kind === "pinhole") {
    // The scene must exercise the early stop: some pixels end with T just above 1e-4.
    assert.ok(forward.finalT.some((t) => t < 2e-3), `${label}: no pixel reached the early stop`);
  }
  for (const g of ["means", "logScales", "quats", "opacityLogits", "colors"] as const) {
    const arr = s[g], an = grads[g];
    let nonzero = 0;
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i]!, e = 1e-6;
      arr[i] = v + e;
      const lp = L();
      arr[i] = v - e;
      const lm = L();
      arr[i] = v;
      const num = (lp - lm) / (2 * e);
      // float64 central differences are accurate to ~1e-8 here; 1e-4 relative leaves margin.
      assert.ok(
        Math.abs(num - an[i]!) <= 1e-4 * (1e-2 + Math.abs(num)),
        `${label} ${g}[${i}]: analytic ${an[i]} vs numeric ${num}`,
      );
      if (Math.abs(num) > 1e-6) nonzero++;
    }
    assert.ok(
      nonzero > arr.length / 4,
      `${label} ${g}: too few non-zero gradients (${nonzero}/${arr.length})`,
    );
  }
}

function toF64(s: GaussianScene): SceneArrays {
  return {
    ...s,
    means: Float64Array.from(s.means),
    logScales: Float64Array.from(s.logScales),
    quats: Float64Array.from(s.quats),
    opacityLogits: Float64Array.from(s.opacityLogits),
    colors: Float64Array.from(s.colors),
  };
}

/** A small seeded scene with overlaps, α-clamped centres, a Gaussian beyond the FOV clamp, one behind the camera. */
function gradScene(shDegree: number, colorMode: "sh" | "rgb"): SceneArrays {
  const s = toF64(randomScene({
    count: 9,
    seed: 7 + shDegree,
    shDegree,
    colorMode,
    extent: 0.5,
    center: [0, 0, 3],
    logScaleRange: [-2.2, -1.2],
    opacityLogitRange: [-1, 6],
  }));
  // #0 well outside the clamp limit (x/z ≈ 0.6 > 1.3·tan 25° ≈ 0.61·…) but large enough to reach the image.
  s.means.set([1.9, 0.1, 3], 0), s.logScales.set([-0.6, -0.9, -0.7], 0);
  // #1 behind the camera.
  s.means.set([0, 0, -2], 3);
  // #4..#8 stacked near one spot (opacities ≈ 0.88..0.997): pixels there stop at T < 1e-4
  // and the α = 0.99 clamp is hit at the centre of the most opaque ones.
  for (let i = 4; i < 9; i++) s.means.set([0.05 * (i - 6), 0.03 * (i - 6), 2.5 + 0.2 * i], i * 3);
  s.opacityLogits.set([3, 4, 5, 6, 4.5], 4);
  return s;
}

const GRAD_CAM = simplePinhole(24, 20, 50);

Deno.test("forwardBackwardCpu() gradients match finite differences (SH degree 0)", () => {
  checkGradients(gradScene(0, "sh"), GRAD_CAM, "sh0");
});

Deno.test("forwardBackwardCpu() gradients match finite differences (SH degree 3)", () => {
  checkGradients(gradScene(3, "sh"), GRAD_CAM, "sh3");
});

Deno.test("forwardBackwardCpu() gradients match finite differences (rgb colours, ortho camera)", () => {
  checkGradients(gradScene(0, "rgb"), GRAD_CAM, "rgb");
  const ortho: Camera = {
    kind: "ortho",
    width: 24,
    height: 20,
    scale: 14,
    cx: 12,
    cy: 10,
    R: [0.8, 0, 0.6, 0, 1, 0, -0.6, 0, 0.8],
    t: [-1.8, 0, 0], // the scene centre (0, 0, 3) maps to camera (0, 0, 2.4)
  };
  const s = gradScene(2, "sh");
  s.means.set([0.2, 0.1, 3.4], 0);
  s.means.set([-0.3, 0.2, 3.1], 3);
  checkGradients(s, ortho, "ortho sh2");
});

Deno.test("photometricLoss() gradient matches finite differences (L1 + D-SSIM, masked)", () => {
  const W = 13, H = 11;
  const rand = (k: number) =>
    new Float64Array(W * H * k).map((_, i) => 0.5 + 0.45 * Math.sin(i * 2.1 + k));
  const x = rand(3), y = rand(3).map((v, i) => v * 0.7 + 0.2 * Math.cos(i));
  const mask = new Float64Array(W * H).map((_, i) => (i % 7 === 0 ? 0 : 0.5 + 0.5 * Math.sin(i)));
  for (const m of [undefined, mask]) {
    const r = photometricLoss(x, y, W, H, 0.2, m);
    assert.ok(r.loss > 0 && r.ssim < 1 && r.ssim > 0);
    for (let i = 0; i < x.length; i += 5) {
      const v = x[i]!, e = 1e-6;
      x[i] = v + e;
      const lp = photometricLoss(x, y, W, H, 0.2, m).loss;
      x[i] = v - e;
      const lm = photometricLoss(x, y, W, H, 0.2, m).loss;
      x[i] = v;
      close(r.grad[i]!, (lp - lm) / (2 * e), 1e-5, `grad[${i}]`);
    }
  }
  // Identical images: zero loss, SSIM 1.
  const same = photometricLoss(x, x, W, H, 0.2);
  close(same.loss, 0, 1e-12);
  close(same.ssim, 1, 1e-12);
});

Deno.test("CpuOptimizer.step() fits a scene to a target rendered from a hidden scene", async () => {
  const be = new CpuBackend();
  const cam = simplePinhole(32, 32, 60);
  const hidden = randomScene({
    count: 40,
    seed: 11,
    extent: 0.8,
    center: [0, 0, 3],
    logScaleRange: [-2.5, -1.8],
    opacityLogitRange: [0, 3],
  });
  const target = (await be.render(hidden, cam)).rgb;
  const init = randomScene({
    count: 40,
    seed: 12,
    extent: 0.8,
    center: [0, 0, 3],
    logScaleRange: [-2.5, -1.8],
    opacityLogitRange: [0, 3],
  });
  const opt = be.createOptimizer(init, {
    lr: { means: 0.005, logScales: 0.02, quats: 0.01, opacityLogits: 0.05, colors: 0.05 },
  });
  const first = await opt.step(cam, target);
  let last = first;
  for (let i = 0; i < 100; i++) last = await opt.step(cam, target);
  // Calibrated: starts at 0.13, reaches 0.0038 after 100 steps; 0.01 leaves margin.
  assert.ok(first > 0.1, `initial loss ${first}`);
  assert.ok(last < 0.01, `final loss ${last} (initial ${first})`);
  const fitted = await opt.scene();
  assert.equal(fitted.count, 40);
});

Deno.test("CpuOptimizer.densifyAndPrune() clones small, splits large and prunes transparent Gaussians", async () => {
  const cam = simplePinhole(32, 32, 60);
  const scene = randomScene({
    count: 30,
    seed: 5,
    extent: 0.6,
    center: [0, 0, 3],
    logScaleRange: [-3, -1.5],
    opacityLogitRange: [-6, 3],
  });
  const target = new Float32Array(32 * 32 * 3).fill(0.5);
  const opt = new CpuOptimizer(scene, {
    lr: { means: 1e-4, logScales: 1e-4, quats: 1e-4, opacityLogits: 1e-4, colors: 1e-4 },
  });
  await opt.step(cam, target);
  const before = await opt.scene();
  const scaleThreshold = Math.exp(-2.25);
  const minOpacity = 0.02;
  const r = await opt.densifyAndPrune({ gradThreshold: 0, scaleThreshold, minOpacity, seed: 3 });
  const after = await opt.scene();
  let small = 0, large = 0, transparentSmall = 0, transparentLarge = 0;
  const minLogit = logit(minOpacity);
  for (let i = 0; i < before.count; i++) {
    const big = Math.exp(Math.max(...before.logScales.subarray(i * 3, i * 3 + 3))) > scaleThreshold;
    const tr = before.opacityLogits[i]! < minLogit;
    if (big) large++, transparentLarge += tr ? 1 : 0;
    else small++, transparentSmall += tr ? 1 : 0;
  }
  assert.equal(r.cloned, small);
  assert.equal(r.split, large);
  // A transparent small one is pruned twice (original + clone), a split one's 2 children.
  assert.equal(r.pruned, 2 * transparentSmall + 2 * transparentLarge);
  assert.equal(after.count, before.count + r.cloned + r.split - r.pruned);
  assert.ok(
    transparentSmall + transparentLarge > 0 && small > 0 && large > 0,
    "scene covers all cases",
  );
  for (let i = 0; i < after.count; i++) assert.ok(after.opacityLogits[i]! >= minLogit);
  // Split children are 1/1.6 the size of their parent.
  const parentLs = new Set<number>();
  for (let i = 0; i < before.count; i++) {
    parentLs.add(Math.fround(before.logScales[i * 3]! - Math.log(1.6)));
  }
  let children = 0;
  for (let i = 0; i < after.count; i++) if (parentLs.has(after.logScales[i * 3]!)) children++;
  assert.equal(children, 2 * (large - transparentLarge));
  // Optimiser still works after resizing.
  assert.ok(Number.isFinite(await opt.step(cam, target)));
});

Deno.test("CpuBackend.render() validates shapes and returns float32 images with counts", async () => {
  const be = new CpuBackend();
  const s = randomScene({ count: 20, seed: 2, center: [0, 0, 3] });
  const out = await be.render(s, simplePinhole(40, 24), { withCount: true, background: [1, 1, 1] });
  assert.equal(out.rgb.length, 40 * 24 * 3);
  assert.ok(out.count instanceof Uint32Array);
  assert.ok(out.rgb.some((v) => v < 0.99), "something rendered over the white background");
  await assert.rejects(
    () => be.render({ ...s, quats: new Float32Array(3) }, simplePinhole(8, 8)),
    /quats must have 20×4/,
  );
});

/** Brute-force blending: every pixel walks all Gaussians whose tile rect covers it, in depth order. */
function naiveRender(p: ReturnType<typeof forwardCpu>["proj"], W: number, H: number): Float64Array {
  const out = new Float64Array(W * H * 3);
  const order = [...p.sorted];
  for (let py = 0; py < H; py++) {
    for (let px = 0; px < W; px++) {
      const tx = Math.floor(px / 16), ty = Math.floor(py / 16);
      let T = 1;
      const C = [0, 0, 0];
      for (const g of order) {
        const r = p.rect.subarray(g * 4, g * 4 + 4);
        if (tx < r[0]! || tx >= r[2]! || ty < r[1]! || ty >= r[3]!) continue;
        const dx = p.xy[g * 2]! - px, dy = p.xy[g * 2 + 1]! - py;
        const [a, b, c] = p.conic.subarray(g * 3, g * 3 + 3);
        const power = -0.5 * (a! * dx * dx + c! * dy * dy) - b! * dx * dy;
        if (power > 0) continue;
        const alpha = Math.min(0.99, p.opacity[g]! * Math.exp(power));
        if (alpha < 1 / 255) continue;
        if (T * (1 - alpha) < 1e-4) break;
        for (let ch = 0; ch < 3; ch++) C[ch] = C[ch]! + p.rgb[g * 3 + ch]! * alpha * T;
        T *= 1 - alpha;
      }
      for (let ch = 0; ch < 3; ch++) out[(py * W + px) * 3 + ch] = C[ch]!;
    }
  }
  return out;
}

Deno.test("forwardCpu() equals brute-force per-pixel blending (tile edges, huge, tiny and transparent Gaussians)", () => {
  const s = toF64(randomScene({
    count: 400,
    seed: 21,
    shDegree: 1,
    extent: 1.2,
    center: [0, 0, 3],
    logScaleRange: [-5, -1],
    opacityLogitRange: [-7, 5],
  }));
  const cam = simplePinhole(72, 40, 60);
  const f = forwardCpu(s, cam);
  const want = naiveRender(f.proj, 72, 40);
  let maxDiff = 0;
  for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(want[i]! - f.rgb[i]!));
  // Same operations in the same order: equal up to float64 rounding.
  assert.ok(maxDiff < 1e-12, `max difference ${maxDiff}`);
  // The scene covers the cases: multi-tile Gaussians, sub-pixel ones, ones below 1/255 opacity.
  const tiles = [...f.proj.sorted].map((g) =>
    (f.proj.rect[g * 4 + 2]! - f.proj.rect[g * 4]!) *
    (f.proj.rect[g * 4 + 3]! - f.proj.rect[g * 4 + 1]!)
  );
  assert.ok(tiles.some((t) => t >= 4) && tiles.some((t) => t === 1));
  assert.ok([...f.proj.opacity].some((o) => o > 0 && o < 1 / 255));
});

Deno.test("forwardCpu() projects with an orthographic camera: pixel = scale·(R·x + t)_xy + (cx, cy)", () => {
  const s = rgbScene([{ mean: [0.5, -0.25, 7], scale: 0.05, opacity: 0.6, rgb: [1, 1, 1] }]);
  const cam: Camera = {
    kind: "ortho",
    width: 32,
    height: 32,
    scale: 20,
    cx: 6.5,
    cy: 21.5,
    R: [1, 0, 0, 0, 1, 0, 0, 0, 1],
    t: [0, 0, -10],
  };
  const f = forwardCpu(s, cam);
  // Centre at pixel (16, 16) exactly (z = −3 is fine for ortho); σ² = (20·0.05)² + 0.3.
  close(f.alpha[16 * 32 + 16]!, 0.6, 1e-12);
  close(f.alpha[16 * 32 + 17]!, 0.6 * Math.exp(-0.5 / 1.3), 1e-12);
  close(f.depth[16 * 32 + 16]!, -3 * 0.6, 1e-12);
});

Deno.test("CpuBackend reuses its buffers without leaking state between scenes", async () => {
  const shared = new CpuBackend();
  const big = randomScene({
    count: 300,
    seed: 31,
    shDegree: 2,
    center: [0, 0, 3],
    logScaleRange: [-3, -1],
  });
  const small = randomScene({ count: 40, seed: 32, shDegree: 0, center: [0, 0.2, 3] });
  small.means.set([0, 0, -1], 0); // culled: its buffers must not keep the big scene's values
  const camA = simplePinhole(48, 40), camB = simplePinhole(32, 24);
  const upA = { rgb: new Float32Array(48 * 40 * 3).fill(0.3) },
    upB = { rgb: new Float32Array(32 * 24 * 3).fill(-0.2) };
  await shared.renderBackward(big, camA, upA, { withCount: true });
  const got = await shared.renderBackward(small, camB, upB, { withCount: true });
  const want = await new CpuBackend().renderBackward(small, camB, upB, { withCount: true });
  assert.deepEqual(got.output, want.output);
  assert.deepEqual(got.grads, want.grads);
  assert.equal(got.grads.means[0], 0);
});

Deno.test("forwardBackwardCpu() handles empty scenes, NaN means, zero quaternions and all-culled scenes", () => {
  const cam = simplePinhole(20, 12);
  const up = new Float64Array(20 * 12 * 3).fill(1);
  const empty = rgbScene([]);
  const r0 = forwardBackwardCpu(empty, cam, up, undefined, { background: [0.25, 0.5, 1] });
  assert.ok(r0.forward.rgb.every((v, i) => v === [0.25, 0.5, 1][i % 3]));
  assert.ok(r0.forward.alpha.every((v) => v === 0));
  const s = rgbScene([
    { mean: [NaN, 0, 3], scale: 0.1, opacity: 0.5, rgb: [1, 0, 0] },
    { mean: [0, 0, 3], scale: 0.1, opacity: 0.5, rgb: [0, 1, 0] },
    { mean: [0, 0, -3], scale: 0.1, opacity: 0.5, rgb: [0, 0, 1] },
  ]);
  s.quats.set([0, 0, 0, 0], 4); // degenerate quaternion of #1: treated as identity
  const r = forwardBackwardCpu(s, cam, up);
  assert.deepEqual([...r.forward.proj.sorted], [1]);
  for (const k of ["means", "logScales", "quats", "opacityLogits", "colors"] as const) {
    assert.ok(r.grads[k].every(Number.isFinite), k);
  }
  assert.ok(r.grads.colors[4]! > 0);
  const behind = rgbScene([{ mean: [0, 0, -1], scale: 1, opacity: 0.9, rgb: [1, 1, 1] }]);
  assert.ok(forwardCpu(behind, cam).alpha.every((v) => v === 0));
});

Deno.test("forwardCpu() without recording renders the same image and refuses the backward pass", () => {
  const scene = randomScene({ count: 300, seed: 5, shDegree: 1, center: [0, 0, 4], extent: 1.5 });
  const cam = simplePinhole(40, 24, 60);
  const a = forwardCpu(scene, cam, { background: BG });
  const rgb = a.rgb.slice(), count = a.count.slice();
  const b = forwardCpu(scene, cam, { background: BG }, undefined, false);
  assert.deepEqual(b.rgb, rgb);
  assert.deepEqual(b.count, count);
  assert.throws(
    () => rasterizeBackward(b, new Float64Array(40 * 24 * 3), undefined),
    /record = false/,
  );
});
