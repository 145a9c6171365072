/**
 * The CPU reference rasterizer: preprocess (project, cull, colour), depth sort,
 * tile binning, forward blending and the exact backward pass. This is the spec
 * of the splatter; the WebGPU kernels must match it. Works on float32 or float64
 * scenes (tests use float64 for finite differences); all arithmetic is float64.
 *
 * Forward per pixel (reference renderCUDA): walk the tile's Gaussians front to
 * back; skip power > 0; α = min(0.99, o·exp(power)); skip α < 1/255; if
 * T·(1 − α) < 1e-4 the pixel stops WITHOUT blending that Gaussian (its final T is
 * the one before it); otherwise C += c·α·T, T ·= 1 − α. Output rgb = C + T·bg,
 * alpha = 1 − T, depth = Σ z·α·T (alpha-weighted, not normalised), count = number
 * of blended Gaussians.
 *
 * Performance: per-Gaussian data in typed arrays, a radix sort on float32 depth
 * bits, per-tile lists in depth order by a stable counting sort, and a
 * Gaussian-outer loop over only the pixel rows/spans where α ≥ 1/255 is possible
 * (exact: the skipped pixels would all be rejected by the α test), skipping tile
 * rows that are already saturated. The forward records every blended (pixel,
 * Gaussian) pair with its exp(power), so the backward replays exactly those
 * pairs in the same order (no exp, no span search; identical results). The
 * per-Gaussian inputs of the blending loops are packed in one array. Buffers
 * come from a {@link Workspace} so a training loop does not reallocate, and the
 * hot bodies are small functions called per Gaussian or per tile (V8 optimises
 * those fully, unlike one long loop in a function called once per render).
 * Single-threaded.
 *
 * @module
 */
import { Workspace } from "./_workspace.ts";
import {
  ALPHA_MAX,
  ALPHA_MIN,
  conicBackward,
  conicFromCov2d,
  covariance3d,
  covariance3dBackward,
  projectCovariance,
  projectCovarianceBackward,
  radiusFromCov2d,
  shBasis,
  shBasisGrad,
  shCoeffCount,
  shColor,
  sigmoid,
  T_MIN,
  TILE_SIZE,
  tileRect,
  type ViewParams,
} from "./_math.ts";

export type Floats = Float32Array | Float64Array;

/** A scene whose arrays may be float32 or float64 (same layout as GaussianScene). */
export interface SceneArrays {
  count: number;
  means: Floats; // [N, 3]
  logScales: Floats; // [N, 3]
  quats: Floats; // [N, 4]
  opacityLogits: Floats; // [N]
  shDegree: number;
  colorMode: "sh" | "rgb";
  colors: Floats; // [N, K, 3] or [N, 3]
}

/** Per-Gaussian results of the preprocessing pass. */
export interface Projected {
  n: number;
  view: ViewParams;
  tcam: Float64Array; // [N, 3] camera-space mean
  cov3: Float64Array; // [N, 6]
  cov2: Float64Array; // [N, 3] dilated 2D covariance
  conic: Float64Array; // [N, 3]
  xy: Float64Array; // [N, 2] pixel-index coordinates
  depth: Float64Array; // [N]
  opacity: Float64Array; // [N]
  rgb: Float64Array; // [N, 3]
  clamped: Uint8Array; // [N, 3] SH colour clamped at 0
  dir: Float64Array; // [N, 3] unit SH view direction
  dirLen: Float64Array; // [N] |mean − campos| (pinhole)
  radius: Int32Array; // [N], 0 = culled
  /** 2·ln(255·opacity): α ≥ 1/255 only where dᵀ·conic·d ≤ qmax (< 0: nowhere). */
  qmax: Float64Array; // [N]
  /** Half-height (pixels, with margin) of that ellipse. */
  halfY: Float64Array; // [N]
  rect: Int32Array; // [N, 4] tile rect
  /**
   * What the blending loops read, packed per Gaussian (one or two cache lines
   * instead of six scattered arrays): x, y, conic a, b, c, opacity, qmax, halfY,
   * r, g, b, depth, and the row-span terms A, B, r of the α ≥ 1/255 ellipse.
   */
  packed: Float64Array; // [N, PACK]
  /** Visible Gaussians sorted front to back. */
  sorted: Int32Array;
  /** Tile t's list is tileIds[tileStart[t] .. tileStart[t + 1]). */
  tileStart: Int32Array; // [tiles + 1]
  tileIds: Int32Array; // [instances]
}

