/**
 * Initialising the skin Gaussians, behind a small interface so that a learned
 * Expression-Visual prior can replace the footage sampler later.
 *
 * ## Contract of a {@link HeadInitializer}
 * Input: the speaker's views ({@link InitView}: a face crop at native resolution,
 * its orthographic camera, face mask and binding frames) and the number of skin
 * Gaussians to create. Output: {@link BoundGaussians} on the 898 triangle frames
 * (frames 0…897 only, none on the 18 triangles spanning the mouth opening — see
 * `mouthTriangles()`; the inner mouth is built separately), in the binding's local
 * units (see `binding.ts`).
 *
 * A future ONNX prior ("Expression-Visual", GGTalker) fits the same contract:
 * input `crop` float32 [1, 3, H, W] in [0, 1] (the reference view, face-aligned
 * crop), output `attributes` float32 [1, 898, K, 14] = per-triangle K Gaussians ×
 * (local offset 3, local log-scale 3, quaternion 4, opacity logit 1, RGB 3); the
 * adapter turns that into `BoundGaussians` with `frame[i] = triangle` and refines it
 * exactly as it refines the footage sampler's output.
 *
 * @module
 */
import type { OrthoCamera } from "../splat/types.ts";
import { normalSampler, seededRandom } from "../splat/scene.ts";
import { MESH_TRIANGLE_COUNT } from "../track/canonical_mesh.ts";
import type { BindingFrames, BoundGaussians } from "./binding.ts";
import type { CropBox } from "./camera.ts";
import { mouthTriangles } from "./inner_mouth.ts";

/** One view the initialiser may look at. */
export interface InitView {
  crop: CropBox;
  camera: OrthoCamera; // maps canonical cm to crop pixels
  rgb: Float32Array; // [h, w, 3] in [0, 1]
  mask: Float32Array; // [h, w] face mask
  frames: BindingFrames; // this view's binding frames
  vertices: Float64Array; // [468, 3] this view's deformed mesh (cm)
}

export interface InitRequest {
  views: readonly InitView[];
  /** Number of skin Gaussians to create (≥ 898). */
  count: number;
  seed: number;
  triangles: Uint32Array; // [898, 3] canonical mesh triangles
}

/** Produces the initial skin Gaussians. */
export interface HeadInitializer {
  readonly name: string;
  init(req: InitRequest): Promise<BoundGaussians>;
}

function median(a: number[]): number {
  a.sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
}

/** Bilinear sample of a [h, w, 3] image at continuous pixel coordinates (centres at +0.5). */
function sample(
  img: Float32Array,
  w: number,
  h: number,
  x: number,
  y: number,
  out: number[],
): boolean {
  const fx = x - 0.5, fy = y - 0.5;
  const x0 = Math.floor(fx), y0 = Math.floor(fy);
  if (x0 < 0 || y0 < 0 || x0 + 1 >= w || y0 + 1 >= h) return false;
  const ax = fx - x0, ay = fy - y0;
  for (let c = 0; c < 3; c++) {
    const p = (yy: number, xx: number) => img[(yy * w + xx) * 3 + c]!;
    out[c] = (p(y0, x0) * (1 - ax) + p(y0, x0 + 1) * ax) * (1 - ay) +
      (p(y0 + 1, x0) * (1 - ax) + p(y0 + 1, x0 + 1) * ax) * ay;
  }
  return true;
}

/** Camera-space normal z of frame f in a view: < 0 faces the camera. */
function facing(cam: OrthoCamera, frames: BindingFrames, f: number): number {
  const R = cam.R;
  const r = f * 9;
  const nx = frames.rot[r + 2]!, ny = frames.rot[r + 5]!, nz = frames.rot[r + 8]!;
  return R[6]! * nx + R[7]! * ny + R[8]! * nz;
}

function project(cam: OrthoCamera, p: ArrayLike<number>): [number, number] {
  const R = cam.R, t = cam.t;
  const x = R[0]! * p[0]! + R[1]! * p[1]! + R[2]! * p[2]! + t[0]!;
  const y = R[3]! * p[0]! + R[4]! * p[1]! + R[5]! * p[2]! + t[1]!;
  return [cam.scale * x + cam.cx, cam.scale * y + cam.cy];
}

/**
 * The footage sampler: Gaussians spread over each triangle in proportion to its
 * mean on-screen area, flat disks sized from the triangle's area share, colours
 * the per-channel median of the footage at the Gaussian's projection over the
 * views where its triangle faces the camera (and lies in the face mask).
 */
export class FootageInitializer implements HeadInitializer {
  readonly name = "footage";
  /** Minimum |normal·view| for a view to count as facing (cos 60°). */
  readonly minFacing = 0.5;

