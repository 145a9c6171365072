/**
 * `deno run -A src/train/audio_prior/interpolate.ts --ft RUN.onnx --alpha 0.5 --out M.onnx`:
 * weight-space ensemble of the synthetic-only prior and a real-voice
 * fine-tune of it (WiSE-FT, Wortsman et al. 2022: θ = (1 − α)·θ_synth + α·θ_ft;
 * both share the initialisation, so their weights interpolate smoothly). It
 * trades a little of the fine-tune's real-speech gain for the synthetic
 * model's held-out synthetic quality.
 *
 * The fine-tune's closure bias carries its calibration shift (its training
 * record `<run>.train.json`, `calibration.logitShift`); it is removed before
 * mixing, and the mix is calibrated again on the same validation clips as
 * `train.ts` (same cleaning, same seeded split): by default the highest
 * threshold whose validation p/b/m recall reaches 0.8 (`--closure-operating-point
 * 0.8`; "f1" = the event-F1-best threshold), baked into the closure bias. Writes the model and
 * `<out>.train.json`-style record `<out minus .onnx>.mix.json`. A script.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { ARTICULATION_NAMES, clampArticulation } from "../../articulation/mod.ts";
import { enforceContacts } from "../../audio/contacts.ts";
import { logMel } from "../../audio/mel.ts";
import { AudioPrior } from "../../audio/prior.ts";
import { REPO_ROOT } from "../../../fixtures/mod.ts";
import { writeFileAtomic } from "../../atomic.ts";
import {
  chooseClosureThreshold,
  type ClosureItem,
  closureLogitShift,
  closureOperatingPoint,
  closureScore,
} from "./calibrate.ts";
import { cleanClips, type CleanOptions } from "./clean.ts";
import { exportOnnx, importOnnx } from "./onnx_export.ts";
import { prepareShard, type RealUtt, TRAIN_SHARDS, validationSplit } from "./real_corpus.ts";

const { values: args } = parseArgs({
  options: {
    synth: { type: "string", default: join(REPO_ROOT, "models", "audio_prior_synth.onnx") },
    ft: { type: "string" },
    alpha: { type: "string", default: "0.5" },
    seed: { type: "string", default: "1" },
    "val-share": { type: "string", default: "0.08" },
    /** Closure threshold rule: "f1" or a validation recall to reach (see calibrate.ts). */
    "closure-operating-point": { type: "string", default: "0.8" },
    out: { type: "string" },
  },
});
if (!args.ft || !args.out) throw new Error("Pass --ft <fine-tune.onnx> and --out <model.onnx>");
const alpha = Number(args.alpha);
const operatingPoint = closureOperatingPoint(args["closure-operating-point"]);
const seed = Number(args.seed);
const B = ARTICULATION_NAMES.indexOf("bilabial_closure");
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

const synthBytes = await Deno.readFile(args.synth);
const ftBytes = await Deno.readFile(args.ft);
const a = importOnnx(synthBytes, args.synth);
const b = importOnnx(ftBytes, args.ft);
const ftRecord = JSON.parse(await Deno.readTextFile(args.ft.replace(/\.onnx$/, ".train.json")));
const ftShift = Number(ftRecord.calibration?.logitShift ?? 0);
const n = b.biases.length - 1;
b.biases[n] = Float32Array.from(b.biases[n]!, (v, i) => (i === B ? v - ftShift : v));
// α = 1 only recalibrates the fine-tune (any architecture, e.g. a net trained from scratch).
const mix = alpha === 1 ? b : {
  ...a,
  weights: a.weights.map((w, i) => ({
    shape: w.shape,
    data: Float32Array.from(w.data, (v, k) => (1 - alpha) * v + alpha * b.weights[i]!.data[k]!),
  })),
  biases: a.biases.map((v, i) =>
    Float32Array.from(v, (x, k) => (1 - alpha) * x + alpha * b.biases[i]![k]!)
  ),
};

// Validation clips: the same cleaning and seeded split train.ts used (its record's options).
const cleanOpts: CleanOptions = ftRecord.clean ?? { dropUntranscribed: false, teacherMinR: 0 };
const val: RealUtt[] = [];
for (const s of TRAIN_SHARDS) {
  const { kept } = await cleanClips((await prepareShard(s, seed)).utts, cleanOpts);
  val.push(...validationSplit(kept, seed, Number(args["val-share"])).val);
}
const tmp = `${args.out}.partial`;
await Deno.writeFile(tmp, exportOnnx(mix));
const items: ClosureItem[] = [];
{
  using prior = await AudioPrior.load(tmp);
  for (const u of val) {
    const mel = logMel(u.samples);
    items.push({
      pred: enforceContacts(clampArticulation(await prior.predict(mel.data))),
      phonemes: u.phonemes,
    });
  }
}
const { best, curve } = chooseClosureThreshold(items, undefined, operatingPoint.targetRecall);
const shift = closureLogitShift(best.threshold);
mix.biases[n] = Float32Array.from(mix.biases[n]!, (v, i) => (i === B ? v + shift : v));
const bytes = exportOnnx(mix, {
  "dub.wise_ft_alpha": String(alpha),
  "dub.wise_ft_synth_sha256": sha(synthBytes),
  "dub.wise_ft_ft_sha256": sha(ftBytes),
  "dub.closure_threshold": String(best.threshold),
});
await Deno.writeFile(tmp, bytes);
{
  using check = await AudioPrior.load(tmp); // contract check of the final file
  void check;
}
await Deno.rename(tmp, args.out);
const record = {
  alpha,
  synth: { file: args.synth.replace(REPO_ROOT, ""), sha256: sha(synthBytes) },
  ft: { file: args.ft.replace(REPO_ROOT, ""), sha256: sha(ftBytes), removedLogitShift: ftShift },
  calibration: {
    rule: operatingPoint.rule,
    validationClips: val.length,
    threshold: best.threshold,
    logitShift: shift,
    atHalf: closureScore(items, 0.5),
    chosen: best,
    curve: curve.map((c) => [c.threshold, +c.recall.toFixed(3), +c.precision.toFixed(3)]),
  },
  sha256: sha(bytes),
};
await writeFileAtomic(
  args.out.replace(/\.onnx$/, "") + ".mix.json",
  JSON.stringify(record, null, 1) + "\n",
);
console.log(
  `α ${alpha}: closure τ ${best.threshold} (val recall ${best.recall.toFixed(3)}, precision ${
    best.precision.toFixed(3)
  }); wrote ${args.out} (sha256 ${record.sha256.slice(0, 12)}…)`,
);
