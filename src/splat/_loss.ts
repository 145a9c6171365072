/**
 * Photometric loss on the host: (1 − λ)·L1 + λ·(1 − SSIM), optionally weighted by
 * a per-pixel mask, with its exact gradient w.r.t. the rendered RGB. SSIM follows
 * the reference 3DGS `ssim()`: per channel, 11×11 Gaussian window (σ = 1.5,
 * normalised, separable), zero padding, C1 = 0.01², C2 = 0.03², mean of the map.
 * With a mask both terms are mask-weighted means: Σ m·term / (3·Σ m).
 *
 * @module
 */
import { Workspace } from "./_workspace.ts";
import { SSIM_C1, SSIM_C2, SSIM_SIGMA, SSIM_WINDOW } from "./_math.ts";

/** The normalised 1D SSIM window (11 taps). */
export function ssimWindow1d(): Float64Array {
  const w = new Float64Array(SSIM_WINDOW);
  const c = (SSIM_WINDOW - 1) / 2;
  let sum = 0;
  for (let i = 0; i < SSIM_WINDOW; i++) {
    w[i] = Math.exp(-((i - c) ** 2) / (2 * SSIM_SIGMA * SSIM_SIGMA));
    sum += w[i]!;
  }
  for (let i = 0; i < SSIM_WINDOW; i++) w[i] = w[i]! / sum;
  return w;
}

/**
 * Separable 2D blur with zero padding ("same" size); self-adjoint for a symmetric
 * window. Rows use the window's symmetry in the interior; columns accumulate whole
 * rows (contiguous memory).
 */
function blur(
  src: Float64Array,
  W: number,
  H: number,
  win: Float64Array,
  tmp: Float64Array,
  dst: Float64Array,
): void {
  const r = (win.length - 1) / 2;
  const wc = win[r]!;
  const edge = (row: number, x: number) => {
    let s = 0;
    const k0 = Math.max(0, r - x), k1 = Math.min(win.length - 1, r + W - 1 - x);
    for (let k = k0; k <= k1; k++) s += win[k]! * src[row + x + k - r]!;
    tmp[row + x] = s;
  };
  const leftEnd = Math.min(r, W), rightStart = Math.max(leftEnd, W - r);
  for (let y = 0; y < H; y++) {
    const row = y * W;
    for (let x = 0; x < leftEnd; x++) edge(row, x);
    for (let x = r; x < rightStart; x++) {
      const c = row + x;
      let s = wc * src[c]!;
      for (let j = 1; j <= r; j++) s += win[r - j]! * (src[c - j]! + src[c + j]!);
      tmp[c] = s;
    }
    for (let x = rightStart; x < W; x++) edge(row, x);
  }
  dst.fill(0, 0, W * H);
  for (let y = 0; y < H; y++) {
    const k0 = Math.max(0, r - y), k1 = Math.min(win.length - 1, r + H - 1 - y);
    const out = y * W;
    for (let k = k0; k <= k1; k++) {
      const w = win[k]!, from = (y + k - r) * W;
      for (let x = 0; x < W; x++) dst[out + x] = dst[out + x]! + w * tmp[from + x]!;
    }
  }
}

/** Weight λ of the D-SSIM term when the caller gives none (reference 3DGS). */
export const DEFAULT_SSIM_WEIGHT = 0.2;

export interface LossResult {
  loss: number;
  l1: number;
  ssim: number;
  grad: Float64Array; // [H, W, 3] dL/drendered
}

/**
 * Loss and gradient of `rendered` [H, W, 3] against `target` [H, W, 3].
 * `ssimWeight` λ (reference 0.2); `mask` [H, W].
 */
