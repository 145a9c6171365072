/**
 * Audio augmentation for training the prior, all at 16 kHz and driven by a
 * seeded {@link Rng}: gain, additive noise (white / pink / brown at a chosen
 * SNR), music-like background (random chords of harmonic tones with note
 * changes), room reverb (Schroeder: 4 parallel combs + 2 all-passes),
 * band-limiting (telephone band or a random low-pass), and speed perturbation
 * (resampling: pitch and tempo together; targets are stretched to match).
 *
 * @module
 */
import type { Rng } from "./corpus.ts";

function rms(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / Math.max(1, x.length));
}

/** Coloured noise `[n]` with unit RMS: white, pink (Kellet filter) or brown. */
export function noise(rng: Rng, n: number, color: "white" | "pink" | "brown"): Float32Array {
  const out = new Float32Array(n);
  let b0 = 0, b1 = 0, b2 = 0, brown = 0;
  for (let i = 0; i < n; i++) {
    const w = rng.next() * 2 - 1;
    if (color === "white") out[i] = w;
    else if (color === "pink") {
      b0 = 0.99765 * b0 + w * 0.099046;
      b1 = 0.963 * b1 + w * 0.2965164;
      b2 = 0.57 * b2 + w * 1.0526913;
      out[i] = b0 + b1 + b2 + w * 0.1848;
    } else {
      brown = 0.995 * brown + w * 0.1;
      out[i] = brown;
    }
  }
  const r = rms(out) || 1;
  for (let i = 0; i < n; i++) out[i] = out[i]! / r;
  return out;
}

/** Music-like background `[n]` at 16 kHz with unit RMS: chords of harmonic tones. */
export function music(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  const sr = 16000;
  let i = 0;
  while (i < n) {
    const len = Math.floor(rng.uniform(0.15, 0.8) * sr);
    const root = 110 * 2 ** (rng.int(24) / 12);
    const chord = [0, rng.pick([3, 4]), 7, rng.next() < 0.5 ? 12 : 10].map((s) =>
      root * 2 ** (s / 12)
    );
    const harmonics = 1 + rng.int(6);
    const decay = rng.uniform(0.5, 6);
    for (const f of chord) {
      const amp = rng.uniform(0.3, 1);
      const phase = rng.next() * 2 * Math.PI;
      for (let h = 1; h <= harmonics; h++) {
        const fh = f * h;
        if (fh > 7500) break;
        // Recursive oscillator: rotate (cos, sin) by ω each sample; decaying envelope.
        const w = (2 * Math.PI * fh) / sr;
        const cw = Math.cos(w);
        const sw = Math.sin(w);
        const damp = Math.exp(-decay / sr);
        let c = Math.cos(phase);
        let s = Math.sin(phase);
        let env = amp / h;
        const end = Math.min(len, n - i);
        for (let k = 0; k < end; k++) {
          out[i + k] = out[i + k]! + env * s;
          const c2 = c * cw - s * sw;
          s = s * cw + c * sw;
          c = c2;
          env *= damp;
        }
      }
    }
    // Occasional percussive hit (noise burst).
    if (rng.next() < 0.4) {
      for (let k = 0; k < 800 && i + k < n; k++) {
        out[i + k] = out[i + k]! + (rng.next() * 2 - 1) * Math.exp(-k / 150);
      }
    }
    i += len;
  }
  const r = rms(out) || 1;
  for (let k = 0; k < n; k++) out[k] = out[k]! / r;
  return out;
}

/** Add `bg` (unit RMS) to `x` in place at `snrDb` relative to `x`'s RMS (or `refRms`). */
export function mixAt(x: Float32Array, bg: Float32Array, snrDb: number, refRms = rms(x)): void {
  const g = refRms / 10 ** (snrDb / 20);
  for (let i = 0; i < x.length; i++) x[i] = x[i]! + g * bg[i]!;
}

/** Schroeder reverb with decay time `rt60S` and wet share `wet`; returns a new array. */
export function reverb(x: Float32Array, rt60S: number, wet: number): Float32Array {
  const sr = 16000;
  const combDelays = [1557, 1617, 1491, 1422].map((d) => Math.round((d * sr) / 44100));
  const allpassDelays = [225, 556].map((d) => Math.round((d * sr) / 44100));
  const n = x.length;
  const acc = new Float32Array(n);
  for (const d of combDelays) {
    const g = 10 ** ((-3 * d) / (rt60S * sr));
    const buf = new Float32Array(n);
    for (let i = 0; i < n; i++) buf[i] = x[i]! + (i >= d ? g * buf[i - d]! : 0);
    for (let i = 0; i < n; i++) acc[i] = acc[i]! + buf[i]! / combDelays.length;
  }
  let y = acc;
  for (const d of allpassDelays) {
    const g = 0.7;
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const xd = i >= d ? y[i - d]! : 0;
      const yd = i >= d ? out[i - d]! : 0;
      out[i] = -g * y[i]! + xd + g * yd;
    }
    y = out;
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (1 - wet) * x[i]! + wet * y[i]!;
  return out;
}

