/**
 * What the CPU and WebGPU backends check and default the same way: the
 * background colour, the sizes of upstream image gradients and the loss weight.
 *
 * @module
 */
import type { LossOptions, RenderOptions } from "./types.ts";
import { DEFAULT_SSIM_WEIGHT } from "./_loss.ts";

/** The validated background colour of `opts` (black by default). */
export function background(opts?: RenderOptions): [number, number, number] {
  const bg = opts?.background ?? [0, 0, 0];
  if (bg.length !== 3 || !bg.every(Number.isFinite)) {
    throw new RangeError(`Background must be 3 finite numbers, got ${JSON.stringify(bg)}`);
  }
  return [bg[0], bg[1], bg[2]];
}

/** Throws unless upstream gradients fit an image of `np` pixels (rgb [H, W, 3], alpha [H, W]). */
export function checkUpstream(np: number, rgb: ArrayLike<number>, alpha?: ArrayLike<number>): void {
  if (rgb.length !== 3 * np) {
    throw new RangeError(`Upstream rgb gradient must have ${3 * np} values, got ${rgb.length}`);
  }
  if (alpha && alpha.length !== np) {
    throw new RangeError(`Upstream alpha gradient must have ${np} values, got ${alpha.length}`);
  }
}

/** The D-SSIM weight λ of `loss` (reference 3DGS default). */
export function ssimWeight(loss?: LossOptions): number {
  return loss?.ssimWeight ?? DEFAULT_SSIM_WEIGHT;
}
