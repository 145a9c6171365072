/**
 * `audio.replace`: keep the footage's video stream untouched (stream copy) and
 * put the translated dialogue in as its audio — replacing the original track or
 * mixed over it (to keep music and effects). Length policy when the dialogue and
 * the footage differ in length: `pad` (the footage's length is kept: silence
 * after short dialogue, long dialogue trimmed), `trim` (the output ends with the
 * shorter of the two), or `error` (fail beyond `tolerance_s`).
 */
import { join } from "node:path";
import { z } from "zod";
import { MediaError } from "../errors.ts";
import { checkFrameCount, encodeWav, requireVideo } from "../media/mod.ts";
import { defineStage } from "../workflow/stage.ts";

export const AUDIO_RATE_HZ = 48000;

/** Fit `audio` [T] to `targetS` seconds by the policy; returns the new samples. */
export function fitAudio(
  audio: Float32Array,
  sampleRateHz: number,
  videoS: number,
  policy: "pad" | "trim" | "error",
  toleranceS: number,
  name: string,
): { samples: Float32Array; outS: number } {
  const audioS = audio.length / sampleRateHz;
  const diff = audioS - videoS;
  if (policy === "error" && Math.abs(diff) > toleranceS) {
    throw new MediaError(
      `The dialogue "${name}" lasts ${audioS.toFixed(3)} s but the footage ${
        videoS.toFixed(3)
      } s (difference ${diff.toFixed(3)} s)`,
      { hint: "fix the lengths, raise tolerance_s, or use length_policy: pad or trim" },
    );
  }
  const outS = policy === "trim" ? Math.min(audioS, videoS) : videoS;
  const n = Math.round(outS * sampleRateHz);
  const out = new Float32Array(n);
  out.set(audio.subarray(0, Math.min(n, audio.length)));
  return { samples: out, outS };
}

export default defineStage({
  type: "audio.replace",
  version: 1,
  module: import.meta.url,
  description: "Put the translated dialogue into the footage (video stream copied untouched)",
  params: z.strictObject({
    video: z.string().describe("the footage"),
    audio: z.string().describe("the translated dialogue (any format ffmpeg reads)"),
    length_policy: z.enum(["pad", "trim", "error"]).default("pad"),
    tolerance_s: z.number().min(0).default(0.5),
    mode: z.enum(["replace", "mix"]).default("replace").describe(
      "replace the original audio or mix over it",
    ),
    original_gain: z.number().min(0).max(4).default(0.3).describe(
      "gain of the original track when mixing",
    ),
    offset_s: z.number().default(0).describe(
      "start the dialogue this many seconds into the footage",
    ),
  }),
  fileParams: ["video", "audio"],
  outputs: {
    video: { kind: "file", ext: "mp4", description: "the footage with the new audio" },
    duration_s: { kind: "value", description: "output duration in seconds" },
  },
  async run(ctx, p) {
    const probe = await ctx.media.probe(p.video);
    const video = requireVideo(probe);
    let dialogue = await ctx.media.decodeAudio(p.audio, AUDIO_RATE_HZ, ctx.signal);
    if (dialogue.length === 0) {
      throw new MediaError(`Cannot use "${p.audio}": the audio has no samples`, {
        hint: "pass a non-empty dialogue track",
      });
    }
    if (p.offset_s !== 0) {
      const shift = Math.round(p.offset_s * AUDIO_RATE_HZ);
      const moved = new Float32Array(Math.max(0, dialogue.length + shift));
      if (shift >= 0) moved.set(dialogue, shift);
      else moved.set(dialogue.subarray(-shift));
      dialogue = moved;
    }
    const videoS = video.durationS || probe.durationS;
    const { samples, outS } = fitAudio(
      dialogue,
      AUDIO_RATE_HZ,
      videoS,
      p.length_policy,
      p.tolerance_s,
      p.audio,
    );
    if (p.mode === "mix") {
      if (probe.audio.length === 0) {
        ctx.warn(`"${p.video}" has no audio to mix with; the dialogue replaces it`);
      } else {
        const orig = await ctx.media.decodeAudio(p.video, AUDIO_RATE_HZ, ctx.signal);
        for (let i = 0; i < samples.length && i < orig.length; i++) {
          samples[i] = samples[i]! + p.original_gain * orig[i]!;
        }
      }
    }
    if (Math.abs(dialogue.length / AUDIO_RATE_HZ - videoS) > 1 / (video.fps || 25)) {
      ctx.log(
        `dialogue ${(dialogue.length / AUDIO_RATE_HZ).toFixed(3)} s, footage ${
          videoS.toFixed(3)
        } s: ${p.length_policy}`,
      );
    }
    const wav = join(ctx.tmpDir, "dialogue.wav");
    await Deno.writeFile(wav, encodeWav(samples, AUDIO_RATE_HZ));
    await ctx.media.muxAudio(p.video, wav, ctx.output("video"), {
      ...(outS < videoS - 1e-3 ? { durationS: outS } : {}),
      signal: ctx.signal,
    });
    // Stream copy does not decode: check the copied frames against the container's
    // declared count so a truncated file fails here instead of yielding a short video.
    const copied = await ctx.media.probe(ctx.output("video"));
    if (outS >= videoS - 1e-3) {
      checkFrameCount(
        p.video,
        copied.video?.frameCount ?? 0,
        video.frameCountExact && copied.video?.frameCountExact ? video.frameCount : null,
      );
    }
    return { values: { duration_s: outS } };
  },
});
