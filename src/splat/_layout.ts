/**
 * The single definition of everything the host and the WGSL kernels share:
 * numeric constants (imported from `_math.ts`, the spec), kernel sizes, and the
 * byte layout of the structs that cross the host/shader boundary. The WGSL
 * prelude prepended to every `.wgsl` pass is generated from here, so no shader
 * constant or struct is written twice.
 *
 * Every struct field is a 4-byte scalar (f32, u32 or i32), so WGSL places field k
 * at byte 4·k with no padding in both the uniform and the storage address space;
 * sizes are rounded up to 16 bytes for uniform buffers. `_layout_test.ts` checks
 * this against the shader with a kernel that writes every field.
 *
 * @module
 */
import {
  ALPHA_MAX,
  ALPHA_MIN,
  COV2D_DILATION,
  EIGEN_FLOOR,
  SH_C0,
  SH_C1,
  SH_C2,
  SH_C3,
  SH_COLOR_OFFSET,
  SIGMA_RADIUS,
  SSIM_C1,
  SSIM_C2,
  SSIM_SIGMA,
  SSIM_WINDOW,
  T_MIN,
  TILE_SIZE,
} from "./_math.ts";

/**
 * Binning granularity of the rasterizer (pixels). The reference's 16×16 tiles
 * still decide WHICH pixels a Gaussian may touch (its 3σ tile rectangle); inside
 * that rectangle we bin to BIN_SIZE² sub-tiles whose pixels can reach α ≥ 1/255,
 * so a rasterizer workgroup walks shorter lists with fewer pixels. The image is
 * unchanged (see emit.wgsl); on llvmpipe the per-(pixel, Gaussian) loop overhead
 * dominates, and 8×8 bins halved it.
 */
export const BIN_SIZE = 8;
export const BIN_PIXELS = BIN_SIZE * BIN_SIZE;
/** Forward rasterizer: pixels per invocation (rows of a bin column). */
export const FWD_PIXELS = 4;
/** Threads per workgroup of the per-element kernels (project, emit, adam…). */
export const WG_1D = 64;
/** Radix sort: bits per pass, threads per workgroup, keys per thread. */
export const RADIX_BITS = 5;
export const RADIX_BINS = 1 << RADIX_BITS;
export const RADIX_THREADS = 64;
export const RADIX_ITEMS = 16;
export const RADIX_BLOCK = RADIX_THREADS * RADIX_ITEMS;
/** Threads of the single-workgroup exclusive scan. */
export const SCAN_THREADS = 256;
/**
 * Backward rasterizer: threads per tile, pixels each thread carries, and
 * Gaussians per batch (workgroup memory: BWD_BATCH · 9 · BWD_THREADS floats).
 */
export const BWD_THREADS = 16;
export const BWD_PIXELS = BIN_PIXELS / BWD_THREADS;
export const BWD_BATCH = 32;
/** Floats of 2D gradient per Gaussian: mean2d (2), conic (3), opacity, rgb (3). */
export const GRAD2D_STRIDE = 9;
/** Row block of the loss reduction. */
export const REDUCE_THREADS = 256;

export type Scalar = "f32" | "u32" | "i32";

/** A struct made only of 4-byte scalars: field k sits at byte 4·k. */
export interface StructDef {
  name: string;
  fields: readonly (readonly [string, Scalar])[];
  /** Byte offset of each field. */
  offsets: Record<string, number>;
  /** Size in bytes as WGSL sees it (4 · fields). */
  size: number;
  /** Size rounded up to 16 bytes (uniform buffer binding size). */
  paddedSize: number;
}

export function defineStruct(
  name: string,
  fields: readonly (readonly [string, Scalar])[],
): StructDef {
  const offsets: Record<string, number> = {};
  fields.forEach(([f], k) => (offsets[f] = 4 * k));
  const size = 4 * fields.length;
  return { name, fields, offsets, size, paddedSize: Math.ceil(size / 16) * 16 };
}

