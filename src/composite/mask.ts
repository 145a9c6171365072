/**
 * Lower-face masks from face-mesh landmarks: the region whose pixels `head.render`
 * may change and `body.inpaint` replaces.
 *
 * The region is the union of the lower face of the tracked (old) mesh and of the
 * driven (new) mesh — every triangle of the MediaPipe canonical mesh whose three
 * vertices lie below the nose wings (canonical y ≤ −1.8 cm: upper lip, lips, chin,
 * jaw and the lower cheeks) — dilated by `dilate` × face size and then feathered
 * to 0 over a further `feather` × face size (smoothstep of the Euclidean distance).
 * Face size = distance from the eyes' midpoint to the chin (≈ 12 cm on the
 * canonical face), so the mask scales with the face in pixels. Everything at or
 * above the lower eyelids (canonical y ≥ 1.7 cm: eyes, brows, forehead) is cut
 * to 0 whatever the dilation, so eyes, brows and hair are never masked.
 *
 * Landmarks are image pixels with pixel centres at +0.5 (the track file's
 * convention): pixel (x, y) is inside a triangle when (x + 0.5, y + 0.5) is.
 *
 * @module
 */
import { loadCanonicalMesh, MESH_VERTEX_COUNT } from "../track/canonical_mesh.ts";

/** Canonical y (cm) at or below which a vertex belongs to the lower face. */
export const LOWER_FACE_MAX_Y_CM = -1.8;
/** Canonical y (cm) at or above which a vertex belongs to the protected upper face. */
export const UPPER_FACE_MIN_Y_CM = 1.7;

/** Landmark indices used to measure the face size (MediaPipe face mesh). */
export const EYE_OUTER = [33, 263] as const;
export const CHIN = 152;

export interface MaskOptions {
  /** Dilation as a fraction of the face size (default 0.05). */
  dilate?: number;
  /** Feather width as a fraction of the face size (default 0.08). */
  feather?: number;
}

/** A mask and the box that holds all its non-zero pixels. */
export interface FaceMask {
  mask: Uint8Array; // [H, W] 0..255
  /** Bounding box of mask > 0, or null when empty. */
  box: { x: number; y: number; w: number; h: number } | null;
}

/** Face size in pixels: eyes' midpoint to chin. `lm` `[468, 2]` px. */
export function faceSizePx(lm: Float32Array): number {
  assertLandmarks(lm);
  const ex = (lm[EYE_OUTER[0] * 2]! + lm[EYE_OUTER[1] * 2]!) / 2;
  const ey = (lm[EYE_OUTER[0] * 2 + 1]! + lm[EYE_OUTER[1] * 2 + 1]!) / 2;
  return Math.hypot(lm[CHIN * 2]! - ex, lm[CHIN * 2 + 1]! - ey);
}

/** `[468, 3]` (x, y, z) landmarks → `[468, 2]` (x, y). */
export function landmarksXY(
  lm3: Float32Array,
  out = new Float32Array(MESH_VERTEX_COUNT * 2),
): Float32Array {
  if (lm3.length !== MESH_VERTEX_COUNT * 3) {
    throw new RangeError(
      `Landmarks must be [468, 3] (${MESH_VERTEX_COUNT * 3} values), got ${lm3.length}`,
    );
  }
  for (let i = 0; i < MESH_VERTEX_COUNT; i++) {
    out[i * 2] = lm3[i * 3]!;
    out[i * 2 + 1] = lm3[i * 3 + 1]!;
  }
  return out;
}

function assertLandmarks(lm: Float32Array): void {
  if (lm.length !== MESH_VERTEX_COUNT * 2) {
    throw new RangeError(
      `Landmarks must be [468, 2] (${MESH_VERTEX_COUNT * 2} values), got ${lm.length}`,
    );
  }
}

/** Builds lower-face masks; holds the triangle lists chosen on the canonical mesh. */
export class LowerFaceMasker {
  /** Triangles `[F, 3]` of the lower face. */
  readonly lowerTriangles: Uint32Array;
  /** Triangles `[G, 3]` of the protected upper face (eyes, brows, forehead). */
  readonly upperTriangles: Uint32Array;
  /** Every triangle `[898, 3]` (the whole face). */
  readonly allTriangles: Uint32Array;
  /** Triangles `[K, 3]` of the lips and mouth opening (canonical −5.8 ≤ y ≤ −3.0 cm, |x| ≤ 2.9 cm). */
  readonly mouthTriangles: Uint32Array;
  /** The distinct vertices of {@link mouthTriangles}. */
  readonly mouthVertices: Uint32Array;

