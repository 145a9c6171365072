/**
 * `video.side_by_side`: two videos of the same size next to each other (left |
 * right) in one H.264 mp4, e.g. original | dubbed, with an optional audio track.
 * Stops at the shorter video.
 */
import { z } from "zod";
import { DubError } from "../errors.ts";
import { requireVideo } from "../media/mod.ts";
import { defineStage } from "../workflow/stage.ts";

/** Put `left` and `right` (`[H, W, 3]` each) side by side into `out` `[H, 2W + gap, 3]`. */
export function sideBySideFrame(
  left: Uint8Array,
  right: Uint8Array,
  W: number,
  H: number,
  gap = 0,
): Uint8Array {
  const OW = 2 * W + gap, out = new Uint8Array(OW * H * 3);
  for (let y = 0; y < H; y++) {
    out.set(left.subarray(y * W * 3, (y + 1) * W * 3), y * OW * 3);
    out.set(right.subarray(y * W * 3, (y + 1) * W * 3), (y * OW + W + gap) * 3);
  }
  return out;
}

export default defineStage({
  type: "video.side_by_side",
  version: 1,
  module: import.meta.url,
  description: "Two same-size videos side by side (left | right) in one mp4",
  params: z.strictObject({
    left: z.string().describe("left video (e.g. the original)"),
    right: z.string().describe("right video (e.g. the dub)"),
    audio: z.string().optional().describe(
      "audio to mux in (default: the right video's own audio, if any)",
    ),
    gap: z.number().int().min(0).max(64).default(4).describe("black gap between the two, pixels"),
    crf: z.number().int().min(0).max(51).default(20),
  }),
  fileParams: ["left", "right", "audio"],
  outputs: {
    video: { kind: "file", ext: "mp4", description: "left | right" },
    frames: { kind: "value", description: "frames written" },
  },
  async run(ctx, p) {
    const l = requireVideo(await ctx.media.probe(p.left));
    const rp = await ctx.media.probe(p.right);
    const r = requireVideo(rp);
    if (l.width !== r.width || l.height !== r.height) {
      throw new DubError(
        "input",
        `Cannot put "${p.left}" (${l.width}×${l.height}) beside "${p.right}" (${r.width}×${r.height})`,
        {
          hint: "pass two videos of the same size",
        },
      );
    }
    const audio = p.audio ?? (rp.audio.length ? p.right : undefined);
    const gap = p.gap + ((2 * l.width + p.gap) % 2); // even width for yuv420p
    const writer = await ctx.media.encodeVideo(ctx.output("video"), {
      width: 2 * l.width + gap,
      height: l.height,
      fps: r.fpsRational,
      crf: p.crf,
      preset: "veryfast",
      ...(audio ? { audioPath: audio } : {}),
      signal: ctx.signal,
    });
    const ls = ctx.media.decodeVideo(p.left, { signal: ctx.signal })[Symbol.asyncIterator]();
    let n = 0;
    try {
      for await (const f of ctx.media.decodeVideo(p.right, { signal: ctx.signal })) {
        const a = await ls.next();
        if (a.done) break;
        await writer.write(sideBySideFrame(a.value.data, f.data, l.width, l.height, gap));
        ctx.progress(++n, r.frameCount ?? undefined, "frames");
      }
      await writer.close();
    } catch (e) {
      await writer.abort();
      throw e;
    } finally {
      await ls.return?.(undefined);
    }
    ctx.report.video("video", { output: "video", caption: "left | right" });
    return { values: { frames: n } };
  },
});
