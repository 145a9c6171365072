import assert from "node:assert/strict";
import { logMel } from "../../audio/mel.ts";
import { frameLevelsDb, nonSpeechMask, untranscribedVoicedFrames, voicingAt } from "./breath.ts";

/** 1 s at 16 kHz: a 0.3–0.6 s "vowel" (200 Hz harmonics), a 0.8–0.9 s noise burst (breath) at −20 dB, else quiet noise at −60 dB. */
function clip(): Float32Array {
  const x = new Float32Array(16000);
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  for (let i = 0; i < x.length; i++) {
    const t = i / 16000;
    let v = 0.3 * 1e-3 * rnd();
    if (t >= 0.3 && t < 0.6) {
      for (let h = 1; h <= 10; h++) v += (0.3 / h) * Math.sin(2 * Math.PI * 200 * h * t);
    }
    if (t >= 0.8 && t < 0.9) v += 0.1 * rnd();
    x[i] = v;
  }
  return x;
}

Deno.test("nonSpeechMask() marks a breath between phrases audible and room tone quiet", () => {
  const mel = logMel(clip());
  const phonemes = [{ id: "a", startS: 0.3, endS: 0.6 }];
  const { rel } = frameLevelsDb(mel.data, phonemes);
  assert.ok(Math.abs(rel[45]!) < 3, `vowel at ${rel[45]} dB re speech`);
  const { audible, quiet } = nonSpeechMask(mel.data, phonemes);
  // Frames near the phone (± 150 ms) are neither.
  for (let j = 16; j <= 74; j++) assert.equal(audible[j]! + quiet[j]!, 0, `frame ${j}`);
  // The breath (frames 80–89) is audible, the room tone quiet.
  for (let j = 81; j <= 88; j++) assert.equal(audible[j], 1, `breath frame ${j}`);
  for (const j of [5, 10, 95]) assert.equal(quiet[j], 1, `quiet frame ${j}`);
});

Deno.test("untranscribedVoicedFrames() counts a vowel the alignment missed, not a breath", () => {
  const x = clip();
  const mel = logMel(x);
  // Aligned: the vowel is covered, the breath is outside → 0 voiced frames outside.
  assert.equal(untranscribedVoicedFrames(x, mel.data, [{ id: "a", startS: 0.3, endS: 0.6 }]), 0);
  // The alignment stops at 0.35 s: the rest of the vowel (0.5–0.6 s beyond the
  // 150 ms margin) is loud and voiced → counted.
  const n = untranscribedVoicedFrames(x, mel.data, [{ id: "a", startS: 0.3, endS: 0.35 }]);
  assert.ok(n >= 8 && n <= 11, `${n} frames`);
  assert.ok(voicingAt(x, Math.round(0.45 * 16000)) > 0.9, "vowel voiced");
  assert.ok(voicingAt(x, Math.round(0.85 * 16000)) < 0.5, "breath unvoiced");
});
