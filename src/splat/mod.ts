/**
 * 3D Gaussian splatting, forward and backward, exactly as the reference 3DGS
 * rasterizer defines it, behind one {@link SplatBackend} interface with two
 * implementations: WGSL compute shaders on WebGPU and a TypeScript CPU reference
 * (the spec and the fallback). Also: 3DGS PLY read/write, `cameras.json`
 * cameras, PNG helpers and scene utilities.
 *
 * ```ts
 * import { createSplatBackend, readCamera, readPly, writePng } from "./src/splat/mod.ts";
 * using backend = await createSplatBackend({ backend: "auto" });
 * console.log(backend.name, backend.reason);
 * const scene = await readPly("scene.ply");
 * const camera = await readCamera("cameras.json", { index: 0 });
 * const out = await backend.render(scene, camera, { background: [1, 1, 1] });
 * await writePng("out.png", out.rgb, out.width, out.height);
 * ```
 *
 * Backend choice: `"cpu"` always works; `"webgpu"` needs an adapter (native GPU,
 * or Mesa llvmpipe on CPU-only machines) and throws {@link SplatBackendError}
 * without one; `"auto"` uses WebGPU on a hardware adapter, and on a software
 * adapter (Mesa llvmpipe) times a small forward+backward calibration scene on both
 * (once per process) and keeps the faster; it falls back to the CPU when WebGPU is
 * unavailable or fails. The returned backend's `reason` says what was chosen and why.
 *
 * @module
 */
import type { SplatBackend } from "./types.ts";
import { CpuBackend } from "./_cpu.ts";
import { createWebGpuBackend } from "./_webgpu.ts";
import { SplatBackendError } from "./errors.ts";
import { randomScene, simplePinhole } from "./scene.ts";

export type * from "./types.ts";
export { CpuBackend } from "./_cpu.ts";
export { SplatBackendError, SplatInputError } from "./errors.ts";
export {
  applySplit,
  type DensifyInput,
  type DensifyPlan,
  gatherGroups,
  gatherRows,
  maxScales,
  planDensify,
} from "./densify.ts";
export { decodePly, encodePly, readPly, writeFileAtomic, writePly } from "./ply.ts";
export {
  CAMERA_LIMITS,
  cameraFromJson,
  type CameraJson,
  type CameraPick,
  cameraToJson,
  parseCameraFile,
  readCamera,
} from "./camera.ts";
// The PNG codec lives in src/image/; the float helpers keep their splat names here.
export {
  decodePngFloat as decodePng,
  encodePngFloat as encodePng,
  type FloatImage,
  readPngFloat as readPng,
  writePngFloat as writePng,
} from "../image/png.ts";
export {
  assertScene,
  cloneScene,
  randomScene,
  type RandomSceneOptions,
  type SceneSummary,
  simplePinhole,
  summarizeScene,
} from "./scene.ts";
export { ALPHA_MAX, ALPHA_MIN, SH_C0, shCoeffCount, T_MIN, TILE_SIZE } from "./_math.ts";
/** The host photometric loss (L1 + D-SSIM, masked); its `ssim` is the eval metric of the head. */
export { type LossResult, photometricLoss } from "./_loss.ts";

export type { DispatchGrid, GpuContext } from "./_webgpu_context.ts";
/** WebGPU plumbing for code that runs its own passes on the splatter's device (the colour MLP). */
export { PipelineCache, readShaderFile } from "./_webgpu_context.ts";
export { defineStruct, packStruct, type StructDef, structWgsl } from "./_layout.ts";

/**
 * The WebGPU device context of a WebGPU backend (for code that runs its own passes
 * on the splatter's device and command stream, e.g. the colour MLP); undefined for
 * the CPU backend.
 */
export function gpuContextOf(
  backend: SplatBackend,
): import("./_webgpu_context.ts").GpuContext | undefined {
  const ctx = (backend as { ctx?: unknown }).ctx;
  return backend.name === "webgpu" && ctx
    ? ctx as import("./_webgpu_context.ts").GpuContext
    : undefined;
}

export type BackendName = "auto" | "webgpu" | "cpu";

/** A backend plus why it was chosen. */
export type SelectedBackend = SplatBackend & { readonly reason: string };

export interface CreateBackendOptions {
  backend: BackendName;
  /** Calibration size for "auto" (default 10k Gaussians at 192×192). */
  calibration?: { count: number; size: number };
}

function withReason(backend: SplatBackend, reason: string): SelectedBackend {
  Object.defineProperty(backend, "reason", { value: reason, enumerable: true });
  return backend as SelectedBackend;
}

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Creates the WebGPU backend (`_webgpu.ts`), as a SplatBackendError when there is no adapter. */
async function createWebGpu(): Promise<SplatBackend> {
  try {
    // Adapter/device requests must not hang the caller (e.g. a wedged driver).
    return await withTimeout(createWebGpuBackend(), 60_000, "WebGPU adapter/device request");
  } catch (e) {
    throw new SplatBackendError(`WebGPU is not available here: ${errText(e)}`, {
      hint: "use --backend cpu, or install a Vulkan/GL driver (e.g. Mesa llvmpipe)",
      cause: e,
    });
  }
}

