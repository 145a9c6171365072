/**
 * Posing and rendering a speaker model: the deformed mesh (canonical + expression)
 * gives the triangle frames, the jaw fit gives the jaw frame, the binding gives
 * world-space Gaussians, the tracked pose gives the orthographic camera.
 *
 * @module
 */
import { type CanonicalMesh, loadCanonicalMesh } from "../track/canonical_mesh.ts";
import type { GaussianScene, SplatBackend } from "../splat/types.ts";
import { allocFrames, type BindingFrames, bindToWorld, computeFrames } from "./binding.ts";
import { type CropBox, poseToCamera } from "./camera.ts";
import { fitJaw } from "./inner_mouth.ts";
import type { SpeakerModel } from "./model.ts";
import { modelColors } from "./color_source.ts";

/** What drives one rendered frame (CONTRACTS §1). */
export interface HeadFrame {
  expression: Float32Array; // [468 * 3] canonical-space offsets in cm (identity + expression)
  articulation: Float32Array; // [8] articulation channels (colour MLP condition, jaw code)
  rotation: Float32Array; // [9] row-major R (track convention: p = s·R·X + T)
  translation: Float32Array; // [3] T in pixels
  scale: number; // s, pixels per canonical cm
}

let meshPromise: Promise<CanonicalMesh> | undefined;
/** The canonical mesh, loaded once per process. */
export function canonicalMesh(): Promise<CanonicalMesh> {
  meshPromise ??= loadCanonicalMesh();
  return meshPromise;
}

/** Canonical vertices + offsets ([468, 3] cm). */
export function deformedVertices(mesh: CanonicalMesh, offsets: ArrayLike<number>): Float64Array {
  const v = new Float64Array(mesh.vertices.length);
  for (let i = 0; i < v.length; i++) v[i] = mesh.vertices[i]! + offsets[i]!;
  return v;
}

/** Binding frames of one video frame: triangles from the deformed mesh, jaw from the fit. */
export function framesFor(
  mesh: CanonicalMesh,
  neutral: ArrayLike<number>, // [468 * 3] neutral offsets
  expression: ArrayLike<number>, // [468 * 3] this frame's offsets
  out: BindingFrames = allocFrames(),
): BindingFrames {
  const verts = deformedVertices(mesh, expression);
  const jaw = fitJaw(deformedVertices(mesh, neutral), verts);
  return computeFrames(verts, mesh.triangles, jaw, out);
}

/** The posed model as a splatter scene (rgb colour mode, static colours unless given). */
export function poseModel(
  m: SpeakerModel,
  frames: BindingFrames,
  colors?: Float32Array, // [N, 3] e.g. from the colour MLP
): GaussianScene {
  const g = m.gaussians;
  const n = g.count;
  const scene: GaussianScene = {
    count: n,
    means: new Float32Array(n * 3),
    logScales: new Float32Array(n * 3),
    quats: new Float32Array(n * 4),
    opacityLogits: Float32Array.from(g.opacityLogit),
    shDegree: 0,
    colorMode: "rgb",
    colors: colors ?? Float32Array.from(g.color),
  };
  bindToWorld(g, frames, scene);
  return scene;
}

/**
 * Renders the posed head into a full frame (or the crop box) of the footage's
 * geometry on a black background (CONTRACTS §1). `alpha` is the coverage. A model
 * with a colour MLP (`color_mlp.*` in `extra`) is coloured by it unless
 * `opts.color` is "static".
 */
export async function renderHead(
  backend: SplatBackend,
  m: SpeakerModel,
  f: HeadFrame,
  target: { width: number; height: number; crop?: CropBox },
  opts: { color?: "auto" | "static" } = {},
): Promise<{ rgb: Float32Array; alpha: Float32Array }> {
  const mesh = await canonicalMesh();
  const frames = framesFor(mesh, m.neutral, f.expression);
  const scene = poseModel(m, frames);
  const camera = poseToCamera(f.rotation, f.translation, f.scale, target);
  // Colours: the model's colour MLP for this frame when it has one ("auto"), else static.
  const colors = opts.color === "static"
    ? {}
    : await modelColors(backend, m, scene, frames, f.articulation, camera);
  const out = await backend.render(scene, camera, { background: [0, 0, 0], ...colors });
  return { rgb: out.rgb, alpha: out.alpha };
}
