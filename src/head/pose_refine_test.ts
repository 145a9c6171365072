import assert from "node:assert/strict";
import { seededRandom } from "../splat/scene.ts";
import { PoseCorrection } from "./pose_refine.ts";

/** A loss of corrected world arrays: linear in means, quadratic in quaternions. */
function setup() {
  const r = seededRandom(4);
  const n = 12;
  const w = {
    means: Float64Array.from({ length: n * 3 }, () => (r() - 0.5) * 10),
    logScales: new Float64Array(n * 3),
    quats: Float64Array.from({ length: n * 4 }, () => r() - 0.5),
  };
  const a = Float64Array.from({ length: n * 3 }, () => r() - 0.5);
  const c = Float64Array.from({ length: n * 4 }, () => r() - 0.5);
  const loss = (p: PoseCorrection) => {
    const x = { means: w.means.slice(), logScales: w.logScales, quats: w.quats.slice() };
    p.apply(x);
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i]! * x.means[i]!;
    for (let i = 0; i < c.length; i++) s += c[i]! * x.quats[i]! ** 2;
    return { s, x };
  };
  return { w, a, c, loss };
}

Deno.test("PoseCorrection.gradient() matches central differences of a small rigid correction", () => {
  const { a, c, loss } = setup();
  const base = new PoseCorrection();
  base.R = Float64Array.from(
    [0.98, -0.2, 0, 0.2, 0.98, 0, 0, 0, 1].map((v, i) =>
      i < 2 || (i > 2 && i < 5) ? v / Math.hypot(0.98, 0.2) : v
    ),
  );
  base.t = Float64Array.from([0.3, -0.1, 0.2]);
  const { x } = loss(base);
  const g = {
    means: a,
    logScales: new Float64Array(0),
    quats: Float64Array.from(c, (ci, i) => 2 * ci * x.quats[i]!),
  };
  const grad = PoseCorrection.gradient(x, g);
  const h = 1e-6;
  for (let k = 0; k < 6; k++) {
    const eval1 = (e: number) => {
      const p = PoseCorrection.fromArray(base.toArray());
      // Apply exp([ω]×) / δ exactly as step() composes them.
      const d = new Float64Array(6);
      d[k] = e;
      const ang = Math.hypot(d[0]!, d[1]!, d[2]!);
      const s = ang > 0 ? Math.sin(ang / 2) / ang : 0.5;
      const qw = Math.cos(ang / 2), qx = d[0]! * s, qy = d[1]! * s, qz = d[2]! * s;
      const dR = [
        1 - 2 * (qy * qy + qz * qz),
        2 * (qx * qy - qw * qz),
        2 * (qx * qz + qw * qy),
        2 * (qx * qy + qw * qz),
        1 - 2 * (qx * qx + qz * qz),
        2 * (qy * qz - qw * qx),
        2 * (qx * qz - qw * qy),
        2 * (qy * qz + qw * qx),
        1 - 2 * (qx * qx + qy * qy),
      ];
      const R = new Float64Array(9), t = new Float64Array(3);
      for (let r = 0; r < 3; r++) {
        for (let cc = 0; cc < 3; cc++) {
          R[r * 3 + cc] = dR[r * 3]! * p.R[cc]! + dR[r * 3 + 1]! * p.R[3 + cc]! +
            dR[r * 3 + 2]! * p.R[6 + cc]!;
        }
        t[r] = dR[r * 3]! * p.t[0]! + dR[r * 3 + 1]! * p.t[1]! + dR[r * 3 + 2]! * p.t[2]! +
          d[3 + r]!;
      }
      p.R = R, p.t = t;
      return loss(p).s;
    };
    const fd = (eval1(h) - eval1(-h)) / (2 * h);
    assert.ok(
      Math.abs(fd - grad[k]!) < 1e-5 * Math.max(1, Math.abs(fd)),
      `${k}: fd ${fd} vs ${grad[k]}`,
    );
  }
});

Deno.test("PoseCorrection.pullBack() turns corrected-space gradients into uncorrected-space ones", () => {
  const { w, a, c, loss } = setup();
  const p = new PoseCorrection();
  p.step(Float64Array.from([0.3, -0.2, 0.1, 1, 2, -1]), 0.05, 0.1);
  const { x } = loss(p);
  const g = {
    means: a.slice(),
    logScales: new Float64Array(0),
    quats: Float64Array.from(c, (ci, i) => 2 * ci * x.quats[i]!),
  };
  p.pullBack(g);
  const h = 1e-6;
  for (
    const [name, arr, grad] of [["means", w.means, g.means], ["quats", w.quats, g.quats]] as const
  ) {
    for (let i = 0; i < arr.length; i++) {
      const x0 = arr[i]!;
      arr[i] = x0 + h;
      const lp = loss(p).s;
      arr[i] = x0 - h;
      const lm = loss(p).s;
      arr[i] = x0;
      const fd = (lp - lm) / (2 * h);
      assert.ok(Math.abs(fd - grad[i]!) < 1e-5 * Math.max(1, Math.abs(fd)), `${name}[${i}]`);
    }
  }
});
