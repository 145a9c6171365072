import assert from "node:assert/strict";
import { createSplatBackend, randomScene, simplePinhole } from "../splat/mod.ts";
import type { GaussianScene, LossOptions, RenderOptions, SplatBackend } from "../splat/types.ts";
import type { AdaptView } from "./views.ts";
import { erodeMask, FACE_OVAL, fillPolygon } from "./views.ts";
import { initAdaptation, runAdaptation } from "./adapt.ts";
import {
  canonicalMesh,
  deformedVertices,
  framesFor,
  type HeadFrame,
  poseModel,
  renderHead,
} from "./render.ts";
import { poseToCamera } from "./camera.ts";
import { projectMesh } from "./drive.ts";
import { frontal, tinyModel } from "./_synthetic.ts";
import {
  distanceToMask,
  silhouetteBandError,
  silhouetteTarget,
  silhouetteWeights,
} from "./silhouette.ts";

const W = 40, H = 32;

/** A disc-shaped face mask in the middle of a W×H image. */
function discMask(r = 10): Float32Array {
  return Float32Array.from(
    { length: W * H },
    (_, i) => (Math.hypot((i % W) + 0.5 - W / 2, Math.floor(i / W) + 0.5 - H / 2) <= r ? 1 : 0),
  );
}

Deno.test("silhouetteWeights() weighs the face 1, leaves a gap at the edge and a band outside", () => {
  const mask = discMask();
  const dist = distanceToMask(mask, W, H);
  const wts = silhouetteWeights(mask, dist, { bandPx: 5, gapPx: 1.5, weight: 0.5 });
  for (let i = 0; i < W * H; i++) {
    const d = dist[i]!;
    const want = mask[i] ? 1 : d > 1.5 && d <= 5 ? 0.5 : 0;
    assert.equal(wts[i], want, `pixel ${i} at distance ${d}`);
  }
  assert.ok(wts.some((v) => v === 0.5), "a band exists");
  assert.ok(dist.some((d) => d > 5), "the image reaches beyond the band");
});

Deno.test("silhouetteTarget() keeps the footage in the mask and shows the background outside", () => {
  const mask = discMask();
  const rgb = Float32Array.from({ length: W * H * 3 }, (_, i) => (i % 17) / 17);
  const out = silhouetteTarget(rgb, mask, [0.1, 0.2, 0.3], new Float32Array(W * H * 3));
  for (let i = 0; i < W * H; i++) {
    for (let c = 0; c < 3; c++) {
      assert.equal(out[i * 3 + c], mask[i] ? rgb[i * 3 + c] : Math.fround([0.1, 0.2, 0.3][c]!));
    }
  }
  assert.throws(
    () => silhouetteTarget(rgb, mask, [0, 0, 0], new Float32Array(3)),
    /images must be \[1280, 3\]/,
  );
});

Deno.test("silhouetteBandError() is 0 for a render that ends at the mask and flags a pale opaque rim", () => {
  const mask = discMask();
  const footage = Float32Array.from({ length: W * H * 3 }, (_, i) => 0.2 + 0.3 * ((i % 5) / 5));
  // A perfect render: the footage inside the mask, transparent outside (premultiplied rgb).
  const rgb = new Float32Array(W * H * 3), alpha = new Float32Array(W * H);
  for (let i = 0; i < W * H; i++) {
    alpha[i] = mask[i]!;
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = mask[i]! * footage[i * 3 + c]!;
  }
  const good = silhouetteBandError(rgb, alpha, footage, mask, W, H, 3, 2);
  assert.equal(good.outerL1, 0);
  assert.equal(good.innerL1, 0);
  assert.equal(good.outerAlpha, 0);
  assert.ok(good.pixels[0] > 10 && good.pixels[1] > 10);
  // A rim of wall colour (0.9) 2 px wide just outside the mask.
  const dist = distanceToMask(mask, W, H);
  for (let i = 0; i < W * H; i++) {
    if (dist[i]! > 0 && dist[i]! <= 2) {
      alpha[i] = 1;
      for (let c = 0; c < 3; c++) rgb[i * 3 + c] = 0.9;
    }
  }
  const bad = silhouetteBandError(rgb, alpha, footage, mask, W, H, 3, 2);
  assert.ok(bad.outerL1 > 60, `outer |err| ${bad.outerL1}`);
  assert.ok(bad.outerLumaBias > 60, `luma bias ${bad.outerLumaBias}`);
  assert.ok(bad.outerAlpha > 0.4);
  assert.equal(bad.innerL1, 0);
});