  constructor(
    canonicalVertices: Float32Array, /* [468, 3] cm */
    triangles: Uint32Array, /* [F, 3] */
  ) {
    const lower: number[] = [], upper: number[] = [], mouth: number[] = [];
    const y = (i: number) => canonicalVertices[i * 3 + 1]!;
    const inMouth = (i: number) =>
      y(i) >= -5.8 && y(i) <= -3.0 && Math.abs(canonicalVertices[i * 3]!) <= 2.9;
    for (let f = 0; f < triangles.length; f += 3) {
      const a = triangles[f]!, b = triangles[f + 1]!, c = triangles[f + 2]!;
      if (Math.max(y(a), y(b), y(c)) <= LOWER_FACE_MAX_Y_CM) lower.push(a, b, c);
      if (Math.max(y(a), y(b), y(c)) >= UPPER_FACE_MIN_Y_CM) upper.push(a, b, c);
      if (inMouth(a) && inMouth(b) && inMouth(c)) mouth.push(a, b, c);
    }
    this.lowerTriangles = Uint32Array.from(lower);
    this.upperTriangles = Uint32Array.from(upper);
    this.mouthTriangles = Uint32Array.from(mouth);
    this.mouthVertices = Uint32Array.from(new Set(mouth)).sort();
    this.allTriangles = triangles.slice();
  }

  /**
   * The feathered lower-face mask of one frame: union of `tracked` and `driven`
   * (either may be null; both `[468, 2]` px), for a `width`×`height` frame.
   */
  mask(
    tracked: Float32Array | null,
    driven: Float32Array | null,
    width: number,
    height: number,
    opts: MaskOptions = {},
  ): FaceMask {
    const meshes = [tracked, driven].filter((m): m is Float32Array => m !== null && allFinite(m));
    const mask = new Uint8Array(width * height);
    if (meshes.length === 0) return { mask, box: null };
    const size = Math.max(...meshes.map(faceSizePx));
    const dilatePx = (opts.dilate ?? 0.05) * size,
      featherPx = Math.max(1, (opts.feather ?? 0.08) * size);
    const reach = Math.ceil(dilatePx + featherPx) + 1;
    // Work inside the box of the lower-face triangles, grown by the reach.
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const m of meshes) {
      for (const v of this.lowerTriangles) {
        x0 = Math.min(x0, m[v * 2]!), x1 = Math.max(x1, m[v * 2]!);
        y0 = Math.min(y0, m[v * 2 + 1]!), y1 = Math.max(y1, m[v * 2 + 1]!);
      }
    }
    const bx0 = Math.max(0, Math.floor(x0) - reach), by0 = Math.max(0, Math.floor(y0) - reach);
    const bx1 = Math.min(width, Math.ceil(x1) + reach + 1),
      by1 = Math.min(height, Math.ceil(y1) + reach + 1);
    const bw = bx1 - bx0, bh = by1 - by0;
    if (bw <= 0 || bh <= 0) return { mask, box: null };
    const inside = new Uint8Array(bw * bh), upper = new Uint8Array(bw * bh);
    for (const m of meshes) {
      fillTriangles(inside, bw, bh, bx0, by0, m, this.lowerTriangles);
      fillTriangles(upper, bw, bh, bx0, by0, m, this.upperTriangles);
    }
    const dist = distanceTransform(inside, bw, bh); // px to the nearest inside pixel
    let mx0 = Infinity, my0 = Infinity, mx1 = -1, my1 = -1;
    for (let y = 0; y < bh; y++) {
      for (let x = 0; x < bw; x++) {
        const i = y * bw + x;
        if (upper[i]) continue;
        const t = 1 - (dist[i]! - dilatePx) / featherPx;
        if (t <= 0) continue;
        const s = t >= 1 ? 1 : t * t * (3 - 2 * t);
        const v = Math.round(255 * s);
        if (v === 0) continue;
        mask[(by0 + y) * width + bx0 + x] = v;
        mx0 = Math.min(mx0, bx0 + x), mx1 = Math.max(mx1, bx0 + x);
        my0 = Math.min(my0, by0 + y), my1 = Math.max(my1, by0 + y);
      }
    }
    return {
      mask,
      box: mx1 < 0 ? null : { x: mx0, y: my0, w: mx1 - mx0 + 1, h: my1 - my0 + 1 },
    };
  }
}

