/**
 * PNG helpers for rendered images (pngjs): float RGB [H, W, 3] in [0, 1] ↔ 8-bit
 * PNG. Writes are atomic (temp name + rename).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { PNG } from "pngjs";
import { SplatInputError } from "./errors.ts";
import { readInputFile, writeFileAtomic } from "./ply.ts";

/** An 8-bit image decoded to floats. */
export interface FloatImage {
  width: number;
  height: number;
  rgb: Float32Array; // [H, W, 3] in [0, 1]
  alpha: Float32Array; // [H, W] in [0, 1]
}

const to8 = (v: number) => (v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255));

/**
 * Encodes float RGB [H, W, 3] (clamped to [0, 1], rounded to 8 bits) as an RGBA
 * PNG; `alpha` [H, W] is optional (opaque when absent).
 */
export function encodePng(
  rgb: Float32Array,
  width: number,
  height: number,
  alpha?: Float32Array,
): Uint8Array {
  if (rgb.length !== width * height * 3) {
    throw new RangeError(
      `PNG rgb must have ${height}×${width}×3 = ${width * height * 3} values, got ${rgb.length}`,
    );
  }
  if (alpha && alpha.length !== width * height) {
    throw new RangeError(
      `PNG alpha must have ${height}×${width} = ${width * height} values, got ${alpha.length}`,
    );
  }
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) {
    png.data[i * 4] = to8(rgb[i * 3]!);
    png.data[i * 4 + 1] = to8(rgb[i * 3 + 1]!);
    png.data[i * 4 + 2] = to8(rgb[i * 3 + 2]!);
    png.data[i * 4 + 3] = alpha ? to8(alpha[i]!) : 255;
  }
  return new Uint8Array(PNG.sync.write(png));
}

/** Decodes a PNG (any colour type pngjs reads) to float RGB and alpha. */
export function decodePng(bytes: Uint8Array, name = "image.png"): FloatImage {
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new SplatInputError(
      `Cannot read "${name}": not a valid PNG (${e instanceof Error ? e.message : e})`,
      {
        hint: "pass a PNG image",
        cause: e,
      },
    );
  }
  const { width, height, data } = png;
  const rgb = new Float32Array(width * height * 3), alpha = new Float32Array(width * height);
  for (let i = 0; i < width * height; i++) {
    rgb[i * 3] = data[i * 4]! / 255;
    rgb[i * 3 + 1] = data[i * 4 + 1]! / 255;
    rgb[i * 3 + 2] = data[i * 4 + 2]! / 255;
    alpha[i] = data[i * 4 + 3]! / 255;
  }
  return { width, height, rgb, alpha };
}

/** Writes float RGB [H, W, 3] as a PNG, atomically. */
export async function writePng(
  path: string,
  rgb: Float32Array,
  width: number,
  height: number,
  alpha?: Float32Array,
): Promise<void> {
  await writeFileAtomic(path, encodePng(rgb, width, height, alpha));
}

/** Reads a PNG file to float RGB and alpha. */
export async function readPng(path: string): Promise<FloatImage> {
  return decodePng(await readInputFile(path), path);
}
