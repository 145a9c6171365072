import assert from "node:assert/strict";
import { loadCanonicalMesh } from "../track/canonical_mesh.ts";
import {
  bindBackward,
  bindToWorld,
  type BoundGaussians,
  computeFrames,
  FRAME_COUNT,
  JAW_FRAME,
  rigidFit,
} from "./binding.ts";
import { seededRandom } from "../splat/scene.ts";
import { quatToMatrix } from "../track/pose.ts";

const mesh = await loadCanonicalMesh();
const I3 = { R: [1, 0, 0, 0, 1, 0, 0, 0, 1], t: [0, 0, 0] };

function randomBound(n: number, seed: number): BoundGaussians {
  const r = seededRandom(seed);
  const g: BoundGaussians = {
    count: n,
    frame: new Int32Array(n),
    offset: new Float32Array(n * 3),
    logScale: new Float32Array(n * 3),
    quat: new Float32Array(n * 4),
    opacityLogit: new Float32Array(n),
    color: new Float32Array(n * 3),
  };
  for (let i = 0; i < n; i++) {
    g.frame[i] = i === n - 1 ? JAW_FRAME : Math.floor(r() * FRAME_COUNT);
    for (let c = 0; c < 3; c++) g.offset[i * 3 + c] = r() - 0.5, g.logScale[i * 3 + c] = -2 + r();
    for (let c = 0; c < 4; c++) g.quat[i * 4 + c] = r() - 0.5;
  }
  return g;
}

function world(n: number) {
  return {
    means: new Float64Array(n * 3),
    logScales: new Float64Array(n * 3),
    quats: new Float64Array(n * 4),
  };
}

/** Rotation matrix of a (normalised) quaternion stored at q[o…]. */
function rotOf(q: ArrayLike<number>, o: number): Float64Array {
  const n = Math.hypot(q[o]!, q[o + 1]!, q[o + 2]!, q[o + 3]!);
  return quatToMatrix(q[o]! / n, q[o + 1]! / n, q[o + 2]! / n, q[o + 3]! / n);
}

function mul3(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const o: number[] = [];
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      o.push(a[r * 3]! * b[c]! + a[r * 3 + 1]! * b[3 + c]! + a[r * 3 + 2]! * b[6 + c]!);
    }
  }
  return o;
}

Deno.test("bindToWorld() carries Gaussians exactly with a rigidly moved and a uniformly stretched mesh", () => {
  const g = randomBound(300, 1);
  const v = Float64Array.from(mesh.vertices);
  const base = world(g.count);
  bindToWorld(g, computeFrames(v, mesh.triangles, I3), base);
  // A rigid motion M = (R0, t0) with a stretch c about the origin: x → c·R0·x + t0.
  const R0 = quatToMatrix(0.9, 0.2, -0.3, 0.25 / 1), t0 = [3, -2, 5];
  const qn = Math.hypot(0.9, 0.2, -0.3, 0.25);
  const Rn = quatToMatrix(0.9 / qn, 0.2 / qn, -0.3 / qn, 0.25 / qn);
  void R0;
  for (const c of [1, 1.7]) {
    const moved = new Float64Array(v.length);
    for (let i = 0; i < 468; i++) {
      for (let r = 0; r < 3; r++) {
        moved[i * 3 + r] = c *
            (Rn[r * 3]! * v[i * 3]! + Rn[r * 3 + 1]! * v[i * 3 + 1]! +
              Rn[r * 3 + 2]! * v[i * 3 + 2]!) +
          t0[r]!;
      }
    }
    // The jaw frame follows the same rigid motion (its Gaussians carry no stretch).
    const w = world(g.count);
    bindToWorld(g, computeFrames(moved, mesh.triangles, { R: Rn, t: t0 }), w);
    for (let i = 0; i < g.count; i++) {
      const rigid = g.frame[i] === JAW_FRAME;
      const cc = rigid ? 1 : c;
      for (let r = 0; r < 3; r++) {
        const want =
          cc * (Rn[r * 3]! * base.means[i * 3]! + Rn[r * 3 + 1]! * base.means[i * 3 + 1]! +
              Rn[r * 3 + 2]! * base.means[i * 3 + 2]!) + t0[r]!;
        assert.ok(Math.abs(w.means[i * 3 + r]! - want) < 1e-9, `mean ${i}.${r}`);
        assert.ok(
          Math.abs(w.logScales[i * 3 + r]! - base.logScales[i * 3 + r]! - Math.log(cc)) < 1e-9,
          `scale ${i}.${r}`,
        );
      }
      const want = mul3(Rn, rotOf(base.quats, i * 4));
      const got = rotOf(w.quats, i * 4);
      for (let k = 0; k < 9; k++) assert.ok(Math.abs(got[k]! - want[k]!) < 1e-9, `rot ${i}.${k}`);
    }
  }
});

