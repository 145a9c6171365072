/**
 * Rigid head pose: a weighted similarity (Umeyama / Horn) fit of the canonical mesh
 * to the tracked landmarks, made robust by iteratively re-weighted least squares,
 * and the Euler-angle convention used in track files.
 *
 * Conventions. Image space: x right, y down (pixels), z away from the camera,
 * same scale as x. A pose maps a canonical point X (cm) to image space:
 *
 *     p = s · R · X + T          (s: px/cm, R: [3, 3] rotation, T: [3] pixels)
 *
 * which is the weak-perspective / orthographic `OrthoCamera` of `src/splat/types.ts`
 * with `scale = s`, principal point (cx, cy), `t = (T − (cx, cy, 0)) / s`:
 * pixel = s · (R·X + t)_xy + (cx, cy).
 *
 * @module
 */

/** A similarity transform canonical (cm) → image (px). */
export interface HeadPose {
  /** Row-major [3, 3] rotation, det = +1. */
  rotation: Float64Array;
  /** [3] translation in pixels (z relative, same scale as x). */
  translation: Float64Array;
  /** Pixels per canonical centimetre. */
  scale: number;
  /** Weighted RMS residual of the fit, in canonical cm (fit quality). */
  rmsCm: number;
}

/** Largest-eigenvalue eigenvector of a symmetric 4×4 matrix (cyclic Jacobi). */
function topEigenvector4(a: Float64Array): Float64Array {
  const m = Float64Array.from(a); // [4, 4]
  const v = new Float64Array(16);
  for (let i = 0; i < 4; i++) v[i * 4 + i] = 1;
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let p = 0; p < 4; p++) {
      for (let q = p + 1; q < 4; q++) off += m[p * 4 + q]! ** 2;
    }
    if (off < 1e-22) break;
    for (let p = 0; p < 4; p++) {
      for (let q = p + 1; q < 4; q++) {
        const apq = m[p * 4 + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (m[q * 4 + q]! - m[p * 4 + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) /
          (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < 4; k++) {
          const akp = m[k * 4 + p]!;
          const akq = m[k * 4 + q]!;
          m[k * 4 + p] = c * akp - s * akq;
          m[k * 4 + q] = s * akp + c * akq;
        }
        for (let k = 0; k < 4; k++) {
          const apk = m[p * 4 + k]!;
          const aqk = m[q * 4 + k]!;
          m[p * 4 + k] = c * apk - s * aqk;
          m[q * 4 + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < 4; k++) {
          const vkp = v[k * 4 + p]!;
          const vkq = v[k * 4 + q]!;
          v[k * 4 + p] = c * vkp - s * vkq;
          v[k * 4 + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  let best = 0;
  for (let i = 1; i < 4; i++) if (m[i * 4 + i]! > m[best * 4 + best]!) best = i;
  return Float64Array.from([
    v[best]!,
    v[4 + best]!,
    v[8 + best]!,
    v[12 + best]!,
  ]);
}

/** Rotation matrix (row-major [3, 3]) of a unit quaternion (w, x, y, z). */
export function quatToMatrix(
  w: number,
  x: number,
  y: number,
  z: number,
): Float64Array {
  return Float64Array.from([
    1 - 2 * (y * y + z * z),
    2 * (x * y - w * z),
    2 * (x * z + w * y),
    2 * (x * y + w * z),
    1 - 2 * (x * x + z * z),
    2 * (y * z - w * x),
    2 * (x * z - w * y),
    2 * (y * z + w * x),
    1 - 2 * (x * x + y * y),
  ]);
}

/**
 * Weighted least-squares similarity from `src` to `dst`:
 * minimise Σ wᵢ‖dstᵢ − (s·R·srcᵢ + T)‖². Rotation by Horn's quaternion method
 * (always a proper rotation), scale as in Umeyama (1991).
 */
export function fitSimilarity(
  src: Float32Array | Float64Array, // [N, 3]
  dst: Float32Array | Float64Array, // [N, 3]
  weights: Float32Array | Float64Array, // [N]
): HeadPose {
  const n = weights.length;
  if (src.length !== n * 3 || dst.length !== n * 3) {
    throw new RangeError(
      `fitSimilarity(): expected src/dst of length ${n * 3}, got ${src.length}/${dst.length}`,
    );
  }
  let wSum = 0;
  const ms = [0, 0, 0];
  const md = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    const w = weights[i]!;
    if (!(w > 0)) continue;
    wSum += w;
    for (let k = 0; k < 3; k++) {
      ms[k]! += w * src[i * 3 + k]!;
      md[k]! += w * dst[i * 3 + k]!;
    }
  }
  if (!(wSum > 0)) {
    throw new RangeError("fitSimilarity(): all weights are zero");
  }
  for (let k = 0; k < 3; k++) {
    ms[k]! /= wSum;
    md[k]! /= wSum;
  }
  // Cross-covariance M[a][b] = Σ w · src_a · dst_b (centred), and source variance.
  const M = new Float64Array(9);
  let varS = 0;
  for (let i = 0; i < n; i++) {
    const w = weights[i]!;
    if (!(w > 0)) continue;
    const sx = src[i * 3]! - ms[0]!,
      sy = src[i * 3 + 1]! - ms[1]!,
      sz = src[i * 3 + 2]! - ms[2]!;
    const dx = dst[i * 3]! - md[0]!,
      dy = dst[i * 3 + 1]! - md[1]!,
      dz = dst[i * 3 + 2]! - md[2]!;
    const s3 = [sx, sy, sz], d3 = [dx, dy, dz];
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < 3; b++) M[a * 3 + b]! += w * s3[a]! * d3[b]!;
    }
    varS += w * (sx * sx + sy * sy + sz * sz);
  }
  const [sxx, sxy, sxz, syx, syy, syz, szx, szy, szz] = M as unknown as number[];
  const N4 = Float64Array.from([
    sxx! + syy! + szz!,
    syz! - szy!,
    szx! - sxz!,
    sxy! - syx!,
    syz! - szy!,
    sxx! - syy! - szz!,
    sxy! + syx!,
    szx! + sxz!,
    szx! - sxz!,
    sxy! + syx!,
    -sxx! + syy! - szz!,
    syz! + szy!,
    sxy! - syx!,
    szx! + sxz!,
    syz! + szy!,
    -sxx! - syy! + szz!,
  ]);
  const q = topEigenvector4(N4);
  const qn = Math.hypot(q[0]!, q[1]!, q[2]!, q[3]!);
  const R = quatToMatrix(q[0]! / qn, q[1]! / qn, q[2]! / qn, q[3]! / qn);
  // s = Σ w dᵀ R s / Σ w |s|² = trace(R · M) / varS  (M = Σ s dᵀ).
  let tr = 0;
  for (let a = 0; a < 3; a++) {
    for (let b = 0; b < 3; b++) tr += R[a * 3 + b]! * M[b * 3 + a]!;
  }
  const scale = varS > 0 ? tr / varS : 1;
  const T = new Float64Array(3);
  for (let a = 0; a < 3; a++) {
    T[a] = md[a]! -
      scale *
        (R[a * 3]! * ms[0]! + R[a * 3 + 1]! * ms[1]! + R[a * 3 + 2]! * ms[2]!);
  }
  const pose: HeadPose = { rotation: R, translation: T, scale, rmsCm: 0 };
  pose.rmsCm = Math.sqrt(weightedSquaredResidual(pose, src, dst, weights, null) / wSum) /
    Math.max(scale, 1e-9);
  return pose;
}

/** Σ wᵢ‖dstᵢ − pose(srcᵢ)‖² in pixels²; optionally writes per-point residuals (px). */
function weightedSquaredResidual(
  pose: HeadPose,
  src: Float32Array | Float64Array,
  dst: Float32Array | Float64Array,
  weights: Float32Array | Float64Array,
  perPoint: Float64Array | null,
): number {
  let sum = 0;
  const p = new Float64Array(3);
  for (let i = 0; i < weights.length; i++) {
    applyPose(pose, src, i, p);
    const r2 = (dst[i * 3]! - p[0]!) ** 2 + (dst[i * 3 + 1]! - p[1]!) ** 2 +
      (dst[i * 3 + 2]! - p[2]!) ** 2;
    if (perPoint) perPoint[i] = Math.sqrt(r2);
    const w = weights[i]!;
    if (w > 0) sum += w * r2;
  }
  return sum;
}

/** Image position of canonical point `i` of `pts` ([N, 3]) under `pose`, into `out` [3]. */
export function applyPose(
  pose: HeadPose,
  pts: Float32Array | Float64Array,
  i: number,
  out: Float64Array,
): void {
  const x = pts[i * 3]!, y = pts[i * 3 + 1]!, z = pts[i * 3 + 2]!;
  const R = pose.rotation, s = pose.scale, T = pose.translation;
  out[0] = s * (R[0]! * x + R[1]! * y + R[2]! * z) + T[0]!;
  out[1] = s * (R[3]! * x + R[4]! * y + R[5]! * z) + T[1]!;
  out[2] = s * (R[6]! * x + R[7]! * y + R[8]! * z) + T[2]!;
}

/**
 * Robust similarity fit: start from `baseWeights` (the rigid region), then
 * re-weight each point by a Cauchy function of its residual (scale = 2.5 × the
 * weighted median residual) for `iterations` rounds, so that a few displaced
 * landmarks (an occluding hand, a bad eyelid) do not drag the pose.
 */
export function fitPoseRobust(
  canonical: Float32Array | Float64Array, // [N, 3] cm
  landmarks: Float32Array | Float64Array, // [N, 3] px
  baseWeights: Float32Array | Float64Array, // [N]
  iterations = 3,
): HeadPose {
  let pose = fitSimilarity(canonical, landmarks, baseWeights);
  const n = baseWeights.length;
  const res = new Float64Array(n);
  const w = new Float64Array(n);
  for (let it = 0; it < iterations; it++) {
    weightedSquaredResidual(pose, canonical, landmarks, baseWeights, res);
    const active: number[] = [];
    for (let i = 0; i < n; i++) if (baseWeights[i]! > 0) active.push(res[i]!);
    active.sort((a, b) => a - b);
    const med = active[Math.floor(active.length / 2)] ?? 0;
    const c = Math.max(2.5 * med, 0.05 * pose.scale); // never below 0.05 cm
    for (let i = 0; i < n; i++) {
      w[i] = baseWeights[i]! / (1 + (res[i]! / c) ** 2);
    }
    pose = fitSimilarity(canonical, landmarks, w);
  }
  return pose;
}

/** Head-space flip: canonical (y up, z to viewer) ↔ image axes (y down, z away). */
const FLIP = [1, -1, -1];

/**
 * Euler angles (radians) of a canonical→image rotation. The head rotation is
 * H = F·R with F = diag(1, −1, −1) (so a frontal face has H = I), decomposed as
 * H = R_y(yaw) · R_x(−pitch) · R_z(roll) in a y-up, z-towards-viewer frame:
 * yaw > 0: the nose turns towards image right; pitch > 0: the nose tilts up;
 * roll > 0: the head tilts counter-clockwise as seen in the image.
 */
export function eulerFromRotation(
  R: ArrayLike<number>,
): { yaw: number; pitch: number; roll: number } {
  const H = (r: number, c: number) => FLIP[r]! * R[r * 3 + c]!;
  const yaw = Math.atan2(H(0, 2), H(2, 2));
  const pitch = Math.asin(Math.max(-1, Math.min(1, H(1, 2))));
  const roll = Math.atan2(H(1, 0), H(1, 1));
  return { yaw, pitch, roll };
}

/** Inverse of {@link eulerFromRotation}: the canonical→image rotation for given angles. */
export function rotationFromEuler(
  yaw: number,
  pitch: number,
  roll: number,
): Float64Array {
  const cy = Math.cos(yaw), sy = Math.sin(yaw);
  const cp = Math.cos(-pitch), sp = Math.sin(-pitch);
  const cr = Math.cos(roll), sr = Math.sin(roll);
  const Ry = [cy, 0, sy, 0, 1, 0, -sy, 0, cy];
  const Rx = [1, 0, 0, 0, cp, -sp, 0, sp, cp];
  const Rz = [cr, -sr, 0, sr, cr, 0, 0, 0, 1];
  const mul = (A: number[], B: number[]) => {
    const C = new Array<number>(9).fill(0);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        for (let k = 0; k < 3; k++) {
          C[i * 3 + j]! += A[i * 3 + k]! * B[k * 3 + j]!;
        }
      }
    }
    return C;
  };
  const H = mul(mul(Ry, Rx), Rz);
  const R = new Float64Array(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) R[r * 3 + c] = FLIP[r]! * H[r * 3 + c]!;
  }
  return R;
}

/** Canonical-space position of image point `p` [3] under `pose` (inverse similarity), into `out`. */
export function unapplyPose(
  pose: HeadPose,
  px: number,
  py: number,
  pz: number,
  out: Float64Array,
): void {
  const R = pose.rotation, s = pose.scale, T = pose.translation;
  const dx = (px - T[0]!) / s, dy = (py - T[1]!) / s, dz = (pz - T[2]!) / s;
  // Rᵀ · d
  out[0] = R[0]! * dx + R[3]! * dy + R[6]! * dz;
  out[1] = R[1]! * dx + R[4]! * dy + R[7]! * dz;
  out[2] = R[2]! * dx + R[5]! * dy + R[8]! * dz;
}