/** Forward results kept for the backward pass. */
export interface ForwardResult {
  width: number;
  height: number;
  rgb: Float64Array; // [H, W, 3]
  alpha: Float64Array; // [H, W]
  depth: Float64Array; // [H, W]
  count: Uint32Array; // [H, W]
  finalT: Float64Array; // [H, W]
  /** 1 + index in the tile list of the last blended Gaussian (0: none). */
  last: Int32Array; // [H, W]
  background: [number, number, number];
  proj: Projected;
  /**
   * The blended (pixel, Gaussian) pairs, for the backward pass: tile-list entry
   * s blended the pixels `blendPixel[j]` (index in its 16×16 tile) with
   * exp(power) = `blendG[j]` for j in [blendSpan[2s], blendSpan[2s + 1]), in
   * the forward's row-major pixel order.
   */
  blendPixel: Uint8Array; // [blended]
  blendG: Float64Array; // [blended]
  blendSpan: Int32Array; // [instances, 2]
  /** Whether the pairs above were recorded (rasterizeForward's `record`). */
  recorded: boolean;
}

/** Project, cull and colour every Gaussian, then sort and bin the visible ones. */
export function preprocess(
  scene: SceneArrays,
  view: ViewParams,
  ws: Workspace = new Workspace(),
): Projected {
  const n = scene.count;
  const p: Projected = {
    n,
    view,
    tcam: ws.f64("tcam", n * 3),
    cov3: ws.f64("cov3", n * 6),
    cov2: ws.f64("cov2", n * 3),
    conic: ws.f64("conic", n * 3),
    xy: ws.f64("xy", n * 2),
    depth: ws.f64("depthG", n),
    opacity: ws.f64("opacity", n),
    rgb: ws.f64("rgbG", n * 3),
    clamped: ws.u8("clamped", n * 3),
    dir: ws.f64("dir", n * 3),
    dirLen: ws.f64("dirLen", n),
    radius: ws.i32("radius", n, true),
    qmax: ws.f64("qmax", n),
    halfY: ws.f64("halfY", n),
    rect: ws.i32("rect", n * 4),
    packed: ws.f64("packed", n * PACK),
    sorted: new Int32Array(0),
    tileStart: ws.i32("tileStart", view.tilesX * view.tilesY + 1, true),
    tileIds: new Int32Array(0),
  };
  const m9 = new Float64Array(9), basis = new Float64Array(16);
  let visible = 0;
  // One call per Gaussian (not one big loop): V8 optimises small hot functions far
  // better than a long loop in a function that is called once per render.
  for (let i = 0; i < n; i++) if (projectOne(scene, view, p, i, m9, basis)) visible++;
  // Visible ids, then a stable LSD radix sort on float32 depth bits.
  const ids = ws.i32("ids", visible);
  for (let i = 0, j = 0; i < n; i++) if (p.radius[i]! > 0) ids[j++] = i;
  p.sorted = sortByDepth(ids, p.depth, ws);
  // Counting sort by tile (stable, so each tile's list stays in depth order).
  const tilesX = view.tilesX;
  const start = p.tileStart;
  for (let s = 0; s < visible; s++) {
    const i = p.sorted[s]!;
    const x0 = p.rect[i * 4]!,
      y0 = p.rect[i * 4 + 1]!,
      x1 = p.rect[i * 4 + 2]!,
      y1 = p.rect[i * 4 + 3]!;
    for (let ty = y0; ty < y1; ty++) {
      for (let tx = x0; tx < x1; tx++) start[ty * tilesX + tx + 1]!++;
    }
  }
  for (let k = 1; k < start.length; k++) start[k] = start[k]! + start[k - 1]!;
  const fill = ws.i32("tileFill", start.length - 1);
  fill.set(start.subarray(0, start.length - 1));
  const tileIds = ws.i32("tileIds", start[start.length - 1]!);
  for (let s = 0; s < visible; s++) {
    const i = p.sorted[s]!;
    const x0 = p.rect[i * 4]!,
      y0 = p.rect[i * 4 + 1]!,
      x1 = p.rect[i * 4 + 2]!,
      y1 = p.rect[i * 4 + 3]!;
    for (let ty = y0; ty < y1; ty++) {
      for (let tx = x0; tx < x1; tx++) tileIds[fill[ty * tilesX + tx]!++] = i;
    }
  }
  p.tileIds = tileIds;
  return p;
}

