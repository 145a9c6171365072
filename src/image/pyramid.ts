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

/** Separable 5-tap binomial blur with mirrored borders. */
export function blur5(img: ImageF32): ImageF32 {
  const { width: W, height: H, channels: C, data } = img;
  const tmp = new Float32Array(data.length), out = new Float32Array(data.length);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let k = -2; k <= 2; k++) s += K[k + 2]! * data[(y * W + mirror(x + k, W)) * C + c]!;
        tmp[(y * W + x) * C + c] = s;
      }
    }
  }
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let k = -2; k <= 2; k++) s += K[k + 2]! * tmp[(mirror(y + k, H) * W + x) * C + c]!;
        out[(y * W + x) * C + c] = s;
      }
    }
  }
  return { width: W, height: H, channels: C, data: out };
}

/** REDUCE: blur then keep even pixels; size ⌈W/2⌉×⌈H/2⌉. */
export function pyrDown(img: ImageF32): ImageF32 {
  const b = blur5(img);
  const W = Math.ceil(img.width / 2), H = Math.ceil(img.height / 2), C = img.channels;
  const out = new Float32Array(W * H * C);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < C; c++) {
        out[(y * W + x) * C + c] = b.data[(2 * y * img.width + 2 * x) * C + c]!;
      }
    }
  }
  return { width: W, height: H, channels: C, data: out };
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
