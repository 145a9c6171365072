/**
 * The speaker model file written by `speaker.adapt`: one `.safetensors` file.
 *
 * Tensors (N = Gaussians, all little-endian):
 *
 * | name            | dtype | shape    | meaning |
 * |-----------------|-------|----------|---------|
 * | frame           | I32   | [N]      | binding frame: 0…897 canonical-mesh triangle, 898 head (rigid), 899 jaw (rigid); see `binding.ts` |
 * | part            | U8    | [N]      | 0 skin, 1 upper teeth, 2 lower teeth, 3 tongue, 4 cavity (`inner_mouth.ts`) |
 * | offset          | F32   | [N, 3]   | mean in the frame's local axes, units of the frame size k |
 * | log_scale       | F32   | [N, 3]   | log standard deviations, local (world adds log k) |
 * | quat            | F32   | [N, 4]   | local rotation (w, x, y, z), need not be normalised |
 * | opacity_logit   | F32   | [N]      | opacity = sigmoid(logit) |
 * | color           | F32   | [N, 3]   | static RGB in [0, 1] (used without a colour MLP, and as its fallback) |
 * | neutral         | F32   | [468, 3] | the speaker's neutral expression offsets (cm), the jaw's reference |
 * | mouth_map.*     | any   | any      | the speaker's mouth map (B's `mouthMapToTensors`), optional |
 * | color_mlp.*     | any   | any      | the colour MLP's weights and per-Gaussian features, optional |
 *
 * `__metadata__`: `format` = "dub.speaker_model", `version` = "1", `info` = JSON of
 * {@link SpeakerModelInfo}. Readers reject another format or version, missing or
 * mis-shaped tensors, out-of-range frames and non-finite values, naming the file.
 *
 * @module
 */
import { rename } from "node:fs/promises";
import { MESH_VERTEX_COUNT } from "../track/canonical_mesh.ts";
import {
  parseSafetensors,
  type Tensor,
  type TensorSource,
  writeSafetensors,
} from "../tensor/safetensors.ts";
import { type BoundGaussians, FRAME_COUNT } from "./binding.ts";

export const SPEAKER_MODEL_FORMAT = "dub.speaker_model";
export const SPEAKER_MODEL_VERSION = 1;

/** What the model was adapted from and how (free-form beyond these keys). */
export interface SpeakerModelInfo {
  /** Footage file name the model was adapted on. */
  source?: string;
  /** Footage size (pixels) and frame rate. */
  width?: number;
  height?: number;
  fps?: number;
  /** Frames used for adaptation (track rows). */
  frames?: number[];
  iterations?: number;
  finalLoss?: number;
  backend?: string;
  seed?: number;
  [key: string]: unknown;
}

/** A speaker's adapted Gaussian head. */
export interface SpeakerModel {
  gaussians: BoundGaussians;
  part: Uint8Array; // [N]
  neutral: Float32Array; // [468 * 3] cm
  /** Extra tensors carried verbatim: `mouth_map.*` (B), `color_mlp.*` (M). */
  extra: Map<string, Tensor>;
  info: SpeakerModelInfo;
}

/** Serialises a model into safetensors sources (the writer's input). */
function toSources(m: SpeakerModel): TensorSource[] {
  const g = m.gaussians;
  const n = g.count;
  const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const list: TensorSource[] = [
    { name: "frame", dtype: "I32", shape: [n], data: bytes(g.frame) },
    { name: "part", dtype: "U8", shape: [n], data: bytes(m.part) },
    { name: "offset", dtype: "F32", shape: [n, 3], data: bytes(g.offset) },
    { name: "log_scale", dtype: "F32", shape: [n, 3], data: bytes(g.logScale) },
    { name: "quat", dtype: "F32", shape: [n, 4], data: bytes(g.quat) },
    { name: "opacity_logit", dtype: "F32", shape: [n], data: bytes(g.opacityLogit) },
    { name: "color", dtype: "F32", shape: [n, 3], data: bytes(g.color) },
    { name: "neutral", dtype: "F32", shape: [MESH_VERTEX_COUNT, 3], data: bytes(m.neutral) },
  ];
  for (const [name, t] of m.extra) {
    list.push({ name, dtype: t.dtype, shape: t.shape, data: bytes(t.data) });
  }
  return list;
}

/** Writes a speaker model atomically (temp name, then rename). */
export async function writeSpeakerModel(path: string, m: SpeakerModel): Promise<void> {
  validate(m, path, "write");
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await writeSafetensors(tmp, toSources(m), {
      format: SPEAKER_MODEL_FORMAT,
      version: String(SPEAKER_MODEL_VERSION),
      info: JSON.stringify(m.info),
    });
    await rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** Reads a speaker model file; rejects malformed or truncated files with an error naming it. */
export async function readSpeakerModel(path: string): Promise<SpeakerModel> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(
      `Cannot read speaker model "${path}": ${(e as Error).message}; pass a speaker.adapt output`,
      { cause: e },
    );
  }
  return decodeSpeakerModel(bytes, path);
}