Deno.test("bindBackward() matches central differences through the binding", () => {
  const g = randomBound(40, 2);
  const r = seededRandom(3);
  // A deformed mesh (random expression offsets) and a non-trivial jaw.
  const v = Float64Array.from(mesh.vertices, (x) => x + (r() - 0.5) * 0.2);
  const frames = computeFrames(v, mesh.triangles, {
    R: rotOf([0.98, 0.1, 0.05, 0], 0),
    t: [0, -0.3, 0.1],
  });
  // Loss: linear in means and log-scales, quadratic in the quaternion components.
  const a = Float64Array.from({ length: g.count * 3 }, () => r() - 0.5);
  const b = Float64Array.from({ length: g.count * 3 }, () => r() - 0.5);
  const c = Float64Array.from({ length: g.count * 4 }, () => r() - 0.5);
  const loss = (gg: BoundGaussians) => {
    const w = world(gg.count);
    bindToWorld(gg, frames, w);
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i]! * w.means[i]! + b[i]! * w.logScales[i]!;
    for (let i = 0; i < c.length; i++) s += c[i]! * w.quats[i]! ** 2;
    return s;
  };
  const w = world(g.count);
  bindToWorld(g, frames, w);
  const dq = Float64Array.from(c, (ci, i) => 2 * ci * w.quats[i]!);
  const grads = {
    offset: new Float64Array(g.count * 3),
    logScale: new Float64Array(g.count * 3),
    quat: new Float64Array(g.count * 4),
  };
  bindBackward(g, frames, { means: a, logScales: b, quats: dq }, grads);
  // Float32 parameters: step 1e-3, central differences; the loss is at most quadratic, so the
  // error is float32 rounding of the parameters (~1e-7 relative) → tolerance 1e-3 relative.
  const h = 1e-3;
  for (
    const [name, arr, grad] of [
      ["offset", g.offset, grads.offset],
      ["logScale", g.logScale, grads.logScale],
      ["quat", g.quat, grads.quat],
    ] as const
  ) {
    for (let i = 0; i < arr.length; i++) {
      const x0 = arr[i]!;
      arr[i] = x0 + h;
      const hp = arr[i]! - x0;
      const lp = loss(g);
      arr[i] = x0 - h;
      const hm = x0 - arr[i]!;
      const lm = loss(g);
      arr[i] = x0;
      const fd = (lp - lm) / (hp + hm);
      assert.ok(
        Math.abs(fd - grad[i]!) <= 1e-3 * Math.max(1, Math.abs(fd)),
        `${name}[${i}]: fd ${fd} vs analytic ${grad[i]}`,
      );
    }
  }
});

Deno.test("rigidFit() recovers a rigid jaw motion", () => {
  const v = Float64Array.from(mesh.vertices);
  const R = rotOf([0.97, 0.24, 0, 0.02], 0), t = [0.1, -0.8, 0.2];
  const moved = new Float64Array(v.length);
  for (let i = 0; i < 468; i++) {
    for (let r = 0; r < 3; r++) {
      moved[i * 3 + r] = R[r * 3]! * v[i * 3]! + R[r * 3 + 1]! * v[i * 3 + 1]! +
        R[r * 3 + 2]! * v[i * 3 + 2]! + t[r]!;
    }
  }
  const fit = rigidFit(v, moved, [152, 148, 176, 17, 84, 314, 400, 377]);
  for (let k = 0; k < 9; k++) assert.ok(Math.abs(fit.R[k]! - R[k]!) < 1e-9);
  for (let k = 0; k < 3; k++) assert.ok(Math.abs(fit.t[k]! - t[k]!) < 1e-9);
});
