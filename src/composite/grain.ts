/**
 * Grain matching: estimate the footage's noise and the render's, and add the
 * difference as seeded Gaussian noise so the render is not smoother than the
 * footage around it.
 *
 * Noise is measured on the high-pass residual r = I − blur5(I) (the 5-tap
 * binomial of `src/image/pyramid.ts`) as 1.4826·MAD (robust to edges). White noise
 * of std σ has residual std σ·√0.7935 (Σ of the squared high-pass taps), so the
 * white-noise std is the residual std / 0.8908.
 *
 * @module
 */
import { blur5 } from "../image/pyramid.ts";
import type { ImageF32 } from "../image/types.ts";

/** Residual std of white noise through the high-pass I − blur5(I), per unit σ. */
export const HIGHPASS_GAIN = Math.sqrt(1 - 2 * (6 / 16) ** 2 + ((1 + 16 + 36 + 16 + 1) / 256) ** 2);

/**
 * Robust white-noise std per channel of `img` over the pixels with `sel[i]` = 1
 * (all when absent); null when fewer than 32 pixels are selected.
 */
export function estimateNoise(img: ImageF32, sel?: Uint8Array): [number, number, number] | null {
  const hp = blur5(img), C = img.channels;
  const res: number[][] = [[], [], []];
  for (let i = 0; i < img.width * img.height; i++) {
    if (sel && !sel[i]) continue;
    for (let c = 0; c < 3; c++) res[c]!.push(img.data[i * C + c]! - hp.data[i * C + c]!);
  }
  if (res[0]!.length < 32) return null;
  return res.map((r) => {
    const med = median(r);
    const mad = median(r.map((v) => Math.abs(v - med)));
    return (1.4826 * mad) / HIGHPASS_GAIN;
  }) as [number, number, number];
}

function median(a: number[]): number {
  const s = Float64Array.from(a).sort();
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** Std to add so that render noise (σr) reaches footage noise (σf): √max(0, σf² − σr²). */
export function grainToAdd(footage: number[], render: number[]): [number, number, number] {
  return [0, 1, 2].map((c) => Math.sqrt(Math.max(0, footage[c]! ** 2 - render[c]! ** 2))) as [
    number,
    number,
    number,
  ];
}

/** A 32-bit integer hash (lowbias32) of a value. */
function hash32(v: number): number {
  v = Math.imul(v ^ (v >>> 16), 0x7feb352d);
  v = Math.imul(v ^ (v >>> 15), 0x846ca68b);
  return (v ^ (v >>> 16)) >>> 0;
}

/**
 * A standard normal value fixed to the integer grid point (ix, iy): a noise field
 * that does not change from frame to frame where the head does not move, so added
 * grain does not boil (footage grain after compression is nearly static too).
 */
export function gridGauss(ix: number, iy: number, seed = 0): number {
  const h1 = hash32((ix * 73856093) ^ hash32((iy * 19349663) ^ seed));
  const h2 = hash32(h1 ^ 0x9e3779b9);
  const u = (h1 + 1) / 4294967297, v = h2 / 4294967296;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
