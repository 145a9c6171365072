/**
 * The pure math of the splatter, shared by name with the CPU reference
 * (`_cpu.ts`) and the WebGPU kernels (`*.wgsl`). Every constant the kernels need
 * is exported from here so the WGSL prelude can be generated from one definition.
 *
 * Conventions (the reference 3DGS rasterizer, graphdeco-inria):
 * - Camera intrinsics use pixel-edge coordinates: pixel (px, py) covers
 *   [px, px + 1) × [py, py + 1) and a centred camera has cx = width / 2.
 *   Internally the projected centre is stored in pixel-index coordinates
 *   (`u = fx·x/z + cx − 0.5`), where pixel (px, py) is evaluated at (px, py),
 *   exactly like the reference's `ndc2Pix`.
 * - Quaternions are (w, x, y, z) and are normalised here (the reference does it in
 *   Python); gradients flow through the normalisation.
 * - Covariances are stored as the 6 upper-triangle entries (xx, xy, xz, yy, yz, zz);
 *   2D covariances and conics as (a, b, c) for [[a, b], [b, c]].
 * - The CPU reference evaluates everything in float64; derivatives here are exact
 *   for the forward defined here (including the FOV clamp of the Jacobian and the
 *   α = 0.99 clamp, where the reference CUDA code approximates).
 *
 * @module
 */

/** Tile edge in pixels (reference BLOCK_X = BLOCK_Y = 16). */
export const TILE_SIZE = 16;
/** Contributions with α below this are skipped. */
export const ALPHA_MIN = 1 / 255;
/** α is clamped to at most this. */
export const ALPHA_MAX = 0.99;
/** A pixel stops when the transmittance would drop below this. */
export const T_MIN = 1e-4;
/** Low-pass dilation added to the diagonal of every 2D covariance (pixels²). */
export const COV2D_DILATION = 0.3;
/** The Jacobian uses x/z, y/z clamped to this multiple of tan(half FOV). */
export const FOV_CLAMP = 1.3;
/** Screen radius in standard deviations of the largest eigenvalue. */
export const SIGMA_RADIUS = 3;
/** Floor of (mid² − det) in the eigenvalue formula (reference 0.1). */
export const EIGEN_FLOOR = 0.1;
/** Default near plane (camera-space z) of a pinhole camera. */
export const DEFAULT_NEAR = 0.01;
/** Offset added to SH colours before clamping at 0. */
export const SH_COLOR_OFFSET = 0.5;

export const SH_C0 = 0.28209479177387814;
export const SH_C1 = 0.4886025119029199;
export const SH_C2 = [
  1.0925484305920792,
  -1.0925484305920792,
  0.31539156525252005,
  -1.0925484305920792,
  0.5462742152960396,
] as const;
export const SH_C3 = [
  -0.5900435899266435,
  2.890611442640554,
  -0.4570457994644658,
  0.3731763325901154,
  -0.4570457994644658,
  1.445305721320277,
  -0.5900435899266435,
] as const;

/** SSIM window (reference: 11×11 Gaussian, σ = 1.5, zero padding). */
export const SSIM_WINDOW = 11;
export const SSIM_SIGMA = 1.5;
export const SSIM_C1 = 0.01 ** 2;
export const SSIM_C2 = 0.03 ** 2;

/** Number of SH coefficients per channel for a degree. */
export function shCoeffCount(degree: number): number {
  return (degree + 1) * (degree + 1);
}

/** Rotation matrix (row-major [3, 3]) of a unit quaternion (w, x, y, z). */
export function quatToRotmat(
  w: number,
  x: number,
  y: number,
  z: number,
  out: Float64Array, // [9]
): void {
  out[0] = 1 - 2 * (y * y + z * z);
  out[1] = 2 * (x * y - w * z);
  out[2] = 2 * (x * z + w * y);
  out[3] = 2 * (x * y + w * z);
  out[4] = 1 - 2 * (x * x + z * z);
  out[5] = 2 * (y * z - w * x);
  out[6] = 2 * (x * z - w * y);
  out[7] = 2 * (y * z + w * x);
  out[8] = 1 - 2 * (x * x + y * y);
}

