/**
 * Where the render meets the footage: an optimal seam.
 *
 * The lower-face mask's own contour runs along the jaw line, a strong natural
 * edge; a blend there mixes two slightly different jaw edges and leaves a ridge
 * even when the render is good. Instead the seam is a closed contour, star-shaped
 * around the mouth, chosen per frame by dynamic programming in head-locked polar
 * coordinates (K rays from a head-fixed centre, the ray angles turning with the
 * head) to run where
 * - the footage is flat (low gradient) and
 * - the colour-matched render over its fill agrees with the footage (|render −
 *   footage| small),
 * between an inner limit (everything the render must replace: the mouth, the hole
 * the old jaw leaves, the new chin, every place the driven mesh moved) and an outer
 * limit (the mask's core, so the blend ends inside the mask). The path cost is the
 * arc-length integral of that cost, plus a penalty on radius changes (smoothness)
 * and on moving away from the previous frame's contour (temporal stability: the
 * edge does not flicker). The circular path is closed approximately by running the
 * chain twice round and keeping the second lap (the start is then "forgotten").
 *
 * The blend weight is a smoothstep of the radial distance to the contour over
 * `featherPx`, which the multi-band blend widens for the coarse bands.
 *
 * @module
 */

/** Parameters of {@link optimalSeam}. */
export interface SeamParams {
  /** Rays round the centre (default 96). */
  rays?: number;
  /** Radial step, px (default 0.5). */
  stepPx?: number;
  /** Largest radius change between neighbouring rays, in steps (default 3). */
  maxJump?: number;
  /** Penalty per px of radius change between neighbouring rays (cost units × px; default 0.5). */
  smoothness?: number;
  /** Penalty per px of distance from the previous contour (scaled to this face size; default 1.5). */
  temporal?: number;
}

/** A contour: radius (px) per ray, ray k at angle `angle0 + 2πk/K` round `center`. */
export interface Contour {
  center: [number, number];
  angle0: number;
  radii: Float32Array; // [K] px
  /** Face size (px) the contour was found at (to rescale it for the next frame). */
  sizePx: number;
}

const lerp2 = (img: Float32Array, w: number, h: number, x: number, y: number): number => {
  // Bilinear sample with pixel centres at +0.5; outside → +Infinity.
  const fx = x - 0.5, fy = y - 0.5;
  const x0 = Math.floor(fx), y0 = Math.floor(fy);
  if (x0 < 0 || y0 < 0 || x0 + 1 >= w || y0 + 1 >= h) return Infinity;
  const ax = fx - x0, ay = fy - y0, i = y0 * w + x0;
  return (1 - ay) * ((1 - ax) * img[i]! + ax * img[i + 1]!) +
    ay * ((1 - ax) * img[i + w]! + ax * img[i + w + 1]!);
};

/**
 * The minimum-cost closed contour round `center` (box px) with, on every ray, a
 * radius in [`rMin`, `rMax`] derived from `inner` (`[h, w]` 1 = must be enclosed)
 * and `allowed` (`[h, w]` 1 = may be enclosed): rMin = the farthest inner pixel on
 * the ray + `marginPx`, rMax = the first disallowed pixel − `marginPx` (if rMin >
 * rMax, rMax wins: the outer limit is a hard one). `cost` `[h, w]` ≥ 0.
 */
