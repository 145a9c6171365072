/**
 * Filling the pixels the old jaw or mouth covered and the new render does not:
 * a temporal fill from a head-aligned "clean plate" accumulated over the clip,
 * then a spatial inpainter for what no frame showed.
 *
 * ## The inpainter contract (image + mask → image)
 * {@link Inpainter}`.inpaint(image, hole)`:
 * - `image`: float RGB `[h, w, 3]` in [0, 1]; pixels under the hole are undefined
 *   (callers may leave anything there).
 * - `hole`: `[h, w]` uint8, 1 = fill this pixel, 0 = known.
 * - returns float RGB `[h, w, 3]` in [0, 1]; callers keep the known pixels of
 *   `image` and take only the hole pixels from the result.
 *
 * An ONNX model plugs in through {@link OnnxInpainter} with this contract:
 * inputs `image` float32 `[1, 3, H, W]` (RGB planes, 0..1, hole pixels set to 0)
 * and `mask` float32 `[1, 1, H, W]` (1 = hole); output (the model's first output)
 * float32 `[1, 3, H, W]`, 0..1. If the model has a fixed input size the crop is
 * resized to it and the result resized back; otherwise the crop is passed at its
 * own size, padded to a multiple of `multiple` (e.g. 8) by edge replication.
 *
 * @module
 */
import { resizeBilinear } from "../image/resize.ts";
import type { ImageF32 } from "../image/types.ts";

/** Fills holes in an image (see the module doc for the contract). */
export interface Inpainter {
  readonly name: string;
  inpaint(image: ImageF32, hole: Uint8Array): Promise<ImageF32>;
}

/**
 * Spatial fill by push–pull (a masked Gaussian pyramid): known pixels are
 * averaged down level by level with their weights; holes take the value of the
 * coarser level, upsampled, so colour diffuses smoothly from the hole's border
 * inwards. Deterministic, no learned weights, handles any hole shape.
 */
export class PushPullInpainter implements Inpainter {
  readonly name = "push-pull";
  inpaint(image: ImageF32, hole: Uint8Array): Promise<ImageF32> {
    return Promise.resolve(pushPull(image, hole));
  }
}

/** Push–pull fill (synchronous core of {@link PushPullInpainter}). */
export function pushPull(image: ImageF32, hole: Uint8Array): ImageF32 {
  const { width: W, height: H, channels: C } = image;
  if (hole.length !== W * H) throw new RangeError(`hole must be [${H}, ${W}]`);
  // Level 0: premultiplied colour and weight.
  const levels: { w: number; h: number; col: Float32Array; wt: Float32Array }[] = [];
  let col = new Float32Array(W * H * C), wt = new Float32Array(W * H);
  for (let i = 0; i < W * H; i++) {
    if (hole[i]) continue;
    wt[i] = 1;
    for (let c = 0; c < C; c++) col[i * C + c] = image.data[i * C + c]!;
  }
  let w = W, h = H;
  levels.push({ w, h, col, wt });
  while (w > 1 || h > 1) {
    const nw = Math.ceil(w / 2), nh = Math.ceil(h / 2);
    const ncol = new Float32Array(nw * nh * C), nwt = new Float32Array(nw * nh);
    for (let y = 0; y < nh; y++) {
      for (let x = 0; x < nw; x++) {
        let sw = 0;
        const acc = [0, 0, 0, 0];
        for (let dy = 0; dy < 2; dy++) {
          for (let dx = 0; dx < 2; dx++) {
            const X = 2 * x + dx, Y = 2 * y + dy;
            if (X >= w || Y >= h) continue;
            const j = Y * w + X, a = wt[j]!;
            if (a === 0) continue;
            sw += a;
            for (let c = 0; c < C; c++) acc[c]! += col[j * C + c]! * a;
          }
        }
        const o = y * nw + x;
        if (sw > 0) {
          for (let c = 0; c < C; c++) ncol[o * C + c] = acc[c]! / sw;
          nwt[o] = Math.min(1, sw);
        }
      }
    }
    col = ncol, wt = nwt, w = nw, h = nh;
    levels.push({ w, h, col, wt });
  }
  // Pull: from coarse to fine, blend each level's known part over the upsampled coarser level.
  let cur: ImageF32 = { width: w, height: h, channels: C, data: levels[levels.length - 1]!.col };
  for (let l = levels.length - 2; l >= 0; l--) {
    const L = levels[l]!;
    const up = resizeBilinear(cur, L.w, L.h);
    const out = new Float32Array(L.w * L.h * C);
    for (let i = 0; i < L.w * L.h; i++) {
      const a = L.wt[i]!;
      for (let c = 0; c < C; c++) {
        out[i * C + c] = a * L.col[i * C + c]! + (1 - a) * up.data[i * C + c]!;
      }
    }
    cur = { width: L.w, height: L.h, channels: C, data: out };
  }
  // Known pixels exactly as given.
  for (let i = 0; i < W * H; i++) {
    if (!hole[i]) { for (let c = 0; c < C; c++) cur.data[i * C + c] = image.data[i * C + c]!; }
  }
  return cur;
}

