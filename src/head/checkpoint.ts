/**
 * Adaptation checkpoints: the whole optimiser state in one `.safetensors` file
 * (written atomically), so a killed adaptation resumes at the last checkpoint and
 * — on the CPU backend — ends bit-identical to an uninterrupted run (the view order
 * and densify sampling depend only on the seed and the iteration).
 *
 * Tensors: the model's (`frame`, `part`, `offset`, `log_scale`, `quat`,
 * `opacity_logit`, `color`), `adam_m.<group>` / `adam_v.<group>` (F32),
 * `grad_sum`, `grad_views` (F64 [N]), `losses` (F64 [iterations]). Metadata:
 * `format` = "dub.head_checkpoint", `version` = "1", `iteration`, `adam_t`,
 * `initial_count`, `fingerprint` (what the run was started with; a checkpoint of
 * another run is ignored).
 *
 * @module
 */
import { rename } from "node:fs/promises";
import { readSafetensors, type TensorSource, writeSafetensors } from "../tensor/safetensors.ts";
import { HostAdam } from "./adam.ts";
import { PoseCorrection } from "./pose_refine.ts";
import type { AdaptState } from "./adapt.ts";

const FORMAT = "dub.head_checkpoint";

const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Writes the state atomically. `fingerprint` identifies the run's inputs and options. */
export async function writeCheckpoint(
  path: string,
  s: AdaptState,
  fingerprint: string,
): Promise<void> {
  const g = s.gaussians, n = g.count;
  const t: TensorSource[] = [
    { name: "frame", dtype: "I32", shape: [n], data: bytes(g.frame) },
    { name: "part", dtype: "U8", shape: [n], data: bytes(s.part) },
    { name: "offset", dtype: "F32", shape: [n, 3], data: bytes(g.offset) },
    { name: "log_scale", dtype: "F32", shape: [n, 3], data: bytes(g.logScale) },
    { name: "quat", dtype: "F32", shape: [n, 4], data: bytes(g.quat) },
    { name: "opacity_logit", dtype: "F32", shape: [n], data: bytes(g.opacityLogit) },
    { name: "color", dtype: "F32", shape: [n, 3], data: bytes(g.color) },
    { name: "grad_sum", dtype: "F64", shape: [n], data: bytes(s.gradSum) },
    { name: "grad_views", dtype: "F64", shape: [n], data: bytes(s.gradViews) },
    {
      name: "losses",
      dtype: "F64",
      shape: [s.losses.length],
      data: bytes(Float64Array.from(s.losses)),
    },
  ];
  for (const [kind, mom] of [["adam_m", s.adam.m], ["adam_v", s.adam.v]] as const) {
    for (const [name, a] of mom) {
      t.push({ name: `${kind}.${name}`, dtype: "F32", shape: [a.length], data: bytes(a) });
    }
  }
  for (const [name, a] of s.extra) {
    t.push({ name: `extra.${name}`, dtype: "F32", shape: [a.length], data: bytes(a) });
  }
  if (s.poses) {
    const a = new Float64Array(s.poses.length * 25);
    s.poses.forEach((p, i) => a.set(p.toArray(), i * 25));
    t.push({ name: "poses", dtype: "F64", shape: [s.poses.length, 25], data: bytes(a) });
  }
  const tmp = `${path}.tmp-${Deno.pid}`;
  await writeSafetensors(tmp, t, {
    format: FORMAT,
    version: "1",
    iteration: String(s.iteration),
    adam_t: String(s.adam.t),
    initial_count: String(s.initialCount),
    lr: JSON.stringify(s.adam.lr),
    fingerprint,
  });
  await rename(tmp, path);
}

/**
 * Reads a checkpoint; returns undefined when there is none, it belongs to another
 * run (fingerprint), or it cannot be read (a damaged checkpoint only costs the work
 * since the previous one, so it is not an error).
 */
export async function readCheckpoint(
  path: string,
  fingerprint: string,
): Promise<AdaptState | undefined> {
  let file;
  try {
    file = await readSafetensors(path);
  } catch {
    return undefined;
  }
  const { tensors, metadata } = file;
  if (
    metadata.format !== FORMAT || metadata.version !== "1" || metadata.fingerprint !== fingerprint
  ) {
    return undefined;
  }
  const get = <T>(name: string) => tensors.get(name)?.data as T | undefined;
  const frame = get<Int32Array>("frame");
  if (!frame) return undefined;
  const n = frame.length;
  const adam = new HostAdam(JSON.parse(metadata.lr ?? "{}"));
  adam.t = Number(metadata.adam_t);
  const extra = new Map<string, Float32Array>();
  for (const [name, t] of tensors) {
    const m = /^(adam_m|adam_v|extra)\.(.+)$/.exec(name);
    if (!m) continue;
    const target = m[1] === "adam_m" ? adam.m : m[1] === "adam_v" ? adam.v : extra;
    target.set(m[2]!, t.data as Float32Array);
  }
  const arrays = {
    offset: get<Float32Array>("offset"),
    logScale: get<Float32Array>("log_scale"),
    quat: get<Float32Array>("quat"),
    opacityLogit: get<Float32Array>("opacity_logit"),
    color: get<Float32Array>("color"),
  };
  const part = get<Uint8Array>("part"), gradSum = get<Float64Array>("grad_sum");
  const gradViews = get<Float64Array>("grad_views"), losses = get<Float64Array>("losses");
  if (Object.values(arrays).some((a) => !a) || !part || !gradSum || !gradViews || !losses) {
    return undefined;
  }
  const poseArr = get<Float64Array>("poses");
  const poses = poseArr
    ? Array.from(
      { length: poseArr.length / 25 },
      (_, i) => PoseCorrection.fromArray(poseArr.subarray(i * 25, i * 25 + 25)),
    )
    : undefined;
  return {
    ...(poses ? { poses } : {}),
    gaussians: {
      count: n,
      frame,
      ...(arrays as Required<typeof arrays>),
    } as AdaptState["gaussians"],
    part,
    adam,
    iteration: Number(metadata.iteration),
    losses: Array.from(losses),
    gradSum,
    gradViews,
    initialCount: Number(metadata.initial_count),
    extra,
  };
}
