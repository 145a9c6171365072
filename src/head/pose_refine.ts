/**
 * Optional small per-view pose refinement during adaptation: each training view
 * gets a rigid correction (R_v, t_v) in canonical head space (about the canonical
 * origin, inside the head) applied to the posed Gaussians before rendering:
 * mean' = R_v·mean + t_v, quat' = q(R_v) ⊗ quat. Tracking jitter of a few tenths
 * of a pixel otherwise blurs what the Gaussians learn.
 *
 * The update is multiplicative: the gradient is taken with respect to a small
 * rotation ω (exp([ω]×)·R_v) and translation δ at zero, i.e.
 * dL/dδ = Σ dL/dmean', dL/dω = Σ mean' × dL/dmean' + ½ Σ ((0, e_k) ⊗ quat')·dL/dquat',
 * and Adam (per view, small learning rates) steps (ω, δ), composed into (R_v, t_v).
 *
 * @module
 */
import { rotmatToQuat, type WorldGaussians } from "./binding.ts";
import { quatToMatrix } from "../track/pose.ts";

/** One view's correction and its Adam state. */
export class PoseCorrection {
  R = new Float64Array([1, 0, 0, 0, 1, 0, 0, 0, 1]); // [9] row-major
  t = new Float64Array(3); // [3] cm
  #m = new Float64Array(6);
  #v = new Float64Array(6);
  #step = 0;

  /** Applies the correction to world arrays in place. */
  apply(w: WorldGaussians): void {
    const R = this.R, t = this.t;
    if (R[0] === 1 && R[4] === 1 && R[8] === 1 && t[0] === 0 && t[1] === 0 && t[2] === 0) return;
    const q = new Float64Array(4);
    rotmatToQuat(R, q);
    const n = w.means.length / 3;
    for (let i = 0; i < n; i++) {
      const x = w.means[i * 3]!, y = w.means[i * 3 + 1]!, z = w.means[i * 3 + 2]!;
      for (let c = 0; c < 3; c++) {
        w.means[i * 3 + c] = R[c * 3]! * x + R[c * 3 + 1]! * y + R[c * 3 + 2]! * z + t[c]!;
      }
      const bw = w.quats[i * 4]!,
        bx = w.quats[i * 4 + 1]!,
        by = w.quats[i * 4 + 2]!,
        bz = w.quats[i * 4 + 3]!;
      const [pw, px, py, pz] = [q[0]!, q[1]!, q[2]!, q[3]!];
      w.quats[i * 4] = pw * bw - px * bx - py * by - pz * bz;
      w.quats[i * 4 + 1] = pw * bx + px * bw + py * bz - pz * by;
      w.quats[i * 4 + 2] = pw * by - px * bz + py * bw + pz * bx;
      w.quats[i * 4 + 3] = pw * bz + px * by - py * bx + pz * bw;
    }
  }

  /** Turns gradients w.r.t. corrected world arrays into gradients w.r.t. the uncorrected ones (in place). */
  pullBack(g: WorldGaussians): void {
    const R = this.R;
    const q = new Float64Array(4);
    rotmatToQuat(R, q);
    const [pw, px, py, pz] = [q[0]!, q[1]!, q[2]!, q[3]!];
    const n = g.means.length / 3;
    for (let i = 0; i < n; i++) {
      const x = g.means[i * 3]!, y = g.means[i * 3 + 1]!, z = g.means[i * 3 + 2]!;
      for (let c = 0; c < 3; c++) g.means[i * 3 + c] = R[c]! * x + R[3 + c]! * y + R[6 + c]! * z;
      const gw = g.quats[i * 4]!,
        gx = g.quats[i * 4 + 1]!,
        gy = g.quats[i * 4 + 2]!,
        gz = g.quats[i * 4 + 3]!;
      g.quats[i * 4] = pw * gw + px * gx + py * gy + pz * gz;
      g.quats[i * 4 + 1] = -px * gw + pw * gx + pz * gy - py * gz;
      g.quats[i * 4 + 2] = -py * gw - pz * gx + pw * gy + px * gz;
      g.quats[i * 4 + 3] = -pz * gw + py * gx - px * gy + pw * gz;
    }
  }

