/**
 * Inference of the audio prior with onnxruntime-node. Any ONNX model with this
 * contract can replace the shipped one:
 *
 *   input  "mel"          float32 [N, T, 80]  log-mel from `logMel()` (100 Hz)
 *   output "articulation" float32 [N, T, 8]   channels of src/articulation/mod.ts
 *
 * T is free (the model is fully convolutional); output frame j matches input
 * frame j. The contract is checked when the model loads (names, then probe runs
 * on T = 64 and T = 97 — a model with a fixed time axis fails the second — that
 * must give [1, T, 8] of finite values in the channels' ranges), so a wrong model
 * fails early with a clear message naming it; every later run's output is checked
 * the same way (a model may break only on some inputs).
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import { fileURLToPath } from "node:url";
import { ARTICULATION_CHANNELS, ARTICULATION_DIM } from "../articulation/mod.ts";
import { MEL_CONFIG } from "./mel.ts";

/** Path of the shipped default prior. */
export const DEFAULT_PRIOR_PATH: string = fileURLToPath(
  new URL("../../models/audio_prior.onnx", import.meta.url),
);

/** Frames of context added on each side of a chunk (≥ half the receptive field). */
const CONTEXT_FRAMES = 64;
const CHUNK_FRAMES = 2048;

/** Raised for a model that cannot be used as an audio prior (callers may handle it). */
export class PriorModelError extends Error {
  override name = "PriorModelError";
}

/** Lengths (frames) of the load-time probes: a fixed time axis fails one of them. */
const PROBE_FRAMES = [64, 97] as const;

/**
 * Check a model's output `[T, 8]`: every value finite and within its channel's
 * range widened by one span on each side (a trained prior ends in a scaled
 * sigmoid, so it is inside the range; values far outside mean a broken model,
 * not a loud input). Throws a PriorModelError naming the model, frame and channel.
 */
export function checkPriorOutput(
  y: Float32Array,
  path: string,
  what: string,
  frameOffset = 0,
): void {
  const c = ARTICULATION_DIM;
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    const ch = ARTICULATION_CHANNELS[i % c]!;
    const span = ch.range[1] - ch.range[0];
    if (!Number.isFinite(v) || v < ch.range[0] - span || v > ch.range[1] + span) {
      throw new PriorModelError(
        `Audio prior "${path}" produced ${v} for channel "${ch.name}" at frame ${
          frameOffset + Math.floor(i / c)
        } ${what} (expected a finite value in [${ch.range[0]}, ${ch.range[1]}]); ` +
          "the model is broken or not an audio prior: use another model",
      );
    }
  }
}

/** A deterministic log-mel-like probe input `[T, 80]`: silence (−10) then speech-like values. */
function probeMel(t: number): Float32Array {
  const m = MEL_CONFIG.nMels;
  const x = new Float32Array(t * m).fill(-10);
  let seed = 12345;
  for (let i = (t >> 1) * m; i < t * m; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    x[i] = -6 + 8 * (seed / 2 ** 32); // [-6, 2]: the log-mel range of speech
  }
  return x;
}

/** A loaded prior; release with `using` or `release()`. */
export class AudioPrior implements Disposable {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly path: string,
  ) {}

  /** Load and validate an ONNX prior (default: the shipped model). */
  static async load(path: string = DEFAULT_PRIOR_PATH): Promise<AudioPrior> {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(path, {
        intraOpNumThreads: 2,
        interOpNumThreads: 1,
      });
    } catch (e) {
      const msg = (e as Error).message.split("\n")[0];
      throw new PriorModelError(
        `Cannot load audio prior "${path}": ${msg}; pass a valid ONNX file`,
      );
    }
    const prior = new AudioPrior(session, path);
    try {
      await prior.validate();
    } catch (e) {
      prior.release();
      throw e;
    }
    return prior;
  }

  private async validate(): Promise<void> {
    const s = this.session;
    const want =
      `input "mel" [N, T, ${MEL_CONFIG.nMels}] and output "articulation" [N, T, ${ARTICULATION_DIM}]`;
    if (s.inputNames.length !== 1 || s.inputNames[0] !== "mel") {
      throw new PriorModelError(
        `Audio prior "${this.path}" has inputs [${
          s.inputNames.join(", ")
        }]; an audio prior needs ${want}`,
      );
    }
    if (!s.outputNames.includes("articulation")) {
      throw new PriorModelError(
        `Audio prior "${this.path}" has outputs [${
          s.outputNames.join(", ")
        }]; an audio prior needs ${want}`,
      );
    }
    for (const t of PROBE_FRAMES) {
      let dims: readonly number[];
      let data: Float32Array;
      try {
        const out = await s.run({
          mel: new ort.Tensor("float32", probeMel(t), [1, t, MEL_CONFIG.nMels]),
        });
        dims = out["articulation"]!.dims;
        data = out["articulation"]!.data as Float32Array;
      } catch (e) {
        const msg = (e as Error).message.split("\n")[0];
        const fixed = t !== PROBE_FRAMES[0] ? " (its time axis looks fixed)" : "";
        throw new PriorModelError(
          `Audio prior "${this.path}" fails on a [1, ${t}, ${MEL_CONFIG.nMels}] input${fixed}: ${msg}; it needs ${want} for any T`,
        );
      }
      if (dims.length !== 3 || dims[0] !== 1 || dims[1] !== t || dims[2] !== ARTICULATION_DIM) {
        throw new PriorModelError(
          `Audio prior "${this.path}" maps [1, ${t}, ${MEL_CONFIG.nMels}] to [${
            dims.join(", ")
          }]; it needs ${want} for any T`,
        );
      }
      checkPriorOutput(data, this.path, `on a ${t}-frame probe input`);
    }
  }

  /**
   * Articulation `[T, 8]` for log-mel `[T, 80]` (row-major). Long inputs run in
   * overlapping chunks, so memory does not grow with the clip length.
   */
  async predict(mel: Float32Array, signal?: AbortSignal): Promise<Float32Array> {
    const m = MEL_CONFIG.nMels;
    const c = ARTICULATION_DIM;
    if (mel.length % m !== 0) {
      throw new RangeError(`Log-mel length ${mel.length} is not a multiple of ${m}`);
    }
    const frames = mel.length / m;
    const out = new Float32Array(frames * c);
    for (let start = 0; start < frames; start += CHUNK_FRAMES) {
      if (signal?.aborted) throw signal.reason ?? new Error("Aborted");
      const end = Math.min(frames, start + CHUNK_FRAMES);
      const a = Math.max(0, start - CONTEXT_FRAMES);
      const b = Math.min(frames, end + CONTEXT_FRAMES);
      const x = mel.slice(a * m, b * m);
      let y: Float32Array; // [b − a, C]
      try {
        const res = await this.session.run({ mel: new ort.Tensor("float32", x, [1, b - a, m]) });
        y = res["articulation"]!.data as Float32Array;
      } catch (e) {
        throw new PriorModelError(
          `Audio prior "${this.path}" failed on frames ${a}–${b}: ${
            (e as Error).message.split("\n")[0]
          }`,
        );
      }
      const mine = y.subarray((start - a) * c, (end - a) * c);
      checkPriorOutput(mine, this.path, "of this clip", start);
      out.set(mine, start * c);
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
