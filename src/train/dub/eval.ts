/**
 * `deno task eval:dub`: the dubbing workflow measured end to end.
 *
 * Runs a dub workflow (default `workflows/demo.yaml`, with the same cache as
 * `dub run`, so after `deno task demo` it only measures), then on its outputs:
 *
 * 1. Lip-sync on the final video: the encoded mp4 is tracked with the face tracker
 *    (`face.track`'s code) and its measured articulation compared with the driving
 *    articulation (`lipsync.expression`'s output): Pearson r for jaw_open and
 *    lip_aperture (goal ≥ 0.8), the share of driven closures (bilabial_closure ≥ 0.5
 *    or silence: speech gate < 0.5) that come out closed (measured bilabial_closure
 *    ≥ 0.5; goal ≥ 90 %), and the lag (frames, + = late) maximising the correlation
 *    of jaw_open + lip_aperture (goal |lag| ≤ 1). The same for the undubbed footage
 *    (its own track) against the new dialogue: the baseline the dub must beat.
 *    Then where the jaw's correlation goes, link by link ({@link chainMeasures},
 *    {@link renderedChin}): (a) jaw_open / lip_aperture measured on the driven mesh
 *    itself (no tracker), (c) the render's chin edge against the driven chin, and
 *    the chin and lower lip tracked on the dub against the driven mesh's (px).
 * 2. Seam: on every 5th frame, mean gradient magnitude on the 50 % contour of the
 *    blend weight `body.inpaint` actually used (its `weight` output; the optimal
 *    seam) ÷ the mean 3–6 px either side (goal ≤ 1.1), next to the same ratio on the
 *    footage at the same contour (what the picture itself has there) and dubbed ÷
 *    footage (1 = the dub adds no edge of its own).
 * 3. Untouched region: pixels outside the mask of the lossless composite that differ
 *    from the decoded footage segment (goal 0, i.e. PSNR = ∞ before encoding).
 * 4. Temporal: on still-head frames (rigid landmarks moving < 0.5 px), mean
 *    |frame − previous| inside the mask (mask ≥ 50 %), composite vs the footage; and
 *    on the subset where neither mouth moves either (tracked and driven lip vertices
 *    < 0.3 px: there the dub must add no flicker of its own; elsewhere it shows its
 *    new mouth motion). `--decompose` re-runs the compositor with its parts switched
 *    off (render alone, no grain, no colour match, the mask's own edge) and prints
 *    where the difference comes from (`composite_lab.ts`).
 *
 *   deno task eval:dub [--workflow workflows/demo.yaml] [--set footage=x.mp4 --set dialogue=y.wav]
 *     [--media auto|native|wasm] [--out .cache/eval_dub] [--decompose]
 *
 * Writes `<out>/eval_dub.json` and `<out>/frames_*.png` (footage | dubbed | mask in red, blend
 * weight used in green/blue: red-only pixels are in the mask but kept from the footage) to look at.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import { ARTICULATION_DIM, channelIndex } from "../../articulation/mod.ts";
import {
  articulationFromGeometry,
  estimateNeutral,
  type FaceGeometry,
  measureGeometry,
  neutralOf,
} from "../../articulation/measure.ts";
import { readSpeakerModel } from "../../head/model.ts";
import { driveExpression, mouthMapFromTensors } from "../../head/mouth_map.ts";
import { canonicalMesh } from "../../head/render.ts";
import { TrackRows } from "../../head/track_rows.ts";
import { maskedMeanAbsDiff, seamRidge, untouchedDifferences } from "../../composite/metrics.ts";
import { writePng } from "../../image/png.ts";
import { type MediaChoice, openMedia } from "../../media/mod.ts";
import type { MediaBackend } from "../../media/types.ts";
import { readSafetensors } from "../../tensor/safetensors.ts";
import { trackClip } from "../../track/track_clip.ts";
import { readTrack } from "../../track/track_file.ts";
import { loadWorkflow } from "../../workflow/load.ts";
import { runWorkflow, type StepRecord } from "../../workflow/run.ts";
import { bestLag, closureShare, pearson } from "../head/metrics.ts";
import { decompositionVariants, isStill, measureVariant } from "./composite_lab.ts";
import { openRenderMeta } from "../../composite/render_file.ts";
import { createLowerFaceMasker } from "../../composite/mask.ts";
import { REGISTRY } from "../../stages/mod.ts";

const C = ARTICULATION_DIM;
const JAW = channelIndex("jaw_open"),
  AP = channelIndex("lip_aperture"),
  BIL = channelIndex("bilabial_closure");
const log = (s: string) => console.log(s);

/** Lip-sync numbers of one measured articulation `[T, C]` against the driving one. */
export function lipSync(
  drive: Float32Array,
  gate: Float32Array | null,
  measured: Float32Array,
  n: number,
) {
  const ch = (a: Float32Array, c: number) => Array.from({ length: n }, (_, t) => a[t * C + c]!);
  const driven = Array.from(
    { length: n },
    (_, t) => drive[t * C + BIL]! >= 0.5 || (gate !== null && gate[t]! < 0.5),
  );
  const closed = Array.from({ length: n }, (_, t) => measured[t * C + BIL]! >= 0.5);
  const sum = (a: Float32Array) =>
    Array.from({ length: n }, (_, t) => a[t * C + JAW]! + a[t * C + AP]!);
  return {
    r_jaw_open: pearson(ch(drive, JAW), ch(measured, JAW)),
    r_lip_aperture: pearson(ch(drive, AP), ch(measured, AP)),
    closures: driven.filter(Boolean).length,
    closed_share: closureShare(driven, closed),
    lag_frames: bestLag(sum(drive), sum(measured), 6).lag,
  };
}

