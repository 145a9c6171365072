/** `media.probe`: what a media file holds (size, fps, duration, audio). */
import { z } from "zod";
import { defineStage } from "../workflow/stage.ts";

export default defineStage({
  type: "media.probe",
  version: 2,
  module: import.meta.url,
  description:
    "Probe a media file: video size, fps, frame count, duration, rotation, audio streams",
  params: z.strictObject({
    input: z.string().describe("media file to probe"),
  }),
  fileParams: ["input"],
  outputs: {
    info: { kind: "file", ext: "json", description: "the full probe result as JSON" },
    width: { kind: "value", description: "display width in pixels (0 without video)" },
    height: { kind: "value", description: "display height in pixels (0 without video)" },
    fps: { kind: "value", description: "frame rate as a rational string, e.g. 30000/1001" },
    duration_s: { kind: "value", description: "duration in seconds" },
    frame_count: { kind: "value", description: "number of video frames (null if unknown)" },
    has_audio: { kind: "value", description: "true if the file has an audio stream" },
  },
  async run(ctx, p) {
    const info = await ctx.media.probe(p.input);
    const { path: _path, ...rest } = info;
    await Deno.writeTextFile(ctx.output("info"), JSON.stringify(rest, null, 2));
    ctx.report.metric("duration_s", info.durationS, {
      unit: "s",
      description: "container duration",
    });
    if (info.video) {
      ctx.report.metric("fps", info.video.fps, {
        unit: "frames/s",
        description: "average frame rate",
      });
      ctx.report.metric("frame_count", info.video.frameCount, {
        description: info.video.frameCountExact ? "frames (container count)" : "frames (estimated)",
      });
    }
    return {
      values: {
        width: info.video?.width ?? 0,
        height: info.video?.height ?? 0,
        fps: info.video?.fpsRational ?? "0/1",
        duration_s: info.durationS,
        frame_count: info.video?.frameCount ?? null,
        has_audio: info.audio.length > 0,
      },
    };
  },
});
