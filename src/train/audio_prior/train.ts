/**
 * `deno task train:audio-prior`: synthesise the corpus, train the prior with
 * TF.js on the wasm backend, export it to ONNX, check onnxruntime-node against
 * TF.js (max |Δ| < 1e-4) and write `models/audio_prior.onnx` plus a training
 * record `models/audio_prior.train.json`. Reproducible from `--seed` (data,
 * augmentation and initialisation are all seeded; the step count is fixed).
 *
 * Options: --seed 1, --steps 1100, --batch 12, --frames 256, --utterances 900,
 * --lr 0.002, --out models/audio_prior.onnx.
 *
 * This is a script (it prints progress), not library code.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { ARTICULATION_DIM } from "../../articulation/mod.ts";
import { AudioPrior } from "../../audio/prior.ts";
import { MEL_CONFIG } from "../../audio/mel.ts";
import { REPO_ROOT } from "../../../fixtures/mod.ts";
import { Rng, TRAIN_LANGUAGES, TRAIN_VARIANTS } from "./corpus.ts";
import { buildCorpus, makeClip } from "./dataset.ts";
import { DEFAULT_CONFIG, PriorNet, useWasmBackend } from "./model.ts";
import { exportOnnx } from "./onnx_export.ts";

/** Loss weight per channel: contact events (closures) matter most visually. */
const CHANNEL_WEIGHTS = [1, 1.5, 1, 1, 2, 1.5, 1, 1];

const { values: args } = parseArgs({
  options: {
    seed: { type: "string", default: "1" },
    steps: { type: "string", default: "1100" },
    batch: { type: "string", default: "12" },
    frames: { type: "string", default: "256" },
    utterances: { type: "string", default: "900" },
    lr: { type: "string", default: "0.002" },
    out: { type: "string", default: join(REPO_ROOT, "models", "audio_prior.onnx") },
  },
});
const seed = Number(args.seed);
const steps = Number(args.steps);
const batch = Number(args.batch);
const frames = Number(args.frames);
const lr0 = Number(args.lr);
const t0 = performance.now();
const elapsed = () => ((performance.now() - t0) / 1000).toFixed(0) + " s";

await useWasmBackend();
console.log(
  `backend ${tf.getBackend()}; seed ${seed}, ${steps} steps × ${batch} clips × ${frames} frames`,
);

const corpus = await buildCorpus(Number(args.utterances), TRAIN_LANGUAGES, TRAIN_VARIANTS, seed);
const speechS = corpus.reduce((a, u) => a + u.samples.length, 0) / MEL_CONFIG.sampleRateHz;
console.log(
  `corpus: ${corpus.length} utterances, ${(speechS / 60).toFixed(1)} min, ` +
    `${
      Object.keys(TRAIN_LANGUAGES).length
    } languages, ${TRAIN_VARIANTS.length} voices (${elapsed()})`,
);

const rng = new Rng(seed * 7919 + 1);
// Per-bin normalisation from augmented clips.
const nMels = MEL_CONFIG.nMels;
const sum = new Float64Array(nMels);
const sq = new Float64Array(nMels);
let count = 0;
for (let i = 0; i < 48; i++) {
  const c = makeClip(rng, corpus, frames);
  for (let t = 0; t < c.frames; t++) {
    for (let m = 0; m < nMels; m++) {
      const v = c.mel[t * nMels + m]!;
      sum[m] = sum[m]! + v;
      sq[m] = sq[m]! + v * v;
    }
  }
  count += c.frames;
}
const melMean = Float32Array.from(sum, (s) => s / count);
const melStd = Float32Array.from(
  sq,
  (s, m) => Math.sqrt(Math.max(1e-4, s / count - melMean[m]! ** 2)),
);

const net = new PriorNet(DEFAULT_CONFIG, melMean, melStd, seed);
console.log(`model: ${net.paramCount()} parameters`);
const opt = tf.train.adam(lr0);
const weights = tf.tensor1d(CHANNEL_WEIGHTS);