/** Projects Gaussian `i` into `p`; returns whether it is visible. */
function projectOne(
  scene: SceneArrays,
  view: ViewParams,
  p: Projected,
  i: number,
  m9: Float64Array, // [9] scratch
  basis: Float64Array, // [16] scratch
): boolean {
  const R = view.R, t = view.t;
  const sh = scene.colorMode === "sh";
  const deg = scene.shDegree;
  const k3 = sh ? shCoeffCount(deg) * 3 : 3;
  const { means, logScales: ls, quats: q, colors } = scene;
  const mx = means[i * 3]!, my = means[i * 3 + 1]!, mz = means[i * 3 + 2]!;
  const tx = R[0]! * mx + R[1]! * my + R[2]! * mz + t[0]!;
  const ty = R[3]! * mx + R[4]! * my + R[5]! * mz + t[1]!;
  const tz = R[6]! * mx + R[7]! * my + R[8]! * mz + t[2]!;
  if (!(tz > view.near)) return false; // also rejects NaN
  p.tcam[i * 3] = tx, p.tcam[i * 3 + 1] = ty, p.tcam[i * 3 + 2] = tz;
  covariance3d(q, i * 4, ls, i * 3, p.cov3, i * 6, m9);
  projectCovariance(view, tx, ty, tz, p.cov3, i * 6, p.cov2, i * 3);
  const a = p.cov2[i * 3]!, b = p.cov2[i * 3 + 1]!, c = p.cov2[i * 3 + 2]!;
  if (!(a * c - b * b > 0)) return false;
  conicFromCov2d(a, b, c, p.conic, i * 3);
  const radius = radiusFromCov2d(a, b, c);
  let u: number, v: number;
  if (view.ortho) {
    u = view.fx * tx + view.cx;
    v = view.fy * ty + view.cy;
  } else {
    u = view.fx * tx / tz + view.cx;
    v = view.fy * ty / tz + view.cy;
  }
  if (!(Number.isFinite(u) && Number.isFinite(v) && radius > 0)) return false;
  if (tileRect(u, v, radius, view.tilesX, view.tilesY, p.rect, i * 4) === 0) {
    return false;
  }
  p.xy[i * 2] = u, p.xy[i * 2 + 1] = v;
  p.radius[i] = radius;
  p.depth[i] = tz;
  const op = sigmoid(scene.opacityLogits[i]!);
  p.opacity[i] = op;
  const qm = alphaQ(op);
  p.qmax[i] = qm;
  p.halfY[i] = qm < 0 ? 0 : Math.sqrt(qm * c) + SPAN_MARGIN;
  if (sh) {
    let dx: number, dy: number, dz: number, len = 1;
    if (view.ortho) {
      dx = view.viewDir[0]!, dy = view.viewDir[1]!, dz = view.viewDir[2]!;
    } else {
      dx = mx - view.campos[0]!, dy = my - view.campos[1]!, dz = mz - view.campos[2]!;
      len = Math.sqrt(dx * dx + dy * dy + dz * dz);
      dx /= len, dy /= len, dz /= len;
    }
    p.dir[i * 3] = dx, p.dir[i * 3 + 1] = dy, p.dir[i * 3 + 2] = dz;
    p.dirLen[i] = len;
    shBasis(deg, dx, dy, dz, basis);
    shColor(deg, basis, colors, i * k3, p.rgb, i * 3, p.clamped);
  } else {
    p.rgb[i * 3] = colors[i * 3]!,
      p.rgb[i * 3 + 1] = colors[i * 3 + 1]!,
      p.rgb[i * 3 + 2] = colors[i * 3 + 2]!;
  }
  const o = i * PACK, pk = p.packed;
  pk[o] = u, pk[o + 1] = v;
  pk[o + 2] = p.conic[i * 3]!, pk[o + 3] = p.conic[i * 3 + 1]!, pk[o + 4] = p.conic[i * 3 + 2]!;
  pk[o + 5] = op, pk[o + 6] = qm, pk[o + 7] = p.halfY[i]!;
  pk[o + 8] = p.rgb[i * 3]!, pk[o + 9] = p.rgb[i * 3 + 1]!, pk[o + 10] = p.rgb[i * 3 + 2]!;
  pk[o + 11] = tz;
  // Row spans of the α ≥ 1/255 ellipse: dx ∈ r·dy ± √(A − B·dy²).
  const ca = pk[o + 2]!, cb = pk[o + 3]!, cc = pk[o + 4]!;
  pk[o + 12] = qm / ca, pk[o + 13] = (ca * cc - cb * cb) / (ca * ca), pk[o + 14] = cb / ca;
  return true;
}

