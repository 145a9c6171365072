import assert from "node:assert/strict";
import {
  conicBackward,
  conicFromCov2d,
  covariance3d,
  covariance3dBackward,
  projectCovariance,
  projectCovarianceBackward,
  radiusFromCov2d,
  shBasis,
  shBasisGrad,
  tileRect,
  viewParams,
} from "./_math.ts";

const close = (a: number, b: number, tol = 1e-9) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

Deno.test("covariance3d() gives diag(s²) rotated by the quaternion, normalising it", () => {
  const out = new Float64Array(6), m = new Float64Array(9);
  const [s0, s1, s2] = [0.5, 2, 0.1];
  // 90° about z, scaled by 3 (not unit): x axis → y axis.
  const h = 3 * Math.SQRT1_2;
  covariance3d([h, 0, 0, h], 0, [Math.log(s0), Math.log(s1), Math.log(s2)], 0, out, 0, m);
  const want = [s1 * s1, 0, 0, s0 * s0, 0, s2 * s2];
  want.forEach((w, i) => close(out[i]!, w, 1e-12));
  // Identity quaternion.
  covariance3d([1, 0, 0, 0], 0, [0, Math.log(2), 0], 0, out, 0, m);
  [1, 0, 0, 4, 0, 1].forEach((w, i) => close(out[i]!, w, 1e-12));
  // 60° about x: Σ_yz block = R diag(s1², s2²) Rᵀ.
  const a = Math.PI / 3;
  covariance3d(
    [Math.cos(a / 2), Math.sin(a / 2), 0, 0],
    0,
    [0, Math.log(s1), Math.log(s2)],
    0,
    out,
    0,
    m,
  );
  const c = Math.cos(a), s = Math.sin(a);
  close(out[3]!, c * c * s1 * s1 + s * s * s2 * s2, 1e-12);
  close(out[4]!, c * s * (s1 * s1 - s2 * s2), 1e-12);
  close(out[5]!, s * s * s1 * s1 + c * c * s2 * s2, 1e-12);
});

Deno.test("projectCovariance() matches J·Σ·Jᵀ + 0.3 and clamps x/z at 1.3·tan(half FOV)", () => {
  const f = 100, W = 64, H = 48;
  const v = viewParams({
    kind: "pinhole",
    width: W,
    height: H,
    fx: f,
    fy: f,
    cx: 32,
    cy: 24,
    R: [1, 0, 0, 0, 1, 0, 0, 0, 1],
    t: [0, 0, 0],
  });
  const cov = new Float64Array([0.01, 0, 0, 0.04, 0, 0.09]);
  const out = new Float64Array(3);
  const z = 2, x = 0.3; // x/z = 0.15 < 1.3·0.32
  projectCovariance(v, x, 0, z, cov, 0, out, 0);
  close(
    out[0]!,
    (f * f * 0.01) / (z * z) + (f * f * x * x * 0.09) / z ** 4 + 0.3,
  );
  close(out[1]!, 0);
  close(out[2]!, (f * f * 0.04) / (z * z) + 0.3);
  // Far off axis: x/z = 1.5 > lim = 1.3·32/100 = 0.416 → uses lim·z.
  const lim = 1.3 * 0.5 * W / f;
  projectCovariance(v, 3, 0, z, cov, 0, out, 0);
  close(
    out[0]!,
    (f * f * 0.01) / (z * z) + (f * f * (lim * z) ** 2 * 0.09) / z ** 4 + 0.3,
  );
  // Ortho: constant J = scale.
  const vo = viewParams({
    kind: "ortho",
    width: W,
    height: H,
    scale: 10,
    cx: 32,
    cy: 24,
    R: [1, 0, 0, 0, 1, 0, 0, 0, 1],
    t: [0, 0, 0],
  });
  projectCovariance(vo, 5, 5, -3, cov, 0, out, 0);
  close(out[0]!, 100 * 0.01 + 0.3);
  close(out[2]!, 100 * 0.04 + 0.3);
});

Deno.test("conicFromCov2d() inverts, radiusFromCov2d() is ceil(3·sqrt(λmax)), tileRect() clamps", () => {
  const out = new Float64Array(3);
  assert.ok(conicFromCov2d(4, 1, 2, out, 0));
  const det = 4 * 2 - 1;
  close(out[0]!, 2 / det), close(out[1]!, -1 / det), close(out[2]!, 4 / det);
  assert.equal(conicFromCov2d(1, 1, 1, out, 0), false);
  assert.equal(radiusFromCov2d(4, 0, 1), 6); // λ = 4 → 3·2
  assert.equal(radiusFromCov2d(4.01, 0, 1), 7);
  const r = new Int32Array(4);
  // x, y ∈ [15, 25] → tiles [0, 2) on both axes (getRect: floor((p − r)/16), floor((p + r + 15)/16)).
  assert.equal(tileRect(20, 20, 5, 4, 4, r, 0), 4);
  assert.deepEqual([...r], [0, 0, 2, 2]);
  assert.equal(tileRect(40, 8, 3, 4, 4, r, 0), 1);
  assert.deepEqual([...r], [2, 0, 3, 1]);
  assert.equal(tileRect(-100, 10, 5, 4, 4, r, 0), 0);
  assert.equal(tileRect(1000, 10, 5, 4, 4, r, 0), 0);
});

