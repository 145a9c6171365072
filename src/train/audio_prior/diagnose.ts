/**
 * `deno run -A src/train/audio_prior/diagnose.ts [--model M]`: how much of the
 * real-speech error is in the targets, and what the "silent" frames that a
 * model fails to close contain. Uses the cached held-out shards (EVAL_SHARDS)
 * and LibriVox; prints
 *
 * 1. target ceiling: Pearson r of the aligned targets vs the same targets
 *    blurred by a Gaussian of σ = 10/20/30/40 ms (what a predictor that only
 *    knows the phone times to ± σ would at best score), and on LibriVox the r
 *    between targets from two independent aligners (pocketsphinx vs espeak-ng
 *    synthesis + DTW);
 * 2. silence failures: every frame the metric counts as silence (≥ 150 ms from
 *    any aligned phone) split by the Silero gate (on/off), by its level vs the
 *    clip's speech level, and by whether the frame-level breath detector
 *    (`breath.ts`) marks it.
 *
 * A script (prints).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { ARTICULATION_DIM, ARTICULATION_NAMES } from "../../articulation/mod.ts";
import { enforceContacts } from "../../audio/contacts.ts";
import { clampArticulation } from "../../articulation/mod.ts";
import { logMel, MEL_CONFIG } from "../../audio/mel.ts";
import { AudioPrior, DEFAULT_PRIOR_PATH } from "../../audio/prior.ts";
import { resample } from "../../audio/resample.ts";
import { SileroVad, speechGate, vadToFeatureClock } from "../../audio/vad.ts";
import { decodeWav } from "../../media/wav.ts";
import { alignTranscript } from "./align.ts";
import { articulationTargets, type TimedPhoneme } from "./coarticulation.ts";
import { Espeak } from "./corpus.ts";
import { alignPhones } from "./phone_align.ts";
import { EVAL_SHARDS, prepareShard } from "./real_corpus.ts";
import { frameLevelsDb, nonSpeechMask } from "./breath.ts";

const { values: args } = parseArgs({
  options: { model: { type: "string", default: DEFAULT_PRIOR_PATH } },
});
const C = ARTICULATION_DIM;
const RATE = MEL_CONFIG.frameRateHz;
const LIBRIVOX = "/usr/share/pocketsphinx/test/data/librivox";
const GEOM = ["jaw_open", "lip_aperture", "mouth_width", "lip_protrusion"];
const SIX = ARTICULATION_NAMES.filter((n) => n !== "tongue_visible" && n !== "labiodental");

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) (ma += a[i]!), (mb += b[i]!);
  ma /= n;
  mb /= n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i]! - ma, y = b[i]! - mb;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/** Gaussian blur along time of a track `[T, C]`, σ in frames. */
function blur(track: Float32Array, sigma: number): Float32Array {
  const t = track.length / C;
  const r = Math.ceil(3 * sigma);
  const k = Array.from(
    { length: 2 * r + 1 },
    (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma ** 2)),
  );
  const out = new Float32Array(track.length);
  for (let j = 0; j < t; j++) {
    for (let ch = 0; ch < C; ch++) {
      let s = 0, w = 0;
      for (let i = -r; i <= r; i++) {
        const q = j + i;
        if (q < 0 || q >= t) continue;
        s += k[i + r]! * track[q * C + ch]!;
        w += k[i + r]!;
      }
      out[j * C + ch] = s / w;
    }
  }
  return out;
}

function channelR(pairs: Array<[Float32Array, Float32Array]>): Record<string, number> {
  const out: Record<string, number> = {};
  for (let ch = 0; ch < C; ch++) {
    const a: number[] = [], b: number[] = [];
    for (const [x, y] of pairs) {
      for (let j = 0; j < x.length / C; j++) {
        a.push(x[j * C + ch]!);
        b.push(y[j * C + ch]!);
      }
    }
    out[ARTICULATION_NAMES[ch]!] = pearson(a, b);
  }
  return out;
}
const mean = (r: Record<string, number>, names: string[]) =>
  names.reduce((a, n) => a + r[n]!, 0) / names.length;

using vad = await SileroVad.load();
using prior = await AudioPrior.load(args.model);
const sets: Record<string, Array<{ samples: Float32Array; phonemes: TimedPhoneme[] }>> = {};
for (const sh of EVAL_SHARDS) sets[sh.name] = (await prepareShard(sh, 1)).utts;

