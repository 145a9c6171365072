/**
 * Where a posed head's colours come from, for the adaptation loop and the
 * renderer: the static per-Gaussian colours (`BoundGaussians.color`) or the colour
 * MLP (`color_mlp.ts`) conditioned on the frame's articulation, jaw code and the
 * per-Gaussian view direction. One small interface so the loop does not branch:
 *
 * ```ts
 * const color = await createColorSource(backend, "mlp", gaussians, { seed });
 * const ro = await color.prepare(scene, frames, articulation, camera); // fills scene.colors or
 * const out = await backend.render(scene, camera, ro);                   // returns deviceColors
 * const { grads } = await backend.renderBackward(scene, camera, up, ro);
 * await color.backward(grads);
 * await color.step();
 * ```
 *
 * On WebGPU the MLP's colours and their gradient stay on the device
 * (`RenderOptions.deviceColors`); on the CPU they are host arrays.
 *
 * @module
 */
import type { Camera, RenderOptions, SceneGrads, SplatBackend } from "../splat/types.ts";
import type { Tensor } from "../tensor/safetensors.ts";
import type { DensifyPlan } from "../splat/densify.ts";
import { type BindingFrames, type BoundGaussians, JAW_FRAME } from "./binding.ts";
import {
  colorCondition,
  type ColorMlp,
  type ColorMlpConfig,
  colorMlpFromTensors,
  type ColorMlpLr,
  type ColorMlpState,
  colorMlpToTensors,
  createColorMlp,
  hasColorMlp,
  initColorMlp,
  jawCode,
  localViewDirs,
} from "./color_mlp.ts";
import type { WebGpuColorMlp } from "./_color_mlp_webgpu.ts";

export type ColorMode = "static" | "mlp";

/** Default learning rates of the MLP (features[:, :3] are colour logits). */
export const DEFAULT_MLP_LR: ColorMlpLr = { weights: 1e-3, features: 5e-3 };

/** The camera's viewing direction in world (canonical head) space: third row of R. */
export function cameraViewDir(camera: Camera): Float32Array {
  const R = camera.R;
  return Float32Array.from([R[6]!, R[7]!, R[8]!]);
}

/** The colour MLP's inputs for one posed frame: condition [8 + 6] and local view dirs [N, 3]. */
export function colorInputs(
  frames: BindingFrames,
  frameOf: Int32Array, // [N]
  articulation: Float32Array, // [8]
  camera: Camera,
  dirs?: Float32Array, // [N, 3] reused output
): { cond: Float32Array; dirs: Float32Array } {
  const jaw = jawCode({
    R: frames.rot.subarray(9 * JAW_FRAME, 9 * JAW_FRAME + 9),
    t: frames.origin.subarray(3 * JAW_FRAME, 3 * JAW_FRAME + 3),
  });
  return {
    cond: colorCondition(articulation, jaw),
    dirs: localViewDirs(frames.rot, frameOf, cameraViewDir(camera), dirs),
  };
}

/** The colours of a posed head and, when learned, their optimisation. */
export interface ColorSource extends Disposable {
  readonly mode: ColorMode;
  /** Where the MLP runs ("cpu" or "webgpu"); undefined for static colours. */
  readonly mlpBackend?: "cpu" | "webgpu";
  /**
   * Makes `scene` render with this frame's colours: static → `scene.colors` =
   * the Gaussians' colours; MLP on the CPU → `scene.colors` = MLP output; MLP on
   * WebGPU → returns `deviceColors` (pass the result to render/renderBackward).
   */
  prepare(
    scene: { colors: Float32Array },
    frames: BindingFrames,
    articulation: Float32Array,
    camera: Camera,
  ): Promise<RenderOptions>;
  /** Back-propagates the splatter's colour gradient of the last renderBackward (no-op when static). */
  backward(grads: SceneGrads): Promise<void>;
  /** One optimiser step of the MLP (no-op when static). */
  step(): Promise<void>;
  /** Follows densify/prune of the Gaussians (see ColorMlp.remap). */
  remap(plan: DensifyPlan): Promise<void>;
  /** `color_mlp.*` tensors for `SpeakerModel.extra` (none when static). */
  toTensors(opts?: { optimizer?: boolean }): Promise<Record<string, Tensor>>;
  /**
   * Writes the full state (with the optimiser's) into a checkpoint's flat F32 map
   * (`AdaptState.extra`, keys "color_mlp.*"); static colours write nothing.
   */
  saveTo(flat: Map<string, Float32Array>): Promise<void>;
}

