/**
 * `deno task train:audio-prior`: fetch and align real recorded speech (Debian
 * packages, `real_corpus.ts`), synthesise the espeak-ng corpus, add codec
 * copies (`codec.ts`), then train the prior with TF.js on the wasm backend on
 * a mix of real and synthetic clips, export it to ONNX, check onnxruntime-node
 * against TF.js (max |Δ| < 1e-4) and write the model (`--out`) plus a training
 * record (`<out>.train.json`). The shipped `models/audio_prior.onnx` is this
 * fine-tune mixed with the synthetic-only prior by `interpolate.ts` (see the card).
 *
 * By default it fine-tunes the synthetic-only model `models/audio_prior_synth.onnx`
 * (the shipped prior, sha256 pinned below); `--init none` trains from scratch
 * (`--init none --real-share 0 --codec no --steps 1100 --lr 0.002` is the
 * recipe of that model, which the script at commit 468a0d9 trained; batches are
 * now drawn per step for resumable runs, so the result is equivalent, not
 * byte-identical).
 *
 * Reproducible from `--seed`: the real-data selection, the corpus, codec
 * choices and every training batch are seeded (batch k is drawn from a
 * generator seeded by (seed, k)); the step count is fixed. A checkpoint
 * (weights + Adam state) is written to `.cache/audio_prior/ckpt/<run>/` every
 * `--ckpt-every` steps; running the same command again resumes from it.
 * Fetched packages, alignments and codec copies are cached by content under
 * `.cache/`.
 *
 * Loss: channel-weighted MSE, silence frames (closed target, no contact; on
 * real clips also the untranscribed breaths between phrases) weighted
 * `--silence-weight` ×, and the bilabial_closure channel trained by a
 * class-balanced binary cross-entropy (`--closure-bce`) instead of the MSE. A
 * seeded `--val-share` of each real shard's clips is kept out of training; on
 * it the closure threshold with the best event F1 is chosen (`calibrate.ts`)
 * and baked into the closure logit's bias, so the exported model keeps the
 * contract ("closed" ≥ 0.5).
 *
 * Options: --seed 1, --steps 2000, --batch 12, --frames 256, --utterances 900,
 * --lr 0.0007, --init models/audio_prior_synth.onnx, --real-share 0.6,
 * --sources all (comma-separated shard name prefixes, e.g. "asterisk,fillets"),
 * --codec yes, --closure-bce 0.25, --silence-weight 2, --val-share 0.08,
 * --calibrate yes, --closure-loss 0 (weight of the older closure hinge; 0.5 was
 * tried, see the card), --ckpt-every 25, --prepare-eval yes (also fetch + align
 * the held-out shards that eval:audio-prior uses), --spectral 0.5 and --breaths 0.3
 * (augmentation probabilities, `dataset.ts`), --drop-untranscribed yes and
 * --teacher-min-r 0.3 (cleaning of the real clips, `clean.ts`), --closure-operating-point
 * f1, --hidden/--dilations (only with --init none), --out .cache/audio_prior/audio_prior_ft.onnx.
 *
 * This is a script (it prints progress), not library code.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { ARTICULATION_DIM, ARTICULATION_NAMES } from "../../articulation/mod.ts";
import { AudioPrior } from "../../audio/prior.ts";
import { logMel, MEL_CONFIG } from "../../audio/mel.ts";
import { clampArticulation } from "../../articulation/mod.ts";
import { enforceContacts } from "../../audio/contacts.ts";
import {
  chooseClosureThreshold,
  type ClosureItem,
  closureLogitShift,
  closureOperatingPoint,
  closureScore,
} from "./calibrate.ts";
import { REPO_ROOT } from "../../../fixtures/mod.ts";
import { writeFileAtomic } from "../../atomic.ts";
import { readSafetensors, writeSafetensors } from "../../tensor/safetensors.ts";
import { cleanClips, type CleanOptions } from "./clean.ts";
import { codecCopies } from "./codec.ts";
import { Rng, TRAIN_LANGUAGES, TRAIN_VARIANTS } from "./corpus.ts";
import { buildCorpus, type ClipSource, makeClip } from "./dataset.ts";
import { DEFAULT_CONFIG, PriorNet, useWasmBackend } from "./model.ts";
import { exportOnnx, importOnnx } from "./onnx_export.ts";
import {
  EVAL_SHARDS,
  prepareShard,
  type RealUtt,
  type ShardStats,
  TRAIN_SHARDS,
  validationSplit,
} from "./real_corpus.ts";

/** Loss weight per channel: contact events (closures) matter most visually. */
const CHANNEL_WEIGHTS = [1, 1.5, 1, 1, 2, 1.5, 1, 1];
/** Share of utterances (real and synthetic) with a codec copy. */
const CODEC_FRACTION = 0.3;
/** sha256 of `models/audio_prior_synth.onnx`, the synthetic-only prior fine-tuned by default. */
const SYNTH_INIT_SHA256 = "0ae75fff607e2c72d448ff086ba9edfc8ddedd66b085b055133ff6e49b0aac50";

