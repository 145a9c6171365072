/**
 * The WebGPU frame pipeline: records the passes (project → depth sort → tile
 * counts + scan → emit → tile sort → ranges → rasterize; backward rasterize →
 * backward project; loss; Adam) on a {@link GpuContext}, with the intermediate
 * buffers kept in a growable workspace. One frame costs two submits: the instance
 * count M is read back after the scan (4 bytes) to size the instance buffers and
 * the sort dispatches.
 *
 * @module
 */
import type { Camera, GaussianScene } from "./types.ts";
import { shCoeffCount, viewParams } from "./_math.ts";
import {
  ADAM,
  BIN_SIZE,
  FRAME,
  GRAD2D_STRIDE,
  LOSS,
  packStruct,
  PASS,
  RADIX_BINS,
  RADIX_BITS,
  RADIX_BLOCK,
  SPLAT,
  WG_1D,
} from "./_layout.ts";
import { type GpuContext, GrowBuffer } from "./_webgpu_context.ts";

/** Where each parameter group sits in the flat parameter buffer (in floats). */
export interface SceneLayout {
  n: number;
  shDegree: number;
  colorMode: "sh" | "rgb";
  colorStride: number;
  offMeans: number;
  offScales: number;
  offQuats: number;
  offOpacity: number;
  offColors: number;
  total: number;
}

export function sceneLayout(
  scene: Pick<GaussianScene, "count" | "shDegree" | "colorMode">,
): SceneLayout {
  const n = scene.count;
  const colorStride = scene.colorMode === "sh" ? shCoeffCount(scene.shDegree) * 3 : 3;
  const offScales = 3 * n, offQuats = 6 * n, offOpacity = 10 * n, offColors = 11 * n;
  return {
    n,
    shDegree: scene.colorMode === "sh" ? scene.shDegree : 0,
    colorMode: scene.colorMode,
    colorStride,
    offMeans: 0,
    offScales,
    offQuats,
    offOpacity,
    offColors,
    total: offColors + colorStride * n,
  };
}

/** The scene's arrays back to back ([total] floats, see {@link sceneLayout}). */
export function packParams(scene: GaussianScene, layout: SceneLayout): Float32Array {
  const p = new Float32Array(layout.total);
  p.set(scene.means, layout.offMeans);
  p.set(scene.logScales, layout.offScales);
  p.set(scene.quats, layout.offQuats);
  p.set(scene.opacityLogits, layout.offOpacity);
  p.set(scene.colors, layout.offColors);
  return p;
}

/** Splits a flat parameter-layout array back into the scene's groups (copies). */
export function unpackParams(flat: Float32Array, layout: SceneLayout) {
  const { n } = layout;
  return {
    means: flat.slice(layout.offMeans, layout.offMeans + 3 * n),
    logScales: flat.slice(layout.offScales, layout.offScales + 3 * n),
    quats: flat.slice(layout.offQuats, layout.offQuats + 4 * n),
    opacityLogits: flat.slice(layout.offOpacity, layout.offOpacity + n),
    colors: flat.slice(layout.offColors, layout.offColors + layout.colorStride * n),
  };
}

/** What a forward pass leaves on the device for the backward pass. */
export interface Frame {
  width: number;
  height: number;
  /** Rasterizer bins (BIN_SIZE² pixels) per row and column. */
  binsX: number;
  binsY: number;
  layout: SceneLayout;
  /** Instances (Gaussian × tile pairs). */
  instances: number;
  frameData: ArrayBuffer;
  /** Buffer holding the tile-sorted Gaussian ids. */
  instVals: GPUBuffer;
}

const MAX_1D = 65535;

function groups(n: number, per: number): number {
  const g = Math.ceil(n / per);
  if (g > MAX_1D) {
    throw new RangeError(
      `Too many work items (${n}) for one dispatch (max ${
        MAX_1D * per
      }); render fewer Gaussians or a smaller image`,
    );
  }
  return g;
}

