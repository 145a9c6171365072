import assert from "node:assert/strict";
import { loadCanonicalMesh } from "./canonical_mesh.ts";
import {
  eulerFromRotation,
  fitPoseRobust,
  fitSimilarity,
  type HeadPose,
  rotationFromEuler,
} from "./pose.ts";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function transform(src: Float32Array, R: Float64Array, s: number, T: number[]): Float64Array {
  const out = new Float64Array(src.length);
  for (let i = 0; i < src.length / 3; i++) {
    for (let a = 0; a < 3; a++) {
      out[i * 3 + a] = s *
          (R[a * 3]! * src[i * 3]! + R[a * 3 + 1]! * src[i * 3 + 1]! +
            R[a * 3 + 2]! * src[i * 3 + 2]!) + T[a]!;
    }
  }
  return out;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

Deno.test("fitSimilarity() recovers a known rotation, scale and translation", async () => {
  const { vertices } = await loadCanonicalMesh();
  const r = rng(1);
  for (let trial = 0; trial < 5; trial++) {
    const yaw = (r() - 0.5) * 1.6, pitch = (r() - 0.5) * 1.0, roll = (r() - 0.5) * 0.8;
    const R = rotationFromEuler(yaw, pitch, roll);
    const s = 3 + r() * 20;
    const T = [r() * 500, r() * 400, r() * 50];
    const dst = transform(vertices, R, s, T);
    const pose = fitSimilarity(vertices, dst, new Float64Array(468).fill(1));
    assert.ok(maxDiff(pose.rotation, R) < 1e-6, "rotation");
    assert.ok(Math.abs(pose.scale - s) < 1e-6 * s, "scale");
    assert.ok(maxDiff(pose.translation, T) < 1e-4, "translation");
    const e = eulerFromRotation(pose.rotation);
    assert.ok(
      Math.abs(e.yaw - yaw) < 1e-6 && Math.abs(e.pitch - pitch) < 1e-6 &&
        Math.abs(e.roll - roll) < 1e-6,
    );
  }
});

Deno.test("fitPoseRobust() ignores displaced landmarks that pull the plain fit", async () => {
  const { vertices, procrustesWeights } = await loadCanonicalMesh();
  const R = rotationFromEuler(0.3, -0.1, 0.05);
  const dst = transform(vertices, R, 8, [200, 150, 0]);
  // Displace 5 of the rigid-region landmarks by 40 px (an occluder).
  let k = 0;
  for (let i = 0; i < 468 && k < 5; i++) {
    if (procrustesWeights[i]! > 0) {
      dst[i * 3]! += 40;
      dst[i * 3 + 1]! += 25;
      k++;
    }
  }
  const plain: HeadPose = fitSimilarity(vertices, dst, procrustesWeights);
  const robust = fitPoseRobust(vertices, dst, procrustesWeights);
  const errPlain = maxDiff(plain.rotation, R), errRobust = maxDiff(robust.rotation, R);
  assert.ok(errRobust < 0.01, `robust rotation error ${errRobust}`);
  assert.ok(errRobust < errPlain / 5, `robust ${errRobust} vs plain ${errPlain}`);
  assert.ok(Math.abs(robust.translation[0]! - 200) < 1.5);
});

Deno.test("eulerFromRotation() gives the frontal pose zero angles and flips yaw for a mirrored face", async () => {
  const front = eulerFromRotation([1, 0, 0, 0, -1, 0, 0, 0, -1]);
  assert.ok(
    Math.abs(front.yaw) < 1e-12 && Math.abs(front.pitch) < 1e-12 && Math.abs(front.roll) < 1e-12,
  );
  // Yaw > 0 moves the nose tip (canonical +z) towards image right.
  const R = rotationFromEuler(0.4, 0, 0);
  assert.ok(R[2]! > 0, "nose goes to +x in the image");
  // Mirror the image of a turned face, refit: yaw and roll change sign.
  const { vertices, procrustesWeights } = await loadCanonicalMesh();
  const dst = transform(vertices, rotationFromEuler(0.4, 0.1, 0.2), 7, [0, 0, 0]);
  const mirrored = new Float64Array(dst.length);
  // Mirroring swaps the subject's left and right landmarks; emulate with a
  // symmetric point set: mirror x and pair each vertex with its mirror partner.
  const partner = new Int32Array(468);
  for (let i = 0; i < 468; i++) {
    let best = 0, bd = Infinity;
    for (let j = 0; j < 468; j++) {
      const d = (vertices[i * 3]! + vertices[j * 3]!) ** 2 +
        (vertices[i * 3 + 1]! - vertices[j * 3 + 1]!) ** 2 +
        (vertices[i * 3 + 2]! - vertices[j * 3 + 2]!) ** 2;
      if (d < bd) [best, bd] = [j, d];
    }
    partner[i] = best;
  }
  for (let i = 0; i < 468; i++) {
    const j = partner[i]!;
    mirrored[i * 3] = -dst[j * 3]!;
    mirrored[i * 3 + 1] = dst[j * 3 + 1]!;
    mirrored[i * 3 + 2] = dst[j * 3 + 2]!;
  }
  const e = eulerFromRotation(fitPoseRobust(vertices, mirrored, procrustesWeights).rotation);
  assert.ok(Math.abs(e.yaw + 0.4) < 0.01, `mirrored yaw ${e.yaw}`);
  assert.ok(Math.abs(e.pitch - 0.1) < 0.01, `mirrored pitch ${e.pitch}`);
  assert.ok(Math.abs(e.roll + 0.2) < 0.01, `mirrored roll ${e.roll}`);
});