/** The subset of onnxruntime's InferenceSession the ONNX inpainter uses. */
export interface OnnxSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(
    feeds: Record<string, unknown>,
  ): Promise<Record<string, { data: unknown; dims: readonly number[] }>>;
  release?(): Promise<void>;
}

/** A learned inpainter behind the same contract (module doc), run by onnxruntime-node. */
export class OnnxInpainter implements Inpainter, AsyncDisposable {
  readonly name: string;
  private constructor(
    private readonly session: OnnxSessionLike,
    private readonly ort: {
      Tensor: new (type: "float32", data: Float32Array, dims: number[]) => unknown;
    },
    private readonly opts: { size?: [number, number]; multiple: number; path: string },
  ) {
    this.name = `onnx:${opts.path}`;
  }

  /**
   * Load an inpainting model. `size` = [width, height] for models with a fixed
   * input size; `multiple` pads dynamic sizes (default 8).
   */
  static async load(
    path: string,
    opts: { size?: [number, number]; multiple?: number } = {},
  ): Promise<OnnxInpainter> {
    const ort = await import("onnxruntime-node");
    let session: OnnxSessionLike;
    try {
      session = await ort.InferenceSession.create(path) as unknown as OnnxSessionLike;
    } catch (e) {
      const { DubError } = await import("../errors.ts");
      throw new DubError(
        "input",
        `Cannot load the inpainting model "${path}": ${(e as Error).message}`,
        {
          hint:
            "pass an ONNX model with inputs image [1,3,H,W] and mask [1,1,H,W] (see src/composite/fill.ts)",
          cause: e,
        },
      );
    }
    for (const n of ["image", "mask"]) {
      if (!session.inputNames.includes(n)) {
        const { DubError } = await import("../errors.ts");
        throw new DubError("input", `The inpainting model "${path}" has no input named "${n}"`, {
          hint: `its inputs are ${
            session.inputNames.join(", ")
          }; the contract needs image and mask`,
        });
      }
    }
    return new OnnxInpainter(session, ort as never, {
      ...(opts.size ? { size: opts.size } : {}),
      multiple: opts.multiple ?? 8,
      path,
    });
  }

  async inpaint(image: ImageF32, hole: Uint8Array): Promise<ImageF32> {
    const { width: W, height: H } = image;
    let img = image;
    let m: ImageF32 = { width: W, height: H, channels: 1, data: Float32Array.from(hole) };
    let mw = W, mh = H;
    if (this.opts.size) {
      [mw, mh] = this.opts.size;
      img = resizeBilinear(image, mw, mh);
      m = resizeBilinear(m, mw, mh);
    } else {
      const k = this.opts.multiple;
      mw = Math.ceil(W / k) * k, mh = Math.ceil(H / k) * k;
    }
    const planes = new Float32Array(3 * mw * mh), mask = new Float32Array(mw * mh);
    for (let y = 0; y < mh; y++) {
      for (let x = 0; x < mw; x++) {
        const sx = Math.min(x, img.width - 1), sy = Math.min(y, img.height - 1);
        const s = sy * img.width + sx, d = y * mw + x;
        const hv = m.data[s]! >= 0.5 ? 1 : 0;
        mask[d] = hv;
        for (let c = 0; c < 3; c++) planes[c * mw * mh + d] = hv ? 0 : img.data[s * 3 + c]!;
      }
    }
    const out = await this.session.run({
      image: new this.ort.Tensor("float32", planes, [1, 3, mh, mw]),
      mask: new this.ort.Tensor("float32", mask, [1, 1, mh, mw]),
    });
    const first = out[this.session.outputNames[0]!]!;
    const dims = first.dims;
    if (dims.length !== 4 || dims[1] !== 3 || dims[2] !== mh || dims[3] !== mw) {
      throw new RangeError(
        `The inpainting model "${this.opts.path}" returned [${
          dims.join(", ")
        }], expected [1, 3, ${mh}, ${mw}]`,
      );
    }
    const data = first.data as Float32Array;
    let res: ImageF32 = { width: mw, height: mh, channels: 3, data: new Float32Array(mw * mh * 3) };
    for (let i = 0; i < mw * mh; i++) {
      for (let c = 0; c < 3; c++) res.data[i * 3 + c] = data[c * mw * mh + i]!;
    }
    if (this.opts.size) res = resizeBilinear(res, W, H);
    else if (mw !== W || mh !== H) {
      const crop = new Float32Array(W * H * 3);
      for (let y = 0; y < H; y++) {
        crop.set(res.data.subarray(y * mw * 3, y * mw * 3 + W * 3), y * W * 3);
      }
      res = { width: W, height: H, channels: 3, data: crop };
    }
    // Known pixels exactly as given.
    for (let i = 0; i < W * H; i++) {
      if (!hole[i]) { for (let c = 0; c < 3; c++) res.data[i * 3 + c] = image.data[i * 3 + c]!; }
    }
    return res;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.session.release?.();
  }
}

// ---------------------------------------------------------------------------
// Head alignment and the temporal clean plate.

/**
 * Landmarks rigid with the skull, used to align frames on the head: outer and
 * inner eye corners, nose bridge and tip, forehead, temples.
 */
