/**
 * `face.track`: the 468-point face mesh, rigid head pose, expression, blinks and
 * articulation of the speaker in every frame, written as a face-track
 * `.safetensors` file (format in `src/track/track_file.ts`), plus an optional
 * preview video (mesh and pose axes over the footage) and PNG contact sheet.
 */
import { basename, join } from "node:path";
import { z } from "zod";
import { trackClip } from "../track/mod.ts";
import { defineStage, type StageReport } from "../workflow/stage.ts";
import { readTrack } from "../track/track_file.ts";
import { reportArticulation } from "../report/articulation.ts";

const box = z.tuple([z.number(), z.number(), z.number().positive(), z.number().positive()]);

export default defineStage({
  type: "face.track",
  version: 3, // 3: sub-pixel landmarks (TRACKER_REVISION 2)
  module: import.meta.url,
  description:
    "Track the speaker's 3D face mesh, head pose, expression, blinks and articulation per frame",
  params: z.strictObject({
    video: z.string().describe("footage to track"),
    speaker: z.union([z.enum(["largest", "center"]), z.number().int().min(0), box]).default(
      "largest",
    )
      .describe(
        "which face is the speaker: largest, center, a left-to-right index, or a box hint [x, y, w, h] in pixels",
      ),
    preview: z.boolean().default(false).describe("also write a preview video and a contact sheet"),
    start_s: z.number().min(0).optional().describe("start time in seconds"),
    max_frames: z.number().int().positive().optional().describe("track at most this many frames"),
    max_faces: z.number().int().min(1).max(16).default(4),
    min_confidence: z.number().min(0).max(1).default(0.6).describe(
      "face-mesh confidence below which a frame is marked",
    ),
    max_fit_error_cm: z.number().positive().default(0.4).describe(
      "rigid-fit residual above which a frame is marked",
    ),
    smoothing: z.union([
      z.boolean(),
      z.strictObject({
        min_cutoff_hz: z.number().positive(),
        beta: z.number().min(0),
        derivative_cutoff_hz: z.number().positive(),
      }),
    ]).default(true).describe("One-Euro smoothing of the landmarks (true = defaults)"),
    scene_cut_threshold: z.number().min(0).max(1).default(0.5),
  }),
  fileParams: ["video"],
  outputs: {
    track: {
      kind: "file",
      ext: "safetensors",
      description: "the face track (see src/track/track_file.ts)",
    },
    preview: {
      kind: "file",
      ext: "mp4",
      description: "footage with the mesh and pose axes drawn (with preview: true)",
    },
    contact_sheet: {
      kind: "file",
      ext: "png",
      description: "12 annotated frames (with preview: true)",
    },
    frames: { kind: "value", description: "number of frames tracked" },
    found: { kind: "value", description: "number of frames where the speaker was tracked" },
    speaker_box: {
      kind: "value",
      description: "speaker's box [x, y, w, h] on the first frame they were found",
    },
  },
  async run(ctx, p) {
    const smoothing = p.smoothing === true ? undefined : p.smoothing === false ? null : {
      minCutoffHz: p.smoothing.min_cutoff_hz,
      beta: p.smoothing.beta,
      derivativeCutoffHz: p.smoothing.derivative_cutoff_hz,
    };
    const info = await trackClip(ctx.media, p.video, {
      outPath: ctx.output("track"),
      tmpDir: join(ctx.tmpDir, "track"),
      speaker: p.speaker,
      maxFaces: p.max_faces,
      minConfidence: p.min_confidence,
      maxFitErrorCm: p.max_fit_error_cm,
      sceneCutThreshold: p.scene_cut_threshold,
      ...(smoothing !== undefined ? { smoothing } : {}),
      ...(p.start_s !== undefined ? { startS: p.start_s } : {}),
      ...(p.max_frames !== undefined ? { maxFrames: p.max_frames } : {}),
      ...(p.preview
        ? { preview: { videoPath: ctx.output("preview"), sheetPath: ctx.output("contact_sheet") } }
        : {}),
      signal: ctx.signal,
      onProgress: (done, total) => ctx.progress(done, total, "frames"),
    });
    for (const w of info.warnings) ctx.warn(w);
    if (info.foundCount === 0) ctx.warn(`No speaker face was found in "${p.video}"`);
    ctx.log(
      `Tracked ${info.foundCount}/${info.frameCount} frames; scene cuts at ${
        info.sceneCuts.join(", ") || "none"
      }`,
    );
    await reportTrack(ctx.report, ctx.output("track"), ctx.stepId, p.video, p.max_fit_error_cm);
    if (p.preview) {
      ctx.report.image("contact_sheet", {
        output: "contact_sheet",
        caption: "tracking contact sheet",
      });
      ctx.report.video("preview", {
        output: "preview",
        caption: "mesh and pose axes over the footage",
      });
    }
    return {
      values: {
        frames: info.frameCount,
        found: info.foundCount,
        speaker_box: info.speakerFirstBox,
      },
    };
  },
});

/** Declare the track's measured articulation, quality series and metrics for the report. */
async function reportTrack(
  report: StageReport,
  trackPath: string,
  stepId: string,
  video: string,
  maxFitErrorCm: number,
): Promise<void> {
  const t = await readTrack(trackPath);
  const { fps, frameCount, firstFrameIndex, foundCount } = t.clip;
  if (frameCount === 0 || !(fps > 0)) return;
  reportArticulation(report, "articulation", {
    title: `Articulation measured on ${basename(video)} (step ${stepId})`,
    articulation: t.f32("articulation"),
    frames: frameCount,
    startS: firstFrameIndex / fps,
    fps,
    plot: "measured",
  });
  const fit = t.f32("fit_error_cm"); // [T]
  report.series("quality", {
    title: "Tracking quality",
    x: { unit: "s", start: firstFrameIndex / fps, step: 1 / fps },
    channels: { confidence: t.f32("confidence"), fit_error_cm: fit },
    yLabel: "confidence / cm",
  });
  const found = t.u8("found");
  const fitFound = [...fit].filter((_, i) => found[i] === 1).sort((a, b) => a - b);
  report.metric("tracked_share", foundCount / frameCount, {
    goal: { min: 0.95 },
    description: "share of frames with the speaker's face tracked",
    key: true,
  });
  report.metric(
    "median_fit_error_cm",
    fitFound.length ? fitFound[Math.floor(fitFound.length / 2)]! : null,
    {
      unit: "cm",
      goal: { max: maxFitErrorCm },
      description:
        "median rigid-fit residual of tracked frames (the quality gate's limit is the goal)",
    },
  );
  report.metric("scene_cuts", [...t.u8("scene_cut")].filter((v) => v === 1).length, {
    description: "shots detected (tracking re-initialised)",
  });
}
