/**
 * The one PNG codec (pngjs): 8-bit gray/RGB/RGBA images ↔ PNG bytes, float
 * helpers for rendered images, atomic file writes.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { PNG } from "pngjs";
import { writeFileAtomic } from "../atomic.ts";
import { DubError } from "../errors.ts";
import { convertChannels, toU8 } from "./convert.ts";
import { assertImageShape, type Channels, type ImageU8 } from "./types.ts";

/** A file that should be a PNG is not one (or cannot be read). */
export class ImageInputError extends DubError {
  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super("input", message, options);
    this.name = "ImageInputError";
  }
}

/** An 8-bit image `[H, W, C]` (C = 1, 3 or 4) as PNG bytes (stored as RGBA). */
export function encodePng(img: ImageU8): Uint8Array {
  assertImageShape(img.data, img.width, img.height, img.channels, "PNG image");
  const png = new PNG({ width: img.width, height: img.height });
  convertChannels(
    img.data,
    img.channels,
    4,
    255,
    new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length),
  );
  return new Uint8Array(PNG.sync.write(png));
}

/** PNG bytes (any colour type pngjs reads) → 8-bit RGBA `[H, W, 4]`. */
export function decodePng(bytes: Uint8Array, name = "image.png"): ImageU8 {
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new ImageInputError(
      `Cannot read "${name}": not a valid PNG (${e instanceof Error ? e.message : e})`,
      { hint: "pass a PNG image", cause: e },
    );
  }
  return { width: png.width, height: png.height, channels: 4, data: new Uint8Array(png.data) };
}

/** A decoded image as floats: RGB `[H, W, 3]` and alpha `[H, W]`, both in [0, 1]. */
export interface FloatImage {
  width: number;
  height: number;
  rgb: Float32Array; // [H, W, 3] in [0, 1]
  alpha: Float32Array; // [H, W] in [0, 1]
}

/** Float RGB `[H, W, 3]` (clamped, rounded to 8 bits) + optional alpha `[H, W]` → PNG bytes. */
export function encodePngFloat(
  rgb: Float32Array,
  width: number,
  height: number,
  alpha?: Float32Array,
): Uint8Array {
  assertImageShape(rgb, width, height, 3, "PNG rgb");
  if (alpha) assertImageShape(alpha, width, height, 1, "PNG alpha");
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    data[i * 4] = toU8(rgb[i * 3]!);
    data[i * 4 + 1] = toU8(rgb[i * 3 + 1]!);
    data[i * 4 + 2] = toU8(rgb[i * 3 + 2]!);
    data[i * 4 + 3] = alpha ? toU8(alpha[i]!) : 255;
  }
  return encodePng({ width, height, channels: 4, data });
}

/** PNG bytes → float RGB and alpha. */
export function decodePngFloat(bytes: Uint8Array, name = "image.png"): FloatImage {
  const { width, height, data } = decodePng(bytes, name);
  const rgb = new Float32Array(width * height * 3), alpha = new Float32Array(width * height);
  for (let i = 0; i < width * height; i++) {
    rgb[i * 3] = data[i * 4]! / 255;
    rgb[i * 3 + 1] = data[i * 4 + 1]! / 255;
    rgb[i * 3 + 2] = data[i * 4 + 2]! / 255;
    alpha[i] = data[i * 4 + 3]! / 255;
  }
  return { width, height, rgb, alpha };
}

/** Read a whole input file with a clear error naming it. */
async function readInput(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "file not found" : (e as Error).message;
    throw new ImageInputError(`Cannot read "${path}": ${why}`, {
      hint: "check the path",
      cause: e,
    });
  }
}

/** Write an 8-bit image as a PNG file, atomically. */
export async function writePng(
  path: string,
  img: ImageU8,
  opts: { mkdir?: boolean } = {},
): Promise<void> {
  await writeFileAtomic(path, encodePng(img), opts);
}

/** Read a PNG file as 8-bit RGBA. */
export async function readPng(path: string): Promise<ImageU8> {
  return decodePng(await readInput(path), path);
}

/** Write float RGB (+ alpha) as a PNG file, atomically. */
export async function writePngFloat(
  path: string,
  rgb: Float32Array,
  width: number,
  height: number,
  alpha?: Float32Array,
): Promise<void> {
  await writeFileAtomic(path, encodePngFloat(rgb, width, height, alpha));
}

/** Read a PNG file as float RGB and alpha. */
export async function readPngFloat(path: string): Promise<FloatImage> {
  return decodePngFloat(await readInput(path), path);
}

export type { Channels };