/** Central finite difference of a scalar function of one array entry. */
function fd(arr: Float64Array, i: number, f: () => number, eps = 1e-6): number {
  const v = arr[i]!;
  arr[i] = v + eps;
  const p = f();
  arr[i] = v - eps;
  const m = f();
  arr[i] = v;
  return (p - m) / (2 * eps);
}

Deno.test("covariance3dBackward(), projectCovarianceBackward(), conicBackward() match finite differences", () => {
  const q = new Float64Array([0.7, -0.3, 0.5, 0.2]),
    ls = new Float64Array([-1, -0.5, -2]);
  const w6 = [0.3, -1.2, 0.7, 0.4, 2.1, -0.6];
  const m = new Float64Array(9), cov = new Float64Array(6);
  const L = () => {
    covariance3d(q, 0, ls, 0, cov, 0, m);
    return cov.reduce((s, c, i) => s + c * w6[i]!, 0);
  };
  const dq = new Float64Array(4), dls = new Float64Array(3);
  covariance3dBackward(
    q,
    0,
    ls,
    0,
    Float64Array.from(w6),
    dq,
    0,
    dls,
    0,
    new Float64Array(18),
  );
  for (let i = 0; i < 4; i++) close(dq[i]!, fd(q, i, L), 1e-6);
  for (let i = 0; i < 3; i++) close(dls[i]!, fd(ls, i, L), 1e-6);

  for (const [tx, clampCase] of [[0.3, false], [4, true]] as const) {
    const R = [0.8, 0, 0.6, 0, 1, 0, -0.6, 0, 0.8];
    const v = viewParams({
      kind: "pinhole",
      width: 64,
      height: 48,
      fx: 90,
      fy: 80,
      cx: 30,
      cy: 25,
      R,
      t: [0, 0, 0],
    });
    const t = new Float64Array([tx, -0.2, 2.5]),
      c3 = new Float64Array([0.02, 0.003, -0.004, 0.05, 0.01, 0.03]);
    const w3 = [0.7, -0.4, 1.1], out = new Float64Array(3);
    const L2 = () => {
      projectCovariance(v, t[0]!, t[1]!, t[2]!, c3, 0, out, 0);
      return out[0]! * w3[0]! + out[1]! * w3[1]! + out[2]! * w3[2]!;
    };
    const dC = new Float64Array(6), dT = new Float64Array(3);
    projectCovarianceBackward(
      v,
      t[0]!,
      t[1]!,
      t[2]!,
      c3,
      0,
      w3[0]!,
      w3[1]!,
      w3[2]!,
      dC,
      dT,
    );
    for (let i = 0; i < 3; i++) close(dT[i]!, fd(t, i, L2), 1e-5);
    for (let i = 0; i < 6; i++) close(dC[i]!, fd(c3, i, L2), 1e-5);
    assert.equal(
      clampCase ? dT[0] : 1,
      clampCase ? 0 : 1,
      "x gradient through the clamp is zero",
    );
  }

  const c2 = new Float64Array([3, 0.7, 2]),
    out = new Float64Array(3),
    w = [0.5, -1.5, 2];
  const L3 =
    () => (conicFromCov2d(c2[0]!, c2[1]!, c2[2]!, out, 0),
      out[0]! * w[0]! + out[1]! * w[1]! + out[2]! * w[2]!);
  const d = new Float64Array(3);
  conicBackward(c2[0]!, c2[1]!, c2[2]!, w[0]!, w[1]!, w[2]!, d);
  for (let i = 0; i < 3; i++) close(d[i]!, fd(c2, i, L3), 1e-6);
});

Deno.test("shBasis() has the reference constants and shBasisGrad() is its derivative", () => {
  const b = new Float64Array(16);
  shBasis(0, 0, 0, 1, b);
  assert.equal(b[0], 0.28209479177387814);
  shBasis(3, 0, 0, 1, b);
  close(b[2]!, 0.4886025119029199);
  close(b[6]!, 2 * 0.31539156525252005);
  close(b[12]!, 2 * 0.3731763325901154);
  const dir = new Float64Array([0.3, -0.5, 0.7]);
  const g = new Float64Array(48);
  shBasisGrad(3, dir[0]!, dir[1]!, dir[2]!, g);
  for (let k = 1; k < 16; k++) {
    for (let a = 0; a < 3; a++) {
      const f = () => (shBasis(3, dir[0]!, dir[1]!, dir[2]!, b), b[k]!);
      close(g[k * 3 + a]!, fd(dir, a, f), 1e-7);
    }
  }
});