/**
 * 3D covariance Σ = R·S·Sᵀ·Rᵀ from a (not necessarily unit) quaternion and log
 * scales (one Gaussian's rows of the scene arrays); writes (xx, xy, xz, yy, yz, zz) at `out[o..o+6]`. Also leaves M = R·S
 * (row-major [3, 3]) in `m` for the backward pass.
 */
export function covariance3d(
  q: ArrayLike<number>, // (w, x, y, z) at q[qo..qo+4]
  qo: number,
  ls: ArrayLike<number>, // log scales at ls[lso..lso+3]
  lso: number,
  out: Float64Array,
  o: number,
  m: Float64Array, // [9] scratch: M = R·S
): void {
  const qw = q[qo]!, qx = q[qo + 1]!, qy = q[qo + 2]!, qz = q[qo + 3]!;
  const ls0 = ls[lso]!, ls1 = ls[lso + 1]!, ls2 = ls[lso + 2]!;
  const n = Math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz) || 1;
  quatToRotmat(qw / n, qx / n, qy / n, qz / n, m);
  const s0 = Math.exp(ls0), s1 = Math.exp(ls1), s2 = Math.exp(ls2);
  for (let r = 0; r < 3; r++) {
    m[r * 3] = m[r * 3]! * s0;
    m[r * 3 + 1] = m[r * 3 + 1]! * s1;
    m[r * 3 + 2] = m[r * 3 + 2]! * s2;
  }
  const m0 = m[0]!, m1 = m[1]!, m2 = m[2]!, m3 = m[3]!, m4 = m[4]!, m5 = m[5]!;
  const m6 = m[6]!, m7 = m[7]!, m8 = m[8]!;
  out[o] = m0 * m0 + m1 * m1 + m2 * m2;
  out[o + 1] = m0 * m3 + m1 * m4 + m2 * m5;
  out[o + 2] = m0 * m6 + m1 * m7 + m2 * m8;
  out[o + 3] = m3 * m3 + m4 * m4 + m5 * m5;
  out[o + 4] = m3 * m6 + m4 * m7 + m5 * m8;
  out[o + 5] = m6 * m6 + m7 * m7 + m8 * m8;
}

/**
 * Backward of {@link covariance3d}: given dL/dΣ as the 6 upper-triangle partials
 * (dxy is the derivative w.r.t. the single off-diagonal value shared by [0,1] and
 * [1,0]), writes dL/dq (w, x, y, z) to `dq[dqo..]` (added) and dL/dlogScale to
 * `dls[dlso..]` (added).
 */
