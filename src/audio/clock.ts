/**
 * Frame-clock alignment: articulation is predicted at a fixed model rate (100
 * frames per second) and resampled to the video frame rate, given as a
 * rational. Video frame i is at time i·den/num seconds; its position on the
 * model clock is i·den·modelRate/num frames, computed with integers (exact
 * for any track shorter than days), never by accumulating floats, so a
 * 10-minute track at 30000/1001 fps ends on exactly the right model frame.
 *
 * @module
 */

/** A frame rate num/den frames per second, in lowest terms. */
export interface Rational {
  readonly num: number;
  readonly den: number;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Build a rational in lowest terms; throws a RangeError unless both are positive integers. */
export function rational(num: number, den = 1): Rational {
  if (
    !Number.isSafeInteger(num) || !Number.isSafeInteger(den) || num <= 0 ||
    den <= 0
  ) {
    throw new RangeError(
      `Invalid frame rate "${num}/${den}"; pass positive integers like 30000/1001`,
    );
  }
  const g = gcd(num, den);
  return { num: num / g, den: den / g };
}

/** NTSC-style rates written as decimals, mapped to their exact rationals. */
const DECIMAL_RATES: ReadonlyArray<[number, Rational]> = [
  [23.976, { num: 24000, den: 1001 }],
  [29.97, { num: 30000, den: 1001 }],
  [47.952, { num: 48000, den: 1001 }],
  [59.94, { num: 60000, den: 1001 }],
  [119.88, { num: 120000, den: 1001 }],
];

/**
 * Parse a frame rate: an integer (25), a rational string ("30000/1001",
 * "25/1"), or an NTSC decimal (23.976, 29.97, 59.94 → n·1000/1001). Other
 * decimals are taken exactly as written (e.g. "12.5" → 25/2).
 */
export function parseFps(value: number | string | Rational): Rational {
  if (typeof value === "object") return rational(value.num, value.den);
  const s = String(value).trim();
  const m = /^(\d+)\s*\/\s*(\d+)$/.exec(s);
  if (m) return rational(Number(m[1]), Number(m[2]));
  if (!/^\d+(\.\d+)?$/.test(s)) {
    throw new RangeError(
      `Invalid frame rate "${s}"; pass a number like 25 or a rational like 30000/1001`,
    );
  }
  const x = Number(s);
  for (const [dec, r] of DECIMAL_RATES) {
    if (Math.abs(x - dec) < 0.0015) return r;
  }
  const decimals = s.includes(".") ? s.split(".")[1]!.length : 0;
  const den = 10 ** decimals;
  return rational(Math.round(x * den), den);
}

/** "num/den" form. */
export function formatFps(r: Rational): string {
  return `${r.num}/${r.den}`;
}

/** Exact time of video frame `index` as a rational number of seconds. */
export function frameTime(index: number, fps: Rational): Rational {
  if (index === 0) return { num: 0, den: 1 };
  const num = index * fps.den;
  const g = gcd(num, fps.num);
  return { num: num / g, den: fps.num / g };
}

/** Number of video frames that start before `durationS` seconds (ceil(durationS · fps)). */
export function frameCountFor(durationS: number, fps: Rational): number {
  return Math.max(0, Math.ceil((durationS * fps.num) / fps.den - 1e-9));
}

/**
 * Position of video frame `index` on a clock running at `clockHz` frames per
 * second (an integer): integer part and exact fractional remainder.
 */
export function framePosition(
  index: number,
  fps: Rational,
  clockHz: number,
): { base: number; frac: number } {
  const num = index * fps.den * clockHz; // exact while < 2^53
  if (!Number.isSafeInteger(num)) {
    throw new RangeError(`Frame index ${index} is too large for exact timing`);
  }
  const base = Math.floor(num / fps.num);
  const rem = num - base * fps.num;
  return { base, frac: rem / fps.num };
}

/**
 * Resample a track `[T, C]` at `clockHz` frames per second (frame j at j /
 * clockHz s) to `frames` video frames at `fps` by linear interpolation at each
 * frame's exact time; times past the end hold the last value.
 */
export function resampleToFrameRate(
  track: Float32Array,
  channels: number,
  clockHz: number,
  fps: Rational,
  frames: number,
): Float32Array {
  if (track.length % channels !== 0) {
    throw new RangeError(
      `Track length ${track.length} is not a multiple of ${channels} channels`,
    );
  }
  const t = track.length / channels;
  const out = new Float32Array(frames * channels);
  if (t === 0) return out;
  for (let i = 0; i < frames; i++) {
    const { base, frac } = framePosition(i, fps, clockHz);
    const a = Math.min(base, t - 1);
    const b = Math.min(base + 1, t - 1);
    for (let c = 0; c < channels; c++) {
      const va = track[a * channels + c]!;
      const vb = track[b * channels + c]!;
      out[i * channels + c] = va + (vb - va) * frac;
    }
  }
  return out;
}
