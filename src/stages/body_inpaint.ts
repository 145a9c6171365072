/**
 * `body.inpaint`: put the rendered head back into the footage. Reads the footage
 * and `head.render`'s intermediate (render, mask, meta — `src/composite/render_file.ts`)
 * frame by frame, twice: pass 1 learns the colour/light correction (smoothed over
 * time), the grain to add and the head-aligned clean plate; pass 2 fills what the old
 * jaw uncovered (clean plate, then the spatial inpainter), blends the colour-matched
 * render in with a multi-band blend across the feathered mask, adds matched grain,
 * and writes a lossless FFV1 `.mkv` (the final `video.encode` compresses it).
 *
 * Guarantees: pass-through frames and every pixel outside the mask are the decoded
 * source byte for byte (checked on every frame: the step fails otherwise); memory is
 * flat in clip length. See `src/composite/compositor.ts` for the method.
 */
import { z } from "zod";
import { Analysis, compositeFrame } from "../composite/compositor.ts";
import { type Inpainter, OnnxInpainter, PushPullInpainter } from "../composite/fill.ts";
import { createLowerFaceMasker } from "../composite/mask.ts";
import { maskedMeanAbsDiff, seamRidge, untouchedDifferences } from "../composite/metrics.ts";
import {
  openRenderMeta,
  readRenderFile,
  type RenderFrame,
  type RenderPaths,
} from "../composite/render_file.ts";
import { DubError } from "../errors.ts";
import { requireVideo } from "../media/mod.ts";
import type { Frame, MediaBackend } from "../media/types.ts";
import { defineStage } from "../workflow/stage.ts";

/** Footage frames and render frames in lockstep, `count` of them. */
export async function* lockstep(
  media: MediaBackend,
  footage: string,
  paths: RenderPaths,
  geometry: { width: number; height: number },
  count: number,
  signal: AbortSignal,
): AsyncGenerator<[Frame, RenderFrame]> {
  const fs = media.decodeVideo(footage, { maxFrames: count, signal })[Symbol.asyncIterator]();
  const rs = readRenderFile(media, paths, geometry, signal);
  try {
    for (let t = 0; t < count; t++) {
      const [a, b] = await Promise.all([fs.next(), rs.next()]);
      if (a.done || b.done) {
        throw new DubError(
          "step",
          `The footage "${footage}" ended at frame ${t}, before the head render's ${count} frames`,
          {
            hint: "render the head from this footage's track",
          },
        );
      }
      yield [a.value, b.value];
    }
  } finally {
    await fs.return?.(undefined);
    await rs.return(undefined);
  }
}