export const RIGID_LANDMARKS = [33, 133, 263, 362, 168, 6, 197, 195, 1, 10, 151, 234, 454] as const;

/** A 2-D similarity transform p' = [a −b; b a]·p + [tx, ty]. */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

/** Least-squares similarity mapping `from` points to `to` points (both `[468, 2]`, over {@link RIGID_LANDMARKS}). */
export function fitSimilarity(from: Float32Array, to: Float32Array): Similarity {
  let mfx = 0, mfy = 0, mtx = 0, mty = 0;
  const n = RIGID_LANDMARKS.length;
  for (const i of RIGID_LANDMARKS) {
    mfx += from[i * 2]!, mfy += from[i * 2 + 1]!, mtx += to[i * 2]!, mty += to[i * 2 + 1]!;
  }
  mfx /= n, mfy /= n, mtx /= n, mty /= n;
  let sxx = 0, sxy = 0, ss = 0;
  for (const i of RIGID_LANDMARKS) {
    const fx = from[i * 2]! - mfx, fy = from[i * 2 + 1]! - mfy;
    const tx = to[i * 2]! - mtx, ty = to[i * 2 + 1]! - mty;
    sxx += fx * tx + fy * ty;
    sxy += fx * ty - fy * tx;
    ss += fx * fx + fy * fy;
  }
  const a = ss > 0 ? sxx / ss : 1, b = ss > 0 ? sxy / ss : 0;
  return { a, b, tx: mtx - (a * mfx - b * mfy), ty: mty - (b * mfx + a * mfy) };
}

/** Apply a similarity to (x, y). */
export const applySimilarity = (s: Similarity, x: number, y: number): [number, number] => [
  s.a * x - s.b * y + s.tx,
  s.b * x + s.a * y + s.ty,
];

/** The inverse similarity. */
export function invertSimilarity(s: Similarity): Similarity {
  const d = s.a * s.a + s.b * s.b;
  const a = s.a / d, b = -s.b / d;
  return { a, b, tx: -(a * s.tx - b * s.ty), ty: -(b * s.tx + a * s.ty) };
}

/**
 * The clean plate: the region around the lower face in head-aligned coordinates
 * (the reference frame's pixel grid, inside `box`), averaged over every frame in
 * which the pixel was NOT covered by that frame's own lower face — what is behind
 * the jaw when the jaw is elsewhere. Memory: one box of floats, whatever the clip
 * length.
 */
export class CleanPlate {
  readonly sum: Float32Array; // [h, w, 3]
  readonly count: Float32Array; // [h, w]
  constructor(
    /** Reference landmarks `[468, 2]` (head-aligned frame). */
    readonly reference: Float32Array,
    /** Plate area in reference pixels. */
    readonly box: { x: number; y: number; w: number; h: number },
  ) {
    this.sum = new Float32Array(box.w * box.h * 3);
    this.count = new Float32Array(box.w * box.h);
  }

  /**
   * Add frame `rgb` (`[H, W, 3]` uint8) whose landmarks are `lm` and whose own
   * lower face (`covered` `[H, W]`, 1 = covered by the old jaw/mouth, or by anything
   * that must not be learned) is excluded.
   */
  add(rgb: Uint8Array, W: number, H: number, lm: Float32Array, covered: Uint8Array): void {
    const toFrame = fitSimilarity(this.reference, lm); // reference px → frame px
    const { x: bx, y: by, w: bw, h: bh } = this.box;
    for (let y = 0; y < bh; y++) {
      for (let x = 0; x < bw; x++) {
        const [fx, fy] = applySimilarity(toFrame, bx + x + 0.5, by + y + 0.5);
        const X = Math.floor(fx), Y = Math.floor(fy);
        if (X < 0 || Y < 0 || X >= W || Y >= H || covered[Y * W + X]) continue;
        const o = (Y * W + X) * 3, d = y * bw + x;
        this.sum[d * 3] = this.sum[d * 3]! + rgb[o]! / 255;
        this.sum[d * 3 + 1] = this.sum[d * 3 + 1]! + rgb[o + 1]! / 255;
        this.sum[d * 3 + 2] = this.sum[d * 3 + 2]! + rgb[o + 2]! / 255;
        this.count[d] = this.count[d]! + 1;
      }
    }
  }

  /**
   * Look up the plate for frame pixel (fx, fy) given the frame→reference
   * similarity; writes RGB into `out` and returns false when no frame showed it.
   */
  lookup(fromFrame: Similarity, fx: number, fy: number, out: Float32Array, minCount = 1): boolean {
    const [rx, ry] = applySimilarity(fromFrame, fx, fy);
    const x = Math.floor(rx - this.box.x), y = Math.floor(ry - this.box.y);
    if (x < 0 || y < 0 || x >= this.box.w || y >= this.box.h) return false;
    const d = y * this.box.w + x, n = this.count[d]!;
    if (n < minCount) return false;
    out[0] = this.sum[d * 3]! / n;
    out[1] = this.sum[d * 3 + 1]! / n;
    out[2] = this.sum[d * 3 + 2]! / n;
    return true;
  }
}