/** The silhouette objective's loss on one scene: render over `bg`, weights and target from the mask. */
function silhouetteSetup() {
  const scene = randomScene({
    count: 40,
    seed: 3,
    center: [0, 0, 3],
    extent: 0.9,
    colorMode: "rgb",
    logScaleRange: [-3.2, -2.2],
  });
  const cam = simplePinhole(W, H);
  const mask = discMask(9);
  const footage = Float32Array.from(
    { length: W * H * 3 },
    (_, i) => 0.3 + 0.4 * ((i * 7 % 13) / 13),
  );
  const bg: [number, number, number] = [0.85, 0.2, 0.6];
  const target = silhouetteTarget(footage, mask, bg, new Float32Array(W * H * 3));
  const weights = silhouetteWeights(mask, distanceToMask(mask, W, H), {
    bandPx: 8,
    gapPx: 1.5,
    weight: 1,
  });
  const loss: LossOptions = { mask: weights, ssimWeight: 0.2 };
  const opts: RenderOptions = { background: bg };
  return { scene, cam, target, loss, opts };
}

async function lossOf(b: SplatBackend, s: ReturnType<typeof silhouetteSetup>, sc: GaussianScene) {
  return (await b.renderLossBackward(sc, s.cam, s.target, s.loss, s.opts)).loss;
}

Deno.test("the silhouette objective's gradient (random background + band target) matches finite differences on the CPU", async () => {
  using cpu = await createSplatBackend({ backend: "cpu" });
  const s = silhouetteSetup();
  const { grads } = await cpu.renderLossBackward(s.scene, s.cam, s.target, s.loss, s.opts);
  // Central differences on the opacities (the term's point: coverage outside the mask is
  // penalised through the background) and on the means' x. Steps 1e-3 (logits) and 1e-4
  // (world units); L1's kinks and the 1/255 alpha cut-off make a few entries differ, so the
  // share of agreeing entries is checked (calibrated: 79 of 80 agree to 2 %).
  let agree = 0, total = 0;
  for (const [key, h, stride] of [["opacityLogits", 1e-3, 1], ["means", 1e-4, 3]] as const) {
    for (let i = 0; i < s.scene.count; i++) {
      const p = s.scene[key], j = i * stride;
      const g = grads[key][j]!;
      const orig = p[j]!;
      p[j] = orig + h;
      const hp = p[j]! - orig;
      const lp = await lossOf(cpu, s, s.scene);
      p[j] = orig - h;
      const hm = orig - p[j]!;
      const lm = await lossOf(cpu, s, s.scene);
      p[j] = orig;
      const fd = (lp - lm) / (hp + hm);
      total++;
      if (Math.abs(fd - g) <= 0.02 * Math.max(Math.abs(fd), Math.abs(g)) + 1e-6) agree++;
    }
  }
  assert.ok(agree >= 0.9 * total, `${agree}/${total} gradients agree with finite differences`);
  // The background matters: with black instead, the same Gaussians get other gradients.
  const black = await cpu.renderLossBackward(s.scene, s.cam, s.target, s.loss, {
    background: [0, 0, 0],
  });
  let diff = 0;
  for (let i = 0; i < s.scene.count; i++) {
    diff += Math.abs(black.grads.opacityLogits[i]! - grads.opacityLogits[i]!);
  }
  assert.ok(diff > 1e-3, `background changes the opacity gradients (Σ|Δ| = ${diff})`);
});

Deno.test("the silhouette objective gives the same loss and gradients on WebGPU as on the CPU", async (t) => {
  let gpu: SplatBackend;
  try {
    gpu = await createSplatBackend({ backend: "webgpu" });
  } catch {
    return void t.step({
      name: "skipped: no WebGPU adapter (Debian mesa-vulkan-drivers gives lavapipe)",
      ignore: true,
      fn: () => {},
    });
  }
  try {
    using cpu = await createSplatBackend({ backend: "cpu" });
    const s = silhouetteSetup();
    const a = await cpu.renderLossBackward(s.scene, s.cam, s.target, s.loss, s.opts);
    const b = await gpu.renderLossBackward(s.scene, s.cam, s.target, s.loss, s.opts);
    // f32 on the GPU (reductions in another order) vs float64 on the CPU: 1e-4 relative on
    // the loss, 1e-3 of each group's largest gradient (calibrated on lavapipe: worst 1.5e-5).
    assert.ok(Math.abs(a.loss - b.loss) <= 1e-4 * a.loss, `loss ${a.loss} vs ${b.loss}`);
    for (const k of ["means", "logScales", "opacityLogits", "colors"] as const) {
      let worst = 0, scale = 0;
      for (let i = 0; i < a.grads[k].length; i++) {
        worst = Math.max(worst, Math.abs(a.grads[k][i]! - b.grads[k][i]!));
        scale = Math.max(scale, Math.abs(a.grads[k][i]!));
      }
      assert.ok(scale > 0, `${k} has gradients`);
      assert.ok(worst <= 1e-3 * scale, `${k}: worst ${worst} of ${scale}`);
    }
  } finally {
    gpu[Symbol.dispose]();
  }
});

