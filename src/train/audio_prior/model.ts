/**
 * The audio prior network in TF.js (training side): a temporal 1-D conv net
 * from log-mel `[B, T, 80]` to articulation `[B, T, 8]` at 100 Hz.
 *
 *   x → (x − μ) / σ                       per-mel-bin normalisation (fixed)
 *     → Conv1D(k=5, d=1) → ReLU           80 → C
 *     → [Conv1D(k=5, d=2^l) → ReLU] + h   residual, l = 1 … L−1
 *     → Conv1D(k=1) → sigmoid · (hi − lo) + lo     C → 8, each channel in its range
 *
 * "Same" padding on both sides: the receptive field looks ahead as far as it
 * looks back (±(4 + 8 + 16 + 32) / 2 … frames), which is what coarticulation
 * needs (lips round before the rounded vowel is heard).
 *
 * The weights are plain tf.Variables so the ONNX exporter can read them. TF.js'
 * wasm backend has no Conv2DBackpropFilter kernel, so the convolution carries
 * its own gradient (im2col + matMul for the filter, a flipped dilated conv for
 * the input).
 *
 * @module
 */
import "@tensorflow/tfjs"; // registers the gradients of the core ops
import * as tf from "@tensorflow/tfjs-core";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { ARTICULATION_CHANNELS, ARTICULATION_DIM } from "../../articulation/mod.ts";

/** Architecture hyper-parameters. */
export interface PriorConfig {
  nMels: number;
  /** Hidden width C. */
  hidden: number;
  /** One entry per conv layer before the output: kernel size and dilation. */
  layers: Array<{ kernel: number; dilation: number }>;
}

/** The shipped architecture (≈ 180 k parameters). */
export const DEFAULT_CONFIG: PriorConfig = {
  nMels: 80,
  hidden: 96,
  layers: [
    { kernel: 5, dilation: 1 },
    { kernel: 5, dilation: 2 },
    { kernel: 5, dilation: 4 },
    { kernel: 5, dilation: 8 },
  ],
};

/** Use the TF.js wasm backend (fastest on CPU here); call once. */
export async function useWasmBackend(): Promise<void> {
  const dist =
    new URL("../../../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url).href;
  setWasmPaths(dist);
  await import("@tensorflow/tfjs-backend-wasm");
  if (!(await tf.setBackend("wasm"))) throw new Error("Cannot start the TF.js wasm backend");
  await tf.ready();
}

const convCache = new Map<number, (x: tf.Tensor3D, w: tf.Tensor3D) => tf.Tensor3D>();

/**
 * conv1d, stride 1, "same" padding, dilation `d`, NWC: x `[B, T, Cin]`,
 * w `[K, Cin, Cout]` → `[B, T, Cout]`, with a hand-written gradient.
 */
export function conv1dSame(x: tf.Tensor3D, w: tf.Tensor3D, d: number): tf.Tensor3D {
  let f = convCache.get(d);
  if (!f) {
    f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const x3 = args[0] as tf.Tensor3D;
      const w3 = args[1] as tf.Tensor3D;
      const save = args[2] as tf.GradSaveFunc;
      save([x3, w3]);
      return {
        value: tf.conv1d(x3, w3, 1, "same", "NWC", d),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xs, ws] = saved as [tf.Tensor3D, tf.Tensor3D];
          const [b, t, cin] = xs.shape;
          const [k, , cout] = ws.shape;
          // dx: correlate dy with the flipped, transposed kernel.
          const wFlip = tf.transpose(tf.reverse(ws, 0), [0, 2, 1]) as tf.Tensor3D; // [K, Cout, Cin]
          const dx = tf.conv1d(dy as tf.Tensor3D, wFlip, 1, "same", "NWC", d);
          // dw[k] = Σ_{b,t} x[b, t + k d − p] ⊗ dy[b, t]: im2col + one matMul.
          const p = (d * (k - 1)) / 2;
          const xp = tf.pad(xs, [[0, 0], [p, p], [0, 0]]);
          const cols: tf.Tensor[] = [];
          for (let i = 0; i < k; i++) cols.push(tf.slice(xp, [0, i * d, 0], [b, t, cin]));
          const im = tf.reshape(tf.concat(cols, 2), [b * t, k * cin]);
          const dw = tf.reshape(tf.matMul(im, tf.reshape(dy, [b * t, cout]), true, false), [
            k,
            cin,
            cout,
          ]);
          return [dx, dw];
        },
      };
    }) as unknown as (x: tf.Tensor3D, w: tf.Tensor3D) => tf.Tensor3D;
    convCache.set(d, f);
  }
  return f(x, w);
}

