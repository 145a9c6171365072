/**
 * Gaussian and Laplacian pyramids (Burt & Adelson) of float images `[H, W, C]`:
 * REDUCE = separable 5-tap binomial blur [1 4 6 4 1]/16 (mirrored borders) then
 * keep every other pixel; EXPAND = bilinear upsampling to the finer level's size.
 * A Laplacian level is `G_l − EXPAND(G_{l+1})`, so collapsing is exact for any
 * EXPAND as long as the same one is used both ways.
 *
 * @module
 */
import { resizeBilinear } from "./resize.ts";
import type { ImageF32 } from "./types.ts";

const K = [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16] as const;

/** Mirror an index into [0, n) (… 2 1 | 0 1 2 … n-1 | n-2 …). */
const mirror = (i: number, n: number): number => {
  if (n === 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
};

/** Mirrored index table for taps −2..2 around every i in [0, n): `[n, 5]`. */
function mirrorTable(n: number): Int32Array {
  const t = new Int32Array(n * 5);
  for (let i = 0; i < n; i++) for (let k = -2; k <= 2; k++) t[i * 5 + k + 2] = mirror(i + k, n);
  return t;
}

/**
 * Separable 5-tap binomial blur with mirrored borders, evaluated only at every
 * `step`-th pixel in x and y (step 1 = the full blur, 2 = REDUCE's samples).
 */
function blurSampled(img: ImageF32, step: number): ImageF32 {
  const { width: W, height: H, channels: C, data } = img;
  const OW = Math.ceil(W / step), OH = Math.ceil(H / step);
  const mx = mirrorTable(W), my = mirrorTable(H);
  const tmp = new Float32Array(H * OW * C);
  for (let y = 0; y < H; y++) {
    const row = y * W;
    for (let xo = 0; xo < OW; xo++) {
      const x = xo * step, m = x * 5;
      const a = (row + mx[m]!) * C, b = (row + mx[m + 1]!) * C, c0 = (row + mx[m + 2]!) * C;
      const d = (row + mx[m + 3]!) * C, e = (row + mx[m + 4]!) * C, o = (y * OW + xo) * C;
      for (let c = 0; c < C; c++) {
        tmp[o + c] = K[0] * data[a + c]! + K[1] * data[b + c]! + K[2] * data[c0 + c]! +
          K[3] * data[d + c]! +
          K[4] * data[e + c]!;
      }
    }
  }
  const out = new Float32Array(OW * OH * C);
  for (let yo = 0; yo < OH; yo++) {
    const m = yo * step * 5;
    const a = my[m]! * OW * C, b = my[m + 1]! * OW * C, c0 = my[m + 2]! * OW * C;
    const d = my[m + 3]! * OW * C, e = my[m + 4]! * OW * C, o = yo * OW * C;
    for (let i = 0; i < OW * C; i++) {
      out[o + i] = K[0] * tmp[a + i]! + K[1] * tmp[b + i]! + K[2] * tmp[c0 + i]! +
        K[3] * tmp[d + i]! +
        K[4] * tmp[e + i]!;
    }
  }
  return { width: OW, height: OH, channels: C, data: out };
}

/** Separable 5-tap binomial blur with mirrored borders. */
export function blur5(img: ImageF32): ImageF32 {
  return blurSampled(img, 1);
}

/** REDUCE: blur then keep even pixels; size ⌈W/2⌉×⌈H/2⌉. */
export function pyrDown(img: ImageF32): ImageF32 {
  return blurSampled(img, 2);
}

/** EXPAND a coarser level to `width`×`height`. */
export function pyrUp(img: ImageF32, width: number, height: number): ImageF32 {
  return resizeBilinear(img, width, height);
}

/** Levels that keep the coarsest side ≥ `minSide` px (at least 1). */
export function pyramidLevels(
  width: number,
  height: number,
  maxLevels: number,
  minSide = 8,
): number {
  let n = 1, w = width, h = height;
  while (n < maxLevels && Math.min(w, h) / 2 >= minSide) {
    w = Math.ceil(w / 2);
    h = Math.ceil(h / 2);
    n++;
  }
  return n;
}

/** Gaussian pyramid, finest first, `levels` images. */
export function gaussianPyramid(img: ImageF32, levels: number): ImageF32[] {
  const out = [img];
  for (let l = 1; l < levels; l++) out.push(pyrDown(out[l - 1]!));
  return out;
}

/** Laplacian pyramid, finest first; the last level is the coarsest Gaussian level. */
export function laplacianPyramid(img: ImageF32, levels: number): ImageF32[] {
  const g = gaussianPyramid(img, levels);
  const out: ImageF32[] = [];
  for (let l = 0; l < levels - 1; l++) {
    const fine = g[l]!, up = pyrUp(g[l + 1]!, fine.width, fine.height);
    const d = new Float32Array(fine.data.length);
    for (let i = 0; i < d.length; i++) d[i] = fine.data[i]! - up.data[i]!;
    out.push({ width: fine.width, height: fine.height, channels: fine.channels, data: d });
  }
  out.push(g[levels - 1]!);
  return out;
}

/** Sum a Laplacian pyramid back into an image (inverse of {@link laplacianPyramid}). */
export function collapseLaplacian(pyr: ImageF32[]): ImageF32 {
  let cur = pyr[pyr.length - 1]!;
  for (let l = pyr.length - 2; l >= 0; l--) {
    const lap = pyr[l]!, up = pyrUp(cur, lap.width, lap.height);
    const d = new Float32Array(lap.data.length);
    for (let i = 0; i < d.length; i++) d[i] = lap.data[i]! + up.data[i]!;
    cur = { width: lap.width, height: lap.height, channels: lap.channels, data: d };
  }
  return cur;
}
