/**
 * Small-picture helpers for report images: crop, resample, tile, difference, and
 * JPEG/PNG encoding. Images are RGB uint8 `[height, width, 3]`, row-major.
 *
 * @module
 */
import jpeg from "jpeg-js";
import { convertChannels } from "../image/convert.ts";
import { decodePng as decodePngImage } from "../image/png.ts";

/** An RGB image: `data` is `[height, width, 3]` uint8. */
export interface Rgb {
  data: Uint8Array;
  width: number;
  height: number;
}

export function blank(width: number, height: number, gray = 40): Rgb {
  return { data: new Uint8Array(width * height * 3).fill(gray), width, height };
}

function check(img: Rgb): void {
  if (img.data.length < img.width * img.height * 3) {
    throw new RangeError(
      `Image data has ${img.data.length} bytes, expected ${img.width}×${img.height}×3`,
    );
  }
}

/**
 * Resample the region (x, y, w, h) of `img` (pixels; may extend past the edges, which
 * read as mid-gray) to `outW`×`outH`: each output pixel averages a grid of bilinear
 * samples over its footprint (≥ 1 per input pixel covered), so downscaling does not alias.
 */
export function resample(
  img: Rgb,
  region: { x: number; y: number; w: number; h: number },
  outW: number,
  outH: number,
): Rgb {
  check(img);
  const out = new Uint8Array(outW * outH * 3);
  const sx = region.w / outW, sy = region.h / outH;
  const nx = Math.max(1, Math.ceil(sx)), ny = Math.max(1, Math.ceil(sy));
  const { width: W, height: H, data } = img;
  const px = (x: number, y: number, c: number) =>
    x < 0 || y < 0 || x >= W || y >= H ? 128 : data[(y * W + x) * 3 + c]!;
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      let r = 0, g = 0, b = 0;
      for (let j = 0; j < ny; j++) {
        const fy = region.y + (oy + (j + 0.5) / ny) * sy - 0.5;
        const y0 = Math.floor(fy), ty = fy - y0;
        for (let i = 0; i < nx; i++) {
          const fx = region.x + (ox + (i + 0.5) / nx) * sx - 0.5;
          const x0 = Math.floor(fx), tx = fx - x0;
          for (let c = 0; c < 3; c++) {
            const v = (px(x0, y0, c) * (1 - tx) + px(x0 + 1, y0, c) * tx) * (1 - ty) +
              (px(x0, y0 + 1, c) * (1 - tx) + px(x0 + 1, y0 + 1, c) * tx) * ty;
            if (c === 0) r += v;
            else if (c === 1) g += v;
            else b += v;
          }
        }
      }
      const n = nx * ny, o = (oy * outW + ox) * 3;
      out[o] = Math.round(r / n);
      out[o + 1] = Math.round(g / n);
      out[o + 2] = Math.round(b / n);
    }
  }
  return { data: out, width: outW, height: outH };
}

/** Scale the whole image to `width` (height keeps the aspect ratio). */
export function thumbnail(img: Rgb, width: number): Rgb {
  const height = Math.max(1, Math.round((img.height * width) / img.width));
  return resample(img, { x: 0, y: 0, w: img.width, h: img.height }, width, height);
}

/** Images side by side (top-aligned) with `gap` pixels of `bg` between them. */
export function hconcat(images: Rgb[], gap = 4, bg = 255): Rgb {
  const width = images.reduce((a, im) => a + im.width, 0) + gap * Math.max(0, images.length - 1);
  const height = Math.max(...images.map((im) => im.height));
  const out = blank(width, height, bg);
  let x0 = 0;
  for (const im of images) {
    for (let y = 0; y < im.height; y++) {
      out.data.set(
        im.data.subarray(y * im.width * 3, (y + 1) * im.width * 3),
        (y * width + x0) * 3,
      );
    }
    x0 += im.width + gap;
  }
  return out;
}

/** Images stacked (left-aligned) with `gap` pixels of `bg` between them. */
export function vconcat(images: Rgb[], gap = 4, bg = 255): Rgb {
  const width = Math.max(...images.map((im) => im.width));
  const height = images.reduce((a, im) => a + im.height, 0) + gap * Math.max(0, images.length - 1);
  const out = blank(width, height, bg);
  let y0 = 0;
  for (const im of images) {
    for (let y = 0; y < im.height; y++) {
      out.data.set(
        im.data.subarray(y * im.width * 3, (y + 1) * im.width * 3),
        ((y0 + y) * width) * 3,
      );
    }
    y0 += im.height + gap;
  }
  return out;
}

/**
 * |a − b| per pixel (max over channels) × `gain`, shown as a heat colour (black → red →
 * yellow → white), so small differences are visible. Same-size images only.
 */
export function difference(a: Rgb, b: Rgb, gain = 4): Rgb {
  if (a.width !== b.width || a.height !== b.height) {
    throw new RangeError(`Cannot diff ${a.width}×${a.height} with ${b.width}×${b.height}`);
  }
  const out = new Uint8Array(a.width * a.height * 3);
  for (let i = 0; i < a.width * a.height; i++) {
    let d = 0;
    for (let c = 0; c < 3; c++) d = Math.max(d, Math.abs(a.data[i * 3 + c]! - b.data[i * 3 + c]!));
    const v = Math.min(765, d * gain * 3); // 0..765 across the three ramps
    out[i * 3] = Math.min(255, v);
    out[i * 3 + 1] = Math.min(255, Math.max(0, v - 255));
    out[i * 3 + 2] = Math.min(255, Math.max(0, v - 510));
  }
  return { data: out, width: a.width, height: a.height };
}

/** JPEG bytes (quality 1..100). */
export function encodeJpeg(img: Rgb, quality = 85): Uint8Array {
  check(img);
  const rgba = new Uint8Array(img.width * img.height * 4);
  for (let i = 0; i < img.width * img.height; i++) {
    rgba[i * 4] = img.data[i * 3]!;
    rgba[i * 4 + 1] = img.data[i * 3 + 1]!;
    rgba[i * 4 + 2] = img.data[i * 3 + 2]!;
    rgba[i * 4 + 3] = 255;
  }
  return new Uint8Array(
    jpeg.encode({ data: rgba, width: img.width, height: img.height }, quality).data,
  );
}

/** Decode a PNG file's bytes to RGB (alpha dropped), with the one PNG codec of `src/image/`. */
export function decodePng(bytes: Uint8Array): Rgb {
  const img = decodePngImage(bytes);
  return {
    data: convertChannels(img.data, img.channels, 3, 255),
    width: img.width,
    height: img.height,
  };
}