/** Per-frame uniform: image, camera, scene layout in the parameter buffer. */
export const FRAME = defineStruct("Frame", [
  ["width", "u32"],
  ["height", "u32"],
  ["tiles_x", "u32"],
  ["tiles_y", "u32"],
  ["bins_x", "u32"],
  ["bins_y", "u32"],
  ["n", "u32"],
  ["sh_degree", "u32"],
  ["color_stride", "u32"], // floats of colour per Gaussian (3·K or 3)
  ["color_mode", "u32"], // 0: SH, 1: RGB
  ["ortho", "u32"],
  ["accumulate_stats", "u32"], // backward: add |dL/dmean2d| to the densify statistics
  ["off_means", "u32"], // offsets (floats) of each group in the parameter buffer
  ["off_scales", "u32"],
  ["off_quats", "u32"],
  ["off_opacity", "u32"],
  ["off_colors", "u32"],
  ["fx", "f32"], // pinhole focal or ortho scale (px)
  ["fy", "f32"],
  ["cx", "f32"], // pixel-index coordinates (intrinsic cx − 0.5)
  ["cy", "f32"],
  ["r00", "f32"],
  ["r01", "f32"],
  ["r02", "f32"],
  ["r10", "f32"],
  ["r11", "f32"],
  ["r12", "f32"],
  ["r20", "f32"],
  ["r21", "f32"],
  ["r22", "f32"],
  ["t0", "f32"],
  ["t1", "f32"],
  ["t2", "f32"],
  ["campos_x", "f32"],
  ["campos_y", "f32"],
  ["campos_z", "f32"],
  ["near", "f32"],
  ["lim_x", "f32"],
  ["lim_y", "f32"],
  ["bg_r", "f32"],
  ["bg_g", "f32"],
  ["bg_b", "f32"],
]);

/** Per-Gaussian result of the projection pass (storage array element). */
export const SPLAT = defineStruct("Splat", [
  ["x", "f32"], // projected centre, pixel-index coordinates
  ["y", "f32"],
  ["conic_a", "f32"],
  ["conic_b", "f32"],
  ["conic_c", "f32"],
  ["opacity", "f32"],
  ["r", "f32"],
  ["g", "f32"],
  ["b", "f32"],
  ["depth", "f32"],
  ["radius", "i32"], // 0 = culled
  ["tile_x0", "u32"],
  ["tile_y0", "u32"],
  ["tile_x1", "u32"],
  ["tile_y1", "u32"],
  ["clamped", "u32"], // bit c set: SH colour channel c was clamped at 0
]);

/** Small per-dispatch uniform of the sort/scan/emit/loss kernels. */
export const PASS = defineStruct("Pass", [
  ["n", "u32"],
  ["shift", "u32"],
  ["blocks", "u32"],
  ["aux", "u32"],
]);

/** Adam hyper-parameters (per step). */
export const ADAM = defineStruct("AdamParams", [
  ["total", "u32"], // floats in the parameter buffer
  ["off_scales", "u32"],
  ["off_quats", "u32"],
  ["off_opacity", "u32"],
  ["off_colors", "u32"],
  ["lr_means", "f32"],
  ["lr_scales", "f32"],
  ["lr_quats", "f32"],
  ["lr_opacity", "f32"],
  ["lr_colors", "f32"],
  ["beta1", "f32"],
  ["beta2", "f32"],
  ["eps", "f32"],
  ["bias1", "f32"], // 1 − β1^t
  ["bias2_sqrt", "f32"], // sqrt(1 − β2^t)
]);

/** Loss uniform: image size, weights and mask flag. */
export const LOSS = defineStruct("LossParams", [
  ["width", "u32"],
  ["height", "u32"],
  ["has_mask", "u32"],
  ["maps", "u32"], // planes blurred by the generic blur kernels
  ["ssim_weight", "f32"],
  ["inv_norm", "f32"], // 1 / (3 · Σ mask)
]);

export const STRUCTS = [FRAME, SPLAT, PASS, ADAM, LOSS] as const;

/** A WGSL float literal that keeps full f32 precision. */
function f(x: number): string {
  const s = Math.fround(x).toPrecision(9);
  return s.includes(".") || s.includes("e") ? s : `${s}.0`;
}

