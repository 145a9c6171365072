/**
 * Band-limited sample-rate conversion between any two integer rates: a
 * polyphase windowed-sinc (Kaiser) interpolator. The ratio out/in is reduced to
 * L/M; output sample n sits at input position n·M/L, computed in integers so
 * long signals do not drift. The low-pass cut-off is at the lower of the two
 * Nyquist frequencies (times `rolloff`), so downsampling is anti-aliased.
 *
 * @module
 */

/** Options of {@link resample}. */
export interface ResampleOptions {
  /** Zero crossings of the sinc on each side (filter half-length); default 24. */
  zeroCrossings?: number;
  /** Cut-off as a share of the lower Nyquist frequency; default 0.94. */
  rolloff?: number;
  /** Kaiser window beta; default 9 (≈ 90 dB stop-band). */
  kaiserBeta?: number;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (power series). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/**
 * Resample mono `samples` `[N]` from `fromHz` to `toHz`. The output has
 * `ceil(N · toHz / fromHz)` samples; sample n is at time n / toHz, like input
 * sample n·fromHz/toHz. Signal beyond the ends is taken as zero.
 */
export function resample(
  samples: Float32Array,
  fromHz: number,
  toHz: number,
  opts: ResampleOptions = {},
): Float32Array {
  for (const [name, r] of [["input", fromHz], ["output", toHz]] as const) {
    if (!Number.isInteger(r) || r <= 0) {
      throw new RangeError(
        `Invalid ${name} sample rate ${r}; pass a positive integer in Hz`,
      );
    }
  }
  if (fromHz === toHz) return samples.slice();
  const g = gcd(fromHz, toHz);
  const up = toHz / g; // L
  const down = fromHz / g; // M
  const zeros = opts.zeroCrossings ?? 24;
  const rolloff = opts.rolloff ?? 0.94;
  const beta = opts.kaiserBeta ?? 9;
  // Cut-off in cycles per input sample.
  const fc = 0.5 * rolloff * Math.min(1, up / down);
  const half = Math.ceil(zeros / (2 * fc)); // half-length in input samples
  const taps = 2 * half + 1;
  const i0Beta = besselI0(beta);
  const kernel = (t: number): number => {
    // t: distance in input samples from the output instant.
    const u = t / (half + 1);
    if (u <= -1 || u >= 1) return 0;
    const w = besselI0(beta * Math.sqrt(1 - u * u)) / i0Beta;
    const x = 2 * fc * t;
    const s = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    return 2 * fc * s * w;
  };
  // Per-phase tables when the number of phases is moderate, else on the fly.
  const tablePhases = up <= 4096 ? up : 0;
  const table = new Float32Array(tablePhases * taps); // [L, taps]
  for (let p = 0; p < tablePhases; p++) {
    const frac = p / up;
    for (let k = 0; k < taps; k++) {
      table[p * taps + k] = kernel(k - half - frac);
    }
  }
  const n = samples.length;
  const outLen = Math.ceil((n * up) / down);
  const out = new Float32Array(outLen);
  const row = new Float32Array(taps);
  for (let o = 0; o < outLen; o++) {
    const pos = o * down; // exact integer: position · L
    const base = Math.floor(pos / up);
    const phase = pos - base * up;
    let weights: Float32Array;
    if (tablePhases) {
      weights = table.subarray(phase * taps, phase * taps + taps);
    } else {
      const frac = phase / up;
      for (let k = 0; k < taps; k++) row[k] = kernel(k - half - frac);
      weights = row;
    }
    let acc = 0;
    const start = base - half;
    const k0 = Math.max(0, -start);
    const k1 = Math.min(taps, n - start);
    for (let k = k0; k < k1; k++) acc += weights[k]! * samples[start + k]!;
    out[o] = acc;
  }
  return out;
}
