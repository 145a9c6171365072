import assert from "node:assert/strict";
import { synthesize } from "../../fixtures/mod.ts";
import { resample } from "./resample.ts";
import { applyGate, SileroVad, speechGate, vadToFeatureClock } from "./vad.ts";
import { melFrameCount } from "./mel.ts";

function mean(x: Float32Array, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]!;
  return s / Math.max(1, to - from);
}

Deno.test("SileroVad.probabilities() finds speech in a synthesised utterance, not in silence or noise", async () => {
  const { samples, sampleRateHz } = await synthesize(
    "The quick brown fox jumps over the lazy dog.",
    "en-us",
  );
  const speech = resample(samples, sampleRateHz, 16000);
  // 1 s silence, the utterance, 1 s of low white noise.
  const noise = new Float32Array(16000);
  let s = 12345;
  for (let i = 0; i < noise.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    noise[i] = ((s / 2 ** 32) * 2 - 1) * 0.02;
  }
  const audio = new Float32Array(16000 + speech.length + noise.length);
  audio.set(speech, 16000);
  audio.set(noise, 16000 + speech.length);
  using vad = await SileroVad.load();
  const p = await vad.probabilities(audio);
  const f = (sample: number) => Math.floor(sample / 512);
  const pSil = mean(p, 0, f(16000) - 1);
  const pSpeech = mean(p, f(16000) + 3, f(16000 + speech.length) - 10);
  const pNoise = mean(p, f(16000 + speech.length) + 8, p.length);
  assert.ok(pSil < 0.1, `silence ${pSil}`);
  assert.ok(pSpeech > 0.6, `speech ${pSpeech}`);
  assert.ok(pNoise < 0.2, `noise ${pNoise}`);

  const gate = speechGate(vadToFeatureClock(p, melFrameCount(audio.length)));
  assert.ok(
    gate[50]! < 0.01 && gate[gate.length - 20]! < 0.01,
    "gate closed in silence and noise",
  );
  assert.ok(
    mean(gate, 120, 100 + Math.floor(speech.length / 160) - 20) > 0.9,
    "gate open in speech",
  );
});

Deno.test("speechGate() ramps smoothly and bridges short pauses", () => {
  const p = new Float32Array(300);
  p.fill(0.9, 100, 150);
  p.fill(0.9, 160, 200); // a 0.1 s pause inside speech
  const g = speechGate(p);
  assert.ok(g[155]! > 0.99, "pause bridged");
  let maxStep = 0;
  for (let j = 1; j < g.length; j++) {
    maxStep = Math.max(maxStep, Math.abs(g[j]! - g[j - 1]!));
  }
  assert.ok(maxStep < 0.15, `largest step ${maxStep}`);
  assert.equal(g[10], 0);
  assert.equal(g[290], 0);
});

Deno.test("applyGate() relaxes a track to neutral where the gate is closed", () => {
  const track = Float32Array.from([1, 1, 1, 1]); // [2, 2]
  const out = applyGate(
    track,
    Float32Array.from([0, 0.5]),
    Float32Array.from([0, 0.2]),
  );
  assert.deepEqual(Array.from(out).map((v) => Math.round(v * 100) / 100), [
    0,
    0.2,
    0.5,
    0.6,
  ]);
});
