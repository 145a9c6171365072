/**
 * `video.encode`: the final encode. Streams the frames of `video` through the
 * media backend into H.264/yuv420p at the original size and frame rate, with
 * `audio` (or the video's own audio) muxed in. Duration policy: `video` keeps
 * the footage's length, `shortest` stops at the shorter of video and audio.
 */
import { z } from "zod";
import { requireVideo } from "../media/mod.ts";
import { defineStage } from "../workflow/stage.ts";

export default defineStage({
  type: "video.encode",
  version: 2,
  module: import.meta.url,
  description: "Encode frames to H.264 (original size and fps) and mux an audio track",
  params: z.strictObject({
    video: z.string().describe("video whose frames are encoded"),
    audio: z.string().optional().describe(
      "audio to mux in (default: the video's own audio, if any)",
    ),
    crf: z.number().int().min(0).max(51).default(18),
    preset: z.enum([
      "ultrafast",
      "superfast",
      "veryfast",
      "faster",
      "fast",
      "medium",
      "slow",
      "slower",
      "veryslow",
    ])
      .default("medium"),
    duration: z.enum(["video", "shortest"]).default("video"),
  }),
  fileParams: ["video", "audio"],
  outputs: {
    video: { kind: "file", ext: "mp4", description: "the encoded video" },
    frames: { kind: "value", description: "number of frames written" },
  },
  async run(ctx, p) {
    const probe = await ctx.media.probe(p.video);
    const v = requireVideo(probe);
    const audio = p.audio ?? (probe.audio.length ? p.video : undefined);
    const out = ctx.output("video");
    const writer = await ctx.media.encodeVideo(out, {
      width: v.width,
      height: v.height,
      fps: v.fpsRational,
      crf: p.crf,
      preset: p.preset,
      ...(audio ? { audioPath: audio } : {}),
      duration: p.duration,
      signal: ctx.signal,
    });
    let n = 0;
    try {
      for await (const f of ctx.media.decodeVideo(p.video, { signal: ctx.signal })) {
        await writer.write(f.data);
        ctx.progress(++n, v.frameCount ?? undefined, "frames");
      }
      await writer.close();
    } catch (e) {
      await writer.abort();
      throw e;
    }
    const sizeBytes = (await Deno.stat(out)).size;
    const durS = v.fps > 0 ? n / v.fps : 0;
    ctx.report.video("video", { output: "video", caption: `${n} frames, ${v.width}×${v.height}` });
    ctx.report.metric("frames", n, { description: "frames written" });
    if (durS > 0) {
      ctx.report.metric("bitrate_kbps", (sizeBytes * 8) / durS / 1000, {
        unit: "kbit/s",
        description: "average bit rate of the encoded file",
      });
    }
    return { values: { frames: n } };
  },
});
