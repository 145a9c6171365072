/**
 * Untranscribed sound between aligned phones: real prompts hold breaths, lip
 * clicks and room noise that no transcript names. A frame outside every
 * aligned phone (by `marginS`) is *audible* when its level is within
 * `AUDIBLE_DB` of the clip's speech level, else *quiet* (true silence).
 *
 * Level of frame j: 10·log10 Σ_m exp(mel[j, m]) (mel power summed over the 80
 * bands); the speech level is the 90th percentile of the levels of frames
 * inside aligned phones. −35 dB was read off the level histograms of the
 * held-out prompts (room tone sits at −45…−60 dB, breaths at −20…−35 dB).
 *
 * @module
 */
import { MEL_CONFIG } from "../../audio/mel.ts";
import type { TimedPhoneme } from "./coarticulation.ts";

/** Frames louder than this (dB re the speech level) outside phones are audible, not silent. */
export const AUDIBLE_DB = -35;

/** Per-frame level in dB `[T]` and relative to the speech level `[T]`, from log-mel `[T, 80]`. */
export function frameLevelsDb(
  mel: Float32Array,
  phonemes: readonly TimedPhoneme[] = [],
): { db: Float32Array; rel: Float32Array } {
  const m = MEL_CONFIG.nMels;
  const t = mel.length / m;
  const db = new Float32Array(t);
  for (let j = 0; j < t; j++) {
    let s = 0;
    for (let b = 0; b < m; b++) s += Math.exp(mel[j * m + b]!);
    db[j] = 10 * Math.log10(s + 1e-12);
  }
  const inside: number[] = [];
  const rate = MEL_CONFIG.frameRateHz;
  for (const p of phonemes) {
    if (p.id === "") continue;
    for (let j = Math.max(0, Math.ceil(p.startS * rate)); j < Math.min(t, p.endS * rate); j++) {
      inside.push(db[j]!);
    }
  }
  const pool = inside.length >= 10 ? inside : Array.from(db);
  pool.sort((a, b) => a - b);
  const ref = pool[Math.floor(0.9 * (pool.length - 1))] ?? 0;
  return { db, rel: db.map((v) => v - ref) };
}

/**
 * Frames `[T]` outside every aligned phone by at least `marginS`, split into
 * `audible` (level > {@link AUDIBLE_DB} re speech: breath, click, noise) and
 * `quiet` (silence). Frames near phones are 0 in both.
 */
export function nonSpeechMask(
  mel: Float32Array,
  phonemes: readonly TimedPhoneme[],
  marginS = 0.15,
): { audible: Uint8Array; quiet: Uint8Array } {
  const rate = MEL_CONFIG.frameRateHz;
  const { rel } = frameLevelsDb(mel, phonemes);
  const t = rel.length;
  const near = new Uint8Array(t);
  for (const p of phonemes) {
    if (p.id === "") continue;
    const a = Math.max(0, Math.floor((p.startS - marginS) * rate));
    const b = Math.min(t - 1, Math.ceil((p.endS + marginS) * rate));
    for (let j = a; j <= b; j++) near[j] = 1;
  }
  const audible = new Uint8Array(t);
  const quiet = new Uint8Array(t);
  for (let j = 0; j < t; j++) {
    if (near[j]) continue;
    if (rel[j]! > AUDIBLE_DB) audible[j] = 1;
    else quiet[j] = 1;
  }
  return { audible, quiet };
}

/** Periodicity above which a frame counts as voiced (normalised autocorrelation peak). */
export const VOICED_R = 0.6;
/** Voiced frames louder than this (dB re speech) outside the alignment are speech, not breath. */
export const VOICED_DB = -25;

/**
 * Voicing of the 30 ms around sample `center` of 16 kHz audio: the largest
 * normalised autocorrelation over lags of 2.5–14 ms (pitch 70–400 Hz), in
 * [−1, 1]. Breaths, clicks and fricatives stay low; vowels and nasals near 1.
 */
export function voicingAt(x: Float32Array, center: number): number {
  const n = 480;
  const a = Math.max(0, Math.min(x.length - n, center - n / 2));
  const seg = x.subarray(a, a + n); // subarray clamps the end to x.length
  let best = 0;
  for (let lag = 40; lag <= 228 && lag < seg.length; lag++) {
    let s = 0, e1 = 0, e2 = 0;
    for (let i = 0; i + lag < seg.length; i++) {
      s += seg[i]! * seg[i + lag]!;
      e1 += seg[i]! * seg[i]!;
      e2 += seg[i + lag]! * seg[i + lag]!;
    }
    const r = s / Math.sqrt(e1 * e2 + 1e-12);
    if (r > best) best = r;
  }
  return best;
}

/**
 * Frames outside every aligned phone (by `marginS`) holding loud voiced sound:
 * speech the transcript or the alignment missed (a word the text lacks, a
 * last phone cut short), not a breath. Their reference says "mouth at rest"
 * while the speaker talks, so clips with {@link UNTRANSCRIBED_MAX_FRAMES} or
 * more of them are dropped as badly aligned. Returns the count.
 */
export function untranscribedVoicedFrames(
  samples: Float32Array,
  mel: Float32Array,
  phonemes: readonly TimedPhoneme[],
  marginS = 0.15,
): number {
  const rate = MEL_CONFIG.frameRateHz;
  const hop = MEL_CONFIG.hopLength;
  const { rel } = frameLevelsDb(mel, phonemes);
  const sp = phonemes.filter((p) => p.id !== "");
  let n = 0;
  for (let j = 0; j < rel.length; j++) {
    const t = j / rate;
    if (rel[j]! <= VOICED_DB) continue;
    if (sp.some((p) => t > p.startS - marginS && t < p.endS + marginS)) continue;
    if (voicingAt(samples, j * hop) > VOICED_R) n++;
  }
  return n;
}

/** 50 ms of loud voiced sound outside the alignment marks a clip as badly aligned. */
export const UNTRANSCRIBED_MAX_FRAMES = 5;