export function covariance3dBackward(
  q: ArrayLike<number>, // (w, x, y, z) at q[qo..qo+4]
  qo: number,
  ls: ArrayLike<number>, // log scales at ls[lso..lso+3]
  lso: number,
  dSigma: Float64Array, // [6]
  dq: Float32Array | Float64Array,
  dqo: number,
  dls: Float32Array | Float64Array,
  dlso: number,
  scratch: Float64Array, // [18]
): void {
  const qw = q[qo]!, qx = q[qo + 1]!, qy = q[qo + 2]!, qz = q[qo + 3]!;
  const ls0 = ls[lso]!, ls1 = ls[lso + 1]!, ls2 = ls[lso + 2]!;
  const n = Math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz) || 1;
  const w = qw / n, x = qx / n, y = qy / n, z = qz / n;
  const R = scratch; // [0..9)
  quatToRotmat(w, x, y, z, R);
  const s0 = Math.exp(ls0), s1 = Math.exp(ls1), s2 = Math.exp(ls2);
  // Symmetric dL/dΣ as a full matrix G; dL/dM = (G + Gᵀ)·M = 2·G·M with G symmetric
  // holding half of the off-diagonal partials. dR (row-major) goes to scratch[9..18).
  const g00 = dSigma[0]!, g01 = dSigma[1]! / 2, g02 = dSigma[2]! / 2;
  const g11 = dSigma[3]!, g12 = dSigma[4]! / 2, g22 = dSigma[5]!;
  for (let c = 0; c < 3; c++) {
    const sc = c === 0 ? s0 : c === 1 ? s1 : s2;
    const rc0 = R[c]!, rc1 = R[3 + c]!, rc2 = R[6 + c]!;
    const mc0 = rc0 * sc, mc1 = rc1 * sc, mc2 = rc2 * sc;
    const dm0 = 2 * (g00 * mc0 + g01 * mc1 + g02 * mc2);
    const dm1 = 2 * (g01 * mc0 + g11 * mc1 + g12 * mc2);
    const dm2 = 2 * (g02 * mc0 + g12 * mc1 + g22 * mc2);
    // dL/dlogScale_c = dL/ds_c · s_c
    dls[dlso + c] = dls[dlso + c]! + (dm0 * rc0 + dm1 * rc1 + dm2 * rc2) * sc;
    scratch[9 + c] = dm0 * sc;
    scratch[12 + c] = dm1 * sc;
    scratch[15 + c] = dm2 * sc;
  }
  const dR = scratch;
  const r0 = dR[9]!, r1 = dR[10]!, r2 = dR[11]!, r3 = dR[12]!, r4 = dR[13]!;
  const r5 = dR[14]!, r6 = dR[15]!, r7 = dR[16]!, r8 = dR[17]!;
  // dL/d(unit q) from quatToRotmat.
  const gw = 2 * (-z * r1 + y * r2 + z * r3 - x * r5 - y * r6 + x * r7);
  const gx = 2 *
    (y * r1 + z * r2 + y * r3 - 2 * x * r4 - w * r5 + z * r6 + w * r7 -
      2 * x * r8);
  const gy = 2 *
    (-2 * y * r0 + x * r1 + w * r2 + x * r3 + z * r5 - w * r6 + z * r7 -
      2 * y * r8);
  const gz = 2 *
    (-2 * z * r0 - w * r1 + x * r2 + w * r3 - 2 * z * r4 + y * r5 + x * r6 +
      y * r7);
  // Through the normalisation q/|q|.
  const dot = gw * w + gx * x + gy * y + gz * z;
  dq[dqo] = dq[dqo]! + (gw - w * dot) / n;
  dq[dqo + 1] = dq[dqo + 1]! + (gx - x * dot) / n;
  dq[dqo + 2] = dq[dqo + 2]! + (gy - y * dot) / n;
  dq[dqo + 3] = dq[dqo + 3]! + (gz - z * dot) / n;
}

/**
 * A camera prepared for projection: world-to-camera R (row-major) and t, the
 * intrinsics in pixel-index coordinates (cx, cy already shifted by −0.5), the
 * Jacobian clamp limits and the world-space camera position (SH view direction).
 */
export interface ViewParams {
  ortho: boolean;
  width: number;
  height: number;
  R: Float64Array; // [9]
  t: Float64Array; // [3]
  fx: number; // pinhole: focal x (px); ortho: scale (px per unit)
  fy: number;
  cx: number; // pixel-index coordinates (intrinsic cx − 0.5)
  cy: number;
  /** Clamp of x/z and y/z in the Jacobian: FOV_CLAMP · tan(half FOV) = 1.3 · W / (2 fx). */
  limX: number;
  limY: number;
  near: number;
  /** Pinhole: camera centre in world space. */
  campos: Float64Array; // [3]
  /** Ortho: world-space viewing direction (third row of R). */
  viewDir: Float64Array; // [3]
  tilesX: number;
  tilesY: number;
}

/** Resolved SH view direction kind is decided by `ortho`. */
export function viewParams(camera: {
  kind: "pinhole" | "ortho";
  width: number;
  height: number;
  R: ArrayLike<number>;
  t: ArrayLike<number>;
  cx: number;
  cy: number;
  fx?: number;
  fy?: number;
  scale?: number;
  near?: number;
}): ViewParams {
  const R = Float64Array.from(camera.R as ArrayLike<number>);
  const t = Float64Array.from(camera.t as ArrayLike<number>);
  if (R.length !== 9 || t.length !== 3) {
    throw new RangeError(
      `Camera R must have 9 entries and t 3, got ${R.length} and ${t.length}`,
    );
  }
  const ortho = camera.kind === "ortho";
  const fx = ortho ? camera.scale! : camera.fx!;
  const fy = ortho ? camera.scale! : camera.fy!;
  if (!(Number.isFinite(fx) && Number.isFinite(fy) && fx > 0 && fy > 0)) {
    throw new RangeError(
      `Camera focal/scale must be positive, got ${fx}, ${fy}`,
    );
  }
  if (!(camera.width >= 1 && camera.height >= 1)) {
    throw new RangeError(
      `Camera size must be positive, got ${camera.width}×${camera.height}`,
    );
  }
  // campos = −Rᵀ t
  const campos = new Float64Array([
    -(R[0]! * t[0]! + R[3]! * t[1]! + R[6]! * t[2]!),
    -(R[1]! * t[0]! + R[4]! * t[1]! + R[7]! * t[2]!),
    -(R[2]! * t[0]! + R[5]! * t[1]! + R[8]! * t[2]!),
  ]);
  return {
    ortho,
    width: camera.width,
    height: camera.height,
    R,
    t,
    fx,
    fy,
    cx: camera.cx - 0.5,
    cy: camera.cy - 0.5,
    limX: FOV_CLAMP * 0.5 * camera.width / fx,
    limY: FOV_CLAMP * 0.5 * camera.height / fy,
    near: ortho ? -Infinity : (camera.near ?? DEFAULT_NEAR),
    campos,
    viewDir: new Float64Array([R[6]!, R[7]!, R[8]!]),
    tilesX: Math.ceil(camera.width / TILE_SIZE),
    tilesY: Math.ceil(camera.height / TILE_SIZE),
  };
}

