/**
 * A signal-processing baseline over the same articulation space, from the same
 * log-mel features (`method: baseline`). It shows what the learned prior adds.
 *
 * Cues per 10 ms frame (e = frame energy in dB, relative to the clip's 95th
 * percentile, so the result does not depend on gain):
 *
 * - loudness  L = clamp((e + 35) / 35)
 * - low-band share  (energy below 1 kHz / total): vowels and nasals are high,
 *   fricatives low
 * - spectral centroid over 300–3500 Hz (a crude F2 cue): high → spread lips
 *   (i, e), low → rounded/protruded (u, o)
 * - high-band share above 3.5 kHz: sibilants → teeth visible
 * - a short energy dip of more than 12 dB below the surrounding ±80 ms inside
 *   speech → bilabial closure (stop closures)
 *
 * jaw_open = 0.75 L √low, lip_aperture = 0.85 jaw_open; labiodental and tongue
 * stay 0 (no reliable acoustic cue). A 3-frame moving average smooths the result.
 *
 * @module
 */
import { ARTICULATION_DIM, channelIndex } from "../articulation/mod.ts";
import { MEL_CONFIG, melCentersHz } from "./mel.ts";

const clamp = (v: number, lo = 0, hi = 1) => Math.min(hi, Math.max(lo, v));

/** Baseline articulation `[T, 8]` from log-mel `[T, 80]`. */
export function baselineArticulation(mel: Float32Array): Float32Array {
  const m = MEL_CONFIG.nMels;
  if (mel.length % m !== 0) {
    throw new RangeError(`Log-mel length ${mel.length} is not a multiple of ${m}`);
  }
  const t = mel.length / m;
  const centres = melCentersHz();
  const energyDb = new Float32Array(t);
  const low = new Float32Array(t);
  const high = new Float32Array(t);
  const centroid = new Float32Array(t);
  for (let j = 0; j < t; j++) {
    let total = 0, lo = 0, hi = 0, num = 0, den = 0;
    for (let k = 0; k < m; k++) {
      const p = Math.exp(mel[j * m + k]!);
      const f = centres[k]!;
      total += p;
      if (f < 1000) lo += p;
      if (f > 3500) hi += p;
      if (f >= 300 && f <= 3500) {
        num += p * f;
        den += p;
      }
    }
    energyDb[j] = 10 * Math.log10(total + 1e-12);
    low[j] = lo / (total + 1e-12);
    high[j] = hi / (total + 1e-12);
    centroid[j] = den > 0 ? num / den : 1500;
  }
  const sorted = Float32Array.from(energyDb).sort();
  const ref = sorted[Math.min(t - 1, Math.floor(0.95 * t))] ?? 0;
  const floor = sorted[Math.floor(0.05 * t)] ?? ref;
  // A clip of pure silence (no dynamic range) gives a neutral mouth.
  const dynamic = ref - floor > 6;
  const J = channelIndex("jaw_open");
  const A = channelIndex("lip_aperture");
  const W = channelIndex("mouth_width");
  const P = channelIndex("lip_protrusion");
  const B = channelIndex("bilabial_closure");
  const T = channelIndex("teeth_visible");
  const c = ARTICULATION_DIM;
  const raw = new Float32Array(t * c);
  for (let j = 0; j < t; j++) {
    if (!dynamic) continue;
    const loud = clamp((energyDb[j]! - ref + 35) / 35);
    const jaw = 0.75 * loud * Math.sqrt(low[j]!);
    raw[j * c + J] = jaw;
    raw[j * c + A] = 0.85 * jaw;
    const voiced = loud * low[j]!;
    raw[j * c + W] = clamp(((centroid[j]! - 1500) / 800) * voiced, -1, 1);
    raw[j * c + P] = clamp(((1300 - centroid[j]!) / 600) * voiced);
    raw[j * c + T] = clamp(loud * high[j]! * 1.5);
    // Stop closure: a dip well below the surrounding peak, with speech around it.
    let around = -Infinity;
    for (let k = Math.max(0, j - 8); k <= Math.min(t - 1, j + 8); k++) {
      around = Math.max(around, energyDb[k]!);
    }
    const inSpeech = around > ref - 15;
    if (inSpeech) raw[j * c + B] = clamp((around - energyDb[j]! - 12) / 10);
  }
  const out = new Float32Array(t * c);
  for (let j = 0; j < t; j++) {
    for (let k = 0; k < c; k++) {
      let s = 0, n = 0;
      for (let d = -1; d <= 1; d++) {
        const i = j + d;
        if (i >= 0 && i < t) {
          s += raw[i * c + k]!;
          n++;
        }
      }
      out[j * c + k] = s / n;
    }
  }
  return out;
}
