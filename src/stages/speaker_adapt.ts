/**
 * `speaker.adapt`: fit the speaker's mesh-bound Gaussian head (with inner mouth)
 * and mouth map to their footage and face track (`src/head/adapt_clip.ts`).
 * Outputs the speaker model (`src/head/model.ts`), a 3DGS `.ply` of the neutral
 * head, the loss curve and a contact sheet of fitted vs real crops. A killed run
 * resumes from its last checkpoint (every `checkpoint_every` iterations).
 */
import { z } from "zod";
import { adaptSpeaker } from "../head/adapt_clip.ts";
import { writeSpeakerModel } from "../head/model.ts";
import { writeContactSheet, writeLossCurve, writeNeutralPly } from "../head/outputs.ts";
import { defineStage } from "../workflow/stage.ts";

/** Pose refinement learning rates (≈0.06° and 0.05 mm per step), from iteration 200. */
const POSE_REFINE = { lrRot: 1e-3, lrTrans: 5e-3, from: 200 };

export default defineStage({
  type: "speaker.adapt",
  version: 3, // 3: the silhouette objective (src/head/silhouette.ts)
  module: import.meta.url,
  description: "Adapt the speaker's Gaussian head (and mouth map) to their footage and face track",
  params: z.strictObject({
    video: z.string().describe("the footage that was tracked"),
    track: z.string().describe("its face track (face.track output)"),
    backend: z.enum(["auto", "cpu", "webgpu"]).default("auto").describe("splat backend"),
    iterations: z.number().int().min(0).default(2000).describe("optimisation steps"),
    max_seconds: z.number().positive().optional().describe("stop adapting after this many seconds"),
    seed: z.number().int().min(0).default(0),
    views: z.number().int().min(1).max(500).default(48).describe(
      "training frames, chosen to cover the clip's articulation range",
    ),
    range: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]).default([0, 1]).describe(
      "fraction of the track's frames to adapt on, [start, end)",
    ),
    gaussians: z.number().int().min(898).optional().describe(
      "skin Gaussians at start (default from the face's size in pixels)",
    ),
    densify: z.boolean().default(true).describe("clone/split/prune during adaptation"),
    pose_refine: z.boolean().default(false).describe(
      "refine each training frame's tracked head pose slightly while adapting",
    ),
    color: z.enum(["static", "mlp"]).default("static").describe(
      "per-Gaussian static colours, or the colour MLP (texture that follows the articulation)",
    ),
    checkpoint_every: z.number().int().positive().default(100),
  }),
  fileParams: ["video", "track"],
  outputs: {
    model: {
      kind: "file",
      ext: "safetensors",
      description: "the speaker model (src/head/model.ts)",
    },
    ply: {
      kind: "file",
      ext: "ply",
      description: "3DGS PLY of the neutral head (canonical cm, y up)",
    },
    loss_curve: { kind: "file", ext: "json", description: "loss per iteration" },
    contact_sheet: {
      kind: "file",
      ext: "png",
      description: "fitted | real crops of training views",
    },
    gaussians: { kind: "value", description: "Gaussians in the model" },
    iterations: { kind: "value", description: "iterations done" },
    final_loss: { kind: "value", description: "mean loss of the last 50 iterations" },
    backend: { kind: "value", description: "splat backend used and why" },
  },
  async run(ctx, p) {
    const backend = await ctx.splat(p.backend);
    ctx.log(`Splat backend: ${backend.reason}`);
    const r = await adaptSpeaker(ctx.media, backend, {
      video: p.video,
      track: p.track,
      range: p.range,
      views: p.views,
      iterations: p.iterations,
      seed: p.seed,
      ...(p.max_seconds !== undefined ? { maxSeconds: p.max_seconds } : {}),
      ...(p.gaussians !== undefined ? { gaussians: p.gaussians } : {}),
      ...(p.densify ? {} : { densify: false as const }),
      ...(p.pose_refine ? { poseRefine: POSE_REFINE } : {}),
      color: p.color,
      checkpointDir: ctx.checkpointDir,
      checkpointEvery: p.checkpoint_every,
      onStep: (i, n, loss) => ctx.progress(i, n, `it (loss ${loss.toFixed(4)})`),
      log: (m) => ctx.log(m),
      signal: ctx.signal,
    });
    await writeSpeakerModel(ctx.output("model"), r.model);
    await writeNeutralPly(ctx.output("ply"), r.model);
    await writeLossCurve(ctx.output("loss_curve"), r.losses);
    const psnr = await writeContactSheet(ctx.output("contact_sheet"), backend, r.model, r.views);
    const tail = r.losses.slice(-50);
    const finalLoss = tail.length ? tail.reduce((a, b) => a + b, 0) / tail.length : null;
    ctx.report.series("loss", {
      title: "speaker.adapt loss (L1 + D-SSIM in the face mask)",
      x: { unit: "iteration", start: 1, step: 1 },
      channels: { loss: r.losses },
      yLabel: "loss",
    });
    ctx.report.image("contact_sheet", {
      output: "contact_sheet",
      caption: "fitted (left) vs real (right) training crops",
    });
    const meanPsnr = psnr.reduce((a, b) => a + b, 0) / psnr.length;
    ctx.report.metric("train_psnr_db", Number.isFinite(meanPsnr) ? meanPsnr : null, {
      unit: "dB",
      description: "masked PSNR on the contact sheet's training views",
    });
    ctx.report.metric("gaussians", r.model.gaussians.count);
    return {
      values: {
        gaussians: r.model.gaussians.count,
        iterations: r.losses.length,
        final_loss: finalLoss,
        backend: backend.reason,
      },
    };
  },
});