/**
 * EWA projection of a 3D covariance given the camera-space mean (tx, ty, tz):
 * cov2D = J·W·Σ·Wᵀ·Jᵀ + 0.3·I, with J the (clamped) perspective Jacobian or the
 * constant orthographic one. Writes (a, b, c) to `out[o..o+3]`.
 */
export function projectCovariance(
  v: ViewParams,
  tx: number,
  ty: number,
  tz: number,
  cov: Float64Array,
  co: number, // offset of the 6 entries in cov
  out: Float64Array,
  o: number,
): void {
  let j00: number, j02: number, j11: number, j12: number;
  if (v.ortho) {
    j00 = v.fx;
    j11 = v.fy;
    j02 = 0;
    j12 = 0;
  } else {
    const iz = 1 / tz;
    const xc = Math.min(v.limX, Math.max(-v.limX, tx * iz));
    const yc = Math.min(v.limY, Math.max(-v.limY, ty * iz));
    j00 = v.fx * iz;
    j11 = v.fy * iz;
    j02 = -v.fx * xc * iz;
    j12 = -v.fy * yc * iz;
  }
  const R = v.R;
  // T = J·W, rows [2, 3].
  const t00 = j00 * R[0]! + j02 * R[6]!,
    t01 = j00 * R[1]! + j02 * R[7]!,
    t02 = j00 * R[2]! + j02 * R[8]!;
  const t10 = j11 * R[3]! + j12 * R[6]!,
    t11 = j11 * R[4]! + j12 * R[7]!,
    t12 = j11 * R[5]! + j12 * R[8]!;
  const sxx = cov[co]!, sxy = cov[co + 1]!, sxz = cov[co + 2]!;
  const syy = cov[co + 3]!, syz = cov[co + 4]!, szz = cov[co + 5]!;
  // Σ·T0ᵀ and Σ·T1ᵀ
  const u0 = sxx * t00 + sxy * t01 + sxz * t02;
  const u1 = sxy * t00 + syy * t01 + syz * t02;
  const u2 = sxz * t00 + syz * t01 + szz * t02;
  const w0 = sxx * t10 + sxy * t11 + sxz * t12;
  const w1 = sxy * t10 + syy * t11 + syz * t12;
  const w2 = sxz * t10 + syz * t11 + szz * t12;
  out[o] = t00 * u0 + t01 * u1 + t02 * u2 + COV2D_DILATION;
  out[o + 1] = t00 * w0 + t01 * w1 + t02 * w2;
  out[o + 2] = t10 * w0 + t11 * w1 + t12 * w2 + COV2D_DILATION;
}

/**
 * Backward of {@link projectCovariance}: from dL/d(a, b, c) of the 2D covariance,
 * adds dL/dΣ (6 partials) to `dCov` and dL/d(tx, ty, tz) through the Jacobian to
 * `dT[0..3]`.
 */