/** Stride of {@link Projected.packed}. */
const PACK = 16;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Ids sorted by ascending float32 depth (ties keep input order). */
export function sortByDepth(
  ids: Int32Array,
  depth: Float64Array,
  ws: Workspace = new Workspace(),
): Int32Array {
  const n = ids.length;
  let keys = ws.u32("sortKeys", n), vals = ws.i32("sortVals", n);
  let keys2 = ws.u32("sortKeys2", n), vals2 = ws.i32("sortVals2", n);
  vals.set(ids);
  for (let s = 0; s < n; s++) {
    f32[0] = depth[ids[s]!]!;
    const bits = u32[0]!;
    keys[s] = bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
  }
  const hist = new Int32Array(256);
  for (let shift = 0; shift < 32; shift += 8) {
    hist.fill(0);
    for (let s = 0; s < n; s++) hist[(keys[s]! >>> shift) & 255]!++;
    if (n === 0 || hist[(keys[0]! >>> shift) & 255] === n) continue; // byte constant
    let sum = 0;
    for (let b = 0; b < 256; b++) {
      const c = hist[b]!;
      hist[b] = sum;
      sum += c;
    }
    for (let s = 0; s < n; s++) {
      const d = hist[(keys[s]! >>> shift) & 255]!++;
      keys2[d] = keys[s]!;
      vals2[d] = vals[s]!;
    }
    [keys, keys2] = [keys2, keys];
    [vals, vals2] = [vals2, vals];
  }
  return vals;
}

/**
 * Pixel rows and spans where a Gaussian's α can reach 1/255: the ellipse
 * dᵀ·conic·d ≤ 2·ln(255·o). Returns the squared-threshold Q (< 0: nowhere).
 */
function alphaQ(opacity: number): number {
  return opacity < ALPHA_MIN ? -1 : 2 * Math.log(opacity / ALPHA_MIN);
}

const SPAN_MARGIN = 1e-3;
const TILE_SHIFT = Math.log2(TILE_SIZE); // pixel index in a tile = row << TILE_SHIFT | column // pixels; only adds pixels that the α test rejects

/** Forward blending of the binned Gaussians. */
export function rasterizeForward(
  p: Projected,
  background: [number, number, number],
  ws: Workspace = new Workspace(),
  /** Record the blended pairs for {@link rasterizeBackward} (false: render only, a bit faster). */
  record = true,
): ForwardResult {
  const { width: W, height: H, tilesX, tilesY } = p.view;
  const out: ForwardResult = {
    width: W,
    height: H,
    rgb: ws.f64("outRgb", W * H * 3),
    alpha: ws.f64("outAlpha", W * H),
    depth: ws.f64("outDepth", W * H),
    count: ws.u32("outCount", W * H),
    finalT: ws.f64("outT", W * H),
    last: ws.i32("outLast", W * H),
    background,
    proj: p,
    blendPixel: new Uint8Array(0),
    blendG: new Float64Array(0),
    blendSpan: record ? ws.i32("blendSpan", p.tileIds.length * 2, true) : new Int32Array(0),
    recorded: record,
  };
  const TS = TILE_SIZE, NP = TS * TS;
  const cap = record ? Math.max(4096, p.tileIds.length * 4, ws.capacity("blendG")) : 0;
  const st: ForwardTileState = {
    ws,
    bG: ws.f64("blendG", cap),
    bL: ws.u8("blendPixel", cap),
    nb: 0,
    T: new Float64Array(NP),
    C: new Float64Array(NP * 3),
    D: new Float64Array(NP),
    last: new Int32Array(NP),
    cnt: new Int32Array(NP),
    done: new Uint8Array(NP),
    rowActive: new Int32Array(TS),
  };
  for (let ty = 0; ty < tilesY; ty++) {
    for (let tx = 0; tx < tilesX; tx++) forwardTile(p, out, tx, ty, st);
  }
  out.blendG = st.bG.subarray(0, st.nb);
  out.blendPixel = st.bL.subarray(0, st.nb);
  return out;
}

/** Makes room for `extra` more blended pairs. */
function growBlend(st: ForwardTileState, extra: number): void {
  const need = st.nb + extra;
  if (need <= st.bG.length) return;
  const cap = Math.max(need, st.bG.length * 2);
  const g = st.ws.f64("blendG", cap), l = st.ws.u8("blendPixel", cap);
  if (g !== st.bG) g.set(st.bG.subarray(0, st.nb));
  if (l !== st.bL) l.set(st.bL.subarray(0, st.nb));
  st.bG = g, st.bL = l;
}

/** Scratch state of one tile of the forward pass (reused across tiles). */
interface ForwardTileState {
  ws: Workspace;
  bG: Float64Array; // [capacity] exp(power) of blended pairs
  bL: Uint8Array; // [capacity] their pixel index in the tile
  nb: number; // pairs so far
  T: Float64Array; // [256]
  C: Float64Array; // [256, 3]
  D: Float64Array; // [256]
  last: Int32Array; // [256]
  cnt: Int32Array; // [256]
  done: Uint8Array; // [256]
  rowActive: Int32Array; // [16] pixels of each tile row still blending
}