/** Parses speaker-model bytes (`label` names the source in errors). */
export function decodeSpeakerModel(bytes: Uint8Array, label: string): SpeakerModel {
  const fail = (why: string): never => {
    throw new Error(`Cannot read speaker model "${label}": ${why}; re-run speaker.adapt`);
  };
  let parsed: ReturnType<typeof parseSafetensors>;
  try {
    parsed = parseSafetensors(bytes, label);
  } catch (e) {
    throw new Error(
      `Cannot read speaker model "${label}": ${
        (e as Error).message.replace(/^Cannot read "[^"]*": /, "")
      }; re-run speaker.adapt`,
      { cause: e },
    );
  }
  const { tensors, metadata } = parsed;
  if (metadata.format !== SPEAKER_MODEL_FORMAT) {
    fail(`not a speaker model (format "${metadata.format ?? "none"}")`);
  }
  if (Number(metadata.version) !== SPEAKER_MODEL_VERSION) {
    fail(`version ${metadata.version}, this build reads version ${SPEAKER_MODEL_VERSION}`);
  }
  const get = (name: string, dtype: string, shape: number[]) => {
    const t = tensors.get(name);
    if (!t) return fail(`missing tensor "${name}"`);
    if (
      t.dtype !== dtype || t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])
    ) {
      return fail(
        `tensor "${name}" is ${t.dtype} [${t.shape}], expected ${dtype} [${shape}]`,
      );
    }
    return t.data;
  };
  const frameT = tensors.get("frame");
  const n = frameT?.shape[0] ?? fail(`missing tensor "frame"`);
  let info: SpeakerModelInfo = {};
  try {
    info = JSON.parse(metadata.info ?? "{}");
  } catch {
    fail("its info metadata is not JSON");
  }
  const extra = new Map<string, Tensor>();
  for (const [name, t] of tensors) {
    if (name.startsWith("mouth_map.") || name.startsWith("color_mlp.")) extra.set(name, t);
  }
  const m: SpeakerModel = {
    gaussians: {
      count: n,
      frame: get("frame", "I32", [n]) as Int32Array,
      offset: get("offset", "F32", [n, 3]) as Float32Array,
      logScale: get("log_scale", "F32", [n, 3]) as Float32Array,
      quat: get("quat", "F32", [n, 4]) as Float32Array,
      opacityLogit: get("opacity_logit", "F32", [n]) as Float32Array,
      color: get("color", "F32", [n, 3]) as Float32Array,
    },
    part: get("part", "U8", [n]) as Uint8Array,
    neutral: get("neutral", "F32", [MESH_VERTEX_COUNT, 3]) as Float32Array,
    extra,
    info,
  };
  validate(m, label, "read");
  return m;
}

function validate(m: SpeakerModel, label: string, what: "read" | "write"): void {
  const fail = (why: string): never => {
    throw what === "read"
      ? new Error(`Cannot read speaker model "${label}": ${why}; re-run speaker.adapt`)
      : new RangeError(`Cannot write speaker model "${label}": ${why}`);
  };
  const g = m.gaussians;
  const n = g.count;
  const shapes: [string, ArrayLike<number>, number][] = [
    ["frame", g.frame, n],
    ["part", m.part, n],
    ["offset", g.offset, n * 3],
    ["log_scale", g.logScale, n * 3],
    ["quat", g.quat, n * 4],
    ["opacity_logit", g.opacityLogit, n],
    ["color", g.color, n * 3],
    ["neutral", m.neutral, MESH_VERTEX_COUNT * 3],
  ];
  for (const [name, a, len] of shapes) {
    if (a.length !== len) fail(`"${name}" has ${a.length} values, expected ${len}`);
    if (name !== "frame" && name !== "part") {
      for (let i = 0; i < a.length; i++) {
        if (!Number.isFinite(a[i]!)) fail(`"${name}" holds a non-finite value at ${i}`);
      }
    }
  }
  for (let i = 0; i < n; i++) {
    const f = g.frame[i]!;
    if (!(f >= 0 && f < FRAME_COUNT)) {
      fail(`Gaussian ${i} is bound to frame ${f} (0…${FRAME_COUNT - 1})`);
    }
    if (m.part[i]! > 4) fail(`Gaussian ${i} has part ${m.part[i]} (0…4)`);
  }
}