export function projectCovarianceBackward(
  v: ViewParams,
  tx: number,
  ty: number,
  tz: number,
  cov: Float64Array,
  co: number,
  da: number,
  db: number,
  dc: number,
  dCov: Float64Array, // [6], added
  dT: Float64Array, // [3], added
): void {
  let j00: number, j02: number, j11: number, j12: number;
  let xc = 0, yc = 0, inX = 0, inY = 0;
  const iz = 1 / tz;
  if (v.ortho) {
    j00 = v.fx;
    j11 = v.fy;
    j02 = 0;
    j12 = 0;
  } else {
    const rx = tx * iz, ry = ty * iz;
    inX = rx >= -v.limX && rx <= v.limX ? 1 : 0;
    inY = ry >= -v.limY && ry <= v.limY ? 1 : 0;
    xc = Math.min(v.limX, Math.max(-v.limX, rx));
    yc = Math.min(v.limY, Math.max(-v.limY, ry));
    j00 = v.fx * iz;
    j11 = v.fy * iz;
    j02 = -v.fx * xc * iz;
    j12 = -v.fy * yc * iz;
  }
  const R = v.R;
  const r0 = R[0]!, r1 = R[1]!, r2 = R[2]!, r3 = R[3]!, r4 = R[4]!, r5 = R[5]!;
  const r6 = R[6]!, r7 = R[7]!, r8 = R[8]!;
  // T = J·W rows (scalars: no allocation in this per-Gaussian function).
  const a0 = j00 * r0 + j02 * r6, a1 = j00 * r1 + j02 * r7, a2 = j00 * r2 + j02 * r8;
  const b0 = j11 * r3 + j12 * r6, b1 = j11 * r4 + j12 * r7, b2 = j11 * r5 + j12 * r8;
  // G symmetric 2×2: [[da, db/2], [db/2, dc]]
  const g00 = da, g01 = db / 2, g11 = dc;
  // dL/dΣ = Tᵀ·G·T (full symmetric), reported as upper-triangle partials.
  const u0 = g00 * a0 + g01 * b0, u1 = g00 * a1 + g01 * b1, u2 = g00 * a2 + g01 * b2; // (G·T) row 0
  const w0 = g01 * a0 + g11 * b0, w1 = g01 * a1 + g11 * b1, w2 = g01 * a2 + g11 * b2; // (G·T) row 1
  dCov[0] = dCov[0]! + a0 * u0 + b0 * w0;
  dCov[1] = dCov[1]! + 2 * (a0 * u1 + b0 * w1);
  dCov[2] = dCov[2]! + 2 * (a0 * u2 + b0 * w2);
  dCov[3] = dCov[3]! + a1 * u1 + b1 * w1;
  dCov[4] = dCov[4]! + 2 * (a1 * u2 + b1 * w2);
  dCov[5] = dCov[5]! + a2 * u2 + b2 * w2;
  if (v.ortho) return;
  // dL/dT = 2·G·T·Σ = 2·(G·T)·Σ
  const sxx = cov[co]!, sxy = cov[co + 1]!, sxz = cov[co + 2]!;
  const syy = cov[co + 3]!, syz = cov[co + 4]!, szz = cov[co + 5]!;
  const e0 = 2 * (u0 * sxx + u1 * sxy + u2 * sxz);
  const e1 = 2 * (u0 * sxy + u1 * syy + u2 * syz);
  const e2 = 2 * (u0 * sxz + u1 * syz + u2 * szz);
  const f0 = 2 * (w0 * sxx + w1 * sxy + w2 * sxz);
  const f1 = 2 * (w0 * sxy + w1 * syy + w2 * syz);
  const f2 = 2 * (w0 * sxz + w1 * syz + w2 * szz);
  const dj00 = e0 * r0 + e1 * r1 + e2 * r2;
  const dj02 = e0 * r6 + e1 * r7 + e2 * r8;
  const dj11 = f0 * r3 + f1 * r4 + f2 * r5;
  const dj12 = f0 * r6 + f1 * r7 + f2 * r8;
  // J00 = fx/z; J02 = −fx·clamp(x/z)/z (and likewise for y).
  const iz2 = iz * iz, iz3 = iz2 * iz;
  dT[0] = dT[0]! + dj02 * (-v.fx * inX * iz2);
  dT[1] = dT[1]! + dj12 * (-v.fy * inY * iz2);
  dT[2] = dT[2]! +
    dj00 * (-v.fx * iz2) +
    dj11 * (-v.fy * iz2) +
    dj02 * (v.fx * inX * tx * iz3 + v.fx * xc * iz2) +
    dj12 * (v.fy * inY * ty * iz3 + v.fy * yc * iz2);
}