/** `color_mlp.*` tensors as flat F32 arrays (checkpoint `extra`; integers are exact in F32). */
export function colorTensorsToFlat(
  t: Record<string, Tensor>,
  flat: Map<string, Float32Array>,
): void {
  for (const [name, x] of Object.entries(t)) flat.set(name, Float32Array.from(x.data));
}

/**
 * The colour MLP held in a checkpoint's flat map, as model tensors (weights,
 * features, config; no optimiser state); empty when the map has none.
 */
export function colorFlatToTensors(flat: Map<string, Float32Array>): Record<string, Tensor> {
  const cfg = flat.get("color_mlp.config");
  const w = flat.get("color_mlp.weights"), f = flat.get("color_mlp.features");
  if (!cfg || !w || !f) return {};
  const F = cfg[0]!;
  return {
    "color_mlp.config": { dtype: "I32", shape: [3], data: Int32Array.from(cfg) },
    "color_mlp.weights": { dtype: "F32", shape: [w.length], data: w.slice() },
    "color_mlp.features": { dtype: "F32", shape: [f.length / F, F], data: f.slice() },
  };
}

/** The full colour-MLP state (with Adam) from a checkpoint's flat map, or undefined. */
function colorFlatToState(flat: Map<string, Float32Array>): ColorMlpState | undefined {
  const t = colorFlatToTensors(flat);
  if (!t["color_mlp.config"]) return undefined;
  const s = colorMlpFromTensors(t, "checkpoint");
  const step = flat.get("color_mlp.adam_step");
  const mw = flat.get("color_mlp.adam_m_weights"), vw = flat.get("color_mlp.adam_v_weights");
  const mf = flat.get("color_mlp.adam_m_features"), vf = flat.get("color_mlp.adam_v_features");
  if (step && mw && vw && mf && vf) {
    s.adam = { step: step[0]!, weights: { m: mw, v: vw }, features: { m: mf, v: vf } };
  }
  return s;
}

class StaticColors implements ColorSource {
  readonly mode = "static" as const;
  constructor(private readonly g: () => BoundGaussians) {}
  prepare(scene: { colors: Float32Array }): Promise<RenderOptions> {
    scene.colors.set(this.g().color);
    return Promise.resolve({});
  }
  backward(): Promise<void> {
    return Promise.resolve();
  }
  step(): Promise<void> {
    return Promise.resolve();
  }
  remap(): Promise<void> {
    return Promise.resolve();
  }
  toTensors(): Promise<Record<string, Tensor>> {
    return Promise.resolve({});
  }
  saveTo(): Promise<void> {
    return Promise.resolve();
  }
  [Symbol.dispose](): void {}
}

class MlpColors implements ColorSource {
  readonly mode = "mlp" as const;
  get mlpBackend(): "cpu" | "webgpu" {
    return this.mlp.backend;
  }
  #dirs: Float32Array | undefined;
  constructor(
    readonly mlp: ColorMlp,
    private readonly g: () => BoundGaussians,
    readonly lr: ColorMlpLr,
  ) {}