/** Forward blending of one tile (a function per tile lets V8 optimise it fully). */
function forwardTile(
  p: Projected,
  out: ForwardResult,
  tx: number,
  ty: number,
  st: ForwardTileState,
): void {
  const { width: W, height: H, tilesX } = p.view;
  const TS = TILE_SIZE, NP = TS * TS;
  const { T, C, D, last, cnt, done, rowActive } = st;
  const { packed: pk, tileIds, tileStart } = p;
  const [bg0, bg1, bg2] = out.background;
  const px0 = tx * TS, py0 = ty * TS;
  const px1 = Math.min(W, px0 + TS), py1 = Math.min(H, py0 + TS);
  T.fill(1), C.fill(0), D.fill(0), last.fill(0), cnt.fill(0), done.fill(0);
  let active = (px1 - px0) * (py1 - py0);
  rowActive.fill(px1 - px0);
  const tile = ty * tilesX + tx;
  const s0 = tileStart[tile]!, s1 = tileStart[tile + 1]!;
  const span = out.blendSpan, rec = out.recorded;
  for (let s = s0; s < s1 && active > 0; s++) {
    if (rec) growBlend(st, NP);
    const bG = st.bG, bL = st.bL;
    let nb = st.nb;
    if (rec) span[s * 2] = nb, span[s * 2 + 1] = nb;
    const b = tileIds[s]! * PACK;
    const Q = pk[b + 6]!;
    if (Q < 0) continue;
    const gx = pk[b]!, gy = pk[b + 1]!;
    const ca = pk[b + 2]!, cb = pk[b + 3]!, cc = pk[b + 4]!;
    const o = pk[b + 5]!, hy = pk[b + 7]!;
    const sA = pk[b + 12]!, sB = pk[b + 13]!, sR = pk[b + 14]!;
    const ry0 = Math.max(py0, Math.ceil(gy - hy)),
      ry1 = Math.min(py1 - 1, Math.floor(gy + hy));
    const cr = pk[b + 8]!, cgr = pk[b + 9]!, cbl = pk[b + 10]!, z = pk[b + 11]!;
    const k = s - s0 + 1;
    for (let py = ry0; py <= ry1; py++) {
      if (rowActive[py - py0] === 0) continue;
      const dy = gy - py;
      // Span rounding (≪ SPAN_MARGIN) only adds pixels that the α test rejects.
      const hw2 = sA - sB * dy * dy;
      if (hw2 < -1e-9 * sA) continue;
      const hw = hw2 > 0 ? Math.sqrt(hw2) : 0;
      const ctr = gx + sR * dy;
      const lo = ctr - hw - SPAN_MARGIN;
      const hi = ctr + hw + SPAN_MARGIN;
      const rx0 = Math.max(px0, Math.ceil(lo)),
        rx1 = Math.min(px1 - 1, Math.floor(hi));
      let li = (py - py0) * TS + (rx0 - px0);
      for (let px = rx0; px <= rx1; px++, li++) {
        if (done[li]) continue;
        const dx = gx - px;
        const power = -0.5 * (ca * dx * dx + cc * dy * dy) - cb * dx * dy;
        if (power > 0) continue;
        const G = Math.exp(power);
        let alpha = o * G;
        if (alpha > ALPHA_MAX) alpha = ALPHA_MAX;
        if (alpha < ALPHA_MIN) continue;
        const Ti = T[li]!;
        const testT = Ti * (1 - alpha);
        if (testT < T_MIN) {
          done[li] = 1;
          active--;
          rowActive[py - py0]!--;
          continue;
        }
        if (rec) bG[nb] = G, bL[nb] = li, nb++;
        const w = alpha * Ti;
        C[li * 3] = C[li * 3]! + cr * w;
        C[li * 3 + 1] = C[li * 3 + 1]! + cgr * w;
        C[li * 3 + 2] = C[li * 3 + 2]! + cbl * w;
        D[li] = D[li]! + z * w;
        T[li] = testT;
        last[li] = k;
        cnt[li] = cnt[li]! + 1;
      }
    }
    if (rec) span[s * 2 + 1] = nb;
    st.nb = nb;
  }
  for (let py = py0; py < py1; py++) {
    for (let px = px0; px < px1; px++) {
      const li = (py - py0) * TS + (px - px0), pi = py * W + px;
      const Tf = T[li]!;
      out.rgb[pi * 3] = C[li * 3]! + Tf * bg0;
      out.rgb[pi * 3 + 1] = C[li * 3 + 1]! + Tf * bg1;
      out.rgb[pi * 3 + 2] = C[li * 3 + 2]! + Tf * bg2;
      out.alpha[pi] = 1 - Tf;
      out.depth[pi] = D[li]!;
      out.count[pi] = cnt[li]!;
      out.finalT[pi] = Tf;
      out.last[pi] = last[li]!;
    }
  }
}

