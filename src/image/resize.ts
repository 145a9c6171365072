/**
 * Resampling of interleaved images `[H, W, C]`: bilinear sampling and resize
 * (pixel centres aligned, edges clamped) and area-average downscaling.
 *
 * @module
 */
import { assertImageShape, type ImageF32 } from "./types.ts";

/**
 * Bilinear sample of channel `c` at continuous pixel coordinates (x, y) where
 * pixel (i, j) has its centre at (i, j); coordinates are clamped to the image.
 */
export function sampleBilinear(img: ImageF32, x: number, y: number, c: number): number {
  const { width: W, height: H, channels: C, data } = img;
  const xc = x < 0 ? 0 : x > W - 1 ? W - 1 : x;
  const yc = y < 0 ? 0 : y > H - 1 ? H - 1 : y;
  const x0 = Math.floor(xc), y0 = Math.floor(yc);
  const x1 = x0 + 1 < W ? x0 + 1 : x0, y1 = y0 + 1 < H ? y0 + 1 : y0;
  const fx = xc - x0, fy = yc - y0;
  const a = data[(y0 * W + x0) * C + c]!, b = data[(y0 * W + x1) * C + c]!;
  const d = data[(y1 * W + x0) * C + c]!, e = data[(y1 * W + x1) * C + c]!;
  return (a * (1 - fx) + b * fx) * (1 - fy) + (d * (1 - fx) + e * fx) * fy;
}

/** Bilinear resize to `width`×`height` (pixel centres aligned: x_src = (x + 0.5)·sw/dw − 0.5). */
export function resizeBilinear(img: ImageF32, width: number, height: number): ImageF32 {
  assertImageShape(img.data, img.width, img.height, img.channels);
  const { width: SW, height: SH, channels: C, data } = img;
  const taps = (n: number, sn: number) => {
    const i0 = new Int32Array(n), i1 = new Int32Array(n), f = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      let v = (k + 0.5) * (sn / n) - 0.5;
      v = v < 0 ? 0 : v > sn - 1 ? sn - 1 : v;
      const a = Math.floor(v);
      i0[k] = a, i1[k] = a + 1 < sn ? a + 1 : a, f[k] = v - a;
    }
    return { i0, i1, f };
  };
  const tx = taps(width, SW), ty = taps(height, SH);
  const out = new Float32Array(width * height * C);
  for (let y = 0; y < height; y++) {
    const r0 = ty.i0[y]! * SW, r1 = ty.i1[y]! * SW, fy = ty.f[y]!;
    for (let x = 0; x < width; x++) {
      const a0 = tx.i0[x]!, a1 = tx.i1[x]!, fx = tx.f[x]!;
      const p00 = (r0 + a0) * C, p01 = (r0 + a1) * C, p10 = (r1 + a0) * C, p11 = (r1 + a1) * C;
      const o = (y * width + x) * C;
      for (let c = 0; c < C; c++) {
        const top = data[p00 + c]! + fx * (data[p01 + c]! - data[p00 + c]!);
        const bot = data[p10 + c]! + fx * (data[p11 + c]! - data[p10 + c]!);
        out[o + c] = top + fy * (bot - top);
      }
    }
  }
  return { width, height, channels: C, data: out };
}

/**
 * Area-average (box filter) downscale of an interleaved image `src` `[sh, sw, C]`
 * into `dst` `[dh, dw, C]` (8-bit or float); each output pixel averages the source
 * pixels whose index range maps onto it.
 */
export function downscaleBox<T extends Uint8Array | Float32Array>(
  src: T,
  sw: number,
  sh: number,
  C: number,
  dst: T,
  dw: number,
  dh: number,
  /** Write into `dst` at this pixel offset and row stride (for thumbnails in a sheet). */
  at: { x: number; y: number; stride: number } = { x: 0, y: 0, stride: dw },
): void {
  assertImageShape(src, sw, sh, C, "source image");
  const round = dst instanceof Uint8Array;
  for (let y = 0; y < dh; y++) {
    const sy0 = Math.floor((y * sh) / dh);
    const sy1 = Math.max(sy0 + 1, Math.floor(((y + 1) * sh) / dh));
    for (let x = 0; x < dw; x++) {
      const sx0 = Math.floor((x * sw) / dw);
      const sx1 = Math.max(sx0 + 1, Math.floor(((x + 1) * sw) / dw));
      const d = ((at.y + y) * at.stride + at.x + x) * C;
      for (let c = 0; c < C; c++) {
        let s = 0, n = 0;
        for (let yy = sy0; yy < sy1; yy++) {
          for (let xx = sx0; xx < sx1; xx++) {
            s += src[(yy * sw + xx) * C + c]!;
            n++;
          }
        }
        dst[d + c] = round ? Math.floor(s / n) : s / n;
      }
    }
  }
}