export function photometricLoss(
  rendered: ArrayLike<number>,
  target: ArrayLike<number>,
  W: number,
  H: number,
  ssimWeight = DEFAULT_SSIM_WEIGHT,
  mask?: ArrayLike<number>,
  ws: Workspace = new Workspace(),
): LossResult {
  const np = W * H;
  if (rendered.length !== np * 3 || target.length !== np * 3) {
    throw new RangeError(
      `Loss images must be ${H}×${W}×3 = ${
        np * 3
      } values, got ${rendered.length} and ${target.length}`,
    );
  }
  if (mask && mask.length !== np) {
    throw new RangeError(
      `Loss mask must be ${H}×${W} = ${np} values, got ${mask.length}`,
    );
  }
  let msum = 0;
  for (let i = 0; i < np; i++) msum += mask ? mask[i]! : 1;
  const grad = ws.f64("lossGrad", np * 3, true);
  if (msum <= 0) return { loss: 0, l1: 0, ssim: 1, grad };
  const norm = 1 / (3 * msum);
  const lam = ssimWeight;
  let l1 = 0;
  for (let i = 0; i < np; i++) {
    const m = mask ? mask[i]! : 1;
    if (m === 0) continue;
    for (let c = 0; c < 3; c++) {
      const d = rendered[i * 3 + c]! - target[i * 3 + c]!;
      l1 += m * Math.abs(d);
      grad[i * 3 + c] = (1 - lam) * norm * m * Math.sign(d);
    }
  }
  l1 *= norm;
  let ssim = 1;
  if (lam > 0) {
    const win = ssimWindow1d();
    const x = ws.f64("ssim_x", np),
      y = ws.f64("ssim_y", np),
      tmp = ws.f64("ssim_tmp", np);
    const prod = ws.f64("ssim_prod", np);
    const mux = ws.f64("ssim_mux", np), muy = ws.f64("ssim_muy", np);
    const sxx = ws.f64("ssim_sxx", np),
      syy = ws.f64("ssim_syy", np),
      sxy = ws.f64("ssim_sxy", np);
    const gMu = ws.f64("ssim_gMu", np),
      gXX = ws.f64("ssim_gXX", np),
      gXY = ws.f64("ssim_gXY", np);
    let total = 0;
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < np; i++) {
        x[i] = rendered[i * 3 + c]!, y[i] = target[i * 3 + c]!;
      }
      blur(x, W, H, win, tmp, mux);
      blur(y, W, H, win, tmp, muy);
      for (let i = 0; i < np; i++) prod[i] = x[i]! * x[i]!;
      blur(prod, W, H, win, tmp, sxx);
      for (let i = 0; i < np; i++) prod[i] = y[i]! * y[i]!;
      blur(prod, W, H, win, tmp, syy);
      for (let i = 0; i < np; i++) prod[i] = x[i]! * y[i]!;
      blur(prod, W, H, win, tmp, sxy);
      for (let i = 0; i < np; i++) {
        const m = mask ? mask[i]! : 1;
        const ux = mux[i]!, uy = muy[i]!;
        const a1 = 2 * ux * uy + SSIM_C1;
        const a2 = 2 * (sxy[i]! - ux * uy) + SSIM_C2;
        const b1 = ux * ux + uy * uy + SSIM_C1;
        const b2 = sxx[i]! - ux * ux + syy[i]! - uy * uy + SSIM_C2;
        const den = b1 * b2;
        const s = (a1 * a2) / den;
        total += m * s;
        // dS/dμx, dS/d(E[x²]), dS/d(E[xy]); scaled by dL/dS = −λ·m·norm
        const k = -lam * m * norm;
        gMu[i] = k *
          ((2 * uy * (a2 - a1)) / den - (s * 2 * ux * (b2 - b1)) / den);
        gXX[i] = k * (-s / b2);
        gXY[i] = k * ((2 * a1) / den);
      }
      blur(gMu, W, H, win, tmp, mux);
      blur(gXX, W, H, win, tmp, sxx);
      blur(gXY, W, H, win, tmp, sxy);
      for (let i = 0; i < np; i++) {
        grad[i * 3 + c] = grad[i * 3 + c]! + mux[i]! + 2 * x[i]! * sxx[i]! +
          y[i]! * sxy[i]!;
      }
    }
    ssim = total * norm;
  }
  return { loss: (1 - lam) * l1 + lam * (1 - ssim), l1, ssim, grad };
}
