/**
 * Is the speaker's mouth covered (a hand, a microphone, an object)? FaceMesh keeps
 * reporting a confident mesh under occlusion, so the tracker combines three cues:
 *
 * - geometry: the rigid fit's residual over the stable core landmarks (the mesh
 *   bends when the network hallucinates a face under the occluder);
 * - appearance over the mouth: an occluder replaces the lips' texture (the lip line,
 *   teeth, the lips' colour against the skin) with its own. Two numbers are measured
 *   where the mesh puts the mouth: the luminance texture (mean gradient magnitude in
 *   the mouth's box, per unit of brightness) and the lip-vs-skin chroma contrast
 *   (redness of the lip ring minus that of the cheeks just beside it). Each is
 *   compared with the speaker's own running value from accepted frames;
 * - time: hysteresis. A frame enters "covered" when either cue passes its limit,
 *   and the track leaves that state only after {@link OCCLUSION.exitFrames}
 *   consecutive frames below the (lower) exit limits, so a hand that moves does not
 *   flicker between accepted and rejected meshes.
 *
 * All measurements use the raw landmark positions in image pixels.
 *
 * @module
 */
import type { Frame } from "../media/types.ts";

/** Outer lip ring (MediaPipe face mesh indices). */
const LIP_OUTER = [
  61,
  146,
  91,
  181,
  84,
  17,
  314,
  405,
  321,
  375,
  291,
  409,
  270,
  269,
  267,
  0,
  37,
  39,
  40,
  185,
];
/** Inner lip ring. */
const LIP_INNER = [
  78,
  95,
  88,
  178,
  87,
  14,
  317,
  402,
  318,
  324,
  308,
  415,
  310,
  311,
  312,
  13,
  82,
  81,
  80,
  191,
];
/** Cheek points beside the mouth (skin reference for the lip colour contrast). */
const CHEEKS = [205, 425, 206, 426, 187, 411, 216, 436];

export const OCCLUSION = {
  /** Accepted frames before the appearance baseline is used. */
  warmupFrames: 5,
  /** Baseline update rate (EMA) from accepted frames. */
  baselineRate: 0.1,
  /**
   * Covered when the mouth's texture falls below this share of the baseline…
   * Calibrated on native- and wasm-decoded frames (the two decoders differ at ≈ 40
   * dB): clean talking (cap12 10–13 s, 75 frames) and a hand at the chin (franck
   * 7.5–10.5 s, 72 frames) kept texture ratios ≥ 0.88 and contrast ratios ≥ 0.74
   * on both; a skin-coloured block over the mouth (tracker_test.ts) gave texture
   * 0.00 and contrast ≤ 0 on all 10 frames on both. The limits sit between.
   */
  minTextureRatio: 0.55,
  /** …or the lip-vs-skin contrast falls below this share of the baseline. */
  minContrastRatio: 0.35,
  /** Exit limits are this much stricter (hysteresis). */
  exitMargin: 1.2,
  /** Consecutive clean frames needed to leave the covered state. */
  exitFrames: 2,
} as const;

export interface MouthAppearance {
  /** Mean luminance gradient magnitude in the mouth box / mean luminance (unitless). */
  texture: number;
  /** Mean redness (r − g)/(r + g + b) on the lip rings minus that on the cheeks. */
  contrast: number;
}

function sample(frame: Frame, x: number, y: number): [number, number, number] {
  const xi = Math.min(frame.width - 1, Math.max(0, Math.round(x)));
  const yi = Math.min(frame.height - 1, Math.max(0, Math.round(y)));
  const o = (yi * frame.width + xi) * 3;
  return [frame.data[o]!, frame.data[o + 1]!, frame.data[o + 2]!];
}

/** Mean redness over 3×3 neighbourhoods of the given landmarks. */
function redness(frame: Frame, lm: ArrayLike<number>, idx: readonly number[]): number {
  let s = 0, n = 0;
  for (const i of idx) {
    const x = lm[i * 3]!, y = lm[i * 3 + 1]!;
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const [r, g, b] = sample(frame, x + dx, y + dy);
        s += (r - g) / (r + g + b + 1);
        n++;
      }
    }
  }
  return n ? s / n : 0;
}