/** Gradients of the loss w.r.t. the projected 2D quantities. */
export interface Grads2d {
  xy: Float64Array; // [N, 2]
  conic: Float64Array; // [N, 3]
  opacity: Float64Array; // [N] w.r.t. sigmoid(logit)
  rgb: Float64Array; // [N, 3]
}

/** Backward of {@link rasterizeForward}: per pixel, reverse traversal of the blended Gaussians. */
export function rasterizeBackward(
  f: ForwardResult,
  dRgb: Floats, // [H, W, 3]
  dAlpha: Floats | undefined, // [H, W]
  ws: Workspace = new Workspace(),
): Grads2d {
  if (!f.recorded) {
    throw new Error(
      "Cannot run the backward pass on a forward rendered with record = false; render with record = true",
    );
  }
  const p = f.proj;
  const { tilesX, tilesY } = p.view;
  const n = p.n;
  const g2: Grads2d = {
    xy: ws.f64("g2xy", n * 2, true),
    conic: ws.f64("g2conic", n * 3, true),
    opacity: ws.f64("g2opacity", n, true),
    rgb: ws.f64("g2rgb", n * 3, true),
  };
  const TS = TILE_SIZE, NP = TS * TS;
  const st: BackwardTileState = {
    T: new Float64Array(NP),
    S: new Float64Array(NP * 3),
    last: new Int32Array(NP),
    G0: new Float64Array(NP * 3),
    GA: new Float64Array(NP),
    TF: new Float64Array(NP),
  };
  for (let ty = 0; ty < tilesY; ty++) {
    for (let tx = 0; tx < tilesX; tx++) backwardTile(f, dRgb, dAlpha, g2, tx, ty, st);
  }
  return g2;
}

/** Scratch state of one tile of the backward pass (reused across tiles). */
interface BackwardTileState {
  T: Float64Array; // [256] transmittance, recovered front to back in reverse
  S: Float64Array; // [256, 3] Σ c·w of the Gaussians behind the current one
  last: Int32Array; // [256]
  G0: Float64Array; // [256, 3] dL/drgb
  GA: Float64Array; // [256] dL/dalpha
  TF: Float64Array; // [256] final transmittance
}

