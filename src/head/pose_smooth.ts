/**
 * Temporal smoothing of the tracked head pose that drives the render.
 *
 * The face tracker rounds landmarks to whole pixels and fits the pose per frame,
 * so a still head's pose jitters by a few tenths of a pixel; the rendered head
 * follows, and inside the composite's mask the picture shimmers more than the
 * footage does. The track is known in advance, so the pose is smoothed offline
 * with a zero-phase, edge-preserving (bilateral-in-time) filter: frame t becomes the
 * weighted mean of the poses in [t − radius, t + radius], each weighted by its
 * distance in time AND by how far the head would move on screen between the two
 * poses (mean displacement of rigid face points, px). Jitter (sub-pixel) is
 * averaged away; real motion (several pixels within the window) gets small weights
 * from the frames that differ, and the symmetric window adds no lag. The window
 * stops at frames without a face.
 *
 * @module
 */

/** A clip's per-frame pose (track convention p = s·R·X + T). */
export interface PoseSeries {
  found: Uint8Array; // [T] 1 where a face was tracked
  rotation: Float32Array; // [T*9] row-major R
  translation: Float32Array; // [T*3] px
  scale: Float32Array; // [T] px per canonical cm
}

export interface PoseSmoothOptions {
  /** Half-width of the window (frames). */
  radius: number;
  /** Time weight σ (frames). */
  sigmaFrames: number;
  /** Motion weight σ (px of on-screen displacement of the rigid points). */
  sigmaPx: number;
}

/**
 * Defaults: ±4 frames (σ 2), motion σ 0.75 px. On cap12 a still head's pose moves the
 * rigid points by ≈ 0.2–0.4 px per frame (rounding jitter), while talking and nodding
 * move them by several px within 4 frames (a weight of exp(−(3/0.75)²/2) ≈ 3e-4).
 */
export const DEFAULT_POSE_SMOOTH: PoseSmoothOptions = { radius: 4, sigmaFrames: 2, sigmaPx: 0.75 };

/**
 * Smoothed copy of `pose` (see the module doc). `points` `[K*3]` are rigid face
 * points in canonical cm (e.g. eye corners, nose bridge, forehead, cheek extremes).
 */
export function smoothPoses(
  pose: PoseSeries,
  points: ArrayLike<number>,
  opts: Partial<PoseSmoothOptions> = {},
): PoseSeries {
  const o = { ...DEFAULT_POSE_SMOOTH, ...opts };
  const T = pose.found.length;
  if (
    pose.rotation.length !== T * 9 || pose.translation.length !== T * 3 ||
    pose.scale.length !== T
  ) {
    throw new RangeError(`smoothPoses(): pose arrays do not match ${T} frames`);
  }
  const K = points.length / 3;
  // Projected rigid points per frame [T, K, 2].
  const xy = new Float64Array(T * K * 2);
  for (let t = 0; t < T; t++) {
    if (!pose.found[t]) continue;
    const R = pose.rotation.subarray(t * 9, t * 9 + 9), s = pose.scale[t]!;
    for (let k = 0; k < K; k++) {
      const x = points[k * 3]!, y = points[k * 3 + 1]!, z = points[k * 3 + 2]!;
      xy[(t * K + k) * 2] = s * (R[0]! * x + R[1]! * y + R[2]! * z) + pose.translation[t * 3]!;
      xy[(t * K + k) * 2 + 1] = s * (R[3]! * x + R[4]! * y + R[5]! * z) +
        pose.translation[t * 3 + 1]!;
    }
  }
  const dist = (a: number, b: number) => {
    let d = 0;
    for (let k = 0; k < K; k++) {
      d += Math.hypot(
        xy[(a * K + k) * 2]! - xy[(b * K + k) * 2]!,
        xy[(a * K + k) * 2 + 1]! - xy[(b * K + k) * 2 + 1]!,
      );
    }
    return d / K;
  };
  const out: PoseSeries = {
    found: pose.found,
    rotation: Float32Array.from(pose.rotation),
    translation: Float32Array.from(pose.translation),
    scale: Float32Array.from(pose.scale),
  };
  const q0 = new Float64Array(4), q = new Float64Array(4), acc = new Float64Array(4);
  const Rm = new Float64Array(9);
  for (let t = 0; t < T; t++) {
    if (!pose.found[t]) continue;
    matToQuat(pose.rotation.subarray(t * 9, t * 9 + 9), q0);
    let wsum = 0, s = 0;
    const tr = [0, 0, 0];
    acc.fill(0);
    for (const dir of [-1, 1]) {
      for (let j = dir === -1 ? 0 : 1; j <= o.radius; j++) {
        const u = t + dir * j;
        if (u < 0 || u >= T || !pose.found[u]) break;
        const d = dist(t, u);
        const w = Math.exp(-(j * j) / (2 * o.sigmaFrames ** 2) - (d * d) / (2 * o.sigmaPx ** 2));
        matToQuat(pose.rotation.subarray(u * 9, u * 9 + 9), q);
        // Same hemisphere as the centre frame's quaternion (q and −q are one rotation).
        const sign = q[0]! * q0[0]! + q[1]! * q0[1]! + q[2]! * q0[2]! + q[3]! * q0[3]! < 0 ? -1 : 1;
        for (let c = 0; c < 4; c++) acc[c]! += w * sign * q[c]!;
        for (let c = 0; c < 3; c++) tr[c]! += w * pose.translation[u * 3 + c]!;
        s += w * pose.scale[u]!;
        wsum += w;
      }
    }
    const n = Math.hypot(acc[0]!, acc[1]!, acc[2]!, acc[3]!);
    for (let c = 0; c < 4; c++) acc[c] = acc[c]! / n;
    quatToMat(acc, Rm);
    out.rotation.set(Rm, t * 9);
    for (let c = 0; c < 3; c++) out.translation[t * 3 + c] = tr[c]! / wsum;
    out.scale[t] = s / wsum;
  }
  return out;
}