/**
 * Conic (inverse 2D covariance) of (a, b, c) into `out[o..o+3]`; returns false
 * (the reference culls) when the determinant is 0.
 */
export function conicFromCov2d(
  a: number,
  b: number,
  c: number,
  out: Float64Array,
  o: number,
): boolean {
  const det = a * c - b * b;
  if (det === 0) return false;
  const inv = 1 / det;
  out[o] = c * inv;
  out[o + 1] = -b * inv;
  out[o + 2] = a * inv;
  return true;
}

/** Backward of {@link conicFromCov2d}: dL/d(conic) → dL/d(cov2D) into `out[0..3]`. */
export function conicBackward(
  a: number,
  b: number,
  c: number,
  dA: number,
  dB: number,
  dC: number,
  out: Float64Array,
): void {
  const det = a * c - b * b;
  const i2 = 1 / (det * det);
  // conic = (c, −b, a)/det
  out[0] = dA * (-c * c * i2) + dB * (b * c * i2) +
    dC * (-a * c * i2 + 1 / det);
  out[1] = dA * (2 * b * c * i2) + dB * (-1 / det - 2 * b * b * i2) +
    dC * (2 * a * b * i2);
  out[2] = dA * (1 / det - a * c * i2) + dB * (a * b * i2) + dC * (-a * a * i2);
}

/** Screen radius ceil(3·sqrt(λmax)) of a 2D covariance (reference formula). */
export function radiusFromCov2d(a: number, b: number, c: number): number {
  const det = a * c - b * b;
  const mid = 0.5 * (a + c);
  const l1 = mid + Math.sqrt(Math.max(EIGEN_FLOOR, mid * mid - det));
  const l2 = mid - Math.sqrt(Math.max(EIGEN_FLOOR, mid * mid - det));
  return Math.ceil(SIGMA_RADIUS * Math.sqrt(Math.max(l1, l2)));
}

/**
 * Tile rectangle [xMin, yMin, xMax, yMax) touched by a centre (pixel-index
 * coordinates) and radius, clamped to the grid (reference getRect). Returns the
 * number of tiles (0 means culled).
 */
export function tileRect(
  x: number,
  y: number,
  radius: number,
  tilesX: number,
  tilesY: number,
  out: Int32Array,
  o: number,
): number {
  const x0 = Math.min(
    tilesX,
    Math.max(0, Math.floor((x - radius) / TILE_SIZE)),
  );
  const y0 = Math.min(
    tilesY,
    Math.max(0, Math.floor((y - radius) / TILE_SIZE)),
  );
  const x1 = Math.min(
    tilesX,
    Math.max(0, Math.floor((x + radius + TILE_SIZE - 1) / TILE_SIZE)),
  );
  const y1 = Math.min(
    tilesY,
    Math.max(0, Math.floor((y + radius + TILE_SIZE - 1) / TILE_SIZE)),
  );
  out[o] = x0;
  out[o + 1] = y0;
  out[o + 2] = x1;
  out[o + 3] = y1;
  return (x1 - x0) * (y1 - y0);
}

/** Real SH basis (reference sign convention) at a unit direction, degrees 0..3. */
export function shBasis(
  degree: number,
  x: number,
  y: number,
  z: number,
  out: Float64Array, // [16]
): void {
  out[0] = SH_C0;
  if (degree < 1) return;
  out[1] = -SH_C1 * y;
  out[2] = SH_C1 * z;
  out[3] = -SH_C1 * x;
  if (degree < 2) return;
  const xx = x * x, yy = y * y, zz = z * z;
  out[4] = SH_C2[0] * x * y;
  out[5] = SH_C2[1] * y * z;
  out[6] = SH_C2[2] * (2 * zz - xx - yy);
  out[7] = SH_C2[3] * x * z;
  out[8] = SH_C2[4] * (xx - yy);
  if (degree < 3) return;
  out[9] = SH_C3[0] * y * (3 * xx - yy);
  out[10] = SH_C3[1] * x * y * z;
  out[11] = SH_C3[2] * y * (4 * zz - xx - yy);
  out[12] = SH_C3[3] * z * (2 * zz - 3 * xx - 3 * yy);
  out[13] = SH_C3[4] * x * (4 * zz - xx - yy);
  out[14] = SH_C3[5] * z * (xx - yy);
  out[15] = SH_C3[6] * x * (xx - 3 * yy);
}