/**
 * Rasterise triangles `tris` of landmarks `lm` (`[468, 2]` px) into a binary
 * `[box.h, box.w]` image of the pixels of `box` whose centres they cover.
 */
export function rasterTriangles(
  lm: Float32Array,
  tris: Uint32Array,
  box: { x: number; y: number; w: number; h: number },
  out = new Uint8Array(box.w * box.h),
): Uint8Array {
  fillTriangles(out, box.w, box.h, box.x, box.y, lm, tris);
  return out;
}

/**
 * Rasterise a per-vertex scalar (`values` `[468]`) over triangles `tris` of `lm`
 * (`[468, 2]` px) into `[box.h, box.w]` by barycentric interpolation; pixels no
 * triangle covers get `outside`.
 */
export function rasterScalar(
  lm: Float32Array,
  tris: Uint32Array,
  values: Float32Array,
  box: { x: number; y: number; w: number; h: number },
  outside = 0,
): Float32Array {
  const out = new Float32Array(box.w * box.h).fill(outside);
  forEachCoveredPixel(lm, tris, box, (i, f, u, v) => {
    const va = values[tris[f]!]!, vb = values[tris[f + 1]!]!, vc = values[tris[f + 2]!]!;
    out[i] = va + u * (vb - va) + v * (vc - va);
  });
  return out;
}

/**
 * Visit every pixel of `box` whose centre a triangle of `tris` (`[F, 3]`) of `lm`
 * (`[V, 2]` px) covers, with the barycentric coordinates of the centre:
 * centre = a + u·(b − a) + v·(c − a) for the triangle's vertices a, b, c.
 * `visit(i, f, u, v)`: `i` the pixel's index in `[box.h, box.w]`, `f` the offset of
 * the triangle in `tris`. Triangles are visited in order (a pixel on a shared edge is
 * visited for each: the last one wins where the caller writes); degenerate ones
 * (|det| < 1e-9) are skipped. Serves `rasterScalar` and the stand-in warp.
 */
export function forEachCoveredPixel(
  lm: Float32Array,
  tris: Uint32Array,
  box: { x: number; y: number; w: number; h: number },
  visit: (i: number, f: number, u: number, v: number) => void,
): void {
  for (let f = 0; f < tris.length; f += 3) {
    const ia = tris[f]!, ib = tris[f + 1]!, ic = tris[f + 2]!;
    const ax = lm[ia * 2]! - box.x, ay = lm[ia * 2 + 1]! - box.y;
    const bx = lm[ib * 2]! - box.x, by = lm[ib * 2 + 1]! - box.y;
    const cx = lm[ic * 2]! - box.x, cy = lm[ic * 2 + 1]! - box.y;
    const det = (bx - ax) * (cy - ay) - (cx - ax) * (by - ay);
    if (Math.abs(det) < 1e-9) continue;
    const x0 = Math.max(0, Math.floor(Math.min(ax, bx, cx) - 0.5));
    const x1 = Math.min(box.w - 1, Math.ceil(Math.max(ax, bx, cx) - 0.5));
    const y0 = Math.max(0, Math.floor(Math.min(ay, by, cy) - 0.5));
    const y1 = Math.min(box.h - 1, Math.ceil(Math.max(ay, by, cy) - 0.5));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const px = x + 0.5, py = y + 0.5;
        const u = ((px - ax) * (cy - ay) - (cx - ax) * (py - ay)) / det;
        const v = ((bx - ax) * (py - ay) - (px - ax) * (by - ay)) / det;
        if (u < -1e-9 || v < -1e-9 || u + v > 1 + 1e-9) continue;
        visit(y * box.w + x, f, u, v);
      }
    }
  }
}