/** Backward of one tile (see {@link forwardTile}). */
function backwardTile(
  f: ForwardResult,
  dRgb: Floats,
  dAlpha: Floats | undefined,
  g2: Grads2d,
  tx: number,
  ty: number,
  st: BackwardTileState,
): void {
  const p = f.proj;
  const { width: W, height: H, tilesX } = p.view;
  const TS = TILE_SIZE;
  const { T, S, last, G0, GA, TF } = st;
  const { packed: pk, tileIds, tileStart } = p;
  const [bg0, bg1, bg2] = f.background;
  const px0 = tx * TS, py0 = ty * TS;
  const px1 = Math.min(W, px0 + TS), py1 = Math.min(H, py0 + TS);
  last.fill(0), S.fill(0);
  let maxLast = 0;
  for (let py = py0; py < py1; py++) {
    for (let px = px0; px < px1; px++) {
      const li = (py - py0) * TS + (px - px0), pi = py * W + px;
      T[li] = f.finalT[pi]!;
      TF[li] = f.finalT[pi]!;
      last[li] = f.last[pi]!;
      if (last[li]! > maxLast) maxLast = last[li]!;
      G0[li * 3] = dRgb[pi * 3]!,
        G0[li * 3 + 1] = dRgb[pi * 3 + 1]!,
        G0[li * 3 + 2] = dRgb[pi * 3 + 2]!;
      GA[li] = dAlpha ? dAlpha[pi]! : 0;
    }
  }
  const s0 = tileStart[ty * tilesX + tx]!;
  const hasA = dAlpha !== undefined;
  // Exactly the pairs the forward blended, in its order (no exp, no span search).
  const { blendSpan: span, blendPixel: bL, blendG: bG } = f;
  for (let k = maxLast - 1; k >= 0; k--) {
    const g = tileIds[s0 + k]!;
    const b = g * PACK;
    const gx = pk[b]!, gy = pk[b + 1]!;
    const ca = pk[b + 2]!, cb = pk[b + 3]!, cc = pk[b + 4]!;
    const o = pk[b + 5]!;
    const cr = pk[b + 8]!, cgr = pk[b + 9]!, cbl = pk[b + 10]!;
    let gX = 0,
      gY = 0,
      gA = 0,
      gB = 0,
      gC = 0,
      gO = 0,
      gR = 0,
      gG = 0,
      gBl = 0;
    const e = span[(s0 + k) * 2 + 1]!;
    for (let j = span[(s0 + k) * 2]!; j < e; j++) {
      const li = bL[j]!;
      const dx = gx - (px0 + (li & (TS - 1))), dy = gy - (py0 + (li >> TILE_SHIFT));
      const G = bG[j]!;
      const ao = o * G;
      const alpha = ao > ALPHA_MAX ? ALPHA_MAX : ao;
      const oneMinus = 1 - alpha;
      const Ti = T[li]! / oneMinus;
      T[li] = Ti;
      const w = alpha * Ti;
      const d0 = G0[li * 3]!, d1 = G0[li * 3 + 1]!, d2 = G0[li * 3 + 2]!;
      gR += w * d0, gG += w * d1, gBl += w * d2;
      const tf = TF[li]!;
      const s0r = S[li * 3]!, s0g = S[li * 3 + 1]!, s0b = S[li * 3 + 2]!;
      // dC/dα_i = c_i·T_i − (Σ_{j>i} c_j·w_j + T_final·bg) / (1 − α_i)
      let dAl = d0 * (cr * Ti - (s0r + tf * bg0) / oneMinus) +
        d1 * (cgr * Ti - (s0g + tf * bg1) / oneMinus) +
        d2 * (cbl * Ti - (s0b + tf * bg2) / oneMinus);
      // Without an alpha gradient this term is 0 (adding it changes no result).
      if (hasA) dAl += GA[li]! * tf / oneMinus;
      S[li * 3] = s0r + cr * w, S[li * 3 + 1] = s0g + cgr * w, S[li * 3 + 2] = s0b + cbl * w;
      if (ao >= ALPHA_MAX) continue; // clamped: α does not depend on o or G
      gO += G * dAl;
      const dPow = o * dAl * G; // dL/dpower
      gX += dPow * -(ca * dx + cb * dy);
      gY += dPow * -(cb * dx + cc * dy);
      gA += dPow * -0.5 * dx * dx;
      gB += dPow * -dx * dy;
      gC += dPow * -0.5 * dy * dy;
    }
    g2.xy[g * 2] = g2.xy[g * 2]! + gX, g2.xy[g * 2 + 1] = g2.xy[g * 2 + 1]! + gY;
    g2.conic[g * 3] = g2.conic[g * 3]! + gA;
    g2.conic[g * 3 + 1] = g2.conic[g * 3 + 1]! + gB;
    g2.conic[g * 3 + 2] = g2.conic[g * 3 + 2]! + gC;
    g2.opacity[g] = g2.opacity[g]! + gO;
    g2.rgb[g * 3] = g2.rgb[g * 3]! + gR;
    g2.rgb[g * 3 + 1] = g2.rgb[g * 3 + 1]! + gG;
    g2.rgb[g * 3 + 2] = g2.rgb[g * 3 + 2]! + gBl;
  }
}

/** Scene-parameter gradients (float64, same layout as the scene). */
export interface SceneGrads64 {
  means: Float64Array;
  logScales: Float64Array;
  quats: Float64Array;
  opacityLogits: Float64Array;
  colors: Float64Array;
  means2dAbs: Float64Array;
}

/** Backward of {@link preprocess}: 2D gradients → scene-parameter gradients. */
export function preprocessBackward(
  scene: SceneArrays,
  p: Projected,
  g2: Grads2d,
  ws: Workspace = new Workspace(),
): SceneGrads64 {
  const n = p.n;
  const out: SceneGrads64 = {
    means: ws.f64("dMeans", n * 3, true),
    logScales: ws.f64("dLogScales", n * 3, true),
    quats: ws.f64("dQuats", n * 4, true),
    opacityLogits: ws.f64("dOpacity", n, true),
    colors: ws.f64("dColors", scene.colors.length, true),
    means2dAbs: ws.f64("dMeans2dAbs", n, true),
  };
  const sc: BackwardScratch = {
    dCov2: new Float64Array(3),
    dCov3: new Float64Array(6),
    dT: new Float64Array(3),
    scratch: new Float64Array(18),
    basis: new Float64Array(16),
    bgrad: new Float64Array(48),
  };
  // One call per Gaussian: see preprocess().
  for (let i = 0; i < n; i++) if (p.radius[i] !== 0) backwardOne(scene, p, g2, out, i, sc);
  return out;
}

interface BackwardScratch {
  dCov2: Float64Array;
  dCov3: Float64Array;
  dT: Float64Array;
  scratch: Float64Array;
  basis: Float64Array;
  bgrad: Float64Array;
}

