/**
 * Codec augmentation: dialogue arrives compressed, so training utterances get
 * a copy passed through a low-bitrate codec (MP3 16–32 kbit/s, G.722, GSM 06.10
 * at 8 kHz, AAC 16–24 kbit/s) with native ffmpeg, many files per process. The
 * encoder delay of each setting (MP3/AAC priming, resampling) is measured once
 * on a click train and removed, so the phone timings stay valid.
 *
 * @module
 */
import { join } from "node:path";
import type { Rng } from "./corpus.ts";

/** One codec setting: ffmpeg output options and the container extension. */
export interface CodecSetting {
  name: string;
  args: string[];
  ext: string;
}

/** The settings drawn from (uniformly). */
export const CODECS: readonly CodecSetting[] = [
  { name: "mp3-16k", args: ["-c:a", "libmp3lame", "-b:a", "16k"], ext: "mp3" },
  { name: "mp3-32k", args: ["-c:a", "libmp3lame", "-b:a", "32k"], ext: "mp3" },
  { name: "g722", args: ["-c:a", "g722", "-ar", "16000"], ext: "g722" },
  { name: "gsm", args: ["-c:a", "libgsm", "-ar", "8000"], ext: "gsm" },
  { name: "aac-16k", args: ["-c:a", "aac", "-b:a", "16k"], ext: "adts" },
  { name: "aac-24k", args: ["-c:a", "aac", "-b:a", "24k"], ext: "adts" },
];

async function ffmpeg(args: string[]): Promise<void> {
  const out = await new Deno.Command("ffmpeg", {
    args: ["-v", "error", "-nostdin", "-y", ...args],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`ffmpeg failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** Round-trip each `[N]` 16 kHz clip through its setting (no delay removal). */
async function roundTrip(
  clips: readonly Float32Array[],
  settings: readonly CodecSetting[],
): Promise<Float32Array[]> {
  const dir = await Deno.makeTempDir({ prefix: "dub-codec-" });
  try {
    const enc: string[] = [];
    const dec: string[] = [];
    for (let i = 0; i < clips.length; i++) {
      const c = clips[i]!;
      await Deno.writeFile(
        join(dir, `${i}.f32`),
        new Uint8Array(c.buffer, c.byteOffset, c.byteLength),
      );
      enc.push("-f", "f32le", "-ar", "16000", "-ac", "1", "-i", join(dir, `${i}.f32`));
    }
    settings.forEach((s, i) => {
      enc.push("-map", `${i}:a`, ...s.args, "-f", s.ext === "adts" ? "adts" : s.ext);
      enc.push(join(dir, `${i}.${s.ext}`));
      // Raw streams are named explicitly: probing a headerless GSM/G.722 file can fail.
      const demux = { g722: "g722", gsm: "gsm", mp3: "mp3", adts: "aac" }[s.ext]!;
      dec.push("-f", demux, "-i", join(dir, `${i}.${s.ext}`));
    });
    await ffmpeg(enc);
    settings.forEach((_, i) =>
      dec.push("-map", `${i}:a`, "-ac", "1", "-ar", "16000", "-f", "f32le", join(dir, `${i}.out`))
    );
    await ffmpeg(dec);
    const out: Float32Array[] = [];
    for (let i = 0; i < clips.length; i++) {
      const b = await Deno.readFile(join(dir, `${i}.out`));
      out.push(new Float32Array(b.buffer, b.byteOffset, Math.floor(b.byteLength / 4)).slice());
    }
    return out;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Measured delay (samples, + = output late) of each setting, by a click train. */
async function measureDelays(): Promise<Map<string, number>> {
  const n = 16000;
  const probe = new Float32Array(n);
  // Band-limited clicks at irregular spacing so the match is unique.
  for (const at of [2000, 4100, 7300, 9900, 13100]) {
    for (let k = -40; k <= 40; k++) {
      const w = 0.5 + 0.5 * Math.cos((Math.PI * k) / 40);
      probe[at + k] = 0.6 * w * (k === 0 ? 1 : Math.sin(Math.PI * k / 4) / (Math.PI * k / 4));
    }
  }
  const outs = await roundTrip(CODECS.map(() => probe), CODECS);
  const delays = new Map<string, number>();
  CODECS.forEach((s, i) => {
    const y = outs[i]!;
    let best = 0, bestV = -Infinity;
    for (let lag = -200; lag <= 3000; lag++) {
      let v = 0;
      for (let t = 0; t < n; t += 1) {
        const j = t + lag;
        if (j >= 0 && j < y.length) v += probe[t]! * y[j]!;
      }
      if (v > bestV) {
        bestV = v;
        best = lag;
      }
    }
    delays.set(s.name, best);
  });
  return delays;
}

let delayCache: Map<string, number> | undefined;
const CLEAN: CodecSetting = { name: "clean", args: [], ext: "" };

/**
 * A codec-degraded copy of every clip (one random setting each, drawn with
 * `rng`), delay-compensated and trimmed/padded to the input length.
 * Returns the copies and the setting names.
 */
export async function codecCopies(
  clips: readonly Float32Array[],
  rng: Rng,
): Promise<
  { copies: Float32Array[]; settings: string[]; delays: Record<string, number>; failed: number }
> {
  delayCache ??= await measureDelays();
  const settings = clips.map(() => rng.pick(CODECS));
  const copies: Float32Array[] = [];
  let failed = 0;
  for (let i = 0; i < clips.length; i += 32) {
    let outs: Float32Array[];
    try {
      outs = await roundTrip(clips.slice(i, i + 32), settings.slice(i, i + 32));
    } catch (e) {
      // One bad group must not stop a long training run: keep those clips clean.
      console.warn(`codec group ${i / 32} failed, kept clean: ${(e as Error).message}`);
      failed += Math.min(32, clips.length - i);
      outs = clips.slice(i, i + 32).map((x) => x);
      for (let k = 0; k < outs.length; k++) settings[i + k] = CLEAN;
    }
    outs.forEach((y, k) => {
      const x = clips[i + k]!;
      const d = delayCache!.get(settings[i + k]!.name) ?? 0;
      const z = new Float32Array(x.length);
      for (let t = 0; t < x.length; t++) {
        const j = t + d;
        z[t] = j >= 0 && j < y.length ? y[j]! : 0;
      }
      copies.push(z);
    });
  }
  return {
    copies,
    settings: settings.map((s) => s.name),
    delays: Object.fromEntries(delayCache),
    failed,
  };
}