function stepOf(steps: StepRecord[], uses: string, last = false): StepRecord {
  const s = last ? steps.findLast((x) => x.uses === uses) : steps.find((x) => x.uses === uses);
  if (!s) throw new Error(`The workflow has no ${uses} step; eval:dub needs a full dub workflow`);
  return s;
}

async function main() {
  const { values } = parseArgs({
    options: {
      workflow: { type: "string", default: "workflows/demo.yaml" },
      set: { type: "string", multiple: true, default: [] },
      media: { type: "string", default: "auto" },
      out: { type: "string", default: ".cache/eval_dub" },
      decompose: { type: "boolean", default: false },
    },
  });
  const out = resolve(values.out!);
  await Deno.mkdir(out, { recursive: true });
  await using media = await openMedia({ backend: values.media as MediaChoice });
  const wf = await loadWorkflow(values.workflow!, { registry: REGISTRY, sets: values.set! });
  const t0 = performance.now();
  const report = await runWorkflow(wf, {
    cacheDir: Deno.env.get("DUB_CACHE_DIR") ?? resolve(wf.dir, ".dub-cache"),
    media,
    reportHtml: false,
    onEvent: (e) => {
      if (e.type === "step_end") {
        log(`  ${e.step}: ${e.status} (${e.durationS.toFixed(1)} s)`);
      }
    },
  });
  const clip = report.clips[0]!;
  if (clip.status !== "ok") throw new Error(`The workflow failed: ${clip.error}`);
  log(
    `workflow ${values.workflow}: ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s (${media.name} media)`,
  );
  const steps = clip.steps;
  const segment = stepOf(steps, "video.trim").outputs.video!;
  const track = stepOf(steps, "face.track").outputs.track!;
  const articulation = stepOf(steps, "lipsync.expression").outputs.articulation!;
  const render = stepOf(steps, "head.render");
  const inpaint = stepOf(steps, "body.inpaint");
  const composite = inpaint.outputs.video!;
  // The blend weight actually used (older body.inpaint versions: the mask).
  const weight = inpaint.outputs.weight ?? render.outputs.mask!;
  const encoded = stepOf(steps, "video.encode", true).outputs.video!;

  // 1. Lip-sync of the final video vs the undubbed footage.
  const { tensors } = await readSafetensors(articulation);
  const drive = tensors.get("articulation")!.data as Float32Array;
  const gate = (tensors.get("gate")?.data as Float32Array | undefined) ?? null;
  const footTrack = await readTrack(track);
  const tmp = await Deno.makeTempDir();
  let dubTrack;
  try {
    await trackClip(media, encoded, { outPath: join(tmp, "dub.safetensors"), tmpDir: tmp });
    dubTrack = await readTrack(join(tmp, "dub.safetensors"));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
  const n = Math.min(drive.length / C, footTrack.clip.frameCount, dubTrack.clip.frameCount);
  const lipsDub = lipSync(drive, gate, dubTrack.f32("articulation"), n);
  const lipsFootage = lipSync(drive, gate, footTrack.f32("articulation"), n);

  const chain = await chainMeasures(
    drive,
    track,
    stepOf(steps, "speaker.adapt").outputs.model!,
    render.outputs.meta!,
    dubTrack,
    n,
  );

  const silhouette = await renderedChin(media, render.outputs.render!, render.outputs.meta!, n);

  // 2–4. Seam, untouched region, temporal stability (streamed, frame by frame).
  const pic = await compositeMeasures(
    media,
    segment,
    composite,
    render.outputs.mask!,
    weight,
    render.outputs.meta!,
    footTrack,
    out,
  );
  const result = {
    workflow: values.workflow,
    media: media.name,
    frames: n,
    lip_sync: { dubbed: lipsDub, footage_baseline: lipsFootage, chain, silhouette },
    ...pic,
  };
  await Deno.writeTextFile(join(out, "eval_dub.json"), JSON.stringify(result, null, 2));
  const f = (v: number | null) => (v === null || !Number.isFinite(v) ? "n/a" : v.toFixed(3));
  log(`\nlip-sync over ${n} frames (goal r ≥ 0.8, closed ≥ 90 %, |lag| ≤ 1)`);
  log(`                    dubbed    footage (baseline)`);
  for (const k of ["r_jaw_open", "r_lip_aperture", "closed_share", "lag_frames"] as const) {
    log(`  ${k.padEnd(16)} ${f(lipsDub[k]).padStart(8)}  ${f(lipsFootage[k]).padStart(8)}`);
  }
  log(`  driven closures: ${lipsDub.closures}`);
  log(
    `jaw chain: r(drive, driven mesh) ${f(chain.mesh.r_jaw_open)} (aperture ${
      f(chain.mesh.r_lip_aperture)
    }); r(driven mesh, dub track) ${f(chain.mesh.r_jaw_mesh_vs_dub_track)}`,
  );
  log(
    `  rendered chin edge vs the driven chin (${silhouette.frames} frames): r ${
      f(silhouette.r)
    }, s.d. ${f(silhouette.driven_sd_px)} / ${f(silhouette.edge_sd_px)} px, edge ${
      f(silhouette.offset_px)
    } px below, residual s.d. ${f(silhouette.residual_sd_px)} px`,
  );
  for (const [k, c] of Object.entries(chain.image)) {
    log(
      `  ${k} below the nose, driven mesh vs tracked on the dub: r ${f(c.r)}, s.d. ${
        f(c.driven_sd_px)
      } / ${f(c.tracked_sd_px)} px, offset ${f(c.offset_px)} px, residual s.d. ${
        f(c.residual_sd_px)
      } px`,
    );
  }
  log(
    `seam ratio on the contour used (goal ≤ 1.1): composite ${
      f(pic.seam.composite)
    }, footage at the same contour ${f(pic.seam.footage)}, dubbed ÷ footage ${
      f(pic.seam.dubbed_over_footage)
    }`,
  );
  log(
    `untouched pixels that differ (goal 0): ${pic.untouched_differences} over ${pic.frames_compared} frames`,
  );
  log(
    `temporal |Δ| in the mask on ${pic.temporal.still_pairs} still-head frame pairs: composite ${
      f(pic.temporal.composite)
    }, footage ${f(pic.temporal.footage)} (8-bit levels)`,
  );
  log(
    `  of which ${pic.temporal.still_mouth_pairs} pairs where neither mouth moves: composite ${
      f(pic.temporal.still_mouth_composite)
    }, footage ${f(pic.temporal.still_mouth_footage)}`,
  );
  if (values.decompose) {
    log(`\ntemporal |Δ| / seam by compositor part (re-runs body.inpaint's code in memory):`);
    const geometry = { width: footTrack.clip.width, height: footTrack.clip.height };
    const rows = [];
    for (const [name, opts] of decompositionVariants()) {
      const v = await measureVariant(
        media,
        name,
        segment,
        { render: render.outputs.render!, mask: render.outputs.mask!, meta: render.outputs.meta! },
        { ...geometry, frameCount: footTrack.clip.frameCount },
        footTrack.f32("landmarks"),
        footTrack.u8("found"),
        opts,
      );
      rows.push(v);
      log(
        `  ${name.padEnd(58)} still head ${f(v.temporal)} | still mouth ${
          f(v.temporalStillMouth)
        } | skin ${f(v.temporalSkin)} | seam ${f(v.seam)} (footage ${
          f(v.seamFootage)
        }) | occluder px kept ${v.occludedPx} in ${v.occludedFrames} frames`,
      );
    }
    log(
      `  footage${" ".repeat(51)} still head ${f(rows[0]?.temporalFootage ?? null)} | still mouth ${
        f(rows[0]?.temporalStillMouthFootage ?? null)
      } | skin ${f(rows[0]?.temporalSkinFootage ?? null)}`,
    );
    await Deno.writeTextFile(
      join(out, "eval_dub_decompose.json"),
      JSON.stringify(rows, null, 2),
    );
  }
  log(`\nwrote ${join(out, "eval_dub.json")}`);
}

/**
 * Where the jaw's correlation goes, link by link (issue 9): the driving
 * articulation → (a) the driven head mesh itself (mouth map + footage upper face,
 * measured in head space like the tracker measures, no tracker in the loop) →
 * (c) the rendered chin and lower lip where the tracker finds them on the dubbed
 * video, against where the driven mesh projects them (`head.render`'s meta).
 */
export async function chainMeasures(
  drive: Float32Array, // [F*8]
  trackPath: string,
  modelPath: string,
  renderMetaPath: string,
  dubTrack: Awaited<ReturnType<typeof readTrack>>,
  n: number,
) {
  const model = await readSpeakerModel(modelPath);
  const map = mouthMapFromTensors(Object.fromEntries(model.extra), modelPath);
  const mesh = await canonicalMesh();
  using rows = await TrackRows.open(trackPath);
  const expr = new Float32Array(468 * 3);
  const head = new Float64Array(468 * 3);
  const geo: (FaceGeometry | null)[] = [];
  for (let t = 0; t < n; t++) {
    if (t >= rows.frames || !rows.found[t]) {
      geo.push(null);
      continue;
    }
    await rows.expression(t, expr);
    const driven = driveExpression(map, expr, drive.subarray(t * C, (t + 1) * C));
    for (let i = 0; i < 468 * 3; i++) head[i] = mesh.vertices[i]! + driven[i]!;
    geo.push(measureGeometry(head));
  }
  const ok = geo.filter((g): g is FaceGeometry => g !== null);
  const neutral = estimateNeutral(ok, neutralOf(mesh.vertices));
  const meshArt = new Float32Array(n * C).fill(NaN);
  geo.forEach((g, t) => g && meshArt.set(articulationFromGeometry(g, neutral), t * C));
  const both = (f: (t: number) => [number, number]) => {
    const a: number[] = [], b: number[] = [];
    for (let t = 0; t < n; t++) {
      const [x, y] = f(t);
      if (Number.isFinite(x) && Number.isFinite(y)) a.push(x), b.push(y);
    }
    return [a, b] as const;
  };
  const rMesh = pearson(...both((t) => [drive[t * C + JAW]!, meshArt[t * C + JAW]!]));
  const rMeshAp = pearson(...both((t) => [drive[t * C + AP]!, meshArt[t * C + AP]!]));
  const dubArt = dubTrack.f32("articulation");
  const rMeshDub = pearson(...both((t) => [meshArt[t * C + JAW]!, dubArt[t * C + JAW]!]));
  // (c) image-space: the driven mesh's chin / lower lip below the nose base (px) vs
  // the same landmarks tracked on the dubbed video.
  const meta = (await readSafetensors(renderMetaPath)).tensors;
  const dl = meta.get("driven_landmarks")!.data as Float32Array; // [T, 468, 2]
  const tl = dubTrack.f32("landmarks"); // [T, 468, 3]
  const dubFound = dubTrack.u8("found");
  const contour = (v: number) => {
    const [a, b] = both((t) => {
      if (!dubFound[t] || !rows.found[t]) return [NaN, NaN];
      return [
        dl[(t * 468 + v) * 2 + 1]! - dl[(t * 468 + 2) * 2 + 1]!,
        tl[(t * 468 + v) * 3 + 1]! - tl[(t * 468 + 2) * 3 + 1]!,
      ];
    });
    const d = a.map((x, i) => b[i]! - x);
    const m = d.reduce((s, x) => s + x, 0) / Math.max(1, d.length);
    const sdOf = (z: number[]) => {
      const mz = z.reduce((s, x) => s + x, 0) / Math.max(1, z.length);
      return Math.sqrt(z.reduce((s, x) => s + (x - mz) ** 2, 0) / Math.max(1, z.length));
    };
    return {
      r: pearson(a, b),
      driven_sd_px: sdOf(a),
      tracked_sd_px: sdOf(b),
      offset_px: m,
      residual_sd_px: sdOf(d),
    };
  };
  return {
    mesh: { r_jaw_open: rMesh, r_lip_aperture: rMeshAp, r_jaw_mesh_vs_dub_track: rMeshDub },
    image: { chin_152: contour(152), lower_lip_17: contour(17), lower_lip_inner_14: contour(14) },
    /** Per frame (NaN without a face): jaw_open measured on the driven mesh. */
    mesh_jaw_open: Array.from({ length: n }, (_, t) => meshArt[t * C + JAW]!),
  };
}

/**
 * (c) Is the chin rendered where the driven mesh puts it? On the column through the
 * driven chin (landmark 152), the render's coverage edge (alpha crossing 0.5 below
 * the landmark) against the landmark, both below the nose base (landmark 2), px.
 */
export async function renderedChin(
  media: MediaBackend,
  renderPath: string,
  renderMetaPath: string,
  n: number,
) {
  const dl = (await readSafetensors(renderMetaPath)).tensors.get("driven_landmarks")!
    .data as Float32Array; // [T, 468, 2]
  const driven: number[] = [], edge: number[] = [];
  let t = 0;
  for await (const f of media.decodeVideo(renderPath, { pixelFormat: "rgba" })) {
    if (t >= n) break;
    const x = dl[(t * 468 + 152) * 2]!, y = dl[(t * 468 + 152) * 2 + 1]!;
    const noseY = dl[(t * 468 + 2) * 2 + 1]!;
    t++;
    if (!Number.isFinite(x) || x < 1 || x >= f.width - 2) continue;
    const xi = Math.floor(x - 0.5), fx = x - 0.5 - xi;
    const alpha = (yy: number) => {
      const a0 = f.data[(yy * f.width + xi) * 4 + 3]!,
        a1 = f.data[(yy * f.width + xi + 1) * 4 + 3]!;
      return (a0 + (a1 - a0) * fx) / 255;
    };
    for (let yy = Math.max(0, Math.floor(y) - 8); yy < Math.min(f.height - 1, y + 20); yy++) {
      const a = alpha(yy), b = alpha(yy + 1);
      if (a >= 0.5 && b < 0.5) {
        driven.push(y - noseY);
        edge.push(yy + 0.5 + (a - 0.5) / (a - b) - noseY);
        break;
      }
    }
  }
  const d = edge.map((e, i) => e - driven[i]!);
  const mean = (z: number[]) => z.reduce((s, v) => s + v, 0) / Math.max(1, z.length);
  const sd = (z: number[]) => Math.sqrt(mean(z.map((v) => (v - mean(z)) ** 2)));
  return {
    frames: driven.length,
    r: pearson(driven, edge),
    driven_sd_px: sd(driven),
    edge_sd_px: sd(edge),
    offset_px: mean(d),
    residual_sd_px: sd(d),
  };
}

async function compositeMeasures(
  media: MediaBackend,
  segment: string,
  composite: string,
  maskPath: string,
  weightPath: string,
  metaPath: string,
  footTrack: Awaited<ReturnType<typeof readTrack>>,
  out: string,
) {
  const lm = footTrack.f32("landmarks"), found = footTrack.u8("found");
  const { width: W, height: H } = footTrack.clip;
  const src = media.decodeVideo(segment)[Symbol.asyncIterator]();
  const msk = media.decodeVideo(maskPath, { pixelFormat: "gray" })[Symbol.asyncIterator]();
  const wgt = media.decodeVideo(weightPath, { pixelFormat: "gray" })[Symbol.asyncIterator]();
  const meta = await openRenderMeta(metaPath);
  const masker = await createLowerFaceMasker();
  const mouthVerts = [...new Set(masker.mouthTriangles)];
  const moved = (a: Float32Array, b: Float32Array) => {
    let d = 0;
    for (const v of mouthVerts) {
      d += Math.hypot(a[v * 2]! - b[v * 2]!, a[v * 2 + 1]! - b[v * 2 + 1]!);
    }
    return d / mouthVerts.length;
  };
  const smC: number[] = [], smF: number[] = [];
  let prevLm: { tracked: Float32Array; driven: Float32Array } | null = null;
  let t = 0, untouched = 0;
  const seams: number[] = [], seamsSrc: number[] = [], tdC: number[] = [], tdF: number[] = [];
  let prev: { c: Uint8Array; s: Uint8Array } | null = null;
  const shots = new Set([30, 100, 180]);
  try {
    for await (const c of media.decodeVideo(composite)) {
      const s = await src.next(), m = await msk.next(), wv = await wgt.next();
      if (s.done || m.done || wv.done) break;
      const mask = m.value.data, weight = wv.value.data;
      const lmT = t < meta.frameCount ? await meta.landmarks(t) : null;
      untouched += untouchedDifferences(c.data, s.value.data, mask);
      if (t % 5 === 0) {
        const a = seamRidge(c.data, weight, W, H), b = seamRidge(s.value.data, weight, W, H);
        if (a && b) seams.push(a.ratio), seamsSrc.push(b.ratio);
      }
      // Still head: rigid landmarks move < 0.5 px on average since the previous frame.
      if (prev && t < footTrack.clip.frameCount && isStill(lm, found, t)) {
        if (mask.some((v) => v >= 128)) {
          const dc = maskedMeanAbsDiff(c.data, prev.c, mask);
          const df = maskedMeanAbsDiff(s.value.data, prev.s, mask);
          tdC.push(dc), tdF.push(df);
          if (
            lmT && prevLm && moved(lmT.tracked, prevLm.tracked) < 0.3 &&
            moved(lmT.driven, prevLm.driven) < 0.3
          ) smC.push(dc), smF.push(df);
        }
      }
      prevLm = lmT;
      if (shots.has(t)) {
        const img = new Uint8Array(W * 3 * H * 3);
        for (let y = 0; y < H; y++) {
          for (let x = 0; x < W; x++) {
            for (let k = 0; k < 3; k++) {
              img[(y * 3 * W + x) * 3 + k] = s.value.data[(y * W + x) * 3 + k]!;
              img[(y * 3 * W + W + x) * 3 + k] = c.data[(y * W + x) * 3 + k]!;
              img[(y * 3 * W + 2 * W + x) * 3 + k] = k === 0
                ? mask[y * W + x]!
                : weight[y * W + x]!;
            }
          }
        }
        await writePng(join(out, `frames_${t}.png`), {
          width: 3 * W,
          height: H,
          channels: 3,
          data: img,
        });
      }
      prev = { c: c.data, s: s.value.data };
      t++;
    }
  } finally {
    await src.return?.(undefined);
    await msk.return?.(undefined);
    await wgt.return?.(undefined);
    meta.close();
  }
  const mean = (a: number[]) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : null);
  return {
    frames_compared: t,
    untouched_differences: untouched,
    seam: {
      composite: mean(seams),
      footage: mean(seamsSrc),
      dubbed_over_footage: seams.length ? mean(seams)! / mean(seamsSrc)! : null,
      frames: seams.length,
      contour: weightPath === maskPath ? "mask 50 %" : "blend weight 50 % (body.inpaint weight)",
    },
    temporal: {
      composite: mean(tdC),
      footage: mean(tdF),
      still_pairs: tdC.length,
      still_mouth_composite: mean(smC),
      still_mouth_footage: mean(smF),
      still_mouth_pairs: smC.length,
    },
  };
}

if (import.meta.main) await main();