/** Rotation matrix (row-major [9]) → unit quaternion (w, x, y, z). */
export function matToQuat(m: ArrayLike<number>, q: Float64Array): Float64Array {
  const [a, b, c, d, e, f, g, h, i] = [
    m[0]!,
    m[1]!,
    m[2]!,
    m[3]!,
    m[4]!,
    m[5]!,
    m[6]!,
    m[7]!,
    m[8]!,
  ];
  const tr = a + e + i;
  if (tr > 0) {
    const s = Math.sqrt(tr + 1) * 2;
    q[0] = 0.25 * s, q[1] = (h - f) / s, q[2] = (c - g) / s, q[3] = (d - b) / s;
  } else if (a > e && a > i) {
    const s = Math.sqrt(1 + a - e - i) * 2;
    q[0] = (h - f) / s, q[1] = 0.25 * s, q[2] = (b + d) / s, q[3] = (c + g) / s;
  } else if (e > i) {
    const s = Math.sqrt(1 + e - a - i) * 2;
    q[0] = (c - g) / s, q[1] = (b + d) / s, q[2] = 0.25 * s, q[3] = (f + h) / s;
  } else {
    const s = Math.sqrt(1 + i - a - e) * 2;
    q[0] = (d - b) / s, q[1] = (c + g) / s, q[2] = (f + h) / s, q[3] = 0.25 * s;
  }
  const n = Math.hypot(q[0]!, q[1]!, q[2]!, q[3]!);
  for (let k = 0; k < 4; k++) q[k] = q[k]! / n;
  return q;
}

/** Unit quaternion (w, x, y, z) → rotation matrix (row-major [9]). */
export function quatToMat(q: ArrayLike<number>, m: Float64Array): Float64Array {
  const w = q[0]!, x = q[1]!, y = q[2]!, z = q[3]!;
  m[0] = 1 - 2 * (y * y + z * z), m[1] = 2 * (x * y - w * z), m[2] = 2 * (x * z + w * y);
  m[3] = 2 * (x * y + w * z), m[4] = 1 - 2 * (x * x + z * z), m[5] = 2 * (y * z - w * x);
  m[6] = 2 * (x * z - w * y), m[7] = 2 * (y * z + w * x), m[8] = 1 - 2 * (x * x + y * y);
  return m;
}

/** Canonical-mesh vertices that move rigidly with the head (eye corners, nose bridge, forehead, cheeks). */
export const RIGID_VERTICES = [33, 133, 263, 362, 168, 6, 197, 195, 10, 151, 234, 454] as const;

/** The rigid vertices' canonical positions `[K*3]` (cm) from the mesh's `[468*3]` vertices. */
export function rigidPoints(vertices: ArrayLike<number>): Float64Array {
  const out = new Float64Array(RIGID_VERTICES.length * 3);
  RIGID_VERTICES.forEach((v, k) => {
    for (let c = 0; c < 3; c++) out[k * 3 + c] = vertices[v * 3 + c]!;
  });
  return out;
}