/**
 * Partial derivatives of each basis function w.r.t. (x, y, z) of the direction
 * (treated as independent): `out[3k..3k+3]` for basis k.
 */
export function shBasisGrad(
  degree: number,
  x: number,
  y: number,
  z: number,
  out: Float64Array, // [48]
): void {
  out.fill(0, 0, 3 * shCoeffCount(degree));
  if (degree < 1) return;
  out[4] = -SH_C1; // b1 = −C1·y
  out[8] = SH_C1; // b2 = C1·z
  out[9] = -SH_C1; // b3 = −C1·x
  if (degree < 2) return;
  const xx = x * x, yy = y * y, zz = z * z;
  let k = 12;
  out[k] = SH_C2[0] * y, out[k + 1] = SH_C2[0] * x; // b4
  k = 15;
  out[k + 1] = SH_C2[1] * z, out[k + 2] = SH_C2[1] * y; // b5
  k = 18;
  out[k] = -2 * SH_C2[2] * x, out[k + 1] = -2 * SH_C2[2] * y, out[k + 2] = 4 * SH_C2[2] * z; // b6
  k = 21;
  out[k] = SH_C2[3] * z, out[k + 2] = SH_C2[3] * x; // b7
  k = 24;
  out[k] = 2 * SH_C2[4] * x, out[k + 1] = -2 * SH_C2[4] * y; // b8
  if (degree < 3) return;
  k = 27; // b9 = C·y(3xx − yy)
  out[k] = SH_C3[0] * 6 * x * y, out[k + 1] = SH_C3[0] * (3 * xx - 3 * yy);
  k = 30; // b10 = C·xyz
  out[k] = SH_C3[1] * y * z, out[k + 1] = SH_C3[1] * x * z, out[k + 2] = SH_C3[1] * x * y;
  k = 33; // b11 = C·y(4zz − xx − yy)
  out[k] = SH_C3[2] * -2 * x * y;
  out[k + 1] = SH_C3[2] * (4 * zz - xx - 3 * yy);
  out[k + 2] = SH_C3[2] * 8 * y * z;
  k = 36; // b12 = C·z(2zz − 3xx − 3yy)
  out[k] = SH_C3[3] * -6 * x * z;
  out[k + 1] = SH_C3[3] * -6 * y * z;
  out[k + 2] = SH_C3[3] * (6 * zz - 3 * xx - 3 * yy);
  k = 39; // b13 = C·x(4zz − xx − yy)
  out[k] = SH_C3[4] * (4 * zz - 3 * xx - yy);
  out[k + 1] = SH_C3[4] * -2 * x * y;
  out[k + 2] = SH_C3[4] * 8 * x * z;
  k = 42; // b14 = C·z(xx − yy)
  out[k] = SH_C3[5] * 2 * x * z,
    out[k + 1] = SH_C3[5] * -2 * y * z,
    out[k + 2] = SH_C3[5] * (xx - yy);
  k = 45; // b15 = C·x(xx − 3yy)
  out[k] = SH_C3[6] * (3 * xx - 3 * yy), out[k + 1] = SH_C3[6] * -6 * x * y;
}

/**
 * Colour of one Gaussian from SH coefficients [K, 3] at `coeffs[co..]` for a unit
 * view direction whose basis is in `basis`: Σ_k basis_k·sh_k + 0.5, clamped ≥ 0.
 * Writes RGB to `out[o..o+3]` and whether each channel was clamped to `clamped`.
 */
export function shColor(
  degree: number,
  basis: Float64Array, // [16]
  coeffs: ArrayLike<number>,
  co: number,
  out: Float64Array,
  o: number,
  clamped: Uint8Array,
): void {
  const k = shCoeffCount(degree);
  for (let ch = 0; ch < 3; ch++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += basis[j]! * coeffs[co + j * 3 + ch]!;
    s += SH_COLOR_OFFSET;
    clamped[o + ch] = s < 0 ? 1 : 0;
    out[o + ch] = s < 0 ? 0 : s;
  }
}

/** Logistic sigmoid (opacity from its logit). */
export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
