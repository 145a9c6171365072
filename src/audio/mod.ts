/**
 * Audio → articulation: features (16 kHz log-mel + Silero VAD), the learned
 * prior or the signal-processing baseline, VAD gating, speaker style and
 * exact resampling to the video frame clock; plus the two file formats the
 * `audio.features` and `lipsync.expression` steps write.
 *
 * ## Feature file (`audio.features`, `.safetensors`)
 * | tensor   | dtype | shape    | meaning                                         |
 * |----------|-------|----------|-------------------------------------------------|
 * | log_mel  | F32   | [T, 80]  | ln(mel power + 1e-6), see `mel.ts`; frame j at j/100 s |
 * | vad      | F32   | [T]      | Silero speech probability on the same clock (absent when VAD is off) |
 *
 * `__metadata__`: format "dub.audio_features", version "1", sample_rate_hz,
 * hop_length, n_mels, frame_rate_hz ("100"), duration_s, source (file name).
 *
 * ## Articulation file (`lipsync.expression`, `.safetensors`)
 * | tensor             | dtype | shape   | meaning                                      |
 * |--------------------|-------|---------|----------------------------------------------|
 * | articulation       | F32   | [F, C]  | channels of src/articulation/mod.ts at the video rate; frame i at i·den/num s |
 * | articulation_model | F32   | [T, C]  | the same before resampling, at 100 Hz          |
 * | gate               | F32   | [T]     | speech gate in [0, 1] at 100 Hz (1 = mouth driven by speech; all 1 when VAD is off) |
 *
 * `__metadata__`: format "dub.articulation", version "1", fps ("30000/1001"),
 * frames, channels (comma-separated names), method ("prior" | "baseline"),
 * model (file name), model_sha256, vad ("on" | "off"), style (JSON of the
 * per-channel map, when a face track was given).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { basename } from "node:path";
import {
  ARTICULATION_DIM,
  ARTICULATION_NAMES,
  clampArticulation,
  neutralArticulation,
} from "../articulation/mod.ts";
import { readSafetensors, writeSafetensors } from "../tensor/safetensors.ts";
import { baselineArticulation } from "./baseline.ts";
import { enforceContacts } from "./contacts.ts";
import { formatFps, frameCountFor, type Rational, resampleToFrameRate } from "./clock.ts";
import { logMel, MEL_CONFIG } from "./mel.ts";
import { AudioPrior } from "./prior.ts";
import { resample } from "./resample.ts";
import { applyStyle, type StyleMap } from "./style.ts";
import { applyGate, SileroVad, speechGate, vadToFeatureClock } from "./vad.ts";

export { AudioPrior, DEFAULT_PRIOR_PATH, PriorModelError } from "./prior.ts";
export {
  formatFps,
  frameCountFor,
  frameTime,
  parseFps,
  type Rational,
  resampleToFrameRate,
} from "./clock.ts";
export { logMel, MEL_CONFIG } from "./mel.ts";
export { resample } from "./resample.ts";
export { applyStyle, calibrateStyle, type StyleMap } from "./style.ts";
export { baselineArticulation } from "./baseline.ts";
export { enforceContacts } from "./contacts.ts";
export { applyGate, SileroVad, speechGate } from "./vad.ts";

export const FEATURES_FORMAT = "dub.audio_features";
export const ARTICULATION_FORMAT = "dub.articulation";

/** Log-mel and VAD on the 100 Hz feature clock. */
export interface AudioFeatures {
  /** `[T, 80]` */
  mel: Float32Array;
  frames: number;
  /** Speech probability `[T]`, or null when VAD was not run. */
  vad: Float32Array | null;
  durationS: number;
}

/** Compute features of mono `samples` `[N]` at any integer rate. */
export async function computeFeatures(
  samples: Float32Array,
  sampleRateHz: number,
  opts: {
    vad?: boolean;
    signal?: AbortSignal;
    onProgress?: (doneS: number, totalS: number) => void;
  } = {},
): Promise<AudioFeatures> {
  const x = sampleRateHz === MEL_CONFIG.sampleRateHz
    ? samples
    : resample(samples, sampleRateHz, MEL_CONFIG.sampleRateHz);
  const mel = logMel(x);
  let vad: Float32Array | null = null;
  if (opts.vad ?? true) {
    using v = await SileroVad.load();
    vad = vadToFeatureClock(await v.probabilities(x, opts.signal, opts.onProgress), mel.frames);
  }
  return { mel: mel.data, frames: mel.frames, vad, durationS: x.length / MEL_CONFIG.sampleRateHz };
}

/** Write a feature file (see the module doc). */
export async function writeFeatures(path: string, f: AudioFeatures, source: string): Promise<void> {
  const bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const tensors = [{
    name: "log_mel",
    dtype: "F32" as const,
    shape: [f.frames, MEL_CONFIG.nMels],
    data: bytes(f.mel),
  }];
  if (f.vad) {
    tensors.push({ name: "vad", dtype: "F32" as const, shape: [f.frames], data: bytes(f.vad) });
  }
  await writeSafetensors(path, tensors, {
    format: FEATURES_FORMAT,
    version: "1",
    sample_rate_hz: String(MEL_CONFIG.sampleRateHz),
    hop_length: String(MEL_CONFIG.hopLength),
    n_mels: String(MEL_CONFIG.nMels),
    frame_rate_hz: String(MEL_CONFIG.frameRateHz),
    duration_s: String(f.durationS),
    source: basename(source),
  });
}

