/**
 * Log-mel spectrogram, the input of the audio prior. Fixed parameters (they are
 * part of the model contract and written into feature files and ONNX metadata):
 *
 * - 16 kHz mono input (resample first, see `resample.ts`)
 * - 25 ms periodic Hann window (400 samples), zero-padded to a 512-point FFT
 * - 10 ms hop (160 samples) → 100 frames per second; frame j is centred on
 *   sample j·160 (time j / 100 s); the signal is zero-padded by 256 samples at
 *   both ends, so a signal of N samples gives floor(N / 160) + 1 frames
 * - 80 triangular mel filters (HTK mel scale 2595·log10(1 + f/700)) from 20 Hz
 *   to 8000 Hz, each normalised to unit area (Slaney style)
 * - power spectrum, value = ln(mel power + 1e-6)
 *
 * @module
 */
import FFT from "fft.js";

/** Parameters of the log-mel features (see the module doc). */
export const MEL_CONFIG = {
  sampleRateHz: 16000,
  windowLength: 400,
  fftSize: 512,
  hopLength: 160,
  nMels: 80,
  fMinHz: 20,
  fMaxHz: 8000,
  logFloor: 1e-6,
  /** Feature frames per second (sampleRateHz / hopLength). */
  frameRateHz: 100,
} as const;

/** Log-mel features `[T, nMels]`, row-major. */
export interface LogMel {
  data: Float32Array;
  frames: number;
  nMels: number;
}

/** HTK mel scale. */
export function hzToMel(hz: number): number {
  return 2595 * Math.log10(1 + hz / 700);
}

/** Inverse of {@link hzToMel}. */
export function melToHz(mel: number): number {
  return 700 * (10 ** (mel / 2595) - 1);
}

/** Centre frequencies (Hz) of the mel filters, `[nMels]`. */
export function melCentersHz(): Float64Array {
  const { nMels, fMinHz, fMaxHz } = MEL_CONFIG;
  const lo = hzToMel(fMinHz);
  const hi = hzToMel(fMaxHz);
  const c = new Float64Array(nMels);
  for (let m = 0; m < nMels; m++) {
    c[m] = melToHz(lo + ((m + 1) * (hi - lo)) / (nMels + 1));
  }
  return c;
}

let filterCache: { start: Int32Array; weights: Float32Array[] } | null = null;

/** Mel filterbank: for each filter, its first FFT bin and weights. */
function filterbank(): { start: Int32Array; weights: Float32Array[] } {
  if (filterCache) return filterCache;
  const { nMels, fMinHz, fMaxHz, fftSize, sampleRateHz } = MEL_CONFIG;
  const lo = hzToMel(fMinHz);
  const hi = hzToMel(fMaxHz);
  const edges: number[] = [];
  for (let m = 0; m < nMels + 2; m++) {
    edges.push(melToHz(lo + (m * (hi - lo)) / (nMels + 1)));
  }
  const nBins = fftSize / 2 + 1;
  const binHz = sampleRateHz / fftSize;
  const start = new Int32Array(nMels);
  const weights: Float32Array[] = [];
  for (let m = 0; m < nMels; m++) {
    const [l, c, r] = [edges[m]!, edges[m + 1]!, edges[m + 2]!];
    const w: number[] = [];
    let first = -1;
    for (let b = 0; b < nBins; b++) {
      const f = b * binHz;
      const v = f <= l || f >= r ? 0 : f <= c ? (f - l) / (c - l) : (r - f) / (r - c);
      if (v > 0) {
        if (first < 0) first = b;
        w.push(v * (2 / (r - l)) * 1000); // unit-area (Slaney) scaling, per kHz
      } else if (first >= 0) break;
    }
    if (first < 0) {
      // Filter narrower than one bin: take the nearest bin.
      first = Math.round(c / binHz);
      w.push(1);
    }
    start[m] = first;
    weights.push(Float32Array.from(w));
  }
  filterCache = { start, weights };
  return filterCache;
}

/** Number of feature frames for `n` samples at 16 kHz. */
export function melFrameCount(n: number): number {
  return Math.floor(n / MEL_CONFIG.hopLength) + 1;
}

/** Log-mel spectrogram of mono 16 kHz `samples` `[N]` → `[T, 80]`. */
export function logMel(samples: Float32Array): LogMel {
  const { windowLength, fftSize, hopLength, nMels, logFloor } = MEL_CONFIG;
  const frames = melFrameCount(samples.length);
  const fft = new FFT(fftSize);
  const input = new Array<number>(fftSize).fill(0);
  const spec = fft.createComplexArray() as number[];
  const window = new Float64Array(windowLength);
  for (let i = 0; i < windowLength; i++) {
    window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / windowLength);
  }
  const { start, weights } = filterbank();
  const power = new Float64Array(fftSize / 2 + 1);
  const out = new Float32Array(frames * nMels);
  const winOff = (fftSize - windowLength) / 2;
  for (let t = 0; t < frames; t++) {
    const centre = t * hopLength;
    const first = centre - windowLength / 2;
    for (let i = 0; i < fftSize; i++) input[i] = 0;
    for (let i = 0; i < windowLength; i++) {
      const s = first + i;
      if (s >= 0 && s < samples.length) {
        input[winOff + i] = samples[s]! * window[i]!;
      }
    }
    fft.realTransform(spec, input);
    for (let b = 0; b <= fftSize / 2; b++) {
      const re = spec[2 * b]!;
      const im = spec[2 * b + 1]!;
      power[b] = re * re + im * im;
    }
    for (let m = 0; m < nMels; m++) {
      const w = weights[m]!;
      const s0 = start[m]!;
      let acc = 0;
      for (let k = 0; k < w.length; k++) acc += w[k]! * power[s0 + k]!;
      out[t * nMels + m] = Math.log(acc + logFloor);
    }
  }
  return { data: out, frames, nMels };
}
