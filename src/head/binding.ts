/**
 * Mesh-bound Gaussians (the GaussianAvatars binding): every Gaussian belongs to a
 * reference frame and stores its mean, rotation and scale in that frame. Frames
 * 0…897 are the canonical face mesh's triangles, re-derived from the deformed mesh
 * of every video frame; frame {@link HEAD_FRAME} is the rigid head (upper teeth,
 * upper cavity) and frame {@link JAW_FRAME} the rigid jaw (lower teeth, tongue,
 * lower cavity), see `inner_mouth.ts`.
 *
 * A triangle (v0, v1, v2) gives origin o = (v0 + v1 + v2) / 3, orthonormal axes
 * (columns of F) a = (v1 − v0)/|v1 − v0|, n = normalise((v1 − v0) × (v2 − v0)),
 * b = n × a, and a size k = sqrt(|(v1 − v0) × (v2 − v0)|) (= sqrt(2·area)). A
 * Gaussian with local mean μ, log-scales ℓ and quaternion q (w, x, y, z) is, in
 * canonical head space (cm):
 *
 *   mean = o + k·F·μ,   rotation = F·R(q)  (quaternion q_F ⊗ q),   log-scale = ℓ + log k.
 *
 * The rigid frames use k = 1. The map is linear in μ, ℓ and q for a fixed mesh, so
 * the backward pass is exact: dμ = k·Fᵀ·dmean, dℓ = dlog-scale, dq = L(q_F)ᵀ·dquat
 * with L(p) the left-multiplication matrix of p (|q_F ⊗ q| = |q|, so the splatter's
 * own normalisation gradient passes through unchanged).
 *
 * @module
 */
import { MESH_TRIANGLE_COUNT, MESH_VERTEX_COUNT } from "../track/canonical_mesh.ts";
import { fitSimilarity } from "../track/pose.ts";

/** Frame index of the rigid head (upper teeth, upper cavity). */
export const HEAD_FRAME = MESH_TRIANGLE_COUNT;
/** Frame index of the rigid jaw (lower teeth, tongue, lower cavity). */
export const JAW_FRAME = MESH_TRIANGLE_COUNT + 1;
/** Number of binding frames: 898 triangles + head + jaw. */
export const FRAME_COUNT = MESH_TRIANGLE_COUNT + 2;

/** The binding frames of one video frame (float64: the binding is the precise part). */
export interface BindingFrames {
  rot: Float64Array; // [F, 9] row-major F (columns are the frame's axes a, b, n)
  quat: Float64Array; // [F, 4] (w, x, y, z) quaternion of F
  origin: Float64Array; // [F, 3] cm
  size: Float64Array; // [F] k, cm per local unit
}

/** Gaussians in their frames' local coordinates (the learned parameters). */
export interface BoundGaussians {
  count: number;
  frame: Int32Array; // [N] binding frame index 0 … FRAME_COUNT − 1
  offset: Float32Array; // [N, 3] local mean (units of the frame size k)
  logScale: Float32Array; // [N, 3] local log standard deviations (world = + log k)
  quat: Float32Array; // [N, 4] local rotation (w, x, y, z), unnormalised
  opacityLogit: Float32Array; // [N]
  color: Float32Array; // [N, 3] RGB in [0, 1] (static colours; the colour MLP overrides)
}

/** World-space (canonical cm) Gaussian parameters as the splatter takes them. */
export interface WorldGaussians {
  means: Float32Array | Float64Array; // [N, 3]
  logScales: Float32Array | Float64Array; // [N, 3]
  quats: Float32Array | Float64Array; // [N, 4]
}

export function allocFrames(): BindingFrames {
  return {
    rot: new Float64Array(FRAME_COUNT * 9),
    quat: new Float64Array(FRAME_COUNT * 4),
    origin: new Float64Array(FRAME_COUNT * 3),
    size: new Float64Array(FRAME_COUNT),
  };
}

/** Rotation matrix (row-major [9]) → unit quaternion (w, x, y, z), written at `out[o…o+3]`. */
export function rotmatToQuat(m: ArrayLike<number>, out: Float64Array, o = 0): void {
  const m00 = m[0]!, m01 = m[1]!, m02 = m[2]!;
  const m10 = m[3]!, m11 = m[4]!, m12 = m[5]!;
  const m20 = m[6]!, m21 = m[7]!, m22 = m[8]!;
  const tr = m00 + m11 + m22;
  let w, x, y, z;
  if (tr > 0) {
    const s = Math.sqrt(tr + 1) * 2;
    w = 0.25 * s, x = (m21 - m12) / s, y = (m02 - m20) / s, z = (m10 - m01) / s;
  } else if (m00 > m11 && m00 > m22) {
    const s = Math.sqrt(1 + m00 - m11 - m22) * 2;
    w = (m21 - m12) / s, x = 0.25 * s, y = (m01 + m10) / s, z = (m02 + m20) / s;
  } else if (m11 > m22) {
    const s = Math.sqrt(1 + m11 - m00 - m22) * 2;
    w = (m02 - m20) / s, x = (m01 + m10) / s, y = 0.25 * s, z = (m12 + m21) / s;
  } else {
    const s = Math.sqrt(1 + m22 - m00 - m11) * 2;
    w = (m10 - m01) / s, x = (m02 + m20) / s, y = (m12 + m21) / s, z = 0.25 * s;
  }
  const n = Math.hypot(w, x, y, z);
  out[o] = w / n, out[o + 1] = x / n, out[o + 2] = y / n, out[o + 3] = z / n;
}

