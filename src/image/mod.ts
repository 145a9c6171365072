/**
 * Image code shared by compositing, the head render, tracking previews and
 * reports: 8-bit/float/channel conversions, resampling, pyramids and the one PNG
 * codec. Images are interleaved `[H, W, C]` with C = 1, 3 or 4.
 *
 * @module
 */
export * from "./types.ts";
export * from "./convert.ts";
export * from "./resize.ts";
export * from "./pyramid.ts";
export * from "./png.ts";
