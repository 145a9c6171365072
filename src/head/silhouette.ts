/**
 * The head's silhouette during adaptation and in its measurement.
 *
 * The photometric loss of the adaptation is masked to the face oval, so nothing
 * tells a Gaussian on the silhouette that it must end where the face ends: on
 * cap12 the Gaussians along the jaw line kept or learned the colour of what lies
 * behind the jaw (the pale wall, the neck) and showed as a pale fringe once the
 * jaw was driven somewhere else. {@link silhouetteTarget} fixes that in the
 * objective: each iteration renders over a random background colour, and the
 * target is the footage inside the face mask and the same colour in a band just
 * outside it. A Gaussian that covers the band is then always wrong (the colour
 * changes every step), so the only way to lower the loss there is to become
 * transparent or move inside; inside the mask, partial transparency shows the
 * random colour and is penalised too. This is alpha supervision by the face mask
 * without a separate alpha loss.
 *
 * {@link silhouetteBandError} measures the fringe: the render laid over the
 * footage by its coverage, compared with the footage in a thin band just outside
 * the face mask (where a correct head is transparent) and just inside it (the
 * face's own edge), on the lower half of the face (the jaw line).
 *
 * @module
 */
import { distanceTransform } from "../composite/mask.ts";

/** Band geometry of the silhouette objective, in pixels of the training crop. */
export interface SilhouetteOptions {
  /** Width of the band outside the mask whose target is the background (px). */
  bandPx: number;
  /** Pixels right at the mask edge left out of the loss (antialiasing, 1-px mask erosion). */
  gapPx: number;
  /** Loss weight of a band pixel relative to a face pixel. */
  weight: number;
}

/**
 * Defaults: a band of 8 px (≈ 6 % of a 130-px webcam face: wider than the
 * Gaussians' footprint at the edge, 2–4 px σ), a 1.5-px gap and weight 1.
 */
export const DEFAULT_SILHOUETTE: SilhouetteOptions = { bandPx: 8, gapPx: 1.5, weight: 1 };

/** Distance (px) of every pixel to the face mask (0 inside). `mask` `[h, w]`. */
export function distanceToMask(mask: ArrayLike<number>, w: number, h: number): Float32Array {
  const inside = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) inside[i] = mask[i]! >= 0.5 ? 1 : 0;
  return distanceTransform(inside, w, h);
}

/**
 * Loss weights of a training view with the silhouette objective: 1 in the face
 * mask, `weight` in the band `gapPx < d ≤ bandPx` outside it, 0 elsewhere.
 * `dist` from {@link distanceToMask}. `[h, w]`.
 */
export function silhouetteWeights(
  mask: ArrayLike<number>,
  dist: Float32Array,
  o: SilhouetteOptions,
): Float32Array {
  const out = new Float32Array(dist.length);
  for (let i = 0; i < out.length; i++) {
    const d = dist[i]!;
    out[i] = d === 0 ? mask[i]! : d > o.gapPx && d <= o.bandPx ? o.weight : 0;
  }
  return out;
}

/**
 * The training target of one iteration: the footage `rgb` `[h, w, 3]` where the
 * mask is set and `background` elsewhere, written into `out` (reused).
 */
export function silhouetteTarget(
  rgb: Float32Array,
  mask: ArrayLike<number>,
  background: readonly [number, number, number],
  out: Float32Array,
): Float32Array {
  const n = mask.length;
  if (rgb.length !== n * 3 || out.length !== n * 3) {
    throw new RangeError(
      `silhouetteTarget(): images must be [${n}, 3], got ${rgb.length} and ${out.length}`,
    );
  }
  for (let i = 0; i < n; i++) {
    const m = mask[i]! >= 0.5;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = m ? rgb[i * 3 + c]! : background[c]!;
  }
  return out;
}