export function optimalSeam(
  cost: Float32Array,
  inner: Uint8Array,
  allowed: Uint8Array,
  w: number,
  h: number,
  center: [number, number],
  angle0: number,
  sizePx: number,
  marginPx: number,
  prev: Contour | null,
  params: SeamParams = {},
): Contour {
  if (cost.length !== w * h || inner.length !== w * h || allowed.length !== w * h) {
    throw new RangeError(`optimalSeam(): cost, inner and allowed must be [${h}, ${w}]`);
  }
  const K = params.rays ?? 96, dr = params.stepPx ?? 0.5, J = params.maxJump ?? 3;
  const lam = params.smoothness ?? 0.5, mu = params.temporal ?? 1.5;
  const R = Math.max(2, Math.ceil(Math.hypot(w, h) / dr));
  const dTheta = (2 * Math.PI) / K;
  // Per ray: allowed radius interval and the sampled cost.
  const lo = new Int32Array(K), hi = new Int32Array(K);
  const c = new Float32Array(K * R).fill(Infinity);
  const at = (img: Uint8Array, x: number, y: number) => {
    const X = Math.floor(x), Y = Math.floor(y);
    return X >= 0 && Y >= 0 && X < w && Y < h ? img[Y * w + X]! : 0;
  };
  for (let k = 0; k < K; k++) {
    const th = angle0 + k * dTheta, ux = Math.cos(th), uy = Math.sin(th);
    let lastInner = 0, firstOut = R - 1;
    for (let j = 0; j < R; j++) {
      const x = center[0] + j * dr * ux, y = center[1] + j * dr * uy;
      if (at(inner, x, y)) lastInner = j;
      if (!at(allowed, x, y) && j < firstOut && j > 0) {
        firstOut = j;
        break;
      }
    }
    // Inner pixels beyond the first disallowed one do not count (another lobe).
    const m = Math.round(marginPx / dr);
    const a = Math.min(firstOut, lastInner + m), b = Math.max(0, firstOut - m);
    lo[k] = Math.min(a, b), hi[k] = b;
    for (let j = lo[k]!; j <= hi[k]!; j++) {
      const x = center[0] + j * dr * ux, y = center[1] + j * dr * uy;
      const v = lerp2(cost, w, h, x, y);
      c[k * R + j] = Number.isFinite(v) ? v : 1e3;
    }
  }
  // Previous contour, rescaled to this face size and resampled onto these rays.
  const prevR = prev ? resampleContour(prev, center, angle0, sizePx, K) : null;
  // DP over 2K rays (two laps), keep the second.
  const L = 2 * K;
  let acc = new Float64Array(R).fill(Infinity), nxt = new Float64Array(R);
  const back = new Int16Array(L * R);
  const unary = (k: number, j: number) => {
    const v = c[k * R + j]!;
    if (!Number.isFinite(v)) return Infinity;
    const arc = Math.max(0.5, j * dr * dTheta);
    return v * arc + (prevR ? mu * Math.abs(j * dr - prevR[k]!) * arc : 0);
  };
  for (let j = lo[0]!; j <= hi[0]!; j++) acc[j] = unary(0, j);
  for (let s = 1; s < L; s++) {
    const k = s % K;
    nxt.fill(Infinity);
    for (let j = lo[k]!; j <= hi[k]!; j++) {
      const u = unary(k, j);
      let best = Infinity, arg = -1;
      for (let d = -J; d <= J; d++) {
        const i = j + d;
        if (i < 0 || i >= R || !(acc[i]! < Infinity)) continue;
        const v = acc[i]! + lam * Math.abs(d) * dr;
        if (v < best) best = v, arg = i;
      }
      if (arg < 0) {
        // No neighbour within the jump limit (the interval moved a lot): connect to
        // the nearest finite state of the previous ray, paying for the distance.
        for (let i = 0; i < R; i++) {
          if (!(acc[i]! < Infinity)) continue;
          const v = acc[i]! + lam * Math.abs(j - i) * dr;
          if (v < best) best = v, arg = i;
        }
      }
      if (arg >= 0) nxt[j] = best + u, back[s * R + j] = arg;
    }
    [acc, nxt] = [nxt, acc];
  }
  let j = 0, best = Infinity;
  for (let i = 0; i < R; i++) if (acc[i]! < best) best = acc[i]!, j = i;
  const radii = new Float32Array(K);
  for (let s = L - 1; s >= K; s--) {
    radii[s % K] = j * dr;
    j = back[s * R + j]!;
  }
  return { center, angle0, radii, sizePx };
}

/** Radius of `contour` at angle `th` (linear between rays). */
export function contourRadius(contour: Contour, th: number): number {
  const K = contour.radii.length;
  let u = ((th - contour.angle0) / (2 * Math.PI)) * K;
  u = ((u % K) + K) % K;
  const k0 = Math.floor(u), t = u - k0;
  return (1 - t) * contour.radii[k0 % K]! + t * contour.radii[(k0 + 1) % K]!;
}

/**
 * `prev`'s radii as seen from this frame's rays (`K` rays at `angle0` round
 * `center`), scaled by the face-size ratio. Head-locked: both contours are
 * expressed relative to their own head-fixed centre and angle.
 */
function resampleContour(
  prev: Contour,
  _center: [number, number],
  angle0: number,
  sizePx: number,
  K: number,
): Float32Array {
  const s = sizePx / prev.sizePx, out = new Float32Array(K);
  for (let k = 0; k < K; k++) {
    // Ray k is at the same head-relative angle as prev's ray k.
    const th = prev.angle0 + (k * 2 * Math.PI) / K;
    out[k] = s * contourRadius(prev, th);
  }
  void angle0;
  return out;
}

/**
 * The blend weight `[h, w]` of a contour: 1 inside, 0 outside, a smoothstep over
 * `featherPx` of the radial distance to the contour (centred on it: 0.5 on it).
 */
export function contourWeight(
  contour: Contour,
  w: number,
  h: number,
  featherPx: number,
): Float32Array {
  const out = new Float32Array(w * h);
  const [cx, cy] = contour.center, f = Math.max(0.5, featherPx);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dx = x + 0.5 - cx, dy = y + 0.5 - cy;
      const r = Math.hypot(dx, dy), R = contourRadius(contour, Math.atan2(dy, dx));
      const t = Math.min(1, Math.max(0, (R - r) / f + 0.5));
      out[y * w + x] = t * t * (3 - 2 * t);
    }
  }
  return out;
}
