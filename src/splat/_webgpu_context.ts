/**
 * WebGPU plumbing of the splatter: adapter/device acquisition with clear errors,
 * device-loss tracking, shader assembly (generated prelude + one `.wgsl` file per
 * pass), pipeline cache, growable buffers, a uniform arena for per-dispatch
 * parameters, and read-backs that can never hang on a lost device.
 *
 * @module
 */
import { wgslPrelude } from "./_layout.ts";

/** No usable WebGPU adapter/device; `auto` backend selection catches this. */
export class WebGpuUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WebGpuUnavailableError";
  }
}

/** The device was lost (driver reset, out of memory, destroyed). */
export class WebGpuDeviceLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WebGpuDeviceLostError";
  }
}

/**
 * What one dispatch binds and launches: binding number (group 0) → buffer, and the
 * grid of x × y workgroups (y defaults to 1). Shared by every dispatch helper.
 */
export type DispatchGrid = [
  bindings: Record<number, GPUBufferBinding | GPUBuffer>,
  x: number,
  y?: number,
];

const SHADER_FILES = [
  "common.wgsl",
  "raster_common.wgsl",
  "project.wgsl",
  "scan.wgsl",
  "radix_sort.wgsl",
  "emit.wgsl",
  "tile_ranges.wgsl",
  "rasterize.wgsl",
  "rasterize_backward.wgsl",
  "project_backward.wgsl",
  "loss.wgsl",
  "adam.wgsl",
] as const;
export type ShaderFile = (typeof SHADER_FILES)[number];

/** Shared helpers appended after the prelude of the passes that use them. */
const INCLUDES: Partial<Record<ShaderFile, readonly ShaderFile[]>> = {
  "project.wgsl": ["common.wgsl"],
  "project_backward.wgsl": ["common.wgsl"],
  "rasterize.wgsl": ["raster_common.wgsl"],
  "rasterize_backward.wgsl": ["raster_common.wgsl"],
};

/** Reads a `.wgsl` file shipped beside the code; the error says what to do. */
export function readShaderFile(url: URL): string {
  try {
    return Deno.readTextFileSync(url);
  } catch (e) {
    throw new Error(
      `Cannot read shader "${url.href}": ${
        (e as Error).message
      }; run with --allow-read or reinstall`,
      { cause: e },
    );
  }
}

function readShader(name: string): string {
  return readShaderFile(new URL(`./${name}`, import.meta.url));
}

/**
 * Keeps the lines between `//#if NAME` … `//#else` … `//#endif` (no nesting)
 * according to whether NAME is in `defines`.
 */
export function preprocess(src: string, defines: ReadonlySet<string>): string {
  const out: string[] = [];
  let keep = true;
  let name: string | undefined;
  for (const line of src.split("\n")) {
    const t = line.trim();
    if (t.startsWith("//#if ")) {
      name = t.slice(6).trim();
      keep = defines.has(name);
    } else if (t === "//#else" && name !== undefined) {
      keep = !defines.has(name);
    } else if (t === "//#endif") {
      name = undefined;
      keep = true;
    } else if (keep) out.push(line);
  }
  return out.join("\n");
}

/** Full WGSL source of one pass. */
export function shaderSource(
  file: ShaderFile,
  defines: ReadonlySet<string> = new Set(["SHARED_REDUCE"]),
): string {
  const parts = [wgslPrelude()];
  for (const inc of INCLUDES[file] ?? []) parts.push(readShader(inc));
  parts.push(readShader(file));
  return preprocess(parts.join("\n"), defines);
}

export const STORAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST
const UNIFORM_ALIGN = 256;

/**
 * Compute pipelines compiled once per `file:entry` from the WGSL that `source`
 * gives for a file (the splatter's passes; the colour MLP's for one network shape).
 */
export class PipelineCache<F extends string> {
  readonly #pipelines = new Map<string, GPUComputePipeline>();
  constructor(
    private readonly device: GPUDevice,
    private readonly source: (file: F) => string,
  ) {}