/** The trainable network. */
export class PriorNet {
  readonly config: PriorConfig;
  /** Input normalisation, `[nMels]` each (constants, not trained). */
  readonly melMean: Float32Array;
  readonly melStd: Float32Array;
  /** Conv weights `[K, Cin, Cout]` and biases `[Cout]`; the last pair is the 1×1 output layer. */
  readonly weights: tf.Variable[] = [];
  readonly biases: tf.Variable[] = [];

  constructor(config: PriorConfig, melMean: Float32Array, melStd: Float32Array, seed: number) {
    this.config = config;
    this.melMean = melMean;
    this.melStd = melStd;
    let cin = config.nMels;
    let s = seed;
    config.layers.forEach((l, i) => {
      const std = Math.sqrt(2 / (l.kernel * cin)) * (i === 0 ? 1 : 0.5);
      this.weights.push(
        tf.variable(tf.randomNormal([l.kernel, cin, config.hidden], 0, std, "float32", s++)),
      );
      this.biases.push(tf.variable(tf.zeros([config.hidden])));
      cin = config.hidden;
    });
    this.weights.push(
      tf.variable(
        tf.randomNormal([1, cin, ARTICULATION_DIM], 0, Math.sqrt(1 / cin), "float32", s++),
      ),
    );
    this.biases.push(tf.variable(tf.zeros([ARTICULATION_DIM])));
  }

  /** Number of trainable parameters. */
  paramCount(): number {
    return [...this.weights, ...this.biases].reduce((a, v) => a + v.size, 0);
  }

  /** log-mel `[B, T, nMels]` → articulation `[B, T, 8]`. */
  apply(mel: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const mean = tf.tensor1d(this.melMean);
      const invStd = tf.tensor1d(this.melStd.map((v) => 1 / v));
      let h = tf.mul(tf.sub(mel, mean), invStd) as tf.Tensor3D;
      this.config.layers.forEach((l, i) => {
        const y = tf.relu(
          tf.add(conv1dSame(h, this.weights[i] as tf.Tensor3D, l.dilation), this.biases[i]!),
        );
        h = (i === 0 ? y : tf.add(h, y)) as tf.Tensor3D;
      });
      const n = this.config.layers.length;
      const z = tf.add(conv1dSame(h, this.weights[n] as tf.Tensor3D, 1), this.biases[n]!);
      const lo = tf.tensor1d(ARTICULATION_CHANNELS.map((c) => c.range[0]));
      const span = tf.tensor1d(ARTICULATION_CHANNELS.map((c) => c.range[1] - c.range[0]));
      return tf.add(tf.mul(tf.sigmoid(z), span), lo) as tf.Tensor3D;
    });
  }

  /** Overwrite the weights and biases with `w` (same shapes as {@link snapshot}). */
  assign(
    w: { weights: Array<{ shape: number[]; data: Float32Array }>; biases: Float32Array[] },
  ): void {
    if (w.weights.length !== this.weights.length) {
      throw new Error(`Weights have ${w.weights.length} layers, the net ${this.weights.length}`);
    }
    this.weights.forEach((v, i) => {
      const src = w.weights[i]!;
      if (src.shape.join() !== v.shape.join()) {
        throw new Error(`Layer ${i}: shape [${src.shape}] vs the net's [${v.shape}]`);
      }
      v.assign(tf.tensor(src.data, src.shape));
      this.biases[i]!.assign(tf.tensor1d(w.biases[i]!));
    });
  }

  /** Current values: weights `[K, Cin, Cout]` and biases `[Cout]` as flat arrays. */
  snapshot(): { weights: Array<{ shape: number[]; data: Float32Array }>; biases: Float32Array[] } {
    return {
      weights: this.weights.map((w) => ({
        shape: [...w.shape],
        data: w.dataSync() as Float32Array,
      })),
      biases: this.biases.map((b) => b.dataSync() as Float32Array),
    };
  }
}
