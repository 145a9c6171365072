import assert from "node:assert/strict";
import { MediaError } from "../errors.ts";
import { fitAudio } from "./audio_replace.ts";

const tone = (s: number, rate = 1000) =>
  Float32Array.from({ length: Math.round(s * rate) }, (_, i) => Math.sin(i / 5));

Deno.test("fitAudio() pads short dialogue with silence to the footage length", () => {
  const { samples, outS } = fitAudio(tone(1.5), 1000, 2, "pad", 0.5, "a.wav");
  assert.equal(outS, 2);
  assert.equal(samples.length, 2000);
  assert.notEqual(samples[1000], 0);
  assert.ok(samples.subarray(1500).every((x) => x === 0));
});

Deno.test("fitAudio() trims long dialogue to the footage under pad, and ends at the shorter under trim", () => {
  assert.equal(fitAudio(tone(3), 1000, 2, "pad", 0.5, "a.wav").samples.length, 2000);
  const t = fitAudio(tone(1.5), 1000, 2, "trim", 0.5, "a.wav");
  assert.equal(t.outS, 1.5);
  assert.equal(t.samples.length, 1500);
});

Deno.test("fitAudio() errors beyond the tolerance under the error policy, naming the file", () => {
  assert.equal(fitAudio(tone(2.3), 1000, 2, "error", 0.5, "a.wav").samples.length, 2000);
  assert.throws(
    () => fitAudio(tone(3), 1000, 2, "error", 0.5, "dialogue_es.wav"),
    (e) =>
      e instanceof MediaError &&
      /"dialogue_es\.wav" lasts 3\.000 s but the footage 2\.000 s/.test(e.message),
  );
});
