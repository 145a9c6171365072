/**
 * Metrics of `deno task eval:head`: masked PSNR (SSIM comes from the splatter's
 * loss module, the reference 3DGS definition), Pearson correlation, lag by
 * cross-correlation, and the share of driven closures that come out closed.
 *
 * @module
 */

/** PSNR (dB, peak 1) of `a` vs `b` ([n*3] in 0..1) over pixels weighted by `mask` [n]; Infinity if equal. */
export function maskedPsnr(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  mask: ArrayLike<number>,
): number {
  const n = mask.length;
  if (a.length !== n * 3 || b.length !== n * 3) {
    throw new RangeError(`maskedPsnr(): images must be [${n}, 3], got ${a.length} and ${b.length}`);
  }
  let se = 0, w = 0;
  for (let i = 0; i < n; i++) {
    const m = mask[i]!;
    if (m <= 0) continue;
    for (let c = 0; c < 3; c++) se += m * (a[i * 3 + c]! - b[i * 3 + c]!) ** 2;
    w += 3 * m;
  }
  if (w === 0) return NaN;
  const mse = se / w;
  return mse === 0 ? Infinity : -10 * Math.log10(mse);
}

/** Pearson correlation of two equally long series (NaN pairs skipped; NaN if either is constant). */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let n = 0, sx = 0, sy = 0;
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!) || !Number.isFinite(y[i]!)) continue;
    n++, sx += x[i]!, sy += y[i]!;
  }
  if (n < 3) return NaN;
  const mx = sx / n, my = sy / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!) || !Number.isFinite(y[i]!)) continue;
    const dx = x[i]! - mx, dy = y[i]! - my;
    sxy += dx * dy, sxx += dx * dx, syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

/**
 * The lag (frames, |lag| ≤ maxLag) maximising corr(driving[t], measured[t + lag]):
 * positive = the measured motion comes late.
 */
export function bestLag(
  driving: ArrayLike<number>,
  measured: ArrayLike<number>,
  maxLag = 6,
): { lag: number; r: number } {
  let best = { lag: 0, r: -Infinity };
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    const a: number[] = [], b: number[] = [];
    for (let t = Math.max(0, -lag); t < Math.min(driving.length, measured.length - lag); t++) {
      a.push(driving[t]!), b.push(measured[t + lag]!);
    }
    const r = pearson(a, b);
    if (r > best.r) best = { lag, r };
  }
  return best;
}

/** Share of frames with `driven[t]` true whose `closed[t]` is true (NaN when none are driven). */
export function closureShare(driven: ArrayLike<boolean>, closed: ArrayLike<boolean>): number {
  let n = 0, k = 0;
  for (let t = 0; t < driven.length; t++) {
    if (!driven[t]) continue;
    n++;
    if (closed[t]) k++;
  }
  return n ? k / n : NaN;
}