/** RBJ biquad, applied in place. */
function biquad(
  x: Float32Array,
  type: "lowpass" | "highpass",
  fHz: number,
  q = Math.SQRT1_2,
): void {
  const w0 = (2 * Math.PI * fHz) / 16000;
  const alpha = Math.sin(w0) / (2 * q);
  const cos = Math.cos(w0);
  const b = type === "lowpass"
    ? [(1 - cos) / 2, 1 - cos, (1 - cos) / 2]
    : [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2];
  const a0 = 1 + alpha;
  const a1 = -2 * cos;
  const a2 = 1 - alpha;
  let x1 = 0, x2 = 0, y1 = 0, y2 = 0;
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i]!;
    const y0 = (b[0]! * x0 + b[1]! * x1 + b[2]! * x2 - a1 * y1 - a2 * y2) / a0;
    x2 = x1;
    x1 = x0;
    y2 = y1;
    y1 = y0;
    x[i] = y0;
  }
}

/** Band-limit in place: telephone band (300–3400 Hz) or a low-pass at `lowpassHz`. */
export function bandLimit(x: Float32Array, mode: "telephone" | "lowpass", lowpassHz = 4000): void {
  if (mode === "telephone") {
    biquad(x, "highpass", 300);
    biquad(x, "highpass", 300);
    biquad(x, "lowpass", 3400);
    biquad(x, "lowpass", 3400);
  } else {
    biquad(x, "lowpass", lowpassHz);
    biquad(x, "lowpass", lowpassHz);
  }
}

/** Stretch a track `[T, C]` to `frames` frames by linear interpolation (for speed perturbation). */
export function stretchTrack(track: Float32Array, channels: number, frames: number): Float32Array {
  const t = track.length / channels;
  const out = new Float32Array(frames * channels);
  for (let j = 0; j < frames; j++) {
    const pos = frames > 1 ? (j * (t - 1)) / (frames - 1) : 0;
    const a = Math.floor(pos);
    const b = Math.min(t - 1, a + 1);
    const w = pos - a;
    for (let c = 0; c < channels; c++) {
      out[j * channels + c] = track[a * channels + c]! * (1 - w) + track[b * channels + c]! * w;
    }
  }
  return out;
}

/**
 * Randomly augment a 16 kHz clip in place-ish (returns the new samples):
 * reverb (30 %), band-limit (25 %), background noise or music (60 %, SNR 0–30
 * dB), gain −18…+6 dB with clipping at ±1.
 */
export function augmentClip(rng: Rng, x: Float32Array, speechRms: number): Float32Array {
  let y = x;
  if (rng.next() < 0.3) y = reverb(y, rng.uniform(0.15, 0.8), rng.uniform(0.1, 0.5));
  if (rng.next() < 0.25) {
    if (rng.next() < 0.5) bandLimit(y, "telephone");
    else bandLimit(y, "lowpass", rng.uniform(2500, 6000));
  }
  const r = rng.next();
  if (r < 0.35) {
    mixAt(
      y,
      noise(rng, y.length, rng.pick(["white", "pink", "brown"] as const)),
      rng.uniform(5, 35),
      speechRms,
    );
  } else if (r < 0.6) mixAt(y, music(rng, y.length), rng.uniform(0, 25), speechRms);
  const gain = 10 ** (rng.uniform(-18, 6) / 20);
  for (let i = 0; i < y.length; i++) y[i] = Math.max(-1, Math.min(1, y[i]! * gain));
  return y;
}

/**
 * Vocal-tract-length perturbation on log-mel features `[T, nMels]` (in place):
 * frequencies are scaled by `alpha` (piecewise linear, Jaitly & Hinton 2013:
 * f' = α f below a boundary, then linear so that fMax maps to itself), i.e.
 * a longer (α < 1) or shorter (α > 1) vocal tract. Each output bin takes the
 * log-mel value at the source frequency f = warp⁻¹(f_m), interpolated linearly
 * between neighbouring bins on the mel axis. `centersHz` are the filters'
 * centre frequencies, ascending.
 */