const { values: args } = parseArgs({
  options: {
    seed: { type: "string", default: "1" },
    steps: { type: "string", default: "2000" },
    batch: { type: "string", default: "12" },
    frames: { type: "string", default: "256" },
    utterances: { type: "string", default: "900" },
    lr: { type: "string", default: "0.0007" },
    init: { type: "string", default: join(REPO_ROOT, "models", "audio_prior_synth.onnx") },
    "real-share": { type: "string", default: "0.6" },
    sources: { type: "string", default: "all" },
    codec: { type: "string", default: "yes" },
    "ckpt-every": { type: "string", default: "25" },
    /** Weight of the closure hinge (0 = plain weighted MSE, as the synthetic-only model). */
    "closure-loss": { type: "string", default: "0" },
    /**
     * Weight of the class-balanced binary cross-entropy that replaces the MSE of
     * the bilabial_closure channel (0 = keep the MSE, as the synthetic-only model).
     */
    "closure-bce": { type: "string", default: "0.25" },
    /** Extra loss weight of silence frames (target mouth closed, no contact). */
    "silence-weight": { type: "string", default: "2" },
    /** Share of each real shard's clips kept out of training to calibrate the closure threshold. */
    "val-share": { type: "string", default: "0.08" },
    /** Probability of each spectral perturbation (VTLP warp, random EQ) per clip; 0 = off. */
    spectral: { type: "string", default: "0.5" },
    /** Probability of synthetic breaths in a clip's pauses; 0 = off. */
    breaths: { type: "string", default: "0.3" },
    /** Hidden width of a net trained from scratch (`--init none`). */
    hidden: { type: "string", default: String(DEFAULT_CONFIG.hidden) },
    /** Dilations of the k=5 conv layers of a net trained from scratch, comma-separated. */
    dilations: {
      type: "string",
      default: DEFAULT_CONFIG.layers.map((l) => l.dilation).join(","),
    },
    /**
     * "yes": drop real clips with untranscribed voiced speech outside their
     * alignment (`breath.ts`), whose "rest" targets are wrong.
     */
    "drop-untranscribed": { type: "string", default: "yes" },
    /**
     * Drop real training clips whose aligned reference does not follow the
     * audio: Pearson r of jaw_open + lip_aperture between the synthetic-only
     * prior's prediction and the clip's targets below this (0 = keep all).
     * Misaligned or mistranscribed clips score ≈ 0; typical clean ones ≈ 0.7.
     */
    "teacher-min-r": { type: "string", default: "0.3" },
    /**
     * Closure threshold rule on the validation clips: "f1" (best event F1) or a
     * recall to reach, e.g. "0.8" (the highest threshold with that recall).
     */
    "closure-operating-point": { type: "string", default: "f1" },
    /** "no": export the raw closure output (no threshold calibration). */
    calibrate: { type: "string", default: "yes" },
    /** Also fetch and align the held-out evaluation shards now (cached for eval:audio-prior). */
    "prepare-eval": { type: "string", default: "yes" },
    // Not the shipped file: a fine-tune replaces models/audio_prior.onnx only after
    // eval:audio-prior shows it better on held-out real speech without a
    // synthetic regression (pass --out models/audio_prior.onnx then).
    out: {
      type: "string",
      default: join(REPO_ROOT, ".cache", "audio_prior", "audio_prior_ft.onnx"),
    },
  },
});
const seed = Number(args.seed);
const steps = Number(args.steps);
const batch = Number(args.batch);
const frames = Number(args.frames);
const lr0 = Number(args.lr);
const realShare = Number(args["real-share"]);
const useCodec = args.codec !== "no";
const ckptEvery = Number(args["ckpt-every"]);
const closureWeight = Number(args["closure-loss"]);
const closureBce = Number(args["closure-bce"]);
const silenceWeight = Number(args["silence-weight"]);
const valShare = Number(args["val-share"]);
const operatingPoint = closureOperatingPoint(args["closure-operating-point"]);
const clipOpts = { spectral: Number(args.spectral), breaths: Number(args.breaths) };
const t0 = performance.now();
const elapsed = () => ((performance.now() - t0) / 1000).toFixed(0) + " s";
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