/** Runs the passes; owns the intermediate buffers. */
export class Renderer {
  readonly ctx: GpuContext;
  readonly #b: Record<string, GrowBuffer> = {};
  #dummy: GPUBuffer;

  constructor(ctx: GpuContext) {
    this.ctx = ctx;
    this.#dummy = ctx.device.createBuffer({
      label: "dummy",
      size: 16,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
  }

  /** Named workspace buffer with at least `bytes`. */
  buf(name: string, bytes: number): GPUBuffer {
    const b = this.#b[name] ??= new GrowBuffer(this.ctx, name);
    return b.ensure(bytes);
  }

  #pass(n: number, shift = 0, blocks = 0, aux = 0): GPUBufferBinding {
    return this.ctx.uniform(packStruct(PASS, { n, shift, blocks, aux }));
  }

  /** Exclusive scan of `n` u32 in `data`; total goes to totals[aux]. */
  #scan(data: GPUBuffer, n: number, totals: GPUBuffer, aux: number): void {
    this.ctx.dispatch("scan.wgsl", "main", { 0: this.#pass(n, 0, 0, aux), 1: data, 2: totals }, 1);
  }

  /**
   * Stable LSD radix sort of `n` (key, value) pairs on the low `bits` bits.
   * Returns the buffers holding the result (the inputs or the scratch pair).
   */
  #sort(
    keys: GPUBuffer,
    vals: GPUBuffer,
    keys2: GPUBuffer,
    vals2: GPUBuffer,
    n: number,
    bits: number,
  ): [GPUBuffer, GPUBuffer] {
    const blocks = Math.max(1, Math.ceil(n / RADIX_BLOCK));
    groups(blocks, 1);
    const hist = this.buf("sort_hist", RADIX_BINS * blocks * 4);
    const totals = this.buf("totals", 64);
    let a: [GPUBuffer, GPUBuffer] = [keys, vals], b: [GPUBuffer, GPUBuffer] = [keys2, vals2];
    for (let shift = 0; shift < bits; shift += RADIX_BITS) {
      const u = this.#pass(n, shift, blocks, 0);
      this.ctx.dispatch("radix_sort.wgsl", "histogram", { 0: u, 1: a[0], 3: hist }, blocks);
      this.#scan(hist, RADIX_BINS * blocks, totals, 1);
      this.ctx.dispatch(
        "radix_sort.wgsl",
        "scatter",
        { 0: this.#pass(n, shift, blocks, 0), 1: a[0], 2: a[1], 3: hist, 4: b[0], 5: b[1] },
        blocks,
      );
      [a, b] = [b, a];
    }
    return a;
  }

  /** Forward pass of the parameters in `params` (layout `layout`). */
  async forward(
    params: GPUBuffer,
    layout: SceneLayout,
    camera: Camera,
    background: [number, number, number],
    accumulateStats = false,
  ): Promise<Frame> {
    const ctx = this.ctx;
    ctx.check();
    const v = viewParams(camera);
    const { width, height, tilesX, tilesY } = v;
    const binsX = Math.ceil(width / BIN_SIZE), binsY = Math.ceil(height / BIN_SIZE);
    const n = layout.n;
    const R = v.R, t = v.t;
    const frameData = packStruct(FRAME, {
      width,
      height,
      tiles_x: tilesX,
      tiles_y: tilesY,
      bins_x: binsX,
      bins_y: binsY,
      n,
      sh_degree: layout.shDegree,
      color_stride: layout.colorStride,
      color_mode: layout.colorMode === "sh" ? 0 : 1,
      ortho: v.ortho ? 1 : 0,
      accumulate_stats: accumulateStats ? 1 : 0,
      off_means: layout.offMeans,
      off_scales: layout.offScales,
      off_quats: layout.offQuats,
      off_opacity: layout.offOpacity,
      off_colors: layout.offColors,
      fx: v.fx,
      fy: v.fy,
      cx: v.cx,
      cy: v.cy,
      r00: R[0]!,
      r01: R[1]!,
      r02: R[2]!,
      r10: R[3]!,
      r11: R[4]!,
      r12: R[5]!,
      r20: R[6]!,
      r21: R[7]!,
      r22: R[8]!,
      t0: t[0]!,
      t1: t[1]!,
      t2: t[2]!,
      campos_x: v.campos[0]!,
      campos_y: v.campos[1]!,
      campos_z: v.campos[2]!,
      near: Number.isFinite(v.near) ? v.near : -3.4e38,
      lim_x: v.limX,
      lim_y: v.limY,
      bg_r: background[0],
      bg_g: background[1],
      bg_b: background[2],
    });
    const nn = Math.max(1, n);
    const splats = this.buf("splats", SPLAT.size * nn);
    const dk = this.buf("depth_keys", 4 * nn), dv = this.buf("depth_vals", 4 * nn);
    const dk2 = this.buf("depth_keys2", 4 * nn), dv2 = this.buf("depth_vals2", 4 * nn);
    const offsets = this.buf("offsets", 4 * nn);
    const totals = this.buf("totals", 64);
    let t0 = performance.now();
    ctx.dispatch(
      "project.wgsl",
      "main",
      { 0: ctx.uniform(frameData), 1: params, 2: splats, 3: dk, 4: dv },
      groups(n, WG_1D),
    );
    t0 = await ctx.stage("project", t0);
    const [, order] = this.#sort(dk, dv, dk2, dv2, n, 32);
    t0 = await ctx.stage("depth sort", t0);
    ctx.dispatch("emit.wgsl", "count_tiles", {
      0: ctx.uniform(frameData),
      1: splats,
      2: order,
      3: offsets,
    }, groups(n, WG_1D));
    this.#scan(offsets, n, totals, 0);
    const [mBuf] = await ctx.readback([{ buffer: totals, bytes: 4 }]);
    const m = new Uint32Array(mBuf!)[0]!;
    t0 = await ctx.stage("tile count + scan", t0);

    const mm = Math.max(1, m);
    const ik = this.buf("inst_keys", 4 * mm), iv = this.buf("inst_vals", 4 * mm);
    const ik2 = this.buf("inst_keys2", 4 * mm), iv2 = this.buf("inst_vals2", 4 * mm);
    ctx.dispatch(
      "emit.wgsl",
      "emit",
      { 0: ctx.uniform(frameData), 1: splats, 2: order, 3: offsets, 4: ik, 5: iv },
      groups(n, WG_1D),
    );
    t0 = await ctx.stage("emit", t0);
    const tileBits = Math.max(1, Math.ceil(Math.log2(binsX * binsY)));
    const [sk, sv] = this.#sort(ik, iv, ik2, iv2, m, Math.ceil(tileBits / RADIX_BITS) * RADIX_BITS);
    t0 = await ctx.stage("tile sort", t0);
    const ranges = this.buf("ranges", 8 * binsX * binsY);
    ctx.encoder.clearBuffer(ranges, 0, 8 * binsX * binsY);
    ctx.dispatch(
      "tile_ranges.wgsl",
      "main",
      { 0: this.#pass(m), 1: sk, 2: ranges },
      Math.min(4096, Math.ceil(m / WG_1D)),
    );
    t0 = await ctx.stage("tile ranges", t0);
    const np = width * height;
    ctx.dispatch(
      "rasterize.wgsl",
      "main",
      {
        0: ctx.uniform(frameData),
        1: splats,
        2: sv,
        3: ranges,
        4: this.buf("out_rgb", 12 * np),
        5: this.buf("out_alpha", 4 * np),
        6: this.buf("out_depth", 4 * np),
        7: this.buf("out_count", 4 * np),
        8: this.buf("final_t", 4 * np),
        9: this.buf("last", 4 * np),
      },
      binsX,
      binsY,
    );
    await ctx.stage("rasterize", t0);
    return { width, height, binsX, binsY, layout, instances: m, frameData, instVals: sv };
  }

  /** Copies the forward outputs to the host. */
  async readOutput(
    f: Frame,
    withCount: boolean,
    extra: { buffer: GPUBuffer; bytes: number }[] = [],
  ) {
    const np = f.width * f.height;
    const regions = [
      { buffer: this.buf("out_rgb", 12 * np), bytes: 12 * np },
      { buffer: this.buf("out_alpha", 4 * np), bytes: 4 * np },
      { buffer: this.buf("out_depth", 4 * np), bytes: 4 * np },
    ];
    if (withCount) regions.push({ buffer: this.buf("out_count", 4 * np), bytes: 4 * np });
    const r = await this.ctx.readback([...regions, ...extra]);
    return {
      extra: r.slice(regions.length),
      rgb: new Float32Array(r[0]!),
      alpha: new Float32Array(r[1]!),
      depth: new Float32Array(r[2]!),
      count: withCount ? new Uint32Array(r[3]!) : undefined,
    };
  }

  /**
   * Backward pass of the last forward: upstream dL/dRGB in `dRgb` ([H, W, 3]
   * device buffer), optional dL/dalpha; writes parameter gradients to `grads`
   * (parameter layout) and |dL/dmean2d| to the "mean2d_abs" workspace buffer.
   */
  async backward(
    f: Frame,
    params: GPUBuffer,
    grads: GPUBuffer,
    dRgb: GPUBuffer,
    dAlpha: GPUBuffer | undefined,
    stats: GPUBuffer | undefined,
  ): Promise<void> {
    const ctx = this.ctx;
    const n = f.layout.n, nn = Math.max(1, n);
    const np = f.width * f.height;
    const g2 = this.buf("grads2d", 4 * GRAD2D_STRIDE * nn);
    let t0 = performance.now();
    ctx.encoder.clearBuffer(g2, 0, 4 * GRAD2D_STRIDE * nn);
    ctx.dispatch(
      "rasterize_backward.wgsl",
      "main",
      {
        0: ctx.uniform(f.frameData),
        1: this.buf("splats", SPLAT.size * nn),
        2: f.instVals,
        3: this.buf("ranges", 8 * f.binsX * f.binsY),
        4: this.buf("final_t", 4 * np),
        5: this.buf("last", 4 * np),
        6: dRgb,
        7: dAlpha ?? { buffer: this.#dummy, offset: 0, size: 4 },
        8: g2,
      },
      f.binsX,
      f.binsY,
    );
    t0 = await ctx.stage("rasterize backward", t0);
    ctx.dispatch("project_backward.wgsl", "main", {
      0: ctx.uniform(f.frameData),
      1: params,
      2: this.buf("splats", SPLAT.size * nn),
      3: g2,
      4: grads,
      5: this.buf("mean2d_abs", 4 * nn),
      6: stats ?? this.#dummy,
    }, groups(n, WG_1D));
    await ctx.stage("project backward", t0);
  }

  /**
   * Loss of the image in `rgb` ([H, W, 3] device buffer) against `target`; writes
   * dL/dRGB to the "d_rgb" workspace buffer and the two loss sums (Σ m·|d|, Σ m·S)
   * to the end of the "loss_partial" buffer. Returns a function that reads the loss.
   */
  async loss(
    width: number,
    height: number,
    rgb: GPUBuffer,
    target: Float32Array,
    ssimWeight: number,
    mask: Float32Array | undefined,
  ): Promise<{ dRgb: GPUBuffer; read: () => Promise<number> }> {
    const ctx = this.ctx;
    const np = width * height;
    if (target.length !== 3 * np) {
      throw new RangeError(
        `Loss target must be ${height}×${width}×3 = ${3 * np} values, got ${target.length}`,
      );
    }
    if (mask && mask.length !== np) {
      throw new RangeError(
        `Loss mask must be ${height}×${width} = ${np} values, got ${mask.length}`,
      );
    }
    let msum = np;
    if (mask) {
      msum = 0;
      for (let i = 0; i < np; i++) msum += mask[i]!;
    }
    const lam = ssimWeight;
    const norm = msum > 0 ? 1 / (3 * msum) : 0;
    const tBuf = this.buf("target", 12 * np);
    ctx.write(tBuf, target);
    let mBuf: GPUBuffer = this.#dummy;
    if (mask) {
      mBuf = this.buf("mask", 4 * np);
      ctx.write(mBuf, mask);
    }
    const planeA = this.buf("plane_a", 4 * 15 * np), planeB = this.buf("plane_b", 4 * 15 * np);
    const partial = this.buf("loss_partial", 4 * (2 * np + 2));
    const dRgb = this.buf("d_rgb", 12 * np);
    const lp = (maps: number) =>
      ctx.uniform(
        packStruct(LOSS, {
          width,
          height,
          has_mask: mask ? 1 : 0,
          maps,
          ssim_weight: lam,
          inv_norm: norm,
        }),
      );
    const g = groups(np, WG_1D);
    const t0 = performance.now();
    if (lam > 0) {
      ctx.dispatch("loss.wgsl", "stats_h", { 0: lp(15), 1: rgb, 2: tBuf, 4: planeA }, g);
      ctx.dispatch("loss.wgsl", "blur_v", { 0: lp(15), 4: planeA, 5: planeB }, g);
    }
    ctx.dispatch(
      "loss.wgsl",
      "ssim",
      { 0: lp(0), 1: rgb, 2: tBuf, 3: mBuf, 5: planeB, 6: partial },
      g,
    );
    if (lam > 0) {
      ctx.dispatch("loss.wgsl", "blur_h", { 0: lp(9), 4: planeA, 5: planeB }, g);
      ctx.dispatch("loss.wgsl", "blur_v", { 0: lp(9), 4: planeA, 5: planeB }, g);
    }
    ctx.dispatch(
      "loss.wgsl",
      "combine",
      { 0: lp(0), 1: rgb, 2: tBuf, 3: mBuf, 5: planeB, 7: dRgb },
      g,
    );
    ctx.dispatch("loss.wgsl", "reduce", { 0: lp(0), 6: partial }, 1);
    await ctx.stage("loss", t0);
    const read = async () => {
      if (msum <= 0) return 0;
      const [r] = await ctx.readback([{ buffer: partial, offset: 8 * np, bytes: 8 }]);
      const [l1sum, ssum] = new Float32Array(r!);
      const l1 = l1sum! * norm;
      const ssim = lam > 0 ? ssum! * norm : 1;
      return (1 - lam) * l1 + lam * (1 - ssim);
    };
    return { dRgb, read };
  }

  /** One Adam update of `params` in place (moments m1, m2; step number `step` ≥ 1). */
  async adam(
    layout: SceneLayout,
    params: GPUBuffer,
    grads: GPUBuffer,
    m1: GPUBuffer,
    m2: GPUBuffer,
    lr: { means: number; logScales: number; quats: number; opacityLogits: number; colors: number },
    beta1: number,
    beta2: number,
    eps: number,
    step: number,
  ): Promise<void> {
    const ctx = this.ctx;
    const total = layout.total;
    const x = Math.max(1, Math.min(1024, Math.ceil(total / (256 * 64)))), y = 1;
    const t0 = performance.now();
    ctx.dispatch(
      "adam.wgsl",
      "main",
      {
        0: ctx.uniform(packStruct(ADAM, {
          total,
          off_scales: layout.offScales,
          off_quats: layout.offQuats,
          off_opacity: layout.offOpacity,
          off_colors: layout.offColors,
          lr_means: lr.means,
          lr_scales: lr.logScales,
          lr_quats: lr.quats,
          lr_opacity: lr.opacityLogits,
          lr_colors: lr.colors,
          beta1,
          beta2,
          eps,
          bias1: 1 - beta1 ** step,
          bias2_sqrt: Math.sqrt(1 - beta2 ** step),
        })),
        1: params,
        2: grads,
        3: m1,
        4: m2,
      },
      x,
      y,
    );
    await ctx.stage("adam", t0);
  }

  destroy(): void {
    for (const b of Object.values(this.#b)) b.destroy();
    this.#dummy.destroy();
  }
}
