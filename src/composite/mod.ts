/**
 * Compositing: lower-face masks, the head-render intermediate, temporal/spatial
 * fill, multi-band blending, colour and grain matching (`body.inpaint`).
 *
 * @module
 */
export * from "./mask.ts";
export * from "./render_file.ts";