await useWasmBackend();
console.log(
  `backend ${tf.getBackend()}; seed ${seed}, ${steps} steps × ${batch} clips × ${frames} frames`,
);

// 1. Real speech (fetched, aligned, cached by content).
const shards = TRAIN_SHARDS.filter((s) =>
  args.sources === "all" || args.sources.split(",").some((p) => s.name.startsWith(p.trim()))
);
const real: RealUtt[] = [];
/** Clips of the training shards kept out of training: the closure threshold is chosen on them. */
const val: RealUtt[] = [];
const shardStats: ShardStats[] = [];
const cleanOpts: CleanOptions = {
  dropUntranscribed: args["drop-untranscribed"] === "yes",
  teacherMinR: Number(args["teacher-min-r"]),
};
if (realShare > 0) {
  for (const s of shards) {
    const prepared = await prepareShard(s, seed, (m) => console.log(`  ${m}`));
    const { kept: utts, droppedUntranscribed, droppedTeacher } = await cleanClips(
      prepared.utts,
      cleanOpts,
    );
    const stats = { ...prepared.stats, droppedUntranscribed, droppedTeacher };
    const split = validationSplit(utts, seed, valShare);
    real.push(...split.train);
    val.push(...split.val);
    shardStats.push(stats);
    console.log(
      `real ${s.name}: ${stats.kept}/${stats.tried} clips kept, ${
        stats.keptMinutes.toFixed(1)
      } min; dropped ${stats.droppedUntranscribed} (untranscribed speech), ${stats.droppedTeacher} ` +
        `(reference r < ${cleanOpts.teacherMinR}) (${elapsed()})`,
    );
  }
  if (!real.length) throw new Error(`No real training speech for --sources ${args.sources}`);
  console.log(
    `validation: ${val.length} clips, ${
      (val.reduce((a, u) => a + u.samples.length, 0) / 16000 / 60).toFixed(1)
    } min kept out of training`,
  );
}
const minutesBy = (key: (u: RealUtt) => string) => {
  const m: Record<string, number> = {};
  for (const u of real) m[key(u)] = (m[key(u)] ?? 0) + u.samples.length / 16000 / 60;
  return m;
};

if (args["prepare-eval"] !== "no") {
  for (const s of EVAL_SHARDS) {
    const { stats } = await prepareShard(s, 1);
    console.log(`held-out ${s.name}: ${stats.kept}/${stats.tried} clips kept (${elapsed()})`);
  }
}

// 2. Synthetic speech.
const corpus: ClipSource[] = await buildCorpus(
  Number(args.utterances),
  TRAIN_LANGUAGES,
  TRAIN_VARIANTS,
  seed,
);
const speechS = corpus.reduce((a, u) => a + u.samples.length, 0) / MEL_CONFIG.sampleRateHz;
console.log(
  `synthetic: ${corpus.length} utterances, ${(speechS / 60).toFixed(1)} min, ` +
    `${
      Object.keys(TRAIN_LANGUAGES).length
    } languages, ${TRAIN_VARIANTS.length} voices (${elapsed()})`,
);