/**
 * Fills frames 0…897 from a deformed mesh `vertices` ([468, 3] cm) and the head
 * and jaw frames from the given rigid transforms (x_world = R·x_local + t).
 */
export function computeFrames(
  vertices: ArrayLike<number>, // [468, 3] cm
  triangles: Uint32Array, // [898, 3]
  jaw: { R: ArrayLike<number>; t: ArrayLike<number> }, // [9], [3]
  out: BindingFrames = allocFrames(),
): BindingFrames {
  if (vertices.length !== MESH_VERTEX_COUNT * 3) {
    throw new RangeError(`computeFrames(): expected 468×3 vertices, got ${vertices.length}`);
  }
  if (triangles.length !== MESH_TRIANGLE_COUNT * 3) {
    throw new RangeError(`computeFrames(): expected 898×3 indices, got ${triangles.length}`);
  }
  const { rot, origin, size } = out;
  for (let f = 0; f < MESH_TRIANGLE_COUNT; f++) {
    const i0 = triangles[f * 3]! * 3,
      i1 = triangles[f * 3 + 1]! * 3,
      i2 = triangles[f * 3 + 2]! * 3;
    const x0 = vertices[i0]!, y0 = vertices[i0 + 1]!, z0 = vertices[i0 + 2]!;
    const ex = vertices[i1]! - x0, ey = vertices[i1 + 1]! - y0, ez = vertices[i1 + 2]! - z0;
    const fx = vertices[i2]! - x0, fy = vertices[i2 + 1]! - y0, fz = vertices[i2 + 2]! - z0;
    origin[f * 3] = x0 + (ex + fx) / 3;
    origin[f * 3 + 1] = y0 + (ey + fy) / 3;
    origin[f * 3 + 2] = z0 + (ez + fz) / 3;
    let nx = ey * fz - ez * fy, ny = ez * fx - ex * fz, nz = ex * fy - ey * fx;
    const nn = Math.hypot(nx, ny, nz);
    const el = Math.hypot(ex, ey, ez);
    // A degenerate triangle keeps a valid (arbitrary) frame and a tiny size.
    const ax = el > 0 ? ex / el : 1, ay = el > 0 ? ey / el : 0, az = el > 0 ? ez / el : 0;
    if (nn > 1e-12) nx /= nn, ny /= nn, nz /= nn;
    else nx = 0, ny = 0, nz = 1;
    const bx = ny * az - nz * ay, by = nz * ax - nx * az, bz = nx * ay - ny * ax;
    const r = f * 9;
    rot[r] = ax, rot[r + 1] = bx, rot[r + 2] = nx;
    rot[r + 3] = ay, rot[r + 4] = by, rot[r + 5] = ny;
    rot[r + 6] = az, rot[r + 7] = bz, rot[r + 8] = nz;
    size[f] = Math.sqrt(Math.max(nn, 1e-12));
    rotmatToQuat(rot.subarray(r, r + 9), out.quat, f * 4);
  }
  setRigid(out, HEAD_FRAME, [1, 0, 0, 0, 1, 0, 0, 0, 1], [0, 0, 0]);
  setRigid(out, JAW_FRAME, jaw.R, jaw.t);
  return out;
}

function setRigid(out: BindingFrames, f: number, R: ArrayLike<number>, t: ArrayLike<number>) {
  for (let i = 0; i < 9; i++) out.rot[f * 9 + i] = R[i]!;
  for (let i = 0; i < 3; i++) out.origin[f * 3 + i] = t[i]!;
  out.size[f] = 1;
  rotmatToQuat(R, out.quat, f * 4);
}

