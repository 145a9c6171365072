/**
 * Image containers shared by compositing, the head render, tracking previews and
 * reports. Pixels are interleaved, row-major: `data` is `[height, width, channels]`.
 *
 * @module
 */

/** Channel counts the image code handles: gray, RGB, RGBA. */
export type Channels = 1 | 3 | 4;

/** An 8-bit image, `data` `[H, W, C]`. */
export interface ImageU8 {
  width: number;
  height: number;
  channels: Channels;
  data: Uint8Array;
}

/** A float image, `data` `[H, W, C]`, nominally in [0, 1]. */
export interface ImageF32 {
  width: number;
  height: number;
  channels: number;
  data: Float32Array;
}

/** Throw a RangeError unless `data` holds exactly `width`×`height`×`channels` values. */
export function assertImageShape(
  data: { length: number },
  width: number,
  height: number,
  channels: number,
  what = "image",
): void {
  if (!(width > 0 && height > 0 && Number.isInteger(width) && Number.isInteger(height))) {
    throw new RangeError(`The ${what} size ${width}×${height} is not a positive integer size`);
  }
  const want = width * height * channels;
  if (data.length !== want) {
    throw new RangeError(
      `The ${what} must have ${height}×${width}×${channels} = ${want} values, got ${data.length}`,
    );
  }
}

/** A zeroed float image. */
export function newImageF32(width: number, height: number, channels: number): ImageF32 {
  return { width, height, channels, data: new Float32Array(width * height * channels) };
}
