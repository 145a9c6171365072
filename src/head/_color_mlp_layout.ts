/**
 * The single definition of what the colour MLP's host code and its WGSL passes
 * share: the network's shape, where each weight sits in the flat weight vector,
 * the kernel sizes, and the byte layout of the per-dispatch uniform. The WGSL
 * prelude prepended to every `color_mlp_*.wgsl` pass is generated from here, so
 * no constant or struct is written twice; `_color_mlp_webgpu_test.ts` checks the
 * host layout against the shader with a kernel that echoes every field.
 *
 * Network (per Gaussian i, frame condition c shared by all Gaussians):
 *   x  = [f_i (F), c (C), d_i (3)]                 input, IN = F + C + 3
 *   h1 = relu(W1·x + b1)                            [H]
 *   h2 = relu(W2·h1 + b2)                           [H]
 *   z  = W3·h2 + b3 + f_i[0..3]                     [3] (skip: f_i[0..3] is a colour logit)
 *   rgb = sigmoid(z)                                [3] in (0, 1), the splatter's `rgb` mode
 * W1 [H, IN], W2 [H, H], W3 [3, H] row-major; flat order W1, b1, W2, b2, W3, b3.
 *
 * @module
 */

/** Shape of the network. */
export interface ColorMlpConfig {
  /** F: learned features per Gaussian (≥ 3; the first three are a colour logit). */
  featureDim: number;
  /** C: floats of the per-frame condition (articulation [8] + jaw code). */
  condDim: number;
  /** H: width of both hidden layers. */
  hidden: number;
}

/** Offsets (floats) of each weight group in the flat weight vector. */
export interface WeightLayout {
  inDim: number;
  w1: number;
  b1: number;
  w2: number;
  b2: number;
  w3: number;
  b3: number;
  /** Total number of weights P. */
  total: number;
}

export function weightLayout(c: ColorMlpConfig): WeightLayout {
  const inDim = c.featureDim + c.condDim + 3;
  const H = c.hidden;
  const w1 = 0, b1 = w1 + H * inDim, w2 = b1 + H, b2 = w2 + H * H, w3 = b2 + H, b3 = w3 + 3 * H;
  return { inDim, w1, b1, w2, b2, w3, b3, total: b3 + 3 };
}

/** Largest hidden width / feature count the WGSL kernels accept (private arrays). */
export const MAX_HIDDEN = 64;
export const MAX_FEATURES = 32;
/** Threads per workgroup of the per-Gaussian kernels. */
export const MLP_WG = 64;
/** Gaussians per chunk of the split reduction of the weight gradients. */
export const GRAD_CHUNK = 256;

export type Scalar = "f32" | "u32";

/** A struct made only of 4-byte scalars: field k sits at byte 4·k. */
export interface MlpStruct {
  name: string;
  fields: readonly (readonly [string, Scalar])[];
  offsets: Record<string, number>;
  /** Size rounded up to 16 bytes (uniform binding size). */
  paddedSize: number;
}

function struct(name: string, fields: readonly (readonly [string, Scalar])[]): MlpStruct {
  const offsets: Record<string, number> = {};
  fields.forEach(([f], k) => (offsets[f] = 4 * k));
  return { name, fields, offsets, paddedSize: Math.ceil((4 * fields.length) / 16) * 16 };
}

/**
 * Per-dispatch uniform of every colour-MLP pass. The network's shape is not here:
 * it is compiled into the passes as constants ({@link mlpPrelude}), so loops have
 * fixed trip counts and the hidden activations can live in registers.
 */
export const MLP_PARAMS = struct("MlpParams", [
  ["n", "u32"], // Gaussians
  ["dir_per_gaussian", "u32"], // 1: dirs [N, 3]; 0: one direction [3] for all
  ["out_offset", "u32"], // floats: where rgb [N, 3] starts in the output buffer
  ["grad_offset", "u32"], // floats: where dL/drgb [N, 3] starts in the gradient buffer
  ["total", "u32"], // weights P (or floats of the Adam target)
  ["chunks", "u32"], // chunks of GRAD_CHUNK Gaussians in the weight-gradient reduction
  ["lr", "f32"],
  ["beta1", "f32"],
  ["beta2", "f32"],
  ["eps", "f32"],
  ["bias1", "f32"], // 1 − β1^t
  ["bias2_sqrt", "f32"], // sqrt(1 − β2^t)
]);

/**
 * Per-Gaussian activations saved by the backward kernel for the weight-gradient
 * reduction: x_dyn = [f_i, d_i] (F + 3, the condition is shared), h1, δ1 = dL/da1,
 * h2, δ2 = dL/da2 (H each), δ3 = dL/dz (3).
 */
export function activationStride(c: ColorMlpConfig): number {
  return c.featureDim + 3 + 4 * c.hidden + 3;
}

/** Host-side writer of a struct into a little-endian byte buffer. */
export function packMlpParams(values: Record<string, number>): ArrayBuffer {
  const s = MLP_PARAMS;
  const buf = new ArrayBuffer(s.paddedSize);
  const dv = new DataView(buf);
  for (const [name, type] of s.fields) {
    const v = values[name];
    if (v === undefined) throw new TypeError(`Missing field "${name}" of struct ${s.name}`);
    const o = s.offsets[name]!;
    if (type === "f32") dv.setFloat32(o, v, true);
    else dv.setUint32(o, v >>> 0, true);
  }
  return buf;
}

export function structWgsl(s: MlpStruct): string {
  return `struct ${s.name} {\n${s.fields.map(([n, t]) => `  ${n}: ${t},`).join("\n")}\n}\n`;
}

/**
 * The prelude prepended to every colour-MLP pass: kernel sizes, the network's
 * shape and weight offsets for `config` (F, C, H, IN, S = activation row stride,
 * P, OFF_*), and the uniform struct.
 */
export function mlpPrelude(config: ColorMlpConfig): string {
  const L = weightLayout(config);
  const consts: [string, number][] = [
    ["MLP_WG", MLP_WG],
    ["GRAD_CHUNK", GRAD_CHUNK],
    ["F", config.featureDim],
    ["C", config.condDim],
    ["H", config.hidden],
    ["IN", L.inDim],
    ["S", activationStride(config)],
    ["P", L.total],
    ["OFF_W1", L.w1],
    ["OFF_B1", L.b1],
    ["OFF_W2", L.w2],
    ["OFF_B2", L.b2],
    ["OFF_W3", L.w3],
    ["OFF_B3", L.b3],
  ];
  return [
    "// Generated by src/head/_color_mlp_layout.ts: do not edit in a .wgsl file.",
    ...consts.map(([n, v]) => `const ${n} = ${v}u;`),
    structWgsl(MLP_PARAMS),
    "",
  ].join("\n");
}
