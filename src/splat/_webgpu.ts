/**
 * WebGPU backend of the splatter ({@link SplatBackend}): WGSL compute passes on
 * Deno's built-in `navigator.gpu` (a real GPU through Vulkan/Metal/DX12, or Mesa
 * llvmpipe on CPU-only machines). The math is the CPU reference's (`_cpu_raster.ts`,
 * `_loss.ts`), evaluated in f32.
 *
 * `createWebGpuBackend()` throws {@link WebGpuUnavailableError} when no adapter or
 * device can be had, so `auto` selection can fall back to the CPU backend.
 *
 * @module
 */
import type {
  AdamOptions,
  Camera,
  DensifyOptions,
  GaussianScene,
  ImageGrads,
  LossOptions,
  RenderOptions,
  RenderOutput,
  SceneGrads,
  SceneOptimizer,
  SplatBackend,
} from "./types.ts";
import { assertScene } from "./scene.ts";
import { background, checkUpstream, ssimWeight } from "./_backend.ts";
import { applySplit, gatherRows, maxScales, planDensify } from "./densify.ts";
import { GpuContext, type StageTimer, STORAGE } from "./_webgpu_context.ts";
import {
  type Frame,
  packParams,
  Renderer,
  type SceneLayout,
  sceneLayout,
  unpackParams,
} from "./_webgpu_render.ts";

export { WebGpuDeviceLostError, WebGpuUnavailableError } from "./_webgpu_context.ts";

/** Records the photometric loss of frame `f`'s image (in "out_rgb") against `target` [H, W, 3]. */
function frameLoss(
  r: Renderer,
  f: Frame,
  target: Float32Array,
  loss?: LossOptions,
): Promise<{ dRgb: GPUBuffer; read: () => Promise<number> }> {
  const rgb = r.buf("out_rgb", 12 * f.width * f.height);
  return r.loss(f.width, f.height, rgb, target, ssimWeight(loss), loss?.mask);
}

/** Lets `opts.deviceColors` write the colour group of `params` (rgb mode only). */
function deviceColorsIn(
  opts: RenderOptions | undefined,
  layout: SceneLayout,
  params: GPUBuffer,
): void {
  if (!opts?.deviceColors) return;
  if (layout.colorMode !== "rgb") {
    throw new RangeError(
      `deviceColors needs a scene in "rgb" colour mode, got "${layout.colorMode}"`,
    );
  }
  opts.deviceColors.writeColors(params, layout.offColors);
}

/** The WebGPU splatting backend. Dispose it to release the device. */
export class WebGpuBackend implements SplatBackend {
  readonly name = "webgpu" as const;
  readonly device: string;
  readonly ctx: GpuContext;
  readonly renderer: Renderer;
  #optimizers = new Set<WebGpuOptimizer>();

  constructor(ctx: GpuContext) {
    this.ctx = ctx;
    this.device = `WebGPU: ${ctx.description}`;
    this.renderer = new Renderer(ctx);
  }

  /** Time every pass separately (staged timing, for benchmarks); undefined turns it off. */
  setTimer(timer: StageTimer | undefined): void {
    this.ctx.timer = timer;
  }