/** The fringe measured on one rendered view (colour levels are 8-bit, 0–255). */
export interface BandError {
  /** Mean |composite − footage| over the outer band pixels and channels. */
  outerL1: number;
  /** Mean luminance of composite − footage in the outer band (> 0: paler than the footage). */
  outerLumaBias: number;
  /** Mean render coverage (alpha) in the outer band, 0–1. */
  outerAlpha: number;
  /** Mean |composite − footage| in the inner band (the face's own edge). */
  innerL1: number;
  /** Band pixels counted (outer, inner). */
  pixels: [number, number];
}

const LUMA = [0.2126, 0.7152, 0.0722] as const;

/**
 * The render (`rgb` `[h, w, 3]` over black, i.e. premultiplied, and `alpha`
 * `[h, w]`) laid over `footage` `[h, w, 3]` (0–1) and compared with it in a band of
 * `outerPx` outside the face `mask` and `innerPx` inside, on the rows below the
 * mask's centre (the jaw line; hair and forehead are left out).
 */
export function silhouetteBandError(
  rgb: Float32Array,
  alpha: Float32Array,
  footage: Float32Array,
  mask: ArrayLike<number>,
  w: number,
  h: number,
  outerPx = 6,
  innerPx = 4,
): BandError {
  const n = w * h;
  if (rgb.length !== n * 3 || footage.length !== n * 3 || alpha.length !== n) {
    throw new RangeError(`silhouetteBandError(): images must be ${h}×${w}`);
  }
  const out = distanceToMask(mask, w, h);
  const notMask = new Float32Array(n);
  let cy = 0, cnt = 0;
  for (let i = 0; i < n; i++) {
    const m = mask[i]! >= 0.5;
    notMask[i] = m ? 0 : 1;
    if (m) cy += Math.floor(i / w), cnt++;
  }
  const inn = distanceToMask(notMask, w, h);
  const y0 = cnt ? cy / cnt : 0;
  let oL1 = 0, oLuma = 0, oA = 0, iL1 = 0, no = 0, ni = 0;
  for (let i = 0; i < n; i++) {
    if (Math.floor(i / w) < y0) continue;
    const outer = out[i]! > 0 && out[i]! <= outerPx;
    const inner = out[i] === 0 && inn[i]! <= innerPx;
    if (!outer && !inner) continue;
    const a = alpha[i]!;
    let l1 = 0, dl = 0;
    for (let c = 0; c < 3; c++) {
      const f = footage[i * 3 + c]!;
      const d = 255 * (rgb[i * 3 + c]! + (1 - a) * f - f);
      l1 += Math.abs(d) / 3;
      dl += LUMA[c]! * d;
    }
    if (outer) oL1 += l1, oLuma += dl, oA += a, no++;
    else iL1 += l1, ni++;
  }
  return {
    outerL1: no ? oL1 / no : NaN,
    outerLumaBias: no ? oLuma / no : NaN,
    outerAlpha: no ? oA / no : NaN,
    innerL1: ni ? iL1 / ni : NaN,
    pixels: [no, ni],
  };
}

/**
 * Detail of an image inside a mask: mean gradient magnitude (central differences,
 * 8-bit levels per pixel, luma) over the pixels whose 4-neighbours are all in `mask`.
 * The ratio render ÷ footage says how much softer (< 1) a render is.
 */
export function meanGradient(
  rgb: ArrayLike<number>,
  mask: ArrayLike<number>,
  w: number,
  h: number,
): number {
  const L = (i: number) =>
    255 * (LUMA[0] * rgb[i * 3]! + LUMA[1] * rgb[i * 3 + 1]! + LUMA[2] * rgb[i * 3 + 2]!);
  let s = 0, n = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      if (!(mask[i]! >= 0.5 && mask[i - 1]! >= 0.5 && mask[i + 1]! >= 0.5)) continue;
      if (!(mask[i - w]! >= 0.5 && mask[i + w]! >= 0.5)) continue;
      s += 0.5 * Math.hypot(L(i + 1) - L(i - 1), L(i + w) - L(i - w));
      n++;
    }
  }
  return n ? s / n : NaN;
}