/** Median-free simple timing: one warm-up, then the best of `runs`. */
async function timeBackend(
  b: SplatBackend,
  warmups: number,
  runs: number,
  size: number,
  count: number,
): Promise<number> {
  // A head-like blob (SH degree 3) filling most of the frame, Gaussians of a few pixels.
  const scene = randomScene({
    count,
    seed: 42,
    shDegree: 3,
    center: [0, 0, 4],
    extent: 1.2,
    logScaleRange: [-4.5, -2.5],
  });
  const camera = simplePinhole(size, size, 60);
  const upstream = { rgb: new Float32Array(size * size * 3).fill(1e-3) };
  // Warm-ups: GPU pipelines/buffers, and the JIT for the CPU (its first calls run unoptimised).
  for (let i = 0; i < warmups; i++) await b.renderBackward(scene, camera, upstream);
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await b.renderBackward(scene, camera, upstream);
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let id: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    id = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(id));
}

/** Whether the default WebGPU adapter is a hardware one (not a software fallback). */
async function isHardwareAdapter(): Promise<boolean> {
  try {
    const adapter = await withTimeout(
      navigator.gpu.requestAdapter(),
      10_000,
      "WebGPU adapter request",
    );
    const info = adapter?.info as { isFallbackAdapter?: boolean } | undefined;
    return info?.isFallbackAdapter === false;
  } catch {
    return false;
  }
}

let autoDecision: { name: "cpu" | "webgpu"; reason: string } | undefined;

/**
 * Creates a splat backend. `"auto"` calibrates once per process (a few hundred
 * ms) and reports its choice in `reason`.
 */
export async function createSplatBackend(opts: CreateBackendOptions): Promise<SelectedBackend> {
  if (opts.backend === "cpu") return withReason(new CpuBackend(), "cpu: requested");
  if (opts.backend === "webgpu") {
    const b = await createWebGpu();
    return withReason(b, `webgpu: requested (${b.device})`);
  }
  if (opts.backend !== "auto") {
    throw new SplatBackendError(`Unknown splat backend "${opts.backend}"`, {
      hint: "use auto, webgpu or cpu",
    });
  }
  if (autoDecision) {
    const { name, reason } = autoDecision;
    if (name === "cpu") return withReason(new CpuBackend(), reason);
    try {
      return withReason(await createWebGpu(), reason);
    } catch (e) {
      return withReason(new CpuBackend(), `cpu: WebGPU failed (${errText(e)})`);
    }
  }
  let gpu: SplatBackend;
  try {
    gpu = await createWebGpu();
  } catch (e) {
    autoDecision = { name: "cpu", reason: `cpu: ${errText(e)}` };
    return withReason(new CpuBackend(), autoDecision.reason);
  }
  // A hardware adapter beats the single-threaded CPU reference by orders of
  // magnitude: no calibration. Software adapters (llvmpipe…) are timed.
  if (!opts.calibration && (await isHardwareAdapter())) {
    autoDecision = { name: "webgpu", reason: `webgpu: hardware adapter (${gpu.device})` };
    return withReason(gpu, autoDecision.reason);
  }
  const { count, size } = opts.calibration ?? { count: 10_000, size: 192 };
  const cpu = new CpuBackend();
  let gpuMs: number;
  try {
    gpuMs = await withTimeout(timeBackend(gpu, 1, 2, size, count), 60_000, "WebGPU calibration");
  } catch (e) {
    gpu[Symbol.dispose]();
    autoDecision = { name: "cpu", reason: `cpu: WebGPU calibration failed (${errText(e)})` };
    return withReason(cpu, autoDecision.reason);
  }
  const cpuMs = await timeBackend(cpu, 3, 2, size, count);
  const what = `${count} Gaussians at ${size}×${size}, forward+backward`;
  if (gpuMs <= cpuMs) {
    autoDecision = {
      name: "webgpu",
      reason: `webgpu: faster in calibration (${gpuMs.toFixed(1)} ms vs cpu ${
        cpuMs.toFixed(1)
      } ms, ${what}; ${gpu.device})`,
    };
    return withReason(gpu, autoDecision.reason);
  }
  gpu[Symbol.dispose]();
  autoDecision = {
    name: "cpu",
    reason: `cpu: faster in calibration (${cpuMs.toFixed(1)} ms vs webgpu ${
      gpuMs.toFixed(1)
    } ms, ${what})`,
  };
  return withReason(cpu, autoDecision.reason);
}
