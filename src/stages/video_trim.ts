/**
 * `video.trim`: cut a segment of the footage into a lossless intermediate (FFV1
 * RGB in Matroska). The decoded pixels are kept bit for bit, so every later step
 * (tracking, adaptation, rendering, compositing) sees exactly the frames the final
 * encode starts from, and frame counts agree between them.
 */
import { z } from "zod";
import { DubError } from "../errors.ts";
import { requireVideo } from "../media/mod.ts";
import { defineStage } from "../workflow/stage.ts";

export default defineStage({
  type: "video.trim",
  version: 1,
  module: import.meta.url,
  description: "Cut a segment of a video into a lossless FFV1 .mkv (exact decoded frames)",
  params: z.strictObject({
    video: z.string().describe("the footage"),
    start_s: z.number().min(0).default(0).describe("start time, seconds"),
    duration_s: z.number().positive().optional().describe("length, seconds (default: to the end)"),
    max_frames: z.number().int().positive().optional().describe("at most this many frames"),
  }),
  fileParams: ["video"],
  outputs: {
    video: { kind: "file", ext: "mkv", description: "the segment, FFV1 RGB (lossless)" },
    frames: { kind: "value", description: "frames written" },
  },
  async run(ctx, p) {
    const v = requireVideo(await ctx.media.probe(p.video));
    const fps = v.fps || 25;
    let limit = p.max_frames ?? Infinity;
    if (p.duration_s !== undefined) limit = Math.min(limit, Math.round(p.duration_s * fps));
    const writer = await ctx.media.encodeVideo(ctx.output("video"), {
      width: v.width,
      height: v.height,
      fps: v.fpsRational,
      codec: "ffv1",
      pixelFormat: "rgb24",
      signal: ctx.signal,
    });
    let n = 0;
    const total = Number.isFinite(limit) ? limit : v.frameCount ?? undefined;
    try {
      for await (
        const f of ctx.media.decodeVideo(p.video, {
          ...(p.start_s > 0 ? { startS: p.start_s } : {}),
          ...(Number.isFinite(limit) ? { maxFrames: limit } : {}),
          signal: ctx.signal,
        })
      ) {
        await writer.write(f.data);
        ctx.progress(++n, total, "frames");
      }
      if (n === 0) {
        throw new DubError("step", `No frames of "${p.video}" start after ${p.start_s} s`, {
          hint: `set start_s below the clip's length (${v.durationS.toFixed(2)} s)`,
        });
      }
      await writer.close();
    } catch (e) {
      await writer.abort();
      throw e;
    }
    return { values: { frames: n } };
  },
});