/** 1-D Gaussian SSIM window, normalised to sum 1 ([SSIM_WINDOW]). */
export function ssimWindow(): number[] {
  const half = (SSIM_WINDOW - 1) / 2;
  const w: number[] = [];
  for (let i = 0; i < SSIM_WINDOW; i++) {
    w.push(Math.exp(-((i - half) ** 2) / (2 * SSIM_SIGMA ** 2)));
  }
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / s);
}

/** WGSL source of one struct. */
export function structWgsl(s: StructDef): string {
  return `struct ${s.name} {\n${s.fields.map(([n, t]) => `  ${n}: ${t},`).join("\n")}\n}\n`;
}

/** The prelude prepended to every pass: constants and structs from this file and `_math.ts`. */
export function wgslPrelude(): string {
  const consts: [string, string][] = [
    ["TILE_SIZE", `${TILE_SIZE}u`],
    ["TILE_PIXELS", `${TILE_SIZE * TILE_SIZE}u`],
    ["BIN_SIZE", `${BIN_SIZE}u`],
    ["BIN_PIXELS", `${BIN_PIXELS}u`],
    ["FWD_PIXELS", `${FWD_PIXELS}u`],
    ["ALPHA_MIN", f(ALPHA_MIN)],
    ["ALPHA_MAX", f(ALPHA_MAX)],
    ["T_MIN", f(T_MIN)],
    ["COV2D_DILATION", f(COV2D_DILATION)],
    ["SIGMA_RADIUS", f(SIGMA_RADIUS)],
    ["EIGEN_FLOOR", f(EIGEN_FLOOR)],
    ["SH_COLOR_OFFSET", f(SH_COLOR_OFFSET)],
    ["SH_C0", f(SH_C0)],
    ["SH_C1", f(SH_C1)],
    ...SH_C2.map((v, i): [string, string] => [`SH_C2_${i}`, f(v)]),
    ...SH_C3.map((v, i): [string, string] => [`SH_C3_${i}`, f(v)]),
    ["SSIM_C1", f(SSIM_C1)],
    ["SSIM_C2", f(SSIM_C2)],
    ["SSIM_HALF", `${(SSIM_WINDOW - 1) / 2}i`],
    ["WG_1D", `${WG_1D}u`],
    ["RADIX_BITS", `${RADIX_BITS}u`],
    ["RADIX_BINS", `${RADIX_BINS}u`],
    ["RADIX_THREADS", `${RADIX_THREADS}u`],
    ["RADIX_ITEMS", `${RADIX_ITEMS}u`],
    ["RADIX_BLOCK", `${RADIX_BLOCK}u`],
    ["SCAN_THREADS", `${SCAN_THREADS}u`],
    ["BWD_THREADS", `${BWD_THREADS}u`],
    ["BWD_PIXELS", `${BWD_PIXELS}u`],
    ["BWD_BATCH", `${BWD_BATCH}u`],
    ["GRAD2D_STRIDE", `${GRAD2D_STRIDE}u`],
    ["REDUCE_THREADS", `${REDUCE_THREADS}u`],
  ];
  const win = ssimWindow();
  return [
    "// Generated by src/splat/_layout.ts: do not edit in a .wgsl file.",
    ...consts.map(([n, v]) => `const ${n} = ${v};`),
    `const SSIM_WINDOW = array<f32, ${win.length}>(${win.map(f).join(", ")});`,
    ...STRUCTS.map(structWgsl),
    "",
  ].join("\n");
}

/** Host-side writer of a struct into a little-endian byte buffer. */
export function packStruct(s: StructDef, values: Record<string, number>): ArrayBuffer {
  const buf = new ArrayBuffer(s.paddedSize);
  const dv = new DataView(buf);
  for (const [name, type] of s.fields) {
    const v = values[name];
    if (v === undefined) throw new TypeError(`Missing field "${name}" of struct ${s.name}`);
    const o = s.offsets[name]!;
    if (type === "f32") dv.setFloat32(o, v, true);
    else if (type === "u32") dv.setUint32(o, v >>> 0, true);
    else dv.setInt32(o, v | 0, true);
  }
  return buf;
}