// 3. Codec copies (cached by the content of the clips and the seed).
const realSources: ClipSource[] = real;
let codecDelays: Record<string, number> = {};
if (useCodec) {
  // A seeded third of the utterances get a codec copy (encoding all of them
  // costs minutes of CPU); makeClip uses a copy for CODEC_SHARE of the clips
  // cut from those.
  const pick = new Rng(seed * 131 + 3);
  const all = [...realSources, ...corpus].filter(() => pick.next() < CODEC_FRACTION);
  const h = createHash("sha256").update(`codec/1/${seed}`);
  for (const u of all) {
    h.update(new Uint8Array(u.samples.buffer, u.samples.byteOffset, u.samples.byteLength));
  }
  const file = join(
    REPO_ROOT,
    ".cache",
    "audio_prior",
    "codec",
    `${h.digest("hex").slice(0, 24)}.safetensors`,
  );
  let copies: Float32Array[] | undefined;
  try {
    const { tensors, metadata } = await readSafetensors(file);
    const data = tensors.get("pcm")!.data as Float32Array;
    const lens = JSON.parse(metadata["lengths"]!) as number[];
    codecDelays = JSON.parse(metadata["delays"]!);
    let o = 0;
    copies = lens.map((n) => data.subarray(o, o += n));
  } catch {
    const r = await codecCopies(all.map((u) => u.samples), new Rng(seed * 31 + 7));
    copies = r.copies;
    codecDelays = r.delays;
    const total = copies.reduce((a, c) => a + c.length, 0);
    const pcm = new Float32Array(total);
    let o = 0;
    for (const c of copies) {
      pcm.set(c, o);
      o += c.length;
    }
    await Deno.mkdir(dirname(file), { recursive: true });
    await writeSafetensors(`${file}.tmp`, [{
      name: "pcm",
      dtype: "F32",
      shape: [total],
      data: new Uint8Array(pcm.buffer),
    }], {
      lengths: JSON.stringify(copies.map((c) => c.length)),
      delays: JSON.stringify(codecDelays),
    });
    await Deno.rename(`${file}.tmp`, file);
  }
  all.forEach((u, i) => (u.codec = copies![i]!));
  console.log(
    `codec copies: ${all.length} of ${realSources.length + corpus.length} clips, delays ${
      JSON.stringify(codecDelays)
    } (${elapsed()})`,
  );
}