  #upload(scene: GaussianScene): { layout: SceneLayout; params: GPUBuffer } {
    assertScene(scene);
    const layout = sceneLayout(scene);
    const params = this.renderer.buf("scene_params", 4 * layout.total);
    this.ctx.write(params, packParams(scene, layout));
    return { layout, params };
  }

  async #output(
    f: Frame,
    opts?: RenderOptions,
    extra: { buffer: GPUBuffer; bytes: number }[] = [],
  ): Promise<{ out: RenderOutput; extra: ArrayBuffer[] }> {
    const o = await this.renderer.readOutput(f, opts?.withCount ?? false, extra);
    const out: RenderOutput = {
      width: f.width,
      height: f.height,
      rgb: o.rgb,
      alpha: o.alpha,
      depth: o.depth,
    };
    if (o.count) out.count = o.count;
    return { out, extra: o.extra };
  }

  render(scene: GaussianScene, camera: Camera, opts?: RenderOptions): Promise<RenderOutput> {
    return this.ctx.guard(() => this.#render(scene, camera, opts));
  }

  /** Uploads the scene and records its forward pass. */
  async #forward(
    scene: GaussianScene,
    camera: Camera,
    opts?: RenderOptions,
  ): Promise<{ f: Frame; layout: SceneLayout; params: GPUBuffer }> {
    const bg = background(opts);
    const { layout, params } = this.#upload(scene);
    deviceColorsIn(opts, layout, params);
    const f = await this.renderer.forward(params, layout, camera, bg);
    return { f, layout, params };
  }

  /**
   * Back-propagates device image gradients dRgb [H, W, 3] (and dAlpha [H, W]) of
   * frame `f`, then reads back the output and the scene gradients.
   */
  async #backward(
    f: Frame,
    layout: SceneLayout,
    params: GPUBuffer,
    dRgb: GPUBuffer,
    dAlpha: GPUBuffer | undefined,
    opts?: RenderOptions,
  ): Promise<{ output: RenderOutput; grads: SceneGrads }> {
    const r = this.renderer;
    const grads = r.buf("scene_grads", 4 * layout.total);
    await r.backward(f, params, grads, dRgb, dAlpha, undefined);
    opts?.deviceColors?.readColorGrads(grads, layout.offColors);
    const nn = layout.n;
    const { out: output, extra: [g, abs] } = await this.#output(f, opts, [
      { buffer: grads, bytes: 4 * layout.total },
      { buffer: r.buf("mean2d_abs", 4 * Math.max(1, nn)), bytes: 4 * nn },
    ]);
    return {
      output,
      grads: { ...unpackParams(new Float32Array(g!), layout), means2dAbs: new Float32Array(abs!) },
    };
  }

  async #render(scene: GaussianScene, camera: Camera, opts?: RenderOptions): Promise<RenderOutput> {
    const { f } = await this.#forward(scene, camera, opts);
    return (await this.#output(f, opts)).out;
  }

  renderBackward(
    scene: GaussianScene,
    camera: Camera,
    upstream: ImageGrads,
    opts?: RenderOptions,
  ): Promise<{ output: RenderOutput; grads: SceneGrads }> {
    return this.ctx.guard(() => this.#renderBackward(scene, camera, upstream, opts));
  }

  async #renderBackward(
    scene: GaussianScene,
    camera: Camera,
    upstream: ImageGrads,
    opts?: RenderOptions,
  ): Promise<{ output: RenderOutput; grads: SceneGrads }> {
    const np = camera.width * camera.height;
    checkUpstream(np, upstream.rgb, upstream.alpha);
    const { f, layout, params } = await this.#forward(scene, camera, opts);
    const r = this.renderer;
    const dRgb = r.buf("up_rgb", 12 * np);
    this.ctx.write(dRgb, upstream.rgb);
    let dAlpha: GPUBuffer | undefined;
    if (upstream.alpha) {
      dAlpha = r.buf("up_alpha", 4 * np);
      this.ctx.write(dAlpha, upstream.alpha);
    }
    return await this.#backward(f, layout, params, dRgb, dAlpha, opts);
  }

  renderLossBackward(
    scene: GaussianScene,
    camera: Camera,
    target: Float32Array,
    loss?: LossOptions,
    opts?: RenderOptions,
  ): Promise<{ loss: number; output: RenderOutput; grads: SceneGrads }> {
    return this.ctx.guard(() => this.#renderLossBackward(scene, camera, target, loss, opts));
  }

  async #renderLossBackward(
    scene: GaussianScene,
    camera: Camera,
    target: Float32Array,
    loss?: LossOptions,
    opts?: RenderOptions,
  ): Promise<{ loss: number; output: RenderOutput; grads: SceneGrads }> {
    const { f, layout, params } = await this.#forward(scene, camera, opts);
    const { dRgb, read } = await frameLoss(this.renderer, f, target, loss);
    const { output, grads } = await this.#backward(f, layout, params, dRgb, undefined, opts);
    return { loss: await read(), output, grads };
  }

  loss(
    rendered: RenderOutput,
    target: Float32Array,
    opts?: LossOptions,
  ): Promise<{ loss: number; grads: ImageGrads }> {
    return this.ctx.guard(() => this.#loss(rendered, target, opts));
  }

  async #loss(
    rendered: RenderOutput,
    target: Float32Array,
    opts?: LossOptions,
  ): Promise<{ loss: number; grads: ImageGrads }> {
    const { width, height } = rendered;
    const np = width * height;
    if (rendered.rgb.length !== 3 * np) {
      throw new RangeError(`Rendered rgb must have ${3 * np} values, got ${rendered.rgb.length}`);
    }
    const r = this.renderer;
    const rgb = r.buf("loss_rgb", 12 * np);
    this.ctx.write(rgb, rendered.rgb);
    const { dRgb, read } = await r.loss(width, height, rgb, target, ssimWeight(opts), opts?.mask);
    const loss = await read();
    const [g] = await this.ctx.readback([{ buffer: dRgb, bytes: 12 * np }]);
    return { loss, grads: { rgb: new Float32Array(g!) } };
  }

  createOptimizer(scene: GaussianScene, adam: AdamOptions): SceneOptimizer {
    this.ctx.check();
    const o = new WebGpuOptimizer(this, scene, adam, () => this.#optimizers.delete(o));
    this.#optimizers.add(o);
    return o;
  }

  [Symbol.dispose](): void {
    for (const o of [...this.#optimizers]) o[Symbol.dispose]();
    this.renderer.destroy();
    this.ctx[Symbol.dispose]();
  }
}

/**
 * Adam on the device: parameters, gradients, both moments and the densification
 * statistics live in GPU buffers; a step uploads only the target image (and mask)
 * and reads back the instance count and the loss (a few bytes).
 */
export class WebGpuOptimizer implements SceneOptimizer {
  readonly #backend: WebGpuBackend;
  readonly #adam: Required<AdamOptions>;
  readonly #onDispose: () => void;
  #layout: SceneLayout;
  #params!: GPUBuffer;
  #grads!: GPUBuffer;
  #m1!: GPUBuffer;
  #m2!: GPUBuffer;
  #stats!: GPUBuffer; // [N, 2] Σ|dL/dmean2d| (px), visible views
  #t = 0;
  #disposed = false;

  constructor(
    backend: WebGpuBackend,
    scene: GaussianScene,
    adam: AdamOptions,
    onDispose: () => void,
  ) {
    assertScene(scene);
    this.#backend = backend;
    this.#adam = { beta1: 0.9, beta2: 0.999, eps: 1e-15, ...adam } as Required<AdamOptions>;
    this.#onDispose = onDispose;
    this.#layout = sceneLayout(scene);
    this.#allocate(packParams(scene, this.#layout), undefined, undefined);
  }

  #allocate(
    params: Float32Array,
    m1: Float32Array | undefined,
    m2: Float32Array | undefined,
  ): void {
    const ctx = this.#backend.ctx;
    const dev = ctx.device;
    const bytes = Math.max(16, 4 * this.#layout.total);
    ctx.checkSize("parameters", bytes);
    const make = (label: string, size: number) =>
      dev.createBuffer({ label, size: Math.ceil(size / 16) * 16, usage: STORAGE });
    this.#params = make("params", bytes);
    this.#grads = make("grads", bytes);
    this.#m1 = make("adam m", bytes);
    this.#m2 = make("adam v", bytes);
    this.#stats = make("densify stats", Math.max(16, 8 * this.#layout.n));
    ctx.write(this.#params, params);
    if (m1) ctx.write(this.#m1, m1);
    if (m2) ctx.write(this.#m2, m2);
    // New buffers are zero-initialised by WebGPU.
  }

  #free(): void {
    for (const b of [this.#params, this.#grads, this.#m1, this.#m2, this.#stats]) b.destroy();
  }

  #check(): void {
    if (this.#disposed) throw new Error("Optimizer used after it was disposed");
    this.#backend.ctx.check();
  }

  async step(
    camera: Camera,
    target: Float32Array,
    loss?: LossOptions,
    opts?: RenderOptions,
  ): Promise<number> {
    this.#check();
    const r = this.#backend.renderer;
    const bg = background(opts);
    deviceColorsIn(opts, this.#layout, this.#params);
    const f = await r.forward(this.#params, this.#layout, camera, bg, true);
    const { dRgb, read } = await frameLoss(r, f, target, loss);
    await r.backward(f, this.#params, this.#grads, dRgb, undefined, this.#stats);
    opts?.deviceColors?.readColorGrads(this.#grads, this.#layout.offColors);
    this.#t++;
    const a = this.#adam;
    await r.adam(
      this.#layout,
      this.#params,
      this.#grads,
      this.#m1,
      this.#m2,
      a.lr,
      a.beta1,
      a.beta2,
      a.eps,
      this.#t,
    );
    return await read();
  }

  async #readParams(): Promise<
    { params: Float32Array; m1: Float32Array; m2: Float32Array; stats: Float32Array }
  > {
    const bytes = 4 * this.#layout.total;
    const [p, m1, m2, s] = await this.#backend.ctx.readback([
      { buffer: this.#params, bytes },
      { buffer: this.#m1, bytes },
      { buffer: this.#m2, bytes },
      { buffer: this.#stats, bytes: 8 * this.#layout.n },
    ]);
    return {
      params: new Float32Array(p!),
      m1: new Float32Array(m1!),
      m2: new Float32Array(m2!),
      stats: new Float32Array(s!),
    };
  }

  async scene(): Promise<GaussianScene> {
    this.#check();
    const [p] = await this.#backend.ctx.readback([{
      buffer: this.#params,
      bytes: 4 * this.#layout.total,
    }]);
    const L = this.#layout;
    return {
      count: L.n,
      shDegree: L.shDegree,
      colorMode: L.colorMode,
      ...unpackParams(new Float32Array(p!), L),
    };
  }

  /**
   * 3DGS densification on the host (rare): reads parameters, Adam moments and
   * statistics back, clones/splits/prunes exactly like the CPU optimiser (same
   * order, same sampling), and re-uploads.
   */
  async densifyAndPrune(
    opts: DensifyOptions,
  ): Promise<{ cloned: number; split: number; pruned: number }> {
    this.#check();
    const L = this.#layout;
    const { params, m1, m2, stats } = await this.#readParams();
    const res = densifyFlat(L, params, m1, m2, stats, opts);
    this.#free();
    this.#layout = res.layout;
    this.#allocate(res.params, res.m1, res.m2);
    return res.counts;
  }

  [Symbol.dispose](): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#free();
    this.#onDispose();
  }
}

/**
 * Densify/prune on flat parameter-layout arrays with the shared host policy
 * (`densify.ts`): parameters and both Adam moments are split into groups,
 * gathered by the plan (moments of new rows zeroed), split children moved, and
 * packed into the new layout.
 */
export function densifyFlat(
  L: SceneLayout,
  params: Float32Array,
  m1: Float32Array,
  m2: Float32Array,
  stats: Float32Array, // [N, 2]
  opts: DensifyOptions,
): {
  layout: SceneLayout;
  params: Float32Array;
  m1: Float32Array;
  m2: Float32Array;
  counts: { cloned: number; split: number; pruned: number };
} {
  const n = L.n;
  const p = unpackParams(params, L), a = unpackParams(m1, L), b = unpackParams(m2, L);
  const gradSum = new Float32Array(n), views = new Float32Array(n);
  for (let i = 0; i < n; i++) gradSum[i] = stats[2 * i]!, views[i] = stats[2 * i + 1]!;
  const plan = planDensify(
    { count: n, gradSum, views, maxScale: maxScales(p.logScales), opacityLogits: p.opacityLogits },
    opts,
  );
  const layout = sceneLayout({ count: plan.count, shDegree: L.shDegree, colorMode: L.colorMode });
  const width = { means: 3, logScales: 3, quats: 4, opacityLogits: 1, colors: L.colorStride };
  const pack = (g: typeof p, state: boolean) => {
    const scene = {
      count: plan.count,
      shDegree: L.shDegree,
      colorMode: L.colorMode,
      means: gatherRows(plan, g.means, width.means, state),
      logScales: gatherRows(plan, g.logScales, width.logScales, state),
      quats: gatherRows(plan, g.quats, width.quats, state),
      opacityLogits: gatherRows(plan, g.opacityLogits, width.opacityLogits, state),
      colors: gatherRows(plan, g.colors, width.colors, state),
    };
    if (!state) applySplit(plan, scene.means, scene.logScales, scene.quats);
    return packParams(scene, layout);
  };
  return {
    layout,
    params: pack(p, false),
    m1: pack(a, true),
    m2: pack(b, true),
    counts: plan.counts,
  };
}

/** Creates the WebGPU backend (throws WebGpuUnavailableError without an adapter). */
export async function createWebGpuBackend(): Promise<SplatBackend> {
  const ctx = await GpuContext.create();
  return new WebGpuBackend(ctx);
}