/** Read a feature file written by {@link writeFeatures}; throws a clear error otherwise. */
export async function readFeatures(path: string): Promise<AudioFeatures> {
  const { tensors, metadata } = await readSafetensors(path);
  if (metadata.format !== FEATURES_FORMAT) {
    throw new Error(
      `Cannot read "${path}": not an audio feature file (format "${metadata.format}"); pass an audio.features output`,
    );
  }
  if (
    Number(metadata.n_mels) !== MEL_CONFIG.nMels ||
    Number(metadata.hop_length) !== MEL_CONFIG.hopLength
  ) {
    throw new Error(
      `Cannot read "${path}": features with ${metadata.n_mels} mels / hop ${metadata.hop_length}; re-run audio.features`,
    );
  }
  const mel = tensors.get("log_mel");
  if (!mel || mel.dtype !== "F32" || mel.shape.length !== 2 || mel.shape[1] !== MEL_CONFIG.nMels) {
    throw new Error(
      `Cannot read "${path}": missing F32 tensor "log_mel" [T, ${MEL_CONFIG.nMels}]; re-run audio.features`,
    );
  }
  const vad = tensors.get("vad");
  return {
    mel: mel.data as Float32Array,
    frames: mel.shape[0]!,
    vad: vad ? (vad.data as Float32Array) : null,
    durationS: Number(metadata.duration_s),
  };
}

/** Options of {@link predictArticulation}. */
export interface PredictOptions {
  method: "prior" | "baseline";
  /** ONNX prior path (method "prior"); default the shipped model. */
  modelPath?: string;
  /** Gate with the VAD (needs features with VAD); default true. */
  vad?: boolean;
  /** Video frame rate. */
  fps: Rational;
  /** Number of video frames (default: frames that start within the audio). */
  frames?: number;
  style?: StyleMap;
  signal?: AbortSignal;
}

/** An articulation track at the model and the video clock. */
export interface ArticulationResult {
  /** `[F, C]` at the video rate. */
  video: Float32Array;
  frames: number;
  /** `[T, C]` at 100 Hz (gated, styled). */
  model: Float32Array;
  /** `[T]` speech gate. */
  gate: Float32Array;
}

/** Features → articulation at the video frame rate. */
export async function predictArticulation(
  f: AudioFeatures,
  opts: PredictOptions,
): Promise<ArticulationResult> {
  let track: Float32Array;
  if (opts.method === "baseline") track = baselineArticulation(f.mel);
  else {
    using prior = await AudioPrior.load(opts.modelPath);
    track = await prior.predict(f.mel, opts.signal);
  }
  enforceContacts(clampArticulation(track));
  let gate: Float32Array = new Float32Array(f.frames).fill(1);
  if (opts.vad ?? true) {
    if (!f.vad) {
      throw new Error(
        "The features have no VAD; run audio.features with vad: true or set vad: false",
      );
    }
    gate = speechGate(f.vad);
    track = applyGate(track, gate, neutralArticulation());
  }
  if (opts.style) track = applyStyle(track, opts.style);
  const frames = opts.frames ?? frameCountFor(f.durationS, opts.fps);
  const video = resampleToFrameRate(
    track,
    ARTICULATION_DIM,
    MEL_CONFIG.frameRateHz,
    opts.fps,
    frames,
  );
  return { video, frames, model: track, gate };
}

/** Write an articulation file (see the module doc). */
export async function writeArticulation(
  path: string,
  r: ArticulationResult,
  meta: { fps: Rational; method: string; modelPath?: string; vad: boolean; style?: string },
): Promise<void> {
  const bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let modelSha = "";
  if (meta.method === "prior" && meta.modelPath) {
    modelSha = createHash("sha256").update(await Deno.readFile(meta.modelPath)).digest("hex");
  }
  const t = r.gate.length;
  await writeSafetensors(path, [
    {
      name: "articulation",
      dtype: "F32",
      shape: [r.frames, ARTICULATION_DIM],
      data: bytes(r.video),
    },
    {
      name: "articulation_model",
      dtype: "F32",
      shape: [t, ARTICULATION_DIM],
      data: bytes(r.model),
    },
    { name: "gate", dtype: "F32", shape: [t], data: bytes(r.gate) },
  ], {
    format: ARTICULATION_FORMAT,
    version: "1",
    fps: formatFps(meta.fps),
    frames: String(r.frames),
    channels: ARTICULATION_NAMES.join(","),
    method: meta.method,
    model: meta.modelPath ? basename(meta.modelPath) : "",
    model_sha256: modelSha,
    vad: meta.vad ? "on" : "off",
    ...(meta.style ? { style: meta.style } : {}),
  });
}

/** An articulation file as read back. */
export interface ArticulationFile {
  /** `[F, C]` */
  articulation: Float32Array;
  frames: number;
  fps: Rational;
  metadata: Record<string, string>;
}

/** Read an articulation file written by {@link writeArticulation}. */
export async function readArticulation(path: string): Promise<ArticulationFile> {
  const { tensors, metadata } = await readSafetensors(path);
  if (metadata.format !== ARTICULATION_FORMAT) {
    throw new Error(
      `Cannot read "${path}": not an articulation file (format "${metadata.format}"); pass a lipsync.expression output`,
    );
  }
  if (metadata.channels !== ARTICULATION_NAMES.join(",")) {
    throw new Error(
      `Cannot read "${path}": channels "${metadata.channels}" differ from this version's; re-run lipsync.expression`,
    );
  }
  const a = tensors.get("articulation");
  if (!a || a.dtype !== "F32" || a.shape[1] !== ARTICULATION_DIM) {
    throw new Error(
      `Cannot read "${path}": missing F32 tensor "articulation" [F, ${ARTICULATION_DIM}]; re-run lipsync.expression`,
    );
  }
  const [num, den] = (metadata.fps ?? "").split("/").map(Number);
  return {
    articulation: a.data as Float32Array,
    frames: a.shape[0]!,
    fps: { num: num!, den: den! },
    metadata,
  };
}
