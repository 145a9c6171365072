/**
 * Pixel-format conversions: 8-bit ↔ float, gray/RGB/RGBA channel changes,
 * premultiplication. All functions are pure and allocate their output unless an
 * `out` array is given.
 *
 * @module
 */
import { assertImageShape, type Channels, type ImageF32, type ImageU8 } from "./types.ts";

/** Round a float in [0, 1] to 8 bits (clamped). */
export const toU8 = (v: number): number => (v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255));

/** 8-bit values → floats in [0, 1]. `src` any `[..., C]` layout; same length out. */
export function u8ToF32(src: Uint8Array, out = new Float32Array(src.length)): Float32Array {
  if (out.length !== src.length) throw new RangeError("u8ToF32(): out has the wrong length");
  const k = 1 / 255;
  for (let i = 0; i < src.length; i++) out[i] = src[i]! * k;
  return out;
}

/** Floats in [0, 1] → 8-bit (clamped, rounded). Same length out. */
export function f32ToU8(src: Float32Array, out = new Uint8Array(src.length)): Uint8Array {
  if (out.length !== src.length) throw new RangeError("f32ToU8(): out has the wrong length");
  for (let i = 0; i < src.length; i++) out[i] = toU8(src[i]!);
  return out;
}

/** An 8-bit image as floats. */
export function imageToF32(img: ImageU8): ImageF32 {
  return { width: img.width, height: img.height, channels: img.channels, data: u8ToF32(img.data) };
}

/** A float image (1, 3 or 4 channels) as 8 bits. */
export function imageToU8(img: ImageF32): ImageU8 {
  if (img.channels !== 1 && img.channels !== 3 && img.channels !== 4) {
    throw new RangeError(`imageToU8(): ${img.channels} channels; expected 1, 3 or 4`);
  }
  return {
    width: img.width,
    height: img.height,
    channels: img.channels,
    data: f32ToU8(img.data),
  };
}

/** Rec. 601 luma weights (as ffmpeg's rgb→gray uses). */
export const LUMA_601: readonly [number, number, number] = [0.299, 0.587, 0.114];

/**
 * Change the channel count of interleaved pixels `[N, from]` → `[N, to]`:
 * gray→RGB replicates, RGB→gray takes Rec. 601 luma, adding alpha sets it to
 * `opaque`, dropping alpha discards it (no compositing).
 */
export function convertChannels<T extends Uint8Array | Float32Array>(
  src: T,
  from: Channels,
  to: Channels,
  opaque: number,
  out?: T,
): T {
  const n = src.length / from;
  if (!Number.isInteger(n)) {
    throw new RangeError(`convertChannels(): length is not a multiple of ${from}`);
  }
  const dst = (out ?? new (src.constructor as { new (n: number): T })(n * to)) as T;
  if (dst.length !== n * to) throw new RangeError("convertChannels(): out has the wrong length");
  const isU8 = src instanceof Uint8Array;
  for (let i = 0; i < n; i++) {
    const s = i * from, d = i * to;
    let r: number, g: number, b: number, a: number;
    if (from === 1) {
      r = g = b = src[s]!;
      a = opaque;
    } else {
      r = src[s]!;
      g = src[s + 1]!;
      b = src[s + 2]!;
      a = from === 4 ? src[s + 3]! : opaque;
    }
    if (to === 1) {
      const y = LUMA_601[0] * r + LUMA_601[1] * g + LUMA_601[2] * b;
      dst[d] = isU8 ? Math.round(y) : y;
    } else {
      dst[d] = r;
      dst[d + 1] = g;
      dst[d + 2] = b;
      if (to === 4) dst[d + 3] = a;
    }
  }
  return dst;
}

/** Split RGBA `[N, 4]` into RGB `[N, 3]` and alpha `[N]`. */
export function splitAlpha<T extends Uint8Array | Float32Array>(rgba: T): { rgb: T; alpha: T } {
  const n = rgba.length / 4;
  const C = rgba.constructor as { new (n: number): T };
  const rgb = new C(n * 3), alpha = new C(n);
  for (let i = 0; i < n; i++) {
    rgb[i * 3] = rgba[i * 4]!;
    rgb[i * 3 + 1] = rgba[i * 4 + 1]!;
    rgb[i * 3 + 2] = rgba[i * 4 + 2]!;
    alpha[i] = rgba[i * 4 + 3]!;
  }
  return { rgb, alpha };
}

/** Join RGB `[N, 3]` and alpha `[N]` into RGBA `[N, 4]`. */
export function joinAlpha<T extends Uint8Array | Float32Array>(rgb: T, alpha: T): T {
  const n = alpha.length;
  if (rgb.length !== n * 3) throw new RangeError("joinAlpha(): rgb and alpha sizes differ");
  const out = new (rgb.constructor as { new (n: number): T })(n * 4);
  for (let i = 0; i < n; i++) {
    out[i * 4] = rgb[i * 3]!;
    out[i * 4 + 1] = rgb[i * 3 + 1]!;
    out[i * 4 + 2] = rgb[i * 3 + 2]!;
    out[i * 4 + 3] = alpha[i]!;
  }
  return out;
}

/** Float RGB `[H*W*3]` + alpha `[H*W]` (0..1) → 8-bit RGBA `[H, W, 4]` (straight alpha). */
export function rgbAlphaToRgbaU8(
  rgb: Float32Array,
  alpha: Float32Array,
  width: number,
  height: number,
): Uint8Array {
  assertImageShape(rgb, width, height, 3, "RGB image");
  assertImageShape(alpha, width, height, 1, "alpha");
  const out = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    out[i * 4] = toU8(rgb[i * 3]!);
    out[i * 4 + 1] = toU8(rgb[i * 3 + 1]!);
    out[i * 4 + 2] = toU8(rgb[i * 3 + 2]!);
    out[i * 4 + 3] = toU8(alpha[i]!);
  }
  return out;
}
