/**
 * Inference of the audio prior with onnxruntime-node. Any ONNX model with this
 * contract can replace the shipped one:
 *
 *   input  "mel"          float32 [N, T, 80]  log-mel from `logMel()` (100 Hz)
 *   output "articulation" float32 [N, T, 8]   channels of src/articulation/mod.ts
 *
 * T is free (the model is fully convolutional); output frame j matches input
 * frame j. The contract is checked when the model loads (names, then a probe
 * run on T = 64 that must give [1, 64, 8]), so a wrong model fails early with
 * a clear message.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import { fileURLToPath } from "node:url";
import { ARTICULATION_DIM } from "../articulation/mod.ts";
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
    const t = 64;
    let dims: readonly number[];
    try {
      const out = await s.run({
        mel: new ort.Tensor("float32", new Float32Array(t * MEL_CONFIG.nMels).fill(-10), [
          1,
          t,
          MEL_CONFIG.nMels,
        ]),
      });
      dims = out["articulation"]!.dims;
    } catch (e) {
      const msg = (e as Error).message.split("\n")[0];
      throw new PriorModelError(
        `Audio prior "${this.path}" fails on a [1, ${t}, ${MEL_CONFIG.nMels}] input: ${msg}; it needs ${want}`,
      );
    }
    if (dims.length !== 3 || dims[0] !== 1 || dims[1] !== t || dims[2] !== ARTICULATION_DIM) {
      throw new PriorModelError(
        `Audio prior "${this.path}" maps [1, ${t}, ${MEL_CONFIG.nMels}] to [${
          dims.join(", ")
        }]; it needs ${want}`,
      );
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
      const res = await this.session.run({ mel: new ort.Tensor("float32", x, [1, b - a, m]) });
      const y = res["articulation"]!.data as Float32Array; // [b − a, C]
      out.set(y.subarray((start - a) * c, (end - a) * c), start * c);
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