// 4. The net: fine-tune a shipped model or start from scratch.
const nMels = MEL_CONFIG.nMels;
let net: PriorNet;
let initSha = "none";
if (args.init !== "none") {
  const bytes = await Deno.readFile(args.init);
  initSha = sha256(bytes);
  if (args.init.endsWith("audio_prior_synth.onnx") && initSha !== SYNTH_INIT_SHA256) {
    throw new Error(`"${args.init}" has sha256 ${initSha}, expected ${SYNTH_INIT_SHA256}`);
  }
  const w = importOnnx(bytes, args.init);
  net = new PriorNet(w.config, w.melMean, w.melStd, seed);
  net.assign(w);
  console.log(`init from ${args.init} (sha256 ${initSha.slice(0, 12)}…)`);
} else {
  // Per-bin normalisation from augmented clips.
  const rng = new Rng(seed * 7919 + 1);
  const sum = new Float64Array(nMels);
  const sq = new Float64Array(nMels);
  let count = 0;
  for (let i = 0; i < 48; i++) {
    const c = makeClip(
      rng,
      i % 2 && real.length ? realSources : corpus,
      frames,
      undefined,
      clipOpts,
    );
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
  const config = {
    ...DEFAULT_CONFIG,
    hidden: Number(args.hidden),
    layers: args.dilations.split(",").map((d) => ({ kernel: 5, dilation: Number(d) })),
  };
  net = new PriorNet(config, melMean, melStd, seed);
}
console.log(`model: ${net.paramCount()} parameters`);
const opt = tf.train.adam(lr0);
const B_INDEX = ARTICULATION_NAMES.indexOf("bilabial_closure");
const weights = tf.tensor1d(
  CHANNEL_WEIGHTS.map((w, i) => (i === B_INDEX && closureBce > 0 ? 0 : w)),
);

// 5. Checkpoints: one folder per run configuration.
const runKey = sha256(
  new TextEncoder().encode(JSON.stringify({ ...args, out: undefined, initSha, v: 1 })),
)
  .slice(0, 16);
const ckptDir = join(REPO_ROOT, ".cache", "audio_prior", "ckpt", runKey);
let startStep = 1;
let ema = 0;
let log: Array<{ step: number; loss: number; elapsedS: number }> = [];
try {
  const state = JSON.parse(await Deno.readTextFile(join(ckptDir, "state.json")));
  const { tensors } = await readSafetensors(join(ckptDir, "weights.safetensors"));
  const snap = net.snapshot();
  net.assign({
    weights: snap.weights.map((w, i) => ({
      shape: w.shape,
      data: tensors.get(`w${i}`)!.data as Float32Array,
    })),
    biases: snap.biases.map((_, i) => tensors.get(`b${i}`)!.data as Float32Array),
  });
  const optNames = state.optNames as string[];
  await opt.setWeights(optNames.map((name, i) => {
    const t = tensors.get(`opt${i}`)!;
    return { name, tensor: tf.tensor(t.data as Float32Array, t.shape) };
  }));
  startStep = state.step + 1;
  ema = state.ema;
  log = state.log;
  console.log(`resumed from ${ckptDir} at step ${state.step}`);
} catch (e) {
  if (!(e instanceof Deno.errors.NotFound)) throw e;
}

async function saveCheckpoint(step: number): Promise<void> {
  await Deno.mkdir(ckptDir, { recursive: true });
  const snap = net.snapshot();
  const optW = await opt.getWeights();
  const f32 = (name: string, shape: number[], data: Float32Array) => ({
    name,
    dtype: "F32" as const,
    shape: shape.length ? shape : [1],
    data: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
  });
  const tensors = [
    ...snap.weights.map((w, i) => f32(`w${i}`, w.shape, w.data)),
    ...snap.biases.map((b, i) => f32(`b${i}`, [b.length], b)),
    ...optW.map((w, i) => f32(`opt${i}`, [...w.tensor.shape], w.tensor.dataSync() as Float32Array)),
  ];
  await writeSafetensors(join(ckptDir, "weights.safetensors.tmp"), tensors, {});
  await Deno.rename(join(ckptDir, "weights.safetensors.tmp"), join(ckptDir, "weights.safetensors"));
  await writeFileAtomic(
    join(ckptDir, "state.json"),
    JSON.stringify({ step, ema, log, optNames: optW.map((w) => w.name) }),
  );
}

/**
 * Closure hinge: in every frame whose target bilabial_closure is ≥ 0.5 (a p/b/m
 * core), the prediction's maximum within ±3 frames (±30 ms, the tolerance of
 * the recall metric) should reach CLOSURE_MARGIN. Mean squared shortfall over
 * those frames. With real speech the aligned closure times jitter by tens of
 * ms, and plain MSE then teaches the net to hedge with low, wide bumps that
 * never close the lips; this term asks for a firm closure somewhere near.
 */
const CLOSURE_MARGIN = 0.7;
function closureLoss(p: tf.Tensor3D, y: tf.Tensor3D): tf.Scalar {
  const [b, t] = p.shape;
  const B = ARTICULATION_NAMES.indexOf("bilabial_closure");
  const pb = tf.reshape(tf.slice(p, [0, 0, B], [b, t, 1]), [b, t]);
  const yb = tf.reshape(tf.slice(y, [0, 0, B], [b, t, 1]), [b, t]);
  const padded = tf.pad(pb, [[0, 0], [3, 3]]);
  const shifted: tf.Tensor[] = [];
  for (let k = 0; k < 7; k++) shifted.push(tf.slice(padded, [0, k], [b, t]));
  const near = tf.max(tf.stack(shifted, 2), 2);
  const core = tf.cast(tf.greaterEqual(yb, 0.5), "float32");
  const short = tf.mul(tf.relu(tf.sub(CLOSURE_MARGIN, near)), core);
  return tf.div(tf.sum(tf.square(short)), tf.add(tf.sum(core), 1)) as tf.Scalar;
}

/**
 * Class-balanced binary cross-entropy of the bilabial_closure channel against
 * its (soft) target: positives (target y) weigh CLOSURE_POS_WEIGHT × more than
 * negatives, since closures cover only a few % of the frames. The output is a
 * probability, so its threshold can be chosen afterwards on a validation split
 * (see `calibrateClosure`) instead of hedging like the MSE did.
 */
const CLOSURE_POS_WEIGHT = 3;
function closureBceLoss(p: tf.Tensor3D, y: tf.Tensor3D): tf.Scalar {
  const [b, t] = p.shape;
  const pb = tf.clipByValue(tf.slice(p, [0, 0, B_INDEX], [b, t, 1]), 1e-6, 1 - 1e-6);
  const yb = tf.slice(y, [0, 0, B_INDEX], [b, t, 1]);
  const pos = tf.mul(tf.mul(yb, tf.log(pb)), CLOSURE_POS_WEIGHT);
  const neg = tf.mul(tf.sub(1, yb), tf.log(tf.sub(1, pb)));
  return tf.neg(tf.mean(tf.add(pos, neg))) as tf.Scalar;
}

function makeBatch(step: number): { x: tf.Tensor3D; y: tf.Tensor3D } {
  const rng = new Rng((seed * 1_000_003 + step * 7919) >>> 0);
  const xs = new Float32Array(batch * frames * nMels);
  const ys = new Float32Array(batch * frames * ARTICULATION_DIM);
  for (let b = 0; b < batch; b++) {
    const pool = real.length && rng.next() < realShare ? realSources : corpus;
    const c = makeClip(rng, pool, frames, pool, clipOpts);
    xs.set(c.mel, b * frames * nMels);
    ys.set(c.target, b * frames * ARTICULATION_DIM);
  }
  return {
    x: tf.tensor3d(xs, [batch, frames, nMels]),
    y: tf.tensor3d(ys, [batch, frames, ARTICULATION_DIM]),
  };
}

const warm = args.init === "none" ? 50 : 20;
let dataMs = 0;
const trainT0 = performance.now();
for (let step = startStep; step <= steps; step++) {
  // Cosine decay to 5 % of the initial rate, after a warm-up.
  const lr = step < warm
    ? (lr0 * step) / warm
    : lr0 * (0.05 + 0.95 * 0.5 * (1 + Math.cos((Math.PI * step) / steps)));
  (opt as unknown as { learningRate: number }).learningRate = lr;
  const td = performance.now();
  const { x, y } = makeBatch(step);
  dataMs += performance.now() - td;
  const loss = opt.minimize(() => {
    const p = net.apply(x);
    let frameW: tf.Tensor = tf.scalar(1);
    if (silenceWeight !== 1) {
      // Silence frames: the target mouth is closed (jaw, aperture ≈ 0) with no
      // contact; on real clips these include breaths and clicks between phrases.
      const [b, t] = y.shape;
      const ch = (i: number) => tf.reshape(tf.slice(y, [0, 0, i], [b, t, 1]), [b, t, 1]);
      const sil = tf.cast(
        tf.logicalAnd(
          tf.logicalAnd(tf.less(ch(0), 0.02), tf.less(ch(1), 0.02)),
          tf.less(ch(B_INDEX), 0.05),
        ),
        "float32",
      );
      frameW = tf.add(1, tf.mul(sil, silenceWeight - 1));
    }
    let total = tf.mean(tf.mul(tf.mul(tf.square(tf.sub(p, y)), weights), frameW)) as tf.Scalar;
    if (closureBce > 0) total = tf.add(total, tf.mul(closureBceLoss(p, y), closureBce));
    if (closureWeight > 0) total = tf.add(total, tf.mul(closureLoss(p, y), closureWeight));
    return total;
  }, true) as tf.Scalar;
  const l = loss.dataSync()[0]!;
  tf.dispose([x, y, loss]);
  ema = step === 1 ? l : ema === 0 ? l : 0.95 * ema + 0.05 * l;
  if (step % 25 === 0 || step === steps) {
    log.push({ step, loss: ema, elapsedS: (performance.now() - t0) / 1000 });
    const done = step - startStep + 1;
    console.log(
      `step ${step}/${steps}  loss ${ema.toFixed(5)}  lr ${lr.toExponential(2)}  data ${
        (dataMs / done).toFixed(0)
      } ms/step  ${
        ((performance.now() - trainT0) / done / 1000).toFixed(2)
      } s/step  (${elapsed()})`,
    );
  }
  if (step % ckptEvery === 0 && step < steps) await saveCheckpoint(step);
}
const trainS = (performance.now() - t0) / 1000;

// 5b. Closure threshold chosen on the validation clips (training languages,
// clips never trained on), baked into the closure logit's bias.
let calibration: Record<string, unknown> | null = null;
if (args.calibrate !== "no" && val.length) {
  // Predict with onnxruntime (the runtime the model ships on; TF.js is slow on
  // long single clips): export the uncalibrated net to a temporary file first.
  const rawPath = join(REPO_ROOT, ".cache", "audio_prior", `calibrate-${Deno.pid}.onnx`);
  await Deno.mkdir(dirname(rawPath), { recursive: true });
  await Deno.writeFile(
    rawPath,
    exportOnnx({ config: net.config, melMean: net.melMean, melStd: net.melStd, ...net.snapshot() }),
  );
  console.log(`calibrating the closure threshold on ${val.length} validation clips (${elapsed()})`);
  const items: ClosureItem[] = [];
  {
    using rawPrior = await AudioPrior.load(rawPath);
    for (const u of val) {
      const mel = logMel(u.samples);
      const pred = enforceContacts(clampArticulation(await rawPrior.predict(mel.data)));
      items.push({ pred, phonemes: u.phonemes });
    }
  }
  await Deno.remove(rawPath);
  const { best, curve } = chooseClosureThreshold(items, undefined, operatingPoint.targetRecall);
  const raw = closureScore(items, 0.5);
  const shift = closureLogitShift(best.threshold);
  const n = net.biases.length - 1;
  const bias = net.biases[n]!.dataSync() as Float32Array;
  const shifted = Float32Array.from(bias, (v, i) => (i === B_INDEX ? v + shift : v));
  net.biases[n]!.assign(tf.tensor1d(shifted));
  calibration = {
    rule: operatingPoint.rule,
    validationClips: val.length,
    validationMinutes: val.reduce((a, u) => a + u.samples.length, 0) / 16000 / 60,
    threshold: best.threshold,
    logitShift: shift,
    atHalf: raw,
    chosen: best,
    curve: curve.map((c) => [c.threshold, +c.recall.toFixed(3), +c.precision.toFixed(3)]),
  };
  console.log(
    `closure calibration on ${val.length} validation clips: at 0.5 recall ${
      raw.recall.toFixed(3)
    } precision ${raw.precision.toFixed(3)}; chosen τ ${best.threshold} → recall ${
      best.recall.toFixed(3)
    } precision ${best.precision.toFixed(3)} (F1 ${best.f1.toFixed(3)}), logit shift ${
      shift.toFixed(3)
    }`,
  );
}

// 6. Export, then check onnxruntime against TF.js on a fresh clip.
const onnxBytes = exportOnnx(
  { config: net.config, melMean: net.melMean, melStd: net.melStd, ...net.snapshot() },
  {
    "dub.seed": String(seed),
    "dub.steps": String(steps),
    "dub.init_sha256": initSha,
    "dub.real_share": String(realShare),
    "dub.closure_threshold": String(calibration?.threshold ?? 0.5),
  },
);
await Deno.mkdir(dirname(args.out), { recursive: true });
const tmp = `${args.out}.partial`;
await Deno.writeFile(tmp, onnxBytes);
const check = makeClip(new Rng(seed + 99), real.length ? realSources : corpus, 1000);
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
  const record = {
    seed,
    steps,
    batch,
    frames,
    lr: lr0,
    init: args.init === "none" ? "none" : args.init.slice(REPO_ROOT.length),
    initSha256: initSha,
    realShare,
    closureLoss: closureWeight,
    closureBce,
    closurePosWeight: CLOSURE_POS_WEIGHT,
    silenceWeight,
    valShare,
    clipOptions: clipOpts,
    clean: cleanOpts,
    calibration,
    codec: useCodec ? codecDelays : false,
    params: net.paramCount(),
    config: net.config,
    corpus: {
      utterances: corpus.length,
      minutes: speechS / 60,
      languages: Object.keys(TRAIN_LANGUAGES),
      variants: TRAIN_VARIANTS,
    },
    real: {
      shards: shardStats,
      minutes: real.reduce((a, u) => a + u.samples.length, 0) / 16000 / 60,
      minutesByLanguage: minutesBy((u) => u.language),
      minutesBySource: minutesBy((u) => u.source.split("-")[0]!),
      speakers: [...new Set(real.map((u) => u.speaker))].length,
    },
    resumedFromStep: startStep - 1,
    trainWallS: trainS,
    onnxParityMaxAbs: maxDiff,
    sha256: sha256(onnxBytes),
    lossLog: log,
  };
  const recordPath = args.out.replace(/\.onnx$/, "") + ".train.json";
  await writeFileAtomic(recordPath, JSON.stringify(record, null, 1) + "\n");
}
await Deno.rename(tmp, args.out);
await Deno.remove(ckptDir, { recursive: true }).catch(() => {});
console.log(`wrote ${args.out} (${onnxBytes.length} bytes) after ${elapsed()}`);
