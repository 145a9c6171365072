import assert from "node:assert/strict";
import { dtwMap } from "./align.ts";

Deno.test("dtwMap() recovers a known time warp", () => {
  // b is a played 1.5× slower, with a pause inserted: b(j) = a(w(j)).
  const n = 3;
  const feat = (t: number) => [Math.sin(t / 5), Math.cos(t / 7), Math.sin(t / 3 + 1)];
  const ta = 120;
  const a = new Float32Array(ta * n);
  for (let i = 0; i < ta; i++) a.set(feat(i), i * n);
  const warp: number[] = [];
  for (let j = 0; j < 60; j++) warp.push(j / 1.5); // a[0..40) slowed
  for (let j = 0; j < 20; j++) warp.push(40); // a pause holding a[40]
  for (let i = 40; i < ta; i++) warp.push(i);
  const b = new Float32Array(warp.length * n);
  warp.forEach((w, j) => b.set(feat(w), j * n));
  const map = dtwMap(a, b, n);
  // a[20] ↔ b[30]; a[80] ↔ b[80 + 40] (after the 20 slowed + 20 pause frames).
  assert.ok(Math.abs(map[20]! - 30) <= 1.5, `a[20] → ${map[20]}`);
  assert.ok(Math.abs(map[80]! - 120) <= 1.5, `a[80] → ${map[80]}`);
});

const LIBRIVOX = "/usr/share/pocketsphinx/test/data/librivox";
const hasLibrivox = await Deno.stat(`${LIBRIVOX}/sense_and_sensibility_01_austen_64kb-0880.wav`)
  .then(() => true, () => false);
if (!hasLibrivox) {
  console.log(
    `Skipping the LibriVox alignment test: ${LIBRIVOX} not found (apt-get install pocketsphinx-testdata)`,
  );
}

Deno.test({
  name: "alignTranscript() places a real LibriVox utterance where Silero VAD hears speech",
  ignore: !hasLibrivox,
  fn: async () => {
    const { alignTranscript } = await import("./align.ts");
    const { Espeak } = await import("./corpus.ts");
    const { decodeWav } = await import("../../media/wav.ts");
    const { SileroVad } = await import("../../audio/vad.ts");
    const wav = decodeWav(
      await Deno.readFile(`${LIBRIVOX}/sense_and_sensibility_01_austen_64kb-0880.wav`),
    );
    assert.equal(wav.sampleRateHz, 16000);
    const { phonemes } = alignTranscript(
      await Espeak.create(),
      "he was not an ill disposed young man",
      wav.samples,
    );
    const speech = phonemes.filter((p) => p.id !== "");
    for (let i = 1; i < speech.length; i++) {
      assert.ok(speech[i]!.startS >= speech[i - 1]!.startS - 1e-9, "monotonic");
    }
    using vad = await SileroVad.load();
    const p = await vad.probabilities(wav.samples);
    const first = p.findIndex((v) => v > 0.5) * 0.032;
    const last = (p.length - 1 - [...p].reverse().findIndex((v) => v > 0.5)) * 0.032 + 0.032;
    assert.ok(
      Math.abs(speech[0]!.startS - first) < 0.2,
      `speech starts at ${speech[0]!.startS}, VAD ${first}`,
    );
    assert.ok(
      Math.abs(speech[speech.length - 1]!.endS - last) < 0.25,
      `speech ends at ${speech.at(-1)!.endS}, VAD ${last}`,
    );
  },
});
