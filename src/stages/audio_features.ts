/**
 * `audio.features`: decode the (translated) dialogue to 16 kHz mono, compute
 * the log-mel features of the audio prior and the Silero VAD speech
 * probability, and write them as one `.safetensors` feature file (format in
 * `src/audio/mod.ts`).
 */
import { z } from "zod";
import { MediaError } from "../errors.ts";
import { computeFeatures, MEL_CONFIG, writeFeatures } from "../audio/mod.ts";
import { defineStage } from "../workflow/stage.ts";

export default defineStage({
  type: "audio.features",
  version: 1,
  description:
    "Log-mel features (16 kHz, 25 ms / 10 ms, 80 mels) and Silero voice activity of a dialogue track",
  params: z.strictObject({
    audio: z.string().describe("the dialogue (any format ffmpeg reads)"),
    vad: z.boolean().default(true).describe("run the Silero voice-activity detector"),
  }),
  fileParams: ["audio"],
  outputs: {
    features: {
      kind: "file",
      ext: "safetensors",
      description: "log_mel [T, 80] and vad [T] at 100 Hz",
    },
    duration_s: { kind: "value", description: "audio duration in seconds" },
    speech_s: {
      kind: "value",
      description: "seconds with speech probability above 0.5 (0 without VAD)",
    },
  },
  async run(ctx, p) {
    const samples = await ctx.media.decodeAudio(p.audio, MEL_CONFIG.sampleRateHz, ctx.signal);
    if (samples.length === 0) {
      throw new MediaError(`Cannot use "${p.audio}": the audio has no samples`, {
        hint: "pass a non-empty dialogue track",
      });
    }
    const f = await computeFeatures(samples, MEL_CONFIG.sampleRateHz, {
      vad: p.vad,
      signal: ctx.signal,
    });
    await writeFeatures(ctx.output("features"), f, p.audio);
    const speechS = f.vad
      ? f.vad.reduce((a, v) => a + (v > 0.5 ? 1 : 0), 0) / MEL_CONFIG.frameRateHz
      : 0;
    ctx.log(
      `${f.frames} feature frames, ${speechS.toFixed(1)} s of speech in ${
        f.durationS.toFixed(1)
      } s`,
    );
    return { values: { duration_s: f.durationS, speech_s: speechS } };
  },
});