  #module(file: F): GPUShaderModule {
    return this.device.createShaderModule({ label: file, code: this.source(file) });
  }

  /** The pipeline of `entry` in `file` (compiled on first use). */
  get(file: F, entry = "main"): GPUComputePipeline {
    const key = `${file}:${entry}`;
    let p = this.#pipelines.get(key);
    if (!p) {
      p = this.device.createComputePipeline({
        label: key,
        layout: "auto",
        compute: { module: this.#module(file), entryPoint: entry },
      });
      this.#pipelines.set(key, p);
    }
    return p;
  }

  /**
   * Compiles every file and entry point of `entries`; throws naming the file on
   * WGSL errors and on validation errors of the pipelines (used by tests).
   */
  async compileAll(entries: readonly (readonly [F, readonly string[]])[]): Promise<void> {
    this.device.pushErrorScope("validation");
    for (const [file, names] of entries) {
      const info = await this.#module(file).getCompilationInfo();
      const errors = info.messages.filter((m) => m.type === "error");
      if (errors.length > 0) {
        await this.device.popErrorScope();
        throw new Error(
          `WGSL errors in "${file}": ${
            errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join("; ")
          }`,
        );
      }
      for (const e of names) this.get(file, e);
    }
    const err = await this.device.popErrorScope();
    if (err) throw new Error(`WebGPU validation failed while compiling the passes: ${err.message}`);
  }

  clear(): void {
    this.#pipelines.clear();
  }
}