/**
 * A synthetic speaker: the small test head (`_synthetic.ts`) rendered over a pale wall
 * at three head turns, with the face-oval mask and binding frames as `views.ts` builds
 * them from a track.
 */
async function syntheticViews(wall: [number, number, number]): Promise<AdaptView[]> {
  using cpu = await createSplatBackend({ backend: "cpu" });
  const mesh = await canonicalMesh();
  const truth = tinyModel(7);
  const width = 120, height = 132;
  const views: AdaptView[] = [];
  for (const [k, yawDeg] of [-10, 0, 10].entries()) {
    const a = (yawDeg * Math.PI) / 180, c = Math.cos(a), s = Math.sin(a);
    // Frontal R = diag(1, −1, −1), then a turn about the head's vertical axis.
    const f: HeadFrame = {
      ...frontal(truth.neutral),
      rotation: Float32Array.from([c, 0, s, 0, -1, 0, s, 0, -c]),
      translation: Float32Array.from([60, 62, 0]),
      scale: 6,
    };
    const { rgb, alpha } = await renderHead(cpu, truth, f, { width, height }, { color: "static" });
    for (let i = 0; i < width * height; i++) {
      for (let ch = 0; ch < 3; ch++) {
        rgb[i * 3 + ch] = rgb[i * 3 + ch]! + (1 - alpha[i]!) * wall[ch]!;
      }
    }
    const xy = projectMesh(mesh.vertices, truth.neutral, f.rotation, f.translation, f.scale);
    const oval = new Float64Array(FACE_OVAL.length * 2);
    FACE_OVAL.forEach((v, j) => (oval[j * 2] = xy[v * 2]!, oval[j * 2 + 1] = xy[v * 2 + 1]!));
    const crop = { x: 0, y: 0, w: width, h: height };
    views.push({
      row: k,
      crop,
      camera: poseToCamera(f.rotation, f.translation, f.scale, { width, height }),
      rgb,
      mask: erodeMask(fillPolygon(oval, width, height), width, height, 1),
      expression: truth.neutral,
      articulation: new Float32Array(8),
      frames: framesFor(mesh, truth.neutral, truth.neutral),
      vertices: deformedVertices(mesh, truth.neutral),
    });
  }
  return views;
}

/** Adapts on the synthetic views and returns the jaw-line band error over a dark neck colour. */
async function adaptAndMeasure(views: AdaptView[], silhouette: boolean) {
  using cpu = await createSplatBackend({ backend: "cpu" });
  const mesh = await canonicalMesh();
  const opts = {
    iterations: 50,
    seed: 2,
    gaussians: 1500,
    densify: false as const,
    ...(silhouette ? {} : { silhouette: false as const }),
  };
  const neutral = views[0]!.expression;
  const state = await initAdaptation(views, mesh, neutral, opts);
  await runAdaptation(cpu, views, state, opts);
  // The frontal view rendered and laid over a dark neck colour instead of the wall: a
  // silhouette Gaussian that learned the wall shows as a pale rim there.
  const v = views[1]!;
  const scene = poseModel(
    { ...tinyModel(7), gaussians: state.gaussians, part: state.part },
    v.frames,
  );
  const out = await cpu.render(scene, v.camera);
  const neck = new Float32Array(v.rgb.length);
  for (let i = 0; i < neck.length; i += 3) neck.set([0.3, 0.18, 0.14], i);
  return silhouetteBandError(out.rgb, out.alpha, neck, v.mask, v.crop.w, v.crop.h);
}

Deno.test("adaptation with the silhouette objective does not teach the silhouette the wall's colour (synthetic head over a pale wall)", async () => {
  const views = await syntheticViews([0.95, 0.9, 0.7]);
  const plain = await adaptAndMeasure(views, false);
  const sil = await adaptAndMeasure(views, true);
  // Calibrated (50 CPU steps, seeded, deterministic): the plain masked loss leaves a rim
  // outside the face mask with coverage 0.52 and +52 levels of luma over the neck (the
  // wall's colour, learned through the SSIM window that reaches past the mask); with the
  // silhouette objective coverage 0.075, +6.3. The first pair of checks shows the scene
  // reproduces the defect, the second that the objective removes it, each with ≥ 2× margin.
  assert.ok(plain.outerAlpha > 0.3 && plain.outerLumaBias > 25, `plain: ${JSON.stringify(plain)}`);
  assert.ok(sil.outerAlpha < 0.2, `silhouette: coverage outside the mask ${sil.outerAlpha}`);
  assert.ok(sil.outerLumaBias < 15, `silhouette: luma bias over the neck ${sil.outerLumaBias}`);
});
