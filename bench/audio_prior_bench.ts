/**
 * Speed of the audio prior path on this machine: resampling, log-mel, Silero
 * VAD, the ONNX prior and the baseline, on 60 s of espeak-ng speech (22.05 kHz
 * input). Prints seconds per stage and the real-time factor (processing time /
 * audio duration). Options: --seconds 60, --model models/audio_prior.onnx.
 */
import { parseArgs } from "node:util";
import { synthesize } from "../fixtures/mod.ts";
import { AudioPrior, baselineArticulation, logMel, resample, SileroVad } from "../src/audio/mod.ts";

const { values } = parseArgs({
  options: { seconds: { type: "string", default: "60" }, model: { type: "string" } },
});
const seconds = Number(values.seconds);
const { samples, sampleRateHz } = await synthesize(
  "Every language moves the lips a little differently, but the jaw opens for open vowels, " +
    "the lips close for p, b and m, and they round for o and u. ",
  "en-us",
);
const n = seconds * sampleRateHz;
const x = new Float32Array(n);
for (let o = 0; o < n; o += samples.length) {
  x.set(samples.subarray(0, Math.min(samples.length, n - o)), o);
}

const time = async <T>(f: () => T | Promise<T>): Promise<[T, number]> => {
  const t0 = performance.now();
  const r = await f();
  return [r, (performance.now() - t0) / 1000];
};
const [x16, tRes] = await time(() => resample(x, sampleRateHz, 16000));
const [mel, tMel] = await time(() => logMel(x16));
using vad = await SileroVad.load();
const [, tVad] = await time(() => vad.probabilities(x16));
using prior = await AudioPrior.load(values.model);
const [, tPrior] = await time(() => prior.predict(mel.data));
const [, tBase] = await time(() => baselineArticulation(mel.data));
const total = tRes + tMel + tVad + tPrior;
console.log(`audio ${seconds} s at ${sampleRateHz} Hz`);
for (
  const [k, v] of [["resample → 16 kHz", tRes], ["log-mel", tMel], ["Silero VAD", tVad], [
    "prior (onnxruntime)",
    tPrior,
  ], ["baseline", tBase]] as const
) {
  console.log(`${k.padEnd(22)} ${v.toFixed(3)} s  (RTF ${(v / seconds).toFixed(4)})`);
}
console.log(`features + VAD + prior  ${total.toFixed(3)} s  (RTF ${(total / seconds).toFixed(4)})`);
