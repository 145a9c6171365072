/**
 * Colour and light matching of the render to the surrounding skin: per frame, a
 * per-channel gain and offset that give the render's skin pixels the footage's
 * mean and spread at the same places (moment matching over paired samples), then
 * smoothed over time so the correction does not flicker.
 *
 * @module
 */

/** Per-channel linear colour transform: c' = gain·c + offset (0..1 units). */
export interface ColorTransform {
  gain: [number, number, number];
  offset: [number, number, number];
}

export const IDENTITY_COLOR: ColorTransform = { gain: [1, 1, 1], offset: [0, 0, 0] };

/** Running sums of paired samples (render value r, footage value s) per channel. */
export class ColorStats {
  n = 0;
  readonly sr = [0, 0, 0];
  readonly ss = [0, 0, 0];
  readonly srr = [0, 0, 0];
  readonly sss = [0, 0, 0];
  /** Add one pixel: render RGB and footage RGB, 0..1. */
  add(r0: number, r1: number, r2: number, s0: number, s1: number, s2: number): void {
    this.n++;
    const r = [r0, r1, r2], s = [s0, s1, s2];
    for (let c = 0; c < 3; c++) {
      this.sr[c]! += r[c]!;
      this.ss[c]! += s[c]!;
      this.srr[c]! += r[c]! * r[c]!;
      this.sss[c]! += s[c]! * s[c]!;
    }
  }
  /** Moment-matching transform (gain clamped to [minGain, maxGain]); identity with no samples. */
  transform(minGain = 0.8, maxGain = 1.25): ColorTransform {
    if (this.n < 16) return IDENTITY_COLOR;
    const t: ColorTransform = { gain: [1, 1, 1], offset: [0, 0, 0] };
    for (let c = 0; c < 3; c++) {
      const mr = this.sr[c]! / this.n, ms = this.ss[c]! / this.n;
      const vr = Math.max(0, this.srr[c]! / this.n - mr * mr),
        vs = Math.max(0, this.sss[c]! / this.n - ms * ms);
      const g = vr > 1e-8 ? Math.sqrt(vs / vr) : 1;
      t.gain[c] = Math.min(maxGain, Math.max(minGain, g));
      t.offset[c] = ms - t.gain[c]! * mr;
    }
    return t;
  }
}

/**
 * Smooth per-frame transforms over time with a Gaussian of `sigmaFrames`, each
 * frame weighted by its sample count (frames with none borrow from neighbours).
 * `perFrame[t]` null = no samples.
 */
export function smoothColorTransforms(
  perFrame: (ColorTransform | null)[],
  weights: number[],
  sigmaFrames = 4,
): ColorTransform[] {
  const T = perFrame.length, r = Math.ceil(3 * sigmaFrames);
  const out: ColorTransform[] = [];
  for (let t = 0; t < T; t++) {
    let wsum = 0;
    const g = [0, 0, 0], o = [0, 0, 0];
    for (let k = Math.max(0, t - r); k <= Math.min(T - 1, t + r); k++) {
      const p = perFrame[k];
      if (!p) continue;
      const w = Math.exp(-((k - t) ** 2) / (2 * sigmaFrames * sigmaFrames)) *
        Math.sqrt(weights[k]!);
      wsum += w;
      for (let c = 0; c < 3; c++) {
        g[c]! += w * p.gain[c]!;
        o[c]! += w * p.offset[c]!;
      }
    }
    out.push(
      wsum > 0
        ? {
          gain: [g[0]! / wsum, g[1]! / wsum, g[2]! / wsum],
          offset: [o[0]! / wsum, o[1]! / wsum, o[2]! / wsum],
        }
        : IDENTITY_COLOR,
    );
  }
  return out;
}