/** A masker on the MediaPipe canonical mesh (loaded from the npm package). */
export async function createLowerFaceMasker(): Promise<LowerFaceMasker> {
  const m = await loadCanonicalMesh();
  return new LowerFaceMasker(m.vertices, m.triangles);
}

function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}

/** Set to 1 the pixels of `out` `[bh, bw]` (offset bx0, by0) whose centres lie in any triangle. */
function fillTriangles(
  out: Uint8Array,
  bw: number,
  bh: number,
  bx0: number,
  by0: number,
  lm: Float32Array,
  tris: Uint32Array,
): void {
  for (let f = 0; f < tris.length; f += 3) {
    const a = tris[f]!, b = tris[f + 1]!, c = tris[f + 2]!;
    const ax = lm[a * 2]! - bx0, ay = lm[a * 2 + 1]! - by0;
    const bxx = lm[b * 2]! - bx0, byy = lm[b * 2 + 1]! - by0;
    const cx = lm[c * 2]! - bx0, cy = lm[c * 2 + 1]! - by0;
    const area = (bxx - ax) * (cy - ay) - (byy - ay) * (cx - ax);
    if (area === 0) continue;
    const xs = Math.max(0, Math.floor(Math.min(ax, bxx, cx) - 0.5));
    const xe = Math.min(bw - 1, Math.ceil(Math.max(ax, bxx, cx) - 0.5));
    const ys = Math.max(0, Math.floor(Math.min(ay, byy, cy) - 0.5));
    const ye = Math.min(bh - 1, Math.ceil(Math.max(ay, byy, cy) - 0.5));
    const sgn = area > 0 ? 1 : -1;
    for (let y = ys; y <= ye; y++) {
      const py = y + 0.5;
      for (let x = xs; x <= xe; x++) {
        const px = x + 0.5;
        const w0 = sgn * ((bxx - ax) * (py - ay) - (byy - ay) * (px - ax));
        const w1 = sgn * ((cx - bxx) * (py - byy) - (cy - byy) * (px - bxx));
        const w2 = sgn * ((ax - cx) * (py - cy) - (ay - cy) * (px - cx));
        if (w0 >= 0 && w1 >= 0 && w2 >= 0) out[y * bw + x] = 1;
      }
    }
  }
}

/**
 * Exact Euclidean distance (px) from every pixel to the nearest pixel with
 * `inside` = 1 (0 inside), by the separable lower-envelope-of-parabolas method of
 * Felzenszwalb & Huttenlocher (2012). `inside` `[h, w]`.
 */
export function distanceTransform(inside: Uint8Array, w: number, h: number): Float32Array {
  const INF = 1e20;
  const g = new Float64Array(w * h);
  for (let i = 0; i < w * h; i++) g[i] = inside[i] ? 0 : INF;
  const n = Math.max(w, h);
  const f = new Float64Array(n),
    d = new Float64Array(n),
    v = new Int32Array(n),
    z = new Float64Array(n + 1);
  const pass = (len: number, get: (k: number) => number, set: (k: number, val: number) => void) => {
    for (let q = 0; q < len; q++) f[q] = get(q);
    let k = 0;
    v[0] = 0;
    z[0] = -Infinity;
    z[1] = Infinity;
    for (let q = 1; q < len; q++) {
      let s = ((f[q]! + q * q) - (f[v[k]!]! + v[k]! * v[k]!)) / (2 * q - 2 * v[k]!);
      while (s <= z[k]!) {
        k--;
        s = ((f[q]! + q * q) - (f[v[k]!]! + v[k]! * v[k]!)) / (2 * q - 2 * v[k]!);
      }
      k++;
      v[k] = q;
      z[k] = s;
      z[k + 1] = Infinity;
    }
    k = 0;
    for (let q = 0; q < len; q++) {
      while (z[k + 1]! < q) k++;
      d[q] = (q - v[k]!) ** 2 + f[v[k]!]!;
    }
    for (let q = 0; q < len; q++) set(q, d[q]!);
  };
  for (let x = 0; x < w; x++) pass(h, (y) => g[y * w + x]!, (y, val) => (g[y * w + x] = val));
  for (let y = 0; y < h; y++) pass(w, (x) => g[y * w + x]!, (x, val) => (g[y * w + x] = val));
  const out = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) out[i] = Math.sqrt(g[i]!);
  return out;
}