export default defineStage({
  type: "body.inpaint",
  version: 9,
  module: import.meta.url,
  description:
    "Composite the rendered head into the footage: fill, colour/grain match, multi-band blend",
  params: z.strictObject({
    video: z.string().describe("the footage (the same file head.render rendered for)"),
    render: z.string().describe("head.render's `render` output (.mkv, FFV1 RGBA)"),
    mask: z.string().describe("head.render's `mask` output (.mkv, FFV1 gray)"),
    meta: z.string().describe("head.render's `meta` output (.safetensors)"),
    inpainter: z.string().default("push-pull").describe(
      "spatial fill: `push-pull` (built in) or the path of an ONNX model with the contract in src/composite/fill.ts",
    ),
    inpainter_size: z.tuple([z.number().int().positive(), z.number().int().positive()]).optional()
      .describe("fixed [width, height] input of the ONNX inpainter, if it has one"),
    color_match: z.boolean().default(true).describe(
      "match the render's colour and light to the skin around it",
    ),
    color_smoothing_frames: z.number().min(0).default(4).describe(
      "temporal smoothing (Gaussian σ, frames) of the colour match",
    ),
    grain: z.boolean().default(true).describe(
      "add noise so the render matches the footage's grain",
    ),
    temporal_fill: z.boolean().default(true).describe(
      "fill uncovered pixels from other frames (aligned on the head) first",
    ),
    blend_levels: z.number().int().min(1).max(8).default(5).describe(
      "pyramid levels of the multi-band blend",
    ),
    seed: z.number().int().min(0).default(0).describe("seed of the grain noise"),
    motion_gate: z.boolean().default(false).describe(
      "use the render only where the driven mesh moved away from the tracked one (elsewhere the footage is kept)",
    ),
    seam: z.enum(["optimal", "mask"]).default("optimal").describe(
      "where the blend edge runs: `optimal` = a min-cost contour through flat footage where render and footage agree, stable over time; `mask` = the mask's own feathered edge",
    ),
    seam_feather: z.number().min(0.01).max(0.3).default(0.06).describe(
      "feather of the optimal seam, share of the face size",
    ),
    stabilize_frames: z.number().min(0).default(2).describe(
      "temporal smoothing (Gaussian σ, frames) of the head alignment used by the grain, the clean plate and the seam",
    ),
    occluders: z.boolean().default(true).describe(
      "keep the footage where something in front of the face (a hand) differs far more from the render than its usual error (not over the mouth itself)",
    ),
    edge_fade: z.number().min(0).max(0.3).default(0.08).describe(
      "fade the render out over this share of the face size inside its silhouette where the footage shows the face (hides edge fringes)",
    ),
  }),
  fileParams: ["video", "render", "mask", "meta"],
  outputs: {
    video: {
      kind: "file",
      ext: "mkv",
      description: "the composited frames, lossless (FFV1 RGB in Matroska)",
    },
    weight: {
      kind: "file",
      ext: "mkv",
      description:
        "the blend weight actually used per frame (FFV1 gray, 255 = render): the seam is its 50% contour",
    },
    frames: { kind: "value", description: "frames written" },
    changed_frames: { kind: "value", description: "frames in which some pixel changed" },
    seam_ratio: {
      kind: "value",
      description:
        "mean boundary/surroundings gradient ratio at the blend weight's 50% contour (every 5th frame)",
    },
    seam_ratio_footage: {
      kind: "value",
      description: "the same ratio measured on the footage at the same contour",
    },
  },
  async run(ctx, p) {
    const probe = requireVideo(await ctx.media.probe(p.video));
    const meta = await openRenderMeta(p.meta);
    const T = meta.frameCount;
    meta.close();
    if (probe.frameCount !== null && probe.frameCountExact && probe.frameCount < T) {
      throw new DubError(
        "step",
        `The head render "${p.meta}" has ${T} frames but the footage "${p.video}" only ${probe.frameCount}`,
        {
          hint: "render the head from this footage's track",
        },
      );
    }
    const paths = { render: p.render, mask: p.mask, meta: p.meta };
    const geometry = { width: probe.width, height: probe.height };
    const masker = await createLowerFaceMasker();
    let inpainter: Inpainter;
    let onnx: OnnxInpainter | null = null;
    if (p.inpainter === "push-pull") inpainter = new PushPullInpainter();
    else {
      onnx = await OnnxInpainter.load(
        p.inpainter,
        p.inpainter_size ? { size: p.inpainter_size } : {},
      );
      inpainter = onnx;
    }
    try {
      // Pass 1: analysis.
      const an = new Analysis(masker, probe.width, probe.height, {
        colorMatch: p.color_match,
        colorSigmaFrames: p.color_smoothing_frames,
        grain: p.grain,
        temporalFill: p.temporal_fill,
        blendLevels: p.blend_levels,
        seed: p.seed,
        edgeFade: p.edge_fade,
        motionGate: p.motion_gate,
        seam: p.seam,
        seamFeather: p.seam_feather,
        stabilizeSigmaFrames: p.stabilize_frames,
        occluders: p.occluders,
      });
      let n = 0;
      for await (const [f, r] of lockstep(ctx.media, p.video, paths, geometry, T, ctx.signal)) {
        an.add(f.data, r);
        ctx.progress(++n, 2 * T, "frames");
      }
      an.finish();
      ctx.log(
        `noise footage ${an.footageNoise.map((v) => (v * 255).toFixed(2)).join("/")}, render ${
          an.renderNoise.map((v) => (v * 255).toFixed(2)).join("/")
        } (8-bit units); grain added ${an.grain.map((v) => (v * 255).toFixed(2)).join("/")}`,
      );
      // Pass 2: composite and write.
      const out = ctx.output("video");
      const writer = await ctx.media.encodeVideo(out, {
        width: probe.width,
        height: probe.height,
        fps: probe.fpsRational,
        codec: "ffv1",
        pixelFormat: "rgb24",
        signal: ctx.signal,
      });
      const weightWriter = await ctx.media.encodeVideo(ctx.output("weight"), {
        width: probe.width,
        height: probe.height,
        fps: probe.fpsRational,
        codec: "ffv1",
        pixelFormat: "gray",
        signal: ctx.signal,
      });
      let changedFrames = 0, spatial = 0, temporal = 0, occluded = 0, occludedFrames = 0;
      const seams: number[] = [],
        seamsSrc: number[] = [],
        tdOut: number[] = [],
        tdSrc: number[] = [];
      let prev: { out: Uint8Array; src: Uint8Array } | null = null;
      try {
        let t = 0;
        for await (const [f, r] of lockstep(ctx.media, p.video, paths, geometry, T, ctx.signal)) {
          const { rgb, stats, weight } = await compositeFrame(t, f.data, r, an, inpainter);
          const used = weight ?? (r.passThrough ? new Uint8Array(r.mask.length) : r.mask);
          const bad = untouchedDifferences(
            rgb,
            f.data,
            r.passThrough ? new Uint8Array(r.mask.length) : r.mask,
          );
          if (bad) {
            throw new Error(
              `body.inpaint changed ${bad} pixels outside the mask in frame ${t} (a bug)`,
            );
          }
          if (stats.changed) changedFrames++;
          spatial += stats.filledSpatial, temporal += stats.filledTemporal;
          occluded += stats.occluded ?? 0;
          if (stats.occluded) occludedFrames++;
          if (stats.changed && t % 5 === 0) {
            const s = seamRidge(rgb, used, probe.width, probe.height);
            const s0 = seamRidge(f.data, used, probe.width, probe.height);
            if (s && s0) seams.push(s.ratio), seamsSrc.push(s0.ratio);
          }
          if (prev && stats.changed) {
            tdOut.push(maskedMeanAbsDiff(rgb, prev.out, r.mask));
            tdSrc.push(maskedMeanAbsDiff(f.data, prev.src, r.mask));
          }
          prev = stats.changed ? { out: rgb, src: f.data } : null;
          await writer.write(rgb);
          await weightWriter.write(used);
          ctx.progress(T + ++t, 2 * T, "frames");
        }
        await writer.close();
        await weightWriter.close();
      } catch (e) {
        await writer.abort();
        await weightWriter.abort();
        throw e;
      }
      const mean = (a: number[]) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : null);
      const seam = mean(seams), seamSrc = mean(seamsSrc);
      ctx.log(
        `${changedFrames}/${T} frames changed; filled ${temporal} px from other frames, ${spatial} px spatially; kept ${occluded} px of occluders in front of the face in ${occludedFrames} frames`,
      );
      ctx.report.metric("seam_ratio", seam, {
        goal: { max: 1.1 },
        description:
          "gradient on the blend weight's 50% contour ÷ 3–6 px either side (1 = no visible edge)",
      });
      ctx.report.metric("seam_ratio_footage", seamSrc, {
        description:
          "the same ratio on the footage at the same contour (what the picture has there)",
      });
      ctx.report.metric("temporal_diff_in_mask", mean(tdOut), {
        description: "mean |frame − previous| inside the mask, output (8-bit units)",
      });
      ctx.report.metric("temporal_diff_in_mask_source", mean(tdSrc), {
        description: "the same on the footage",
      });
      ctx.report.metric("untouched_changed_pixels", 0, {
        goal: { max: 0 },
        description:
          "pixels outside the mask that differ from the decoded source (checked on every frame)",
      });
      return {
        values: {
          frames: T,
          changed_frames: changedFrames,
          seam_ratio: seam,
          seam_ratio_footage: seamSrc,
        },
      };
    } finally {
      await onnx?.[Symbol.asyncDispose]();
    }
  },
});
