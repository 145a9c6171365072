/**
 * `head.render`: the speaker's Gaussian head (a `speaker.adapt` model) re-rendered
 * over every frame of the footage, streamed in order (decode → render → encode, one
 * frame in flight): the footage's own head pose, blinks and upper face, the lower
 * face driven by the `lipsync.expression` articulation through the speaker's mouth
 * map (`src/head/mouth_map.ts`), rendered at the footage's native resolution in a
 * crop around the face. Writes the lossless intermediate that `body.inpaint` reads
 * (`src/composite/render_file.ts`: RGBA render, change mask, per-frame metadata with
 * pass-through flags) and a preview video (footage | render over the footage).
 *
 * Frames without a tracked face pass through. Frames outside the dialogue (before
 * `start_s` or after its end): `beyond: neutral` (default) drives them with the
 * neutral articulation — closed, relaxed lips, since the speaker is silent once the
 * new line is over; `beyond: footage` passes them through untouched (the footage's
 * own mouth).
 */
import { z } from "zod";
import { ARTICULATION_DIM } from "../articulation/mod.ts";
import { formatFps, parseFps, readArticulation } from "../audio/mod.ts";
import { createLowerFaceMasker, renderToRgba, RenderWriter } from "../composite/mod.ts";
import { DubError } from "../errors.ts";
import { requireVideo } from "../media/mod.ts";
import { driveClip } from "../head/drive.ts";
import { readSpeakerModel } from "../head/model.ts";
import {
  fitMouthMap,
  type MouthMap,
  mouthMapFromTensors,
  usableFrames,
} from "../head/mouth_map.ts";
import { canonicalMesh } from "../head/render.ts";
import { TrackRows } from "../head/track_rows.ts";
import { defineStage, type StageContext } from "../workflow/stage.ts";