  /** State as 25 numbers (R 9, t 3, Adam m 6, v 6, step 1), for checkpoints. */
  toArray(): Float64Array {
    const a = new Float64Array(25);
    a.set(this.R, 0), a.set(this.t, 9), a.set(this.#m, 12), a.set(this.#v, 18);
    a[24] = this.#step;
    return a;
  }

  static fromArray(a: ArrayLike<number>): PoseCorrection {
    const p = new PoseCorrection();
    p.R = Float64Array.from({ length: 9 }, (_, i) => a[i]!);
    p.t = Float64Array.from({ length: 3 }, (_, i) => a[9 + i]!);
    p.#m = Float64Array.from({ length: 6 }, (_, i) => a[12 + i]!);
    p.#v = Float64Array.from({ length: 6 }, (_, i) => a[18 + i]!);
    p.#step = a[24]!;
    return p;
  }

  /**
   * Gradient of the loss w.r.t. (ω, δ) at zero, from the corrected world arrays `w`
   * (as rendered) and their gradients `g`.
   */
  static gradient(w: WorldGaussians, g: WorldGaussians): Float64Array {
    const out = new Float64Array(6);
    const n = w.means.length / 3;
    for (let i = 0; i < n; i++) {
      const x = w.means[i * 3]!, y = w.means[i * 3 + 1]!, z = w.means[i * 3 + 2]!;
      const gx = g.means[i * 3]!, gy = g.means[i * 3 + 1]!, gz = g.means[i * 3 + 2]!;
      out[0]! += y * gz - z * gy;
      out[1]! += z * gx - x * gz;
      out[2]! += x * gy - y * gx;
      out[3]! += gx, out[4]! += gy, out[5]! += gz;
      // ½ (0, e_k) ⊗ q · g_q for k = x, y, z.
      const qw = w.quats[i * 4]!,
        qx = w.quats[i * 4 + 1]!,
        qy = w.quats[i * 4 + 2]!,
        qz = w.quats[i * 4 + 3]!;
      const hw = g.quats[i * 4]!,
        hx = g.quats[i * 4 + 1]!,
        hy = g.quats[i * 4 + 2]!,
        hz = g.quats[i * 4 + 3]!;
      // (0,1,0,0)⊗q = (−qx, qw, −qz, qy); (0,0,1,0)⊗q = (−qy, qz, qw, −qx); (0,0,0,1)⊗q = (−qz, −qy, qx, qw)
      out[0]! += 0.5 * (-qx * hw + qw * hx - qz * hy + qy * hz);
      out[1]! += 0.5 * (-qy * hw + qz * hx + qw * hy - qx * hz);
      out[2]! += 0.5 * (-qz * hw - qy * hx + qx * hy + qw * hz);
    }
    return out;
  }

  /** One Adam step on (ω, δ) with learning rates (rad, cm), composed into (R, t). */
  step(grad: Float64Array, lrRot: number, lrTrans: number): void {
    this.#step++;
    const b1 = 0.9, b2 = 0.999, eps = 1e-12;
    const bc1 = 1 - b1 ** this.#step, bc2 = 1 - b2 ** this.#step;
    const d = new Float64Array(6);
    for (let k = 0; k < 6; k++) {
      this.#m[k] = b1 * this.#m[k]! + (1 - b1) * grad[k]!;
      this.#v[k] = b2 * this.#v[k]! + (1 - b2) * grad[k]! ** 2;
      const lr = k < 3 ? lrRot : lrTrans;
      d[k] = (-lr * (this.#m[k]! / bc1)) / (Math.sqrt(this.#v[k]! / bc2) + eps);
    }
    const angle = Math.hypot(d[0]!, d[1]!, d[2]!);
    const s = angle > 0 ? Math.sin(angle / 2) / angle : 0.5;
    const dR = quatToMatrix(Math.cos(angle / 2), d[0]! * s, d[1]! * s, d[2]! * s);
    const R = new Float64Array(9), t = new Float64Array(3);
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) {
        R[r * 3 + c] = dR[r * 3]! * this.R[c]! + dR[r * 3 + 1]! * this.R[3 + c]! +
          dR[r * 3 + 2]! * this.R[6 + c]!;
      }
      t[r] = dR[r * 3]! * this.t[0]! + dR[r * 3 + 1]! * this.t[1]! + dR[r * 3 + 2]! * this.t[2]! +
        d[3 + r]!;
    }
    this.R = R;
    this.t = t;
  }
}