export function warpMel(
  mel: Float32Array,
  nMels: number,
  centersHz: Float64Array,
  alpha: number,
  fMaxHz = 8000,
): void {
  const boundary = (fMaxHz * 0.8 * Math.min(1, alpha)) / alpha;
  // Inverse of f' = α f (f ≤ boundary), f' = fMax − (fMax − αb)(fMax − f)/(fMax − b).
  const inv = (fw: number) =>
    fw <= alpha * boundary
      ? fw / alpha
      : fMaxHz - ((fMaxHz - fw) * (fMaxHz - boundary)) / (fMaxHz - alpha * boundary);
  // Fractional source bin of every output bin (centres are monotone).
  const src = new Float64Array(nMels);
  for (let m = 0; m < nMels; m++) {
    const f = inv(centersHz[m]!);
    let k = 0;
    while (k < nMels - 2 && centersHz[k + 1]! < f) k++;
    const w = (f - centersHz[k]!) / (centersHz[k + 1]! - centersHz[k]!);
    src[m] = Math.max(0, Math.min(nMels - 1, k + w));
  }
  const row = new Float32Array(nMels);
  const frames = mel.length / nMels;
  for (let t = 0; t < frames; t++) {
    const o = t * nMels;
    for (let m = 0; m < nMels; m++) {
      const s = src[m]!;
      const a = Math.floor(s);
      const b = Math.min(nMels - 1, a + 1);
      const w = s - a;
      row[m] = mel[o + a]! * (1 - w) + mel[o + b]! * w;
    }
    mel.set(row, o);
  }
}

/**
 * A random fixed equaliser on log-mel features (in place): a spectral tilt of
 * ±`tiltDb` over the band plus two broad peaks/dips (±`bumpDb`, Gaussian in the
 * mel-bin index), i.e. the colouring of an unknown microphone, room or codec.
 * Power in dB → natural-log units: ln(10)/10 per dB.
 */
export function equalizeMel(
  rng: Rng,
  mel: Float32Array,
  nMels: number,
  tiltDb = 6,
  bumpDb = 5,
): void {
  const toLn = Math.LN10 / 10;
  const curve = new Float32Array(nMels);
  const tilt = rng.uniform(-tiltDb, tiltDb);
  const bumps = [0, 1].map(() => ({
    at: rng.uniform(0, nMels - 1),
    width: rng.uniform(3, 15),
    gain: rng.uniform(-bumpDb, bumpDb),
  }));
  for (let m = 0; m < nMels; m++) {
    let db = tilt * (m / (nMels - 1) - 0.5) * 2;
    for (const b of bumps) db += b.gain * Math.exp(-0.5 * ((m - b.at) / b.width) ** 2);
    curve[m] = db * toLn;
  }
  for (let i = 0; i < mel.length; i++) mel[i] = mel[i]! + curve[i % nMels]!;
}

/**
 * A synthetic breath (inhalation) `[n]` at 16 kHz with unit RMS: white noise
 * through a random band-pass (high-pass 300–900 Hz, low-pass 1.8–6 kHz) and one
 * broad resonance, under a raised-cosine envelope with a slow attack. Real
 * dialogue has audible breaths between phrases while the mouth is at rest;
 * training clips get some so that the prior does not read them as speech.
 */
export function breath(rng: Rng, n: number): Float32Array {
  const x = noise(rng, n, "white");
  biquad(x, "highpass", rng.uniform(300, 900));
  biquad(x, "lowpass", rng.uniform(1800, 6000));
  // One broad resonance: add a band-passed copy (high-pass then low-pass around fc).
  const fc = rng.uniform(800, 2500);
  const res = Float32Array.from(x);
  biquad(res, "highpass", fc * 0.8, 2);
  biquad(res, "lowpass", fc * 1.25, 2);
  const mixRes = rng.uniform(0, 2);
  const attack = rng.uniform(0.3, 0.6);
  for (let i = 0; i < n; i++) {
    const p = i / Math.max(1, n - 1);
    const env = p < attack
      ? 0.5 - 0.5 * Math.cos((Math.PI * p) / attack)
      : 0.5 + 0.5 * Math.cos((Math.PI * (p - attack)) / (1 - attack));
    x[i] = (x[i]! + mixRes * res[i]!) * env;
  }
  const r = rms(x) || 1;
  for (let i = 0; i < n; i++) x[i] = x[i]! / r;
  return x;
}