  init(req: InitRequest): Promise<BoundGaussians> {
    const { views } = req;
    if (views.length === 0) throw new RangeError("FootageInitializer.init(): no views");
    const T = MESH_TRIANGLE_COUNT;
    // Mean on-screen area per triangle (px²), from the frames' sizes and facing.
    const screen = new Float64Array(T);
    for (const v of views) {
      for (let f = 0; f < T; f++) {
        const k = v.frames.size[f]!;
        screen[f]! +=
          (0.5 * k * k * v.camera.scale ** 2 * Math.max(0.05, -facing(v.camera, v.frames, f))) /
          views.length;
      }
    }
    const total = screen.reduce((a, b) => a + b, 0);
    const extra = Math.max(0, req.count - T);
    const per = new Int32Array(T);
    let n = 0;
    const mouth = mouthTriangles(req.triangles);
    for (let f = 0; f < T; f++) {
      per[f] = mouth.has(f) ? 0 : 1 + Math.round((extra * screen[f]!) / total);
      n += per[f]!;
    }
    const rand = seededRandom(req.seed);
    const normal = normalSampler(seededRandom(req.seed + 1));
    const g: BoundGaussians = {
      count: n,
      frame: new Int32Array(n),
      offset: new Float32Array(n * 3),
      logScale: new Float32Array(n * 3),
      quat: new Float32Array(n * 4),
      opacityLogit: new Float32Array(n).fill(2.5),
      color: new Float32Array(n * 3).fill(0.5),
    };
    // Barycentric samples are placed on the first view's mesh and kept in local units.
    const f0 = views[0]!.frames;
    let i = 0;
    const tmp = [0, 0, 0];
    for (let f = 0; f < T; f++) {
      const k = per[f]!;
      // Local in-plane area of the triangle in units of k²: |cross| / 2 / k² = 1/2.
      const sigma = Math.sqrt(0.5 / k) * 0.5;
      for (let j = 0; j < k; j++, i++) {
        g.frame[i] = f;
        // A uniform point of a triangle with centroid 0 in the local frame: sample
        // barycentrics, map through the frame (computed from the first view).
        let a = rand(), b = rand();
        if (a + b > 1) a = 1 - a, b = 1 - b;
        const local = baryToLocal(f0, views[0]!.vertices, req.triangles, f, a, b);
        g.offset.set([local[0]!, local[1]!, 0], i * 3);
        g.logScale.set([Math.log(sigma), Math.log(sigma), Math.log(sigma * 0.3)], i * 3);
        // A small random in-plane rotation about the normal.
        const th = normal() * 0.3;
        g.quat.set([Math.cos(th / 2), 0, 0, Math.sin(th / 2)], i * 4);
        // Colour: robust median over the views that see this point.
        const samples: number[][] = [[], [], []];
        for (const v of views) {
          const fr = v.frames;
          if (-facing(v.camera, fr, f) < this.minFacing) continue;
          const kk = fr.size[f]!, r = f * 9;
          const ox = local[0]!, oy = local[1]!;
          const p = [0, 1, 2].map((c) =>
            fr.origin[f * 3 + c]! + kk * (fr.rot[r + c * 3]! * ox + fr.rot[r + c * 3 + 1]! * oy)
          );
          const [px, py] = project(v.camera, p);
          const xi = Math.floor(px), yi = Math.floor(py);
          if (xi < 0 || yi < 0 || xi >= v.crop.w || yi >= v.crop.h) continue;
          if (v.mask[yi * v.crop.w + xi]! < 0.5) continue;
          if (!sample(v.rgb, v.crop.w, v.crop.h, px, py, tmp)) continue;
          for (let c = 0; c < 3; c++) samples[c]!.push(tmp[c]!);
        }
        if (samples[0]!.length > 0) {
          for (let c = 0; c < 3; c++) g.color[i * 3 + c] = median(samples[c]!);
        }
      }
    }
    return Promise.resolve(g);
  }
}

/** Barycentric point (a, b) of triangle f of `vertices`, in that triangle's local frame (units of k). */
function baryToLocal(
  fr: BindingFrames,
  vertices: ArrayLike<number>,
  triangles: Uint32Array,
  f: number,
  a: number,
  b: number,
): [number, number] {
  const i0 = triangles[f * 3]! * 3, i1 = triangles[f * 3 + 1]! * 3, i2 = triangles[f * 3 + 2]! * 3;
  const r = f * 9, k = fr.size[f]!;
  let lx = 0, ly = 0;
  for (let c = 0; c < 3; c++) {
    const v0 = vertices[i0 + c]!;
    const d = v0 + a * (vertices[i1 + c]! - v0) + b * (vertices[i2 + c]! - v0) -
      fr.origin[f * 3 + c]!;
    lx += fr.rot[r + c * 3]! * d, ly += fr.rot[r + c * 3 + 1]! * d;
  }
  return [lx / k, ly / k];
}