function backwardOne(
  scene: SceneArrays,
  p: Projected,
  g2: Grads2d,
  out: SceneGrads64,
  i: number,
  sc: BackwardScratch,
): void {
  const view = p.view;
  const R = view.R;
  const sh = scene.colorMode === "sh";
  const deg = scene.shDegree;
  const K = sh ? shCoeffCount(deg) : 1;
  const { quats: q, logScales: ls, colors } = scene;
  const { dCov2, dCov3, dT, scratch, basis, bgrad } = sc;
  const tx = p.tcam[i * 3]!, ty = p.tcam[i * 3 + 1]!, tz = p.tcam[i * 3 + 2]!;
  const gx = g2.xy[i * 2]!, gy = g2.xy[i * 2 + 1]!;
  out.means2dAbs[i] = Math.sqrt(gx * gx + gy * gy);
  // Opacity.
  const o = p.opacity[i]!;
  out.opacityLogits[i] = g2.opacity[i]! * o * (1 - o);
  // Colour.
  let ddx = 0, ddy = 0, ddz = 0;
  if (sh) {
    const dx = p.dir[i * 3]!, dy = p.dir[i * 3 + 1]!, dz = p.dir[i * 3 + 2]!;
    shBasis(deg, dx, dy, dz, basis);
    const gr = p.clamped[i * 3] ? 0 : g2.rgb[i * 3]!;
    const gg = p.clamped[i * 3 + 1] ? 0 : g2.rgb[i * 3 + 1]!;
    const gb = p.clamped[i * 3 + 2] ? 0 : g2.rgb[i * 3 + 2]!;
    const base = i * K * 3;
    for (let k = 0; k < K; k++) {
      const b = basis[k]!;
      out.colors[base + k * 3] = b * gr;
      out.colors[base + k * 3 + 1] = b * gg;
      out.colors[base + k * 3 + 2] = b * gb;
    }
    if (deg > 0 && !view.ortho) {
      shBasisGrad(deg, dx, dy, dz, bgrad);
      for (let k = 1; k < K; k++) {
        const dc = colors[base + k * 3]! * gr +
          colors[base + k * 3 + 1]! * gg + colors[base + k * 3 + 2]! * gb;
        ddx += dc * bgrad[k * 3]!, ddy += dc * bgrad[k * 3 + 1]!, ddz += dc * bgrad[k * 3 + 2]!;
      }
      // Through the normalisation of (mean − campos).
      const dot = ddx * dx + ddy * dy + ddz * dz, il = 1 / p.dirLen[i]!;
      ddx = (ddx - dx * dot) * il, ddy = (ddy - dy * dot) * il, ddz = (ddz - dz * dot) * il;
    }
  } else {
    out.colors[i * 3] = g2.rgb[i * 3]!;
    out.colors[i * 3 + 1] = g2.rgb[i * 3 + 1]!;
    out.colors[i * 3 + 2] = g2.rgb[i * 3 + 2]!;
  }
  // Conic → 2D covariance → (Σ, camera-space mean).
  const a = p.cov2[i * 3]!, b = p.cov2[i * 3 + 1]!, c = p.cov2[i * 3 + 2]!;
  conicBackward(
    a,
    b,
    c,
    g2.conic[i * 3]!,
    g2.conic[i * 3 + 1]!,
    g2.conic[i * 3 + 2]!,
    dCov2,
  );
  dCov3.fill(0), dT.fill(0);
  projectCovarianceBackward(
    view,
    tx,
    ty,
    tz,
    p.cov3,
    i * 6,
    dCov2[0]!,
    dCov2[1]!,
    dCov2[2]!,
    dCov3,
    dT,
  );
  // Projected centre.
  if (view.ortho) {
    dT[0] = dT[0]! + gx * view.fx;
    dT[1] = dT[1]! + gy * view.fy;
  } else {
    const iz = 1 / tz;
    dT[0] = dT[0]! + gx * view.fx * iz;
    dT[1] = dT[1]! + gy * view.fy * iz;
    dT[2] = dT[2]! - (gx * view.fx * tx + gy * view.fy * ty) * iz * iz;
  }
  // t = R·m + t0 → dm = Rᵀ·dT
  out.means[i * 3] = R[0]! * dT[0]! + R[3]! * dT[1]! + R[6]! * dT[2]! + ddx;
  out.means[i * 3 + 1] = R[1]! * dT[0]! + R[4]! * dT[1]! + R[7]! * dT[2]! +
    ddy;
  out.means[i * 3 + 2] = R[2]! * dT[0]! + R[5]! * dT[1]! + R[8]! * dT[2]! +
    ddz;
  covariance3dBackward(
    q,
    i * 4,
    ls,
    i * 3,
    dCov3,
    out.quats,
    i * 4,
    out.logScales,
    i * 3,
    scratch,
  );
}