/** Texture and lip contrast where the landmarks `lm` ([468, ≥2] pixels) put the mouth. */
export function mouthAppearance(frame: Frame, lm: ArrayLike<number>): MouthAppearance {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const i of LIP_OUTER) {
    const x = lm[i * 3]!, y = lm[i * 3 + 1]!;
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y);
  }
  // The mouth box grown by 15 % (lip edges inside), clipped to the frame.
  const mx = 0.15 * (x1 - x0), my = 0.15 * (y1 - y0);
  const ax = Math.max(1, Math.floor(x0 - mx)), bx = Math.min(frame.width - 2, Math.ceil(x1 + mx));
  const ay = Math.max(1, Math.floor(y0 - my)), by = Math.min(frame.height - 2, Math.ceil(y1 + my));
  let grad = 0, lum = 0, n = 0;
  const W = frame.width, d = frame.data;
  const L = (x: number, y: number) => {
    const o = (y * W + x) * 3;
    return 0.299 * d[o]! + 0.587 * d[o + 1]! + 0.114 * d[o + 2]!;
  };
  for (let y = ay; y <= by; y++) {
    for (let x = ax; x <= bx; x++) {
      const gx = L(x + 1, y) - L(x - 1, y), gy = L(x, y + 1) - L(x, y - 1);
      grad += Math.hypot(gx, gy);
      lum += L(x, y);
      n++;
    }
  }
  const texture = n > 0 && lum > 0 ? grad / lum : 0;
  const lips = (redness(frame, lm, LIP_OUTER) + redness(frame, lm, LIP_INNER)) / 2;
  return { texture, contrast: lips - redness(frame, lm, CHEEKS) };
}

/** Per-frame decision of the occlusion gate. */
export interface OcclusionVerdict {
  covered: boolean;
  /** Mouth texture / the speaker's baseline (NaN before the baseline exists). */
  textureRatio: number;
  /** Lip contrast / the speaker's baseline (NaN before the baseline exists). */
  contrastRatio: number;
}

/** The temporal occlusion gate of one tracked speaker (reset at scene cuts). */
export class OcclusionGate {
  #n = 0;
  #texture = 0;
  #contrast = 0;
  #covered = false;
  #clean = 0;

  /**
   * Decide for one frame. `fitRatio` is the rigid-fit residual over its limit
   * (> 1 = the geometry says covered).
   */
  update(a: MouthAppearance, fitRatio: number): OcclusionVerdict {
    const ready = this.#n >= OCCLUSION.warmupFrames;
    const textureRatio = ready && this.#texture > 0 ? a.texture / this.#texture : NaN;
    const contrastRatio = ready && this.#contrast > 0 ? a.contrast / this.#contrast : NaN;
    const bad = (k: number) =>
      fitRatio > 1 / k ||
      textureRatio < OCCLUSION.minTextureRatio * k ||
      contrastRatio < OCCLUSION.minContrastRatio * k;
    if (this.#covered) {
      // Leave only after enough frames that pass the stricter exit limits.
      this.#clean = bad(OCCLUSION.exitMargin) ? 0 : this.#clean + 1;
      if (this.#clean >= OCCLUSION.exitFrames) this.#covered = false;
    } else if (bad(1)) {
      this.#covered = true;
      this.#clean = 0;
    }
    if (!this.#covered) {
      const r = this.#n === 0 ? 1 : OCCLUSION.baselineRate;
      this.#texture += r * (a.texture - this.#texture);
      this.#contrast += r * (a.contrast - this.#contrast);
      this.#n++;
    }
    return { covered: this.#covered, textureRatio, contrastRatio };
  }

  reset(): void {
    this.#n = 0;
    this.#texture = 0;
    this.#contrast = 0;
    this.#covered = false;
    this.#clean = 0;
  }
}