/** A buffer that is reallocated (bigger) only when a call needs more bytes. */
export class GrowBuffer {
  #buf: GPUBuffer | undefined;
  #size = 0;
  constructor(
    private readonly ctx: GpuContext,
    readonly label: string,
    private readonly usage: number = STORAGE,
  ) {}
  /** The buffer, at least `bytes` large (contents are lost when it grows). */
  ensure(bytes: number): GPUBuffer {
    const need = Math.max(16, Math.ceil(bytes / 16) * 16);
    if (!this.#buf || this.#size < need) {
      this.#buf?.destroy();
      const size = Math.max(need, Math.ceil(this.#size * 1.25 / 16) * 16);
      this.ctx.checkSize(this.label, size);
      this.#buf = this.ctx.device.createBuffer({ label: this.label, size, usage: this.usage });
      this.#size = size;
    }
    return this.#buf;
  }
  get buffer(): GPUBuffer {
    if (!this.#buf) throw new Error(`Buffer "${this.label}" used before allocation`);
    return this.#buf;
  }
  destroy(): void {
    this.#buf?.destroy();
    this.#buf = undefined;
    this.#size = 0;
  }
}

/**
 * Per-dispatch uniforms: slots of 256 bytes in one buffer, filled on the host and
 * uploaded with a single writeBuffer before each submit.
 */
class UniformArena {
  #host = new Uint8Array(1024 * UNIFORM_ALIGN);
  #used = 0;
  #gpu: GPUBuffer | undefined;
  #gpuSize = 0;
  #pending: { offset: number; size: number }[] = [];
  constructor(private readonly device: GPUDevice) {}

  /** Reserves a slot; returns its offset (the buffer is bound via `binding()`). */
  push(data: ArrayBuffer): GPUBufferBinding {
    const size = data.byteLength;
    if (this.#used + UNIFORM_ALIGN > this.#host.length) {
      const bigger = new Uint8Array(this.#host.length * 2);
      bigger.set(this.#host);
      this.#host = bigger;
    }
    const offset = this.#used;
    this.#host.set(new Uint8Array(data), offset);
    this.#used += UNIFORM_ALIGN;
    this.#pending.push({ offset, size });
    return { buffer: this.#ensureGpu(), offset, size };
  }

  #ensureGpu(): GPUBuffer {
    if (!this.#gpu || this.#gpuSize < this.#host.length) {
      // Bindings created so far in this batch point at the old buffer; callers
      // reserve before encoding (see GpuContext.batch), so growing is only
      // allowed at the start of a batch.
      if (this.#gpu && this.#used > UNIFORM_ALIGN) {
        throw new Error("Uniform arena grew inside a batch; raise its initial size");
      }
      this.#gpu?.destroy();
      this.#gpuSize = Math.max(this.#host.length, 1024 * UNIFORM_ALIGN);
      this.#gpu = this.device.createBuffer({
        label: "uniform arena",
        size: this.#gpuSize,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      });
    }
    return this.#gpu;
  }

  /** Uploads the slots used since the last flush and starts a new batch. */
  flush(queue: GPUQueue): void {
    if (this.#used > 0 && this.#gpu) queue.writeBuffer(this.#gpu, 0, this.#host, 0, this.#used);
    this.#used = 0;
    this.#pending = [];
  }

  destroy(): void {
    this.#gpu?.destroy();
  }
}

/** Optional per-stage timing (staged: each stage is submitted and awaited). */
export interface StageTimer {
  record(stage: string, ms: number): void;
}

/** Device, pipelines and command batching shared by the backend and its optimisers. */
export class GpuContext implements Disposable {
  readonly device: GPUDevice;
  readonly description: string;
  #lost: string | undefined;
  #lostPromise: Promise<never>;
  #pipelines: PipelineCache<ShaderFile>;
  #arena: UniformArena;
  #encoder: GPUCommandEncoder | undefined;
  #destroyed = false;
  /**
   * Longest wait for submitted GPU work (a read-back) before the device is
   * declared hung, so a driver hang becomes an error instead of a hang.
   */
  waitTimeoutMs = 120_000;
  /** When set, every `stage()` is submitted and timed separately. */
  timer: StageTimer | undefined;

  /** Shader defines (features the driver handles well). */
  readonly defines: ReadonlySet<string>;

  private constructor(device: GPUDevice, description: string, defines: ReadonlySet<string>) {
    this.device = device;
    this.description = description;
    this.defines = defines;
    this.#arena = new UniformArena(device);
    this.#pipelines = new PipelineCache(device, (file) => shaderSource(file, defines));
    this.#lostPromise = device.lost.then((info) => {
      this.#lost = info.message || info.reason || "unknown reason";
      throw new WebGpuDeviceLostError(
        `WebGPU device lost (${this.#lost}); create a new backend or use --backend cpu`,
      );
    });
    this.#lostPromise.catch(() => {});
  }

  /** Requests an adapter and a device with the adapter's limits. */
  static async create(): Promise<GpuContext> {
    const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
    if (!gpu) {
      throw new WebGpuUnavailableError(
        "WebGPU is not available in this runtime (navigator.gpu is undefined); use the CPU backend",
      );
    }
    let adapter: GPUAdapter | null;
    try {
      adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    } catch (e) {
      throw new WebGpuUnavailableError(
        `Requesting a WebGPU adapter failed: ${(e as Error).message}; use the CPU backend`,
        { cause: e },
      );
    }
    if (!adapter) {
      throw new WebGpuUnavailableError(
        "No WebGPU adapter found (no GPU driver, or Vulkan/GL unavailable); use the CPU backend or install Mesa (llvmpipe)",
      );
    }
    const lim = adapter.limits;
    const requiredLimits: Record<string, number> = {
      maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
      maxBufferSize: lim.maxBufferSize,
      maxStorageBuffersPerShaderStage: Math.min(lim.maxStorageBuffersPerShaderStage, 10),
      maxComputeWorkgroupStorageSize: lim.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: Math.min(lim.maxComputeInvocationsPerWorkgroup, 256),
    };
    const requiredFeatures: GPUFeatureName[] = [];
    if (adapter.features.has("timestamp-query")) requiredFeatures.push("timestamp-query");
    let device: GPUDevice;
    try {
      device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
    } catch (e) {
      throw new WebGpuUnavailableError(
        `Creating a WebGPU device failed: ${(e as Error).message}; use the CPU backend`,
        { cause: e },
      );
    }
    const info = adapter.info;
    const desc = [
      info.description || info.device || "unknown adapter",
      info.vendor ? `vendor ${info.vendor}` : "",
    ]
      .filter(Boolean).join(", ") + (info.isFallbackAdapter ? " (software fallback)" : "");
    // Mesa llvmpipe through Deno's GL backend deadlocks on the backward pass's
    // workgroup reduction; GL is picked by DENO_WEBGPU_BACKEND=gl or when Vulkan
    // is missing (the GL adapter is the one without shader-f16 here).
    let envBackend = "";
    try {
      envBackend = Deno.env.get("DENO_WEBGPU_BACKEND") ?? "";
    } catch {
      // no --allow-env: rely on the adapter heuristic
    }
    const isGl = /\bgl\b/i.test(envBackend) ||
      (/llvmpipe/i.test(info.description) && !adapter.features.has("shader-f16"));
    const defines = new Set<string>(isGl ? [] : ["SHARED_REDUCE"]);
    return new GpuContext(device, desc + (isGl ? ", GL" : ""), defines);
  }

  /** Throws when the device is lost or this context was disposed. */
  check(): void {
    if (this.#destroyed) throw new Error("WebGPU backend used after it was disposed");
    if (this.#lost !== undefined) {
      throw new WebGpuDeviceLostError(
        `WebGPU device lost (${this.#lost}); create a new backend or use --backend cpu`,
      );
    }
  }

  checkSize(label: string, bytes: number): void {
    const max = this.device.limits.maxStorageBufferBindingSize;
    if (bytes > max) {
      throw new RangeError(
        `Buffer "${label}" needs ${
          (bytes / 2 ** 20).toFixed(1)
        } MiB, over this device's storage binding limit of ${
          (max / 2 ** 20).toFixed(0)
        } MiB; render fewer Gaussians or a smaller image`,
      );
    }
  }

  /** A compute pipeline for `entry` of a pass (compiled once). */
  pipeline(file: ShaderFile, entry = "main"): GPUComputePipeline {
    return this.#pipelines.get(file, entry);
  }

  /** Compiles every pass and reports WGSL errors with file names (used by tests). */
  compileAll(): Promise<void> {
    return this.#pipelines.compileAll([
      ["project.wgsl", ["main"]],
      ["scan.wgsl", ["main"]],
      ["radix_sort.wgsl", ["histogram", "scatter"]],
      ["emit.wgsl", ["count_tiles", "emit"]],
      ["tile_ranges.wgsl", ["main"]],
      ["rasterize.wgsl", ["main"]],
      ["rasterize_backward.wgsl", ["main"]],
      ["project_backward.wgsl", ["main"]],
      ["loss.wgsl", ["stats_h", "blur_v", "blur_h", "ssim", "combine", "reduce"]],
      ["adam.wgsl", ["main"]],
    ]);
  }

  /**
   * Writes host data to a buffer in order with the recorded commands (submits
   * what was recorded first: queue.writeBuffer would otherwise overtake it).
   */
  write(buffer: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    if (this.#encoder) this.submit();
    this.device.queue.writeBuffer(buffer, offset, data as ArrayBufferView<ArrayBuffer>);
  }

  /**
   * Runs a backend operation; an error raised while the device is being lost is
   * reported as {@link WebGpuDeviceLostError} (loss is signalled asynchronously).
   */
  async guard<T>(f: () => Promise<T>): Promise<T> {
    this.check();
    try {
      return await f();
    } catch (e) {
      this.#encoder = undefined;
      await new Promise((r) => setTimeout(r, 0));
      if (this.#lost !== undefined) {
        throw new WebGpuDeviceLostError(
          `WebGPU device lost (${this.#lost}); create a new backend or use --backend cpu`,
        );
      }
      throw e;
    }
  }

  /** Reserves a uniform slot for the next dispatch. */
  uniform(data: ArrayBuffer): GPUBufferBinding {
    return this.#arena.push(data);
  }

  /**
   * Records a dispatch of `file:entry`. `bindings` maps binding numbers to
   * buffers; pass exactly the bindings the entry point uses (layouts are "auto").
   */
  dispatch(file: ShaderFile, entry: string, ...grid: DispatchGrid): void {
    this.run(this.pipeline(file, entry), `${file}:${entry}`, ...grid);
  }

  /**
   * Records a dispatch of `pipeline` (x × y workgroups) on the current encoder;
   * `bindings` maps binding numbers of group 0 to buffers.
   */
  run(pipeline: GPUComputePipeline, label: string, ...[bindings, x, y = 1]: DispatchGrid): void {
    if (x === 0 || y === 0) return;
    const bg = this.device.createBindGroup({
      label,
      layout: pipeline.getBindGroupLayout(0),
      entries: Object.entries(bindings).map(([i, b]) => ({
        binding: Number(i),
        resource: "buffer" in b ? b : { buffer: b },
      })),
    });
    const pass = this.encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bg);
    pass.dispatchWorkgroups(x, y);
    pass.end();
  }

  /** The current command encoder (for copies and clears). */
  get encoder(): GPUCommandEncoder {
    return this.#encoder ??= this.device.createCommandEncoder();
  }

  /** Submits what was recorded so far. */
  submit(): void {
    this.check();
    this.#arena.flush(this.device.queue);
    if (this.#encoder) {
      this.device.queue.submit([this.#encoder.finish()]);
      this.#encoder = undefined;
    }
  }

  /**
   * Marks the end of a named stage: with a timer, submits and waits so the stage
   * is timed on its own (staged timing; adds a sync per stage).
   */
  async stage(name: string, t0: number): Promise<number> {
    if (!this.timer) return t0;
    this.submit();
    await this.#race(this.device.queue.onSubmittedWorkDone());
    const t1 = performance.now();
    this.timer.record(name, t1 - t0);
    return t1;
  }

  /** Waits for a promise unless the device is lost first (never hangs on loss). */
  async #race<T>(p: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#lost = `no progress within ${this.waitTimeoutMs / 1000} s`;
        reject(
          new WebGpuDeviceLostError(
            `WebGPU work did not finish within ${
              this.waitTimeoutMs / 1000
            } s; the driver looks hung (Mesa llvmpipe's GL backend hangs on the backward pass: set DENO_WEBGPU_BACKEND=vulkan) — use --backend cpu or a new backend`,
          ),
        );
        try {
          this.device.destroy();
        } catch {
          // already gone
        }
      }, this.waitTimeoutMs);
    });
    try {
      return await Promise.race([p, this.#lostPromise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Submits, then copies `regions` of buffers to the host in one mapping. */
  async readback(
    regions: { buffer: GPUBuffer; offset?: number; bytes: number }[],
  ): Promise<ArrayBuffer[]> {
    const total = regions.reduce((s, r) => s + Math.ceil(r.bytes / 4) * 4, 0);
    const staging = this.device.createBuffer({
      label: "readback",
      size: Math.max(4, total),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    try {
      let o = 0;
      for (const r of regions) {
        const b = Math.ceil(r.bytes / 4) * 4;
        if (b > 0) this.encoder.copyBufferToBuffer(r.buffer, r.offset ?? 0, staging, o, b);
        o += b;
      }
      this.submit();
      await this.#race(staging.mapAsync(GPUMapMode.READ));
      const all = staging.getMappedRange().slice(0);
      staging.unmap();
      const out: ArrayBuffer[] = [];
      o = 0;
      for (const r of regions) {
        out.push(all.slice(o, o + r.bytes));
        o += Math.ceil(r.bytes / 4) * 4;
      }
      return out;
    } finally {
      staging.destroy();
    }
  }

  /** Waits until the queue is idle (benchmarks). */
  async idle(): Promise<void> {
    this.submit();
    await this.#race(this.device.queue.onSubmittedWorkDone());
  }

  [Symbol.dispose](): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#arena.destroy();
    this.#pipelines.clear();
    this.device.destroy();
  }
}