/** Local → world (canonical cm) for every Gaussian; writes into `out`. */
export function bindToWorld(g: BoundGaussians, frames: BindingFrames, out: WorldGaussians): void {
  const { rot, quat, origin, size } = frames;
  const n = g.count;
  for (let i = 0; i < n; i++) {
    const f = g.frame[i]!;
    const r = f * 9, k = size[f]!;
    const ux = g.offset[i * 3]!, uy = g.offset[i * 3 + 1]!, uz = g.offset[i * 3 + 2]!;
    for (let c = 0; c < 3; c++) {
      out.means[i * 3 + c] = origin[f * 3 + c]! +
        k * (rot[r + c * 3]! * ux + rot[r + c * 3 + 1]! * uy + rot[r + c * 3 + 2]! * uz);
    }
    const lk = Math.log(k);
    out.logScales[i * 3] = g.logScale[i * 3]! + lk;
    out.logScales[i * 3 + 1] = g.logScale[i * 3 + 1]! + lk;
    out.logScales[i * 3 + 2] = g.logScale[i * 3 + 2]! + lk;
    // q_F ⊗ q
    const pw = quat[f * 4]!, px = quat[f * 4 + 1]!, py = quat[f * 4 + 2]!, pz = quat[f * 4 + 3]!;
    const qw = g.quat[i * 4]!,
      qx = g.quat[i * 4 + 1]!,
      qy = g.quat[i * 4 + 2]!,
      qz = g.quat[i * 4 + 3]!;
    out.quats[i * 4] = pw * qw - px * qx - py * qy - pz * qz;
    out.quats[i * 4 + 1] = pw * qx + px * qw + py * qz - pz * qy;
    out.quats[i * 4 + 2] = pw * qy - px * qz + py * qw + pz * qx;
    out.quats[i * 4 + 3] = pw * qz + px * qy - py * qx + pz * qw;
  }
}

/** Local-parameter gradients (same shapes as the {@link BoundGaussians} arrays). */
export interface LocalGrads {
  offset: Float64Array; // [N, 3]
  logScale: Float64Array; // [N, 3]
  quat: Float64Array; // [N, 4]
}

/** Back-propagates world-space gradients through the binding into the local parameters (overwrites `out`). */
export function bindBackward(
  g: BoundGaussians,
  frames: BindingFrames,
  dWorld: WorldGaussians, // gradients w.r.t. means, logScales, quats
  out: LocalGrads,
): void {
  const { rot, quat, size } = frames;
  for (let i = 0; i < g.count; i++) {
    const f = g.frame[i]!;
    const r = f * 9, k = size[f]!;
    const dx = dWorld.means[i * 3]!, dy = dWorld.means[i * 3 + 1]!, dz = dWorld.means[i * 3 + 2]!;
    for (let c = 0; c < 3; c++) {
      out.offset[i * 3 + c] = k *
        (rot[r + c]! * dx + rot[r + 3 + c]! * dy + rot[r + 6 + c]! * dz);
      out.logScale[i * 3 + c] = dWorld.logScales[i * 3 + c]!;
    }
    const pw = quat[f * 4]!, px = quat[f * 4 + 1]!, py = quat[f * 4 + 2]!, pz = quat[f * 4 + 3]!;
    const gw = dWorld.quats[i * 4]!, gx = dWorld.quats[i * 4 + 1]!;
    const gy = dWorld.quats[i * 4 + 2]!, gz = dWorld.quats[i * 4 + 3]!;
    // L(p)ᵀ · g, L(p) = [[w,−x,−y,−z],[x,w,−z,y],[y,z,w,−x],[z,−y,x,w]]
    out.quat[i * 4] = pw * gw + px * gx + py * gy + pz * gz;
    out.quat[i * 4 + 1] = -px * gw + pw * gx + pz * gy - py * gz;
    out.quat[i * 4 + 2] = -py * gw - pz * gx + pw * gy + px * gz;
    out.quat[i * 4 + 3] = -pz * gw + py * gx - px * gy + pw * gz;
  }
}

/**
 * Rigid Procrustes (rotation + translation, no scale) taking the `indices` points of
 * `from` onto those of `to` (both [468, 3]): to ≈ R·from + t. Used for the jaw. The
 * rotation of the weighted similarity fit does not depend on the scale, so the
 * tracker's Horn solver gives it; the translation is re-derived for scale 1.
 */
export function rigidFit(
  from: ArrayLike<number>,
  to: ArrayLike<number>,
  indices: readonly number[],
): { R: Float64Array; t: Float64Array } {
  const m = indices.length;
  const a = new Float64Array(m * 3), b = new Float64Array(m * 3);
  const ca = [0, 0, 0], cb = [0, 0, 0];
  indices.forEach((i, j) => {
    for (let c = 0; c < 3; c++) {
      a[j * 3 + c] = from[i * 3 + c]!, b[j * 3 + c] = to[i * 3 + c]!;
      ca[c]! += a[j * 3 + c]! / m, cb[c]! += b[j * 3 + c]! / m;
    }
  });
  const R = fitSimilarity(a, b, new Float64Array(m).fill(1)).rotation;
  const t = new Float64Array(3);
  for (let r = 0; r < 3; r++) {
    t[r] = cb[r]! - (R[r * 3]! * ca[0]! + R[r * 3 + 1]! * ca[1]! + R[r * 3 + 2]! * ca[2]!);
  }
  return { R: Float64Array.from(R), t };
}