// LibriVox: two aligners.
const espeak = await Espeak.create();
const transcripts: Array<[string, string]> = [];
for (const line of (await Deno.readTextFile(join(LIBRIVOX, "transcription"))).split("\n")) {
  const m = /^<s>\s*(.*?)\s*<\/s>\s*\((.+)\)\s*$/.exec(line.trim());
  if (m) transcripts.push([m[2]!, m[1]!]);
}
const lvx = transcripts.map(([id]) => {
  const wav = decodeWav(Deno.readFileSync(join(LIBRIVOX, `${id}.wav`)), id);
  return resample(wav.samples, wav.sampleRateHz, MEL_CONFIG.sampleRateHz);
});
const al = await alignPhones(transcripts.map(([id, text], i) => ({
  id,
  samples: lvx[i]!,
  phonemes: espeak.synthesize(text, "en-us").phonemes.map((p) => p.id),
})));
const twoAligners: Array<[Float32Array, Float32Array]> = [];
sets["librivox"] = [];
al.forEach((a, i) => {
  if (!a.found) return;
  const frames = logMel(lvx[i]!).frames;
  const ps = articulationTargets(a.phonemes, frames, RATE);
  const dtw = articulationTargets(
    alignTranscript(espeak, transcripts[i]![1], lvx[i]!).phonemes,
    frames,
    RATE,
  );
  twoAligners.push([ps, dtw]);
  sets["librivox"]!.push({ samples: lvx[i]!, phonemes: a.phonemes });
});
const r2 = channelR(twoAligners);
console.log(
  `LibriVox, targets from pocketsphinx vs DTW alignment: mean r 6ch ${
    mean(r2, SIX).toFixed(3)
  }, 4 geometric ${mean(r2, GEOM).toFixed(3)}; ${
    SIX.map((n) => `${n} ${r2[n]!.toFixed(2)}`).join(", ")
  }`,
);

// Ceiling by blur, and silence failures, per set.
console.log(`\n| set | σ=10 ms | σ=20 | σ=30 | σ=40 (mean r 6ch / 4 geom) |`);
const failRows: string[] = [];
for (const [name, utts] of Object.entries(sets)) {
  const pairsBy: Record<number, Array<[Float32Array, Float32Array]>> = {
    1: [],
    2: [],
    3: [],
    4: [],
  };
  const cnt = {
    silent: 0,
    closed: 0,
    gateOn: 0,
    gateOnOpen: 0,
    loud: 0,
    loudOpen: 0,
    breath: 0,
    breathOpen: 0,
    openQuietGateOff: 0,
    nonSpeech: 0,
    nonSpeechClosed: 0,
  };
  for (const u of utts) {
    const mel = logMel(u.samples);
    const target = articulationTargets(u.phonemes, mel.frames, RATE);
    for (const s of [1, 2, 3, 4]) pairsBy[s]!.push([target, blur(target, s)]);
    const gate = speechGate(vadToFeatureClock(await vad.probabilities(u.samples), mel.frames));
    const p = enforceContacts(clampArticulation(await prior.predict(mel.data)));
    const levels = frameLevelsDb(mel.data, u.phonemes);
    const nonSpeech = nonSpeechMask(mel.data, u.phonemes);
    const speech = u.phonemes.filter((q) => q.id !== "");
    for (let j = 0; j < mel.frames; j++) {
      const t = j / RATE;
      if (speech.some((q) => t > q.startS - 0.15 && t < q.endS + 0.15)) continue;
      const g = gate[j]! > 0.5;
      const pj = g ? p : null;
      const open = pj ? !(pj[j * C]! < 0.1 && pj[j * C + 1]! < 0.1) : false;
      cnt.silent++;
      if (!open) cnt.closed++;
      if (g) (cnt.gateOn++, open && cnt.gateOnOpen++);
      const loud = levels.rel[j]! > -30;
      if (loud) (cnt.loud++, open && cnt.loudOpen++);
      if (nonSpeech.audible[j]) (cnt.breath++, open && cnt.breathOpen++);
      if (nonSpeech.quiet[j]) (cnt.nonSpeech++, !open && cnt.nonSpeechClosed++);
    }
  }
  const cells = [1, 2, 3, 4].map((s) => {
    const r = channelR(pairsBy[s]!);
    return `${mean(r, SIX).toFixed(3)} / ${mean(r, GEOM).toFixed(3)}`;
  });
  console.log(`| ${name} | ${cells.join(" | ")} |`);
  failRows.push(
    `| ${name} | ${cnt.silent} | ${
      (cnt.closed / cnt.silent).toFixed(3)
    } | ${cnt.gateOn} (${cnt.gateOnOpen} open) | ${cnt.loud} (${cnt.loudOpen} open) | ${cnt.breath} (${cnt.breathOpen} open) | ${cnt.nonSpeech} → ${
      (cnt.nonSpeechClosed / Math.max(1, cnt.nonSpeech)).toFixed(3)
    } |`,
  );
}
console.log(
  `\nSilence frames (≥150 ms from any phone), ${args.model}, prior+vad:\n| set | frames | closed | gate on | level > −30 dB re speech | audible (breath/click) | quiet non-speech → closed |`,
);
for (const r of failRows) console.log(r);