export default defineStage({
  type: "head.render",
  version: 3, // 2: smooth_pose; 3: the mouth map honours driven bilabial closures
  module: import.meta.url,
  description:
    "Render the speaker's head driven by a new articulation track over every footage frame (RGBA + change mask + preview)",
  params: z.strictObject({
    video: z.string().describe("the footage (the clip that was tracked)"),
    track: z.string().describe("face.track output for the footage"),
    model: z.string().describe("speaker.adapt output (speaker model)"),
    articulation: z.string().describe(
      "lipsync.expression output at the footage's frame rate (the new dialogue)",
    ),
    start_s: z.number().min(0).default(0).describe(
      "time in the footage where the dialogue starts, seconds",
    ),
    beyond: z.enum(["neutral", "footage"]).default("neutral").describe(
      "frames outside the dialogue: neutral = closed relaxed mouth, footage = pass through untouched",
    ),
    backend: z.enum(["auto", "cpu", "webgpu"]).default("auto").describe("splat backend"),
    crop_margin: z.number().min(0).max(1).default(0.15).describe(
      "render crop margin around the face, share of the face box",
    ),
    smooth_pose: z.boolean().default(true).describe(
      "smooth the tracked head pose over time before rendering (removes a still head's jitter, keeps motion)",
    ),
    preview: z.boolean().default(true).describe(
      "also write a preview video: footage | render over the footage",
    ),
    preview_crf: z.number().int().min(0).max(51).default(20),
  }),
  fileParams: ["video", "track", "model", "articulation"],
  outputs: {
    render: {
      kind: "file",
      ext: "mkv",
      description:
        "rendered head, FFV1 RGBA at the footage's size and fps (straight RGB, A = coverage)",
    },
    mask: { kind: "file", ext: "mkv", description: "change mask, FFV1 gray" },
    meta: {
      kind: "file",
      ext: "safetensors",
      description:
        "pass_through [T], tracked/driven landmarks [T, 468, 2] (src/composite/render_file.ts)",
    },
    preview: {
      kind: "file",
      ext: "mp4",
      description:
        "H.264 preview: footage | render over the footage inside the mask (with preview: true)",
    },
    frames: { kind: "value", description: "footage frames written" },
    rendered: { kind: "value", description: "frames with a rendered head" },
    pass_through: {
      kind: "value",
      description: "frames passed through (no face, or beyond: footage)",
    },
  },
  async run(ctx, p) {
    const probe = await ctx.media.probe(p.video);
    const v = requireVideo(probe);
    using track = await TrackRows.open(p.track);
    if (track.clip.width !== v.width || track.clip.height !== v.height) {
      throw new DubError(
        "input",
        `Cannot render over "${p.video}": it is ${v.width}×${v.height} but the face track "${p.track}" is ${track.clip.width}×${track.clip.height}`,
        { hint: "pass the footage that was tracked" },
      );
    }
    if (p.smooth_pose) track.smoothPose((await canonicalMesh()).vertices);
    const driving = await readArticulation(p.articulation);
    const footageFps = parseFps(v.fpsRational);
    if (driving.fps.num * footageFps.den !== footageFps.num * driving.fps.den) {
      throw new DubError(
        "input",
        `Cannot drive "${p.video}" (${formatFps(footageFps)} fps) with "${p.articulation}" (${
          formatFps(driving.fps)
        } fps)`,
        { hint: "set lipsync.expression's fps to the footage's frame rate" },
      );
    }
    const model = await readSpeakerModel(p.model);
    const map = await mouthMapOf(ctx, model.extra, p.model, track);
    const masker = await createLowerFaceMasker();
    const startFrame = Math.round((p.start_s * footageFps.num) / footageFps.den);
    // The run's shared backend (one calibration per run; the runner disposes it).
    const backend = await ctx.splat(p.backend);
    ctx.log(`Splat backend: ${backend.reason}`);
    const writer = await RenderWriter.open(ctx.media, {
      render: ctx.output("render"),
      mask: ctx.output("mask"),
      meta: ctx.output("meta"),
    }, { width: v.width, height: v.height, fps: v.fpsRational });
    const preview = p.preview
      ? await ctx.media.encodeVideo(ctx.output("preview"), {
        width: v.width * 2,
        height: v.height,
        fps: v.fpsRational,
        crf: p.preview_crf,
        preset: "veryfast",
        signal: ctx.signal,
      })
      : null;
    const total = v.frameCount ?? undefined;
    let stats;
    try {
      stats = await driveClip(ctx.media.decodeVideo(p.video, { signal: ctx.signal }), {
        backend,
        model,
        map,
        track,
        articulation: driving.articulation,
        startFrame,
        beyond: p.beyond,
        mask: (tracked, driven, W, H) => masker.mask(tracked, driven, W, H).mask,
        toRgba: (rgb, alpha, W, H, crop) => renderToRgba(rgb, alpha, W, H, crop),
        sink: writer,
        ...(preview ? { preview } : {}),
        cropMargin: p.crop_margin,
        signal: ctx.signal,
        onFrame: (n) => ctx.progress(n, total, "frames"),
      });
      await writer.close();
      await preview?.close();
    } catch (e) {
      await writer.abort().catch(() => {});
      await preview?.abort().catch(() => {});
      throw e;
    }
    const passThrough = stats.frames - stats.rendered;
    const fps = stats.rendered / Math.max(1e-9, stats.renderMs / 1000);
    ctx.log(
      `head.render: ${stats.rendered}/${stats.frames} frames rendered (${stats.noFace} without a face, ${stats.beyondDialogue} outside the dialogue → ${p.beyond}); ${
        fps.toFixed(1)
      } frames/s at ${Math.round(stats.meanCropPixels)} crop pixels on ${backend.name}`,
    );
    if (stats.rendered === 0) ctx.warn(`No frame of "${p.video}" was rendered (no tracked face)`);
    if (stats.frames - startFrame < driving.frames) {
      ctx.warn(
        `The dialogue (${driving.frames} frames from frame ${startFrame}) runs past the footage's ${stats.frames} frames; the rest is not rendered`,
      );
    }
    ctx.report.metric("render_fps", fps, {
      unit: "frames/s",
      goal: { min: 10 },
      description: `head render speed (${backend.name}, face crop)`,
    });
    ctx.report.metric("pass_through_frames", passThrough, { description: "frames left untouched" });
    if (preview) {
      ctx.report.video("preview", {
        output: "preview",
        caption: "footage | rendered head over the footage inside the change mask",
      });
    }
    return {
      values: { frames: stats.frames, rendered: stats.rendered, pass_through: passThrough },
    };
  },
});

/** The speaker model's mouth map, or one fitted from the face track when the model has none. */
async function mouthMapOf(
  ctx: StageContext,
  extra: Map<string, import("../tensor/safetensors.ts").Tensor>,
  modelPath: string,
  track: TrackRows,
): Promise<MouthMap> {
  if (extra.has("mouth_map.info")) return mouthMapFromTensors(Object.fromEntries(extra), modelPath);
  ctx.warn(
    `Speaker model "${modelPath}" has no mouth map; fitting one from the face track "${track.path}"`,
  );
  // At most 1500 evenly spaced tracked rows (≈ 8 MB), so memory stays bounded.
  const rows: number[] = [];
  for (let t = 0; t < track.frames; t++) if (track.found[t] === 1) rows.push(t);
  const step = Math.max(1, rows.length / 1500);
  const pick: number[] = [];
  for (let k = 0; k < rows.length; k += step) pick.push(rows[Math.floor(k)]!);
  const n = pick.length;
  const expression = new Float32Array(n * 468 * 3);
  const articulation = new Float32Array(n * ARTICULATION_DIM);
  for (let j = 0; j < n; j++) {
    await track.expression(pick[j]!, expression.subarray(j * 1404, (j + 1) * 1404));
    articulation.set(
      track.articulation.subarray(pick[j]! * ARTICULATION_DIM, (pick[j]! + 1) * ARTICULATION_DIM),
      j * ARTICULATION_DIM,
    );
  }
  const data = { expression, articulation, found: new Uint8Array(n).fill(1) };
  const mesh = await canonicalMesh();
  return fitMouthMap(data, { canonical: mesh.vertices, frames: usableFrames(data) });
}
