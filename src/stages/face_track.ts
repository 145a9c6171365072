/**
 * `face.track`: the 468-point face mesh, rigid head pose, expression, blinks and
 * articulation of the speaker in every frame, written as a face-track
 * `.safetensors` file (format in `src/track/track_file.ts`), plus an optional
 * preview video (mesh and pose axes over the footage) and PNG contact sheet.
 */
import { join } from "node:path";
import { z } from "zod";
import { trackClip } from "../track/mod.ts";
import { defineStage } from "../workflow/stage.ts";

const box = z.tuple([z.number(), z.number(), z.number().positive(), z.number().positive()]);

export default defineStage({
  type: "face.track",
  version: 1,
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
    return {
      values: {
        frames: info.frameCount,
        found: info.foundCount,
        speaker_box: info.speakerFirstBox,
      },
    };
  },
});
