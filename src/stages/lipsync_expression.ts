/**
 * `lipsync.expression`: the Audio-Expression prior. Features of
 * `audio.features` → the articulation channels (`src/articulation/mod.ts`) at
 * the video frame rate, exactly on the frame clock (rational fps). The learned
 * ONNX prior (default `models/audio_prior.onnx`, or any model with the same
 * contract) or the signal-processing baseline; Silero VAD gating relaxes the
 * mouth to neutral outside speech; an optional face track calibrates the
 * output ranges to the speaker's own articulation (speaker style).
 */
import { z } from "zod";
import {
  calibrateStyle,
  DEFAULT_PRIOR_PATH,
  parseFps,
  predictArticulation,
  readFeatures,
  writeArticulation,
} from "../audio/mod.ts";
import { describeStyle } from "../audio/style.ts";
import { readTrack } from "../track/track_file.ts";
import { DubError } from "../errors.ts";
import { defineStage } from "../workflow/stage.ts";
import { reportArticulation } from "../report/articulation.ts";

export default defineStage({
  type: "lipsync.expression",
  version: 3,
  module: import.meta.url,
  description:
    "Articulation track at the video frame rate from speech features (learned prior or baseline)",
  params: z.strictObject({
    features: z.string().describe("an audio.features output"),
    fps: z.union([z.number().positive(), z.string()]).describe(
      'video frame rate: 25, 29.97, "30000/1001", … (NTSC decimals map to n·1000/1001)',
    ),
    frames: z.number().int().positive().optional().describe(
      "number of video frames to produce (default: frames that start within the audio)",
    ),
    method: z.enum(["prior", "baseline"]).default("prior"),
    model: z.string().default(DEFAULT_PRIOR_PATH).describe(
      'ONNX prior: input "mel" [N, T, 80] → output "articulation" [N, T, 8]',
    ),
    vad: z.boolean().default(true).describe("relax the mouth to neutral outside speech"),
    track: z.string().optional().describe(
      "face.track output: calibrate the output ranges to the speaker's articulation",
    ),
  }),
  fileParams: ["features", "model", "track"],
  outputs: {
    articulation: {
      kind: "file",
      ext: "safetensors",
      description: "articulation [F, 8] at the video rate (format in src/audio/mod.ts)",
    },
    frames: { kind: "value", description: "number of video frames" },
  },
  async run(ctx, p) {
    let fps;
    try {
      fps = parseFps(p.fps);
    } catch (e) {
      throw new DubError("step", (e as Error).message, {
        hint: "set fps to the footage's frame rate",
      });
    }
    const features = await readFeatures(p.features);
    const opts = {
      method: p.method,
      modelPath: p.model,
      vad: p.vad && features.vad !== null,
      fps,
      signal: ctx.signal,
      ...(p.frames !== undefined ? { frames: p.frames } : {}),
    };
    if (p.vad && !features.vad) {
      ctx.warn(`"${p.features}" has no VAD; the mouth is not gated in silence`);
    }
    let result = await predictArticulation(features, opts);
    let style: string | undefined;
    if (p.track) {
      const measured = (await readTrack(p.track)).f32("articulation");
      const map = calibrateStyle(result.model, measured);
      style = JSON.stringify(describeStyle(map));
      ctx.log(`speaker style: ${style}`);
      result = await predictArticulation(features, { ...opts, style: map });
    }
    await writeArticulation(ctx.output("articulation"), result, {
      fps,
      method: p.method,
      modelPath: p.model,
      vad: opts.vad,
      ...(style ? { style } : {}),
    });
    reportArticulation(ctx.report, "articulation", {
      title: `Driving articulation (${p.method}${style ? ", speaker style" : ""})`,
      articulation: result.video,
      frames: result.frames,
      startS: 0,
      fps: fps.num / fps.den,
      plot: "driving",
      order: 2,
    });
    return { values: { frames: result.frames } };
  },
});
