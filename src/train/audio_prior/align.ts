/**
 * Forced alignment of real speech to its transcript without an acoustic model:
 * synthesise the transcript with espeak-ng (exact phoneme timings), then align
 * the synthetic and the real recording with dynamic time warping on
 * cepstra (DCT of the log-mel, c1–c19, mean-normalised per utterance, so
 * speaker and channel differences matter less), and carry each phoneme's
 * boundaries through the warping path.
 *
 * @module
 */
import { logMel, MEL_CONFIG } from "../../audio/mel.ts";
import { resample } from "../../audio/resample.ts";
import type { TimedPhoneme } from "./coarticulation.ts";
import type { Espeak } from "./corpus.ts";

/** Mean-normalised cepstra `[T, n]` (c1…cn) of log-mel `[T, 80]`. */
export function cepstra(mel: Float32Array, n = 19): Float32Array {
  const m = MEL_CONFIG.nMels;
  const t = mel.length / m;
  const out = new Float32Array(t * n);
  for (let j = 0; j < t; j++) {
    for (let k = 1; k <= n; k++) {
      let s = 0;
      for (let b = 0; b < m; b++) s += mel[j * m + b]! * Math.cos((Math.PI * k * (b + 0.5)) / m);
      out[j * n + k - 1] = s;
    }
  }
  for (let k = 0; k < n; k++) {
    let mean = 0;
    for (let j = 0; j < t; j++) mean += out[j * n + k]!;
    mean /= Math.max(1, t);
    for (let j = 0; j < t; j++) out[j * n + k] = out[j * n + k]! - mean;
  }
  return out;
}

/**
 * DTW between sequences a `[Ta, n]` and b `[Tb, n]` (Euclidean distance, steps
 * (1,0), (0,1), (1,1), both ends anchored). Returns, for every frame of a, the
 * mean index of the frames of b it is matched to.
 */
export function dtwMap(a: Float32Array, b: Float32Array, n: number): Float64Array {
  const ta = a.length / n;
  const tb = b.length / n;
  const cost = new Float64Array(ta * tb).fill(Infinity);
  const dist = (i: number, j: number) => {
    let s = 0;
    for (let k = 0; k < n; k++) {
      const d = a[i * n + k]! - b[j * n + k]!;
      s += d * d;
    }
    return Math.sqrt(s);
  };
  for (let i = 0; i < ta; i++) {
    for (let j = 0; j < tb; j++) {
      let best = 0;
      if (i > 0 || j > 0) {
        best = Infinity;
        if (i > 0) best = Math.min(best, cost[(i - 1) * tb + j]!);
        if (j > 0) best = Math.min(best, cost[i * tb + j - 1]!);
        if (i > 0 && j > 0) best = Math.min(best, cost[(i - 1) * tb + j - 1]!);
      }
      cost[i * tb + j] = best + dist(i, j);
    }
  }
  // Backtrack.
  const sum = new Float64Array(ta);
  const cnt = new Float64Array(ta);
  let i = ta - 1, j = tb - 1;
  for (;;) {
    sum[i] = sum[i]! + j;
    cnt[i] = cnt[i]! + 1;
    if (i === 0 && j === 0) break;
    const up = i > 0 ? cost[(i - 1) * tb + j]! : Infinity;
    const left = j > 0 ? cost[i * tb + j - 1]! : Infinity;
    const diag = i > 0 && j > 0 ? cost[(i - 1) * tb + j - 1]! : Infinity;
    if (diag <= up && diag <= left) {
      i--;
      j--;
    } else if (up <= left) i--;
    else j--;
  }
  return Float64Array.from(sum, (s, k) => s / cnt[k]!);
}

/** Aligned phonemes of a real recording. */
export interface Alignment {
  phonemes: TimedPhoneme[];
  /** Synthetic reference duration (s), for reports. */
  syntheticS: number;
}

/**
 * Align `transcript` to real 16 kHz `samples`: espeak-ng `voice` synthesis
 * (padded with 0.3 s silence each side), DTW on cepstra, phoneme boundaries
 * mapped through the path.
 */
export function alignTranscript(
  espeak: Espeak,
  transcript: string,
  samples: Float32Array,
  voice = "en-us",
): Alignment {
  const u = espeak.synthesize(transcript, voice);
  const pad = 0.3;
  const syn16 = resample(u.samples, u.sampleRateHz, MEL_CONFIG.sampleRateHz);
  const padded = new Float32Array(syn16.length + 2 * pad * MEL_CONFIG.sampleRateHz);
  padded.set(syn16, pad * MEL_CONFIG.sampleRateHz);
  const ca = cepstra(logMel(padded).data);
  const cb = cepstra(logMel(samples).data);
  const map = dtwMap(ca, cb, 19);
  const rate = MEL_CONFIG.frameRateHz;
  const at = (tS: number) => {
    const f = Math.min(map.length - 1, Math.max(0, (tS + pad) * rate));
    const a = Math.floor(f);
    const b = Math.min(map.length - 1, a + 1);
    return (map[a]! + (map[b]! - map[a]!) * (f - a)) / rate;
  };
  const phonemes = u.phonemes.map((p) => ({ id: p.id, startS: at(p.startS), endS: at(p.endS) }));
  return { phonemes, syntheticS: u.samples.length / u.sampleRateHz };
}
