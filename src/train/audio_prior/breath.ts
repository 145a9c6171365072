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
