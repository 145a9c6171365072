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
  version: 2,
  module: import.meta.url,
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
    // Report: the dialogue's level and voice activity on the shared time axis ("driving").
    const hopS = 1 / MEL_CONFIG.frameRateHz;
    ctx.report.series("energy", {
      title: "Dialogue level (25 ms RMS)",
      x: { unit: "s", start: 0, step: hopS },
      channels: { level_db: levelAboveFloorDb(samples, MEL_CONFIG.sampleRateHz, f.frames) },
      yLabel: "dB re −60 dBFS",
      yDomain: [0, 60],
      mark: "area",
      plot: "driving",
      order: 0,
    });
    if (f.vad) {
      ctx.report.series("vad", {
        title: "Voice activity (Silero speech probability)",
        x: { unit: "s", start: 0, step: hopS },
        channels: { speech_probability: f.vad },
        yDomain: [0, 1],
        mark: "area",
        plot: "driving",
        order: 1,
      });
    }
    ctx.report.metric("dialogue_s", f.durationS, { unit: "s", description: "dialogue duration" });
    if (f.vad) {
      ctx.report.metric("speech_s", speechS, {
        unit: "s",
        description: "seconds with speech probability > 0.5",
      });
    }
    ctx.log(
      `${f.frames} feature frames, ${speechS.toFixed(1)} s of speech in ${
        f.durationS.toFixed(1)
      } s`,
    );
    return { values: { duration_s: f.durationS, speech_s: speechS } };
  },
});

/** Level of `samples` in a 25 ms window centred on each feature frame, dB above −60 dBFS, clamped at 0 ([frames]). */
function levelAboveFloorDb(samples: Float32Array, rateHz: number, frames: number): Float32Array {
  const hop = Math.round(rateHz / MEL_CONFIG.frameRateHz);
  const half = Math.round(rateHz * 0.0125);
  const out = new Float32Array(frames);
  for (let j = 0; j < frames; j++) {
    const a = Math.max(0, j * hop - half), b = Math.min(samples.length, j * hop + half);
    let e = 0;
    for (let i = a; i < b; i++) e += samples[i]! * samples[i]!;
    const rms = b > a ? Math.sqrt(e / (b - a)) : 0;
    out[j] = Math.max(0, 20 * Math.log10(Math.max(rms, 1e-6)) + 60);
  }
  return out;
}
