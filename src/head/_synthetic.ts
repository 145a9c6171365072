/**
 * Synthetic test helpers for `src/head/`: a small model on the canonical mesh and a
 * frontal pose (no footage needed).
 *
 * @module
 */
import { loadCanonicalMesh } from "../track/canonical_mesh.ts";
import {
  buildInnerMouth,
  LOWER_INNER_LIP,
  mouthTriangles,
  UPPER_INNER_LIP,
} from "./inner_mouth.ts";
import type { BoundGaussians } from "./binding.ts";
import { concatBound } from "./adapt.ts";
import type { SpeakerModel } from "./model.ts";
import type { HeadFrame } from "./render.ts";
import { seededRandom } from "../splat/scene.ts";

const mesh = await loadCanonicalMesh();

/** A small model: 2 Gaussians per triangle with seeded colours, plus the inner mouth. */
export function tinyModel(seed = 1): SpeakerModel {
  const r = seededRandom(seed);
  const mouth = mouthTriangles(mesh.triangles);
  const tris = Array.from({ length: 898 }, (_, f) => f).filter((f) => !mouth.has(f));
  const n = tris.length * 2;
  const skin: BoundGaussians = {
    count: n,
    frame: Int32Array.from({ length: n }, (_, i) => tris[i >> 1]!),
    offset: Float32Array.from({ length: n * 3 }, (_, i) => (i % 3 === 2 ? 0 : (r() - 0.5) * 0.3)),
    logScale: Float32Array.from({ length: n * 3 }, (_, i) => (i % 3 === 2 ? -2.5 : -1)),
    quat: Float32Array.from({ length: n * 4 }, (_, i) => (i % 4 === 0 ? 1 : 0)),
    opacityLogit: new Float32Array(n).fill(4),
    color: Float32Array.from({ length: n * 3 }, () => 0.3 + 0.5 * r()),
  };
  // The canonical mesh's mouth is slightly open (inner lips 0.55 cm apart): the model's
  // neutral closes it, like a tracked speaker's closed-mouth neutral.
  const neutral = sealedLips();
  const inner = buildInnerMouth(Float32Array.from(mesh.vertices, (x, i) => x + neutral[i]!));
  const part = new Uint8Array(n + inner.gaussians.count);
  part.set(inner.part, n);
  return {
    gaussians: concatBound(skin, inner.gaussians),
    part,
    neutral,
    extra: new Map(),
    info: { seed },
  };
}

/** A frontal pose: 10 px per cm, centred in a 200×220 frame. */
export function frontal(expression: Float32Array = new Float32Array(468 * 3)): HeadFrame {
  // Canonical y up, image y down: R = diag(1, −1, −1).
  return {
    expression,
    articulation: new Float32Array(8),
    rotation: Float32Array.from([1, 0, 0, 0, -1, 0, 0, 0, -1]),
    translation: Float32Array.from([100, 110, 0]),
    scale: 10,
  };
}

/** Expression offsets that close the canonical mesh's mouth (inner lips meet halfway). */
export function sealedLips(): Float32Array {
  const v = mesh.vertices;
  const off = new Float32Array(468 * 3);
  UPPER_INNER_LIP.forEach((u, k) => {
    const l = LOWER_INNER_LIP[k]!;
    if (u === l) return;
    for (let c = 0; c < 3; c++) {
      const mid = (v[u * 3 + c]! + v[l * 3 + c]!) / 2;
      off[u * 3 + c] = mid - v[u * 3 + c]!;
      off[l * 3 + c] = mid - v[l * 3 + c]!;
    }
  });
  return off;
}