  async prepare(
    scene: { colors: Float32Array },
    frames: BindingFrames,
    articulation: Float32Array,
    camera: Camera,
  ): Promise<RenderOptions> {
    const g = this.g();
    if (g.count !== this.mlp.count) {
      throw new Error(
        `Colour MLP has ${this.mlp.count} Gaussians but the head has ${g.count}; call remap() after densify/prune`,
      );
    }
    if (this.#dirs?.length !== 3 * g.count) this.#dirs = new Float32Array(3 * g.count);
    const { cond, dirs } = colorInputs(frames, g.frame, articulation, camera, this.#dirs);
    if (this.mlp.backend === "webgpu") {
      return { deviceColors: (this.mlp as WebGpuColorMlp).deviceColors(cond, dirs) };
    }
    scene.colors.set(await this.mlp.forward(cond, dirs));
    return {};
  }

  async backward(grads: SceneGrads): Promise<void> {
    // On WebGPU the splatter already called the device hook during renderBackward.
    if (this.mlp.backend === "cpu") await this.mlp.backward(grads.colors);
  }

  step(): Promise<void> {
    return this.mlp.step(this.lr);
  }

  remap(plan: DensifyPlan): Promise<void> {
    return this.mlp.remap(plan);
  }

  async toTensors(opts: { optimizer?: boolean } = {}): Promise<Record<string, Tensor>> {
    return colorMlpToTensors(await this.mlp.state(), opts);
  }

  async saveTo(flat: Map<string, Float32Array>): Promise<void> {
    colorTensorsToFlat(await this.toTensors({ optimizer: true }), flat);
  }

  [Symbol.dispose](): void {
    this.mlp[Symbol.dispose]();
  }
}

/**
 * A colour source for the adaptation loop. `gaussians` is a getter so the source
 * always sees the loop's current Gaussians (they are replaced by densify/prune).
 * "mlp" starts from the Gaussians' static colours (or `tensors`, e.g. a checkpoint).
 */
export async function createColorSource(
  backend: SplatBackend,
  mode: ColorMode,
  gaussians: () => BoundGaussians,
  opts: {
    seed?: number;
    config?: ColorMlpConfig;
    lr?: Partial<ColorMlpLr>;
    tensors?: Record<string, Tensor> | Map<string, Tensor>;
    file?: string;
    /** A checkpoint's flat map (`AdaptState.extra`): resume from it when it holds an MLP. */
    flat?: Map<string, Float32Array>;
    /**
     * Where the MLP runs: "auto" (default) = the splatter's backend, except on a
     * software WebGPU adapter (Mesa llvmpipe), where the TypeScript MLP is several
     * times faster than the WGSL one and its colours go through `scene.colors`.
     */
    mlpBackend?: "auto" | "cpu" | "same";
  } = {},
): Promise<ColorSource> {
  if (mode === "static") return new StaticColors(gaussians);
  if (mode !== "mlp") throw new RangeError(`Colour mode must be "static" or "mlp", got "${mode}"`);
  const g = gaussians();
  const resumed = opts.flat ? colorFlatToState(opts.flat) : undefined;
  const state = resumed ??
    (opts.tensors && hasColorMlp(opts.tensors)
      ? colorMlpFromTensors(opts.tensors, opts.file ?? "checkpoint")
      : initColorMlp({
        count: g.count,
        colors: g.color,
        ...(opts.config ? { config: opts.config } : {}),
        seed: opts.seed ?? 1,
      }));
  const where = opts.mlpBackend ?? "auto";
  const onCpu = where === "cpu" ||
    (where === "auto" && backend.name === "webgpu" && isSoftwareAdapter(backend.device));
  const mlp = await createColorMlp(onCpu ? { name: "cpu" } : backend, state);
  return new MlpColors(mlp, gaussians, { ...DEFAULT_MLP_LR, ...opts.lr });
}

/** A software WebGPU adapter (the splat backend's `device` text names it, e.g. Mesa llvmpipe). */
export function isSoftwareAdapter(device: string): boolean {
  return /software fallback|llvmpipe|lavapipe|swiftshader/i.test(device);
}

/** Per (model, backend): the MLP built from the model's `color_mlp.*` tensors, built once. */
const cache = new WeakMap<object, WeakMap<SplatBackend, Promise<ColorSource>>>();

/**
 * Render options + colours for rendering a speaker model: when the model carries a
 * colour MLP (`extra` has `color_mlp.*`), its colours for this frame (WebGPU:
 * `deviceColors`; CPU: written into `scene.colors`); otherwise static colours.
 * The MLP is built once per model and backend.
 */
export async function modelColors(
  backend: SplatBackend,
  model: { gaussians: BoundGaussians; extra: Map<string, Tensor>; info?: { source?: string } },
  scene: { colors: Float32Array },
  frames: BindingFrames,
  articulation: Float32Array,
  camera: Camera,
): Promise<RenderOptions> {
  if (!hasColorMlp(model.extra)) {
    scene.colors.set(model.gaussians.color);
    return {};
  }
  let perModel = cache.get(model);
  if (!perModel) cache.set(model, perModel = new WeakMap());
  let src = perModel.get(backend);
  if (!src) {
    src = createColorSource(backend, "mlp", () => model.gaussians, {
      tensors: model.extra,
      file: model.info?.source ?? "speaker model",
    });
    perModel.set(backend, src);
  }
  return (await src).prepare(scene, frames, articulation, camera);
}
