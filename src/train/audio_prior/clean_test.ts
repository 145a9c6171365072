import assert from "node:assert/strict";
import { MEL_CONFIG } from "../../audio/mel.ts";
import { resample } from "../../audio/resample.ts";
import { cleanClips } from "./clean.ts";
import { Espeak } from "./corpus.ts";
import type { RealUtt } from "./real_corpus.ts";

/** An espeak-ng sentence at 16 kHz with its exact phoneme times, as a "real" clip. */
async function sentence(
  text = "my mother made a big map of paris in the bright morning",
): Promise<RealUtt> {
  const espeak = await Espeak.create();
  const u = espeak.synthesize(text, "en-us");
  const samples = resample(u.samples, u.sampleRateHz, MEL_CONFIG.sampleRateHz);
  return {
    source: "test",
    id: "s",
    language: "en-us",
    speaker: "espeak",
    samples,
    phonemes: u.phonemes,
    rms: 0.1,
    quality: { scorePerFrame: 0, squeezed: 0, speechShare: 1 },
  };
}

Deno.test("cleanClips() keeps a clip whose reference follows the audio and drops broken ones", async () => {
  const good = await sentence();
  const durS = good.samples.length / MEL_CONFIG.sampleRateHz;
  const speech = good.phonemes.filter((p) => p.id);
  // The transcript covers only the first third: the rest is untranscribed speech.
  const cut = speech[0]!.startS + (speech[speech.length - 1]!.endS - speech[0]!.startS) / 3;
  const partial = { ...good, id: "partial", phonemes: good.phonemes.filter((p) => p.endS <= cut) };
  // Misaligned by 100 ms, and the transcript of another sentence stretched over this one.
  const shifted = {
    ...good,
    id: "shifted",
    phonemes: good.phonemes.map((p) => ({ id: p.id, startS: p.startS + 0.1, endS: p.endS + 0.1 })),
  };
  const other = await sentence("she sells sea shells by the sea shore while seagulls scream");
  const k = durS / (other.samples.length / MEL_CONFIG.sampleRateHz);
  const wrong = {
    ...good,
    id: "wrong",
    phonemes: other.phonemes.map((p) => ({ id: p.id, startS: p.startS * k, endS: p.endS * k })),
  };
  const none = await cleanClips([good, partial, shifted, wrong], {
    dropUntranscribed: false,
    teacherMinR: 0,
  });
  assert.equal(none.kept.length, 4);
  const u = await cleanClips([good, partial], { dropUntranscribed: true, teacherMinR: 0 });
  assert.deepEqual(u.kept.map((c) => c.id), ["s"]);
  assert.equal(u.droppedUntranscribed, 1);
  // Threshold 0.3 is the training default (see clean.ts). Measured when this
  // test was written: good 0.79, shifted −0.13, wrong transcript 0.19.
  const t = await cleanClips([good, shifted, wrong], {
    dropUntranscribed: false,
    teacherMinR: 0.3,
  });
  assert.deepEqual(t.kept.map((c) => c.id), ["s"]);
  assert.equal(t.droppedTeacher, 2);
});