function makeBatch(): { x: tf.Tensor3D; y: tf.Tensor3D } {
  const xs = new Float32Array(batch * frames * nMels);
  const ys = new Float32Array(batch * frames * ARTICULATION_DIM);
  for (let b = 0; b < batch; b++) {
    const c = makeClip(rng, corpus, frames);
    xs.set(c.mel, b * frames * nMels);
    ys.set(c.target, b * frames * ARTICULATION_DIM);
  }
  return {
    x: tf.tensor3d(xs, [batch, frames, nMels]),
    y: tf.tensor3d(ys, [batch, frames, ARTICULATION_DIM]),
  };
}

let ema = 0;
let dataMs = 0;
const log: Array<{ step: number; loss: number; elapsedS: number }> = [];
for (let step = 1; step <= steps; step++) {
  // Cosine decay to 5 % of the initial rate, after a 50-step warm-up.
  const lr = step < 50
    ? (lr0 * step) / 50
    : lr0 * (0.05 + 0.95 * 0.5 * (1 + Math.cos((Math.PI * step) / steps)));
  (opt as unknown as { learningRate: number }).learningRate = lr;
  const td = performance.now();
  const { x, y } = makeBatch();
  dataMs += performance.now() - td;
  const loss = opt.minimize(() => {
    const p = net.apply(x);
    return tf.mean(tf.mul(tf.square(tf.sub(p, y)), weights)) as tf.Scalar;
  }, true) as tf.Scalar;
  const l = loss.dataSync()[0]!;
  tf.dispose([x, y, loss]);
  ema = step === 1 ? l : 0.95 * ema + 0.05 * l;
  if (step % 50 === 0 || step === steps) {
    log.push({ step, loss: ema, elapsedS: (performance.now() - t0) / 1000 });
    console.log(
      `step ${step}/${steps}  loss ${ema.toFixed(5)}  lr ${lr.toExponential(2)}  data ${
        (dataMs / step).toFixed(0)
      } ms/step  (${elapsed()})`,
    );
  }
}
const trainS = (performance.now() - t0) / 1000;

// Export, then check onnxruntime against TF.js on a fresh clip.
const onnxBytes = exportOnnx(
  { config: net.config, melMean, melStd, ...net.snapshot() },
  { "dub.seed": String(seed), "dub.steps": String(steps) },
);
await Deno.mkdir(dirname(args.out), { recursive: true });
const tmp = `${args.out}.partial`;
await Deno.writeFile(tmp, onnxBytes);
const check = makeClip(rng, corpus, 1000);
const ref = net.apply(tf.tensor3d(check.mel, [1, check.frames, nMels])).dataSync() as Float32Array;
{
  using prior = await AudioPrior.load(tmp);
  const got = await prior.predict(check.mel);
  let maxDiff = 0;
  for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - ref[i]!));
  console.log(
    `ONNX parity: max |onnxruntime − TF.js| = ${
      maxDiff.toExponential(2)
    } over [${check.frames}, 8]`,
  );
  if (!(maxDiff < 1e-4)) {
    await Deno.remove(tmp);
    throw new Error(`Exported ONNX differs from TF.js by ${maxDiff}; the export is wrong`);
  }
  await Deno.writeTextFile(
    join(dirname(args.out), "audio_prior.train.json"),
    JSON.stringify(
      {
        seed,
        steps,
        batch,
        frames,
        lr: lr0,
        params: net.paramCount(),
        config: net.config,
        corpus: {
          utterances: corpus.length,
          minutes: speechS / 60,
          languages: Object.keys(TRAIN_LANGUAGES),
          variants: TRAIN_VARIANTS,
        },
        trainWallS: trainS,
        onnxParityMaxAbs: maxDiff,
        sha256: createHash("sha256").update(onnxBytes).digest("hex"),
        lossLog: log,
      },
      null,
      1,
    ) + "\n",
  );
}
await Deno.rename(tmp, args.out);
console.log(`wrote ${args.out} (${onnxBytes.length} bytes) after ${elapsed()}`);
