import assert from "node:assert/strict";
import { join } from "node:path";
import { ARTICULATION_DIM, channelIndex } from "../articulation/mod.ts";
import { synthesize } from "../../fixtures/mod.ts";
import {
  baselineArticulation,
  computeFeatures,
  parseFps,
  predictArticulation,
  readArticulation,
  readFeatures,
  writeArticulation,
  writeFeatures,
} from "./mod.ts";

const J = channelIndex("jaw_open");

/** 1 s silence + an utterance + 1 s silence, at 22050 Hz. */
async function paddedSpeech(): Promise<
  { x: Float32Array; rate: number; speechS: [number, number] }
> {
  const { samples, sampleRateHz } = await synthesize("Bob made a map of my home town.", "en-us");
  const x = new Float32Array(samples.length + 2 * sampleRateHz);
  x.set(samples, sampleRateHz);
  return { x, rate: sampleRateHz, speechS: [1, 1 + samples.length / sampleRateHz] };
}

function channelStats(
  track: Float32Array,
  ch: number,
  from: number,
  to: number,
): { mean: number; max: number } {
  let s = 0, mx = -Infinity;
  for (let j = from; j < to; j++) {
    const v = track[j * ARTICULATION_DIM + ch]!;
    s += v;
    mx = Math.max(mx, v);
  }
  return { mean: s / (to - from), max: mx };
}

Deno.test("baselineArticulation() opens the jaw in speech and not in the silence around it", async () => {
  const { x, rate, speechS } = await paddedSpeech();
  const f = await computeFeatures(x, rate, { vad: false });
  const track = baselineArticulation(f.mel);
  const speech = channelStats(
    track,
    J,
    Math.round(speechS[0] * 100) + 5,
    Math.round(speechS[1] * 100) - 5,
  );
  const silence = channelStats(track, J, 0, 90);
  assert.ok(speech.max > 0.3, `max jaw in speech ${speech.max}`);
  assert.ok(speech.mean > 0.1, `mean jaw in speech ${speech.mean}`);
  assert.ok(silence.max < 0.02, `max jaw in silence ${silence.max}`);
  // Pure silence gives a neutral mouth, not amplified noise.
  const quiet = baselineArticulation(
    (await computeFeatures(new Float32Array(16000), 16000, { vad: false })).mel,
  );
  assert.ok(quiet.every((v) => v === 0));
});

Deno.test("predictArticulation() relaxes the mouth to neutral in silence and moves it in speech", async () => {
  const { x, rate, speechS } = await paddedSpeech();
  const f = await computeFeatures(x, rate);
  const fps = parseFps("30000/1001");
  for (const method of ["prior", "baseline"] as const) {
    const r = await predictArticulation(f, { method, fps });
    const first = Math.floor(speechS[0] * 30000 / 1001);
    const last = Math.floor(speechS[1] * 30000 / 1001);
    // Silence: all channels neutral (0) in the first 0.8 s and the last 0.8 s.
    for (const [a, b] of [[0, 24], [last + 10, r.frames]] as const) {
      for (let i = a; i < b; i++) {
        for (let c = 0; c < ARTICULATION_DIM; c++) {
          assert.ok(
            Math.abs(r.video[i * ARTICULATION_DIM + c]!) < 0.02,
            `${method}: frame ${i} ch ${c} = ${r.video[i * ARTICULATION_DIM + c]}`,
          );
        }
      }
    }
    const speech = channelStats(r.video, J, first + 3, last - 3);
    assert.ok(speech.max > 0.25, `${method}: jaw max in speech ${speech.max}`);
    // Frame count follows the audio duration at the exact rate.
    assert.equal(r.frames, Math.ceil((f.durationS * 30000) / 1001 - 1e-9));
  }
});

Deno.test("writeFeatures()/writeArticulation() round-trip through their files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { x, rate } = await paddedSpeech();
    const f = await computeFeatures(x, rate);
    const fp = join(dir, "f.safetensors");
    await writeFeatures(fp, f, "speech.wav");
    const g = await readFeatures(fp);
    assert.equal(g.frames, f.frames);
    assert.deepEqual(g.mel.subarray(0, 400), f.mel.subarray(0, 400));
    assert.ok(g.vad && f.vad && g.vad[150] === f.vad[150]);
    const fps = parseFps(25);
    const r = await predictArticulation(g, { method: "baseline", fps, frames: 40 });
    const ap = join(dir, "a.safetensors");
    await writeArticulation(ap, r, { fps, method: "baseline", vad: true });
    const back = await readArticulation(ap);
    assert.equal(back.frames, 40);
    assert.deepEqual(back.fps, { num: 25, den: 1 });
    assert.deepEqual(back.articulation, r.video);
    await assert.rejects(readArticulation(fp), /not an articulation file/);
    await assert.rejects(readFeatures(ap), /not an audio feature file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("predictArticulation() keeps the mouth neutral over music and noise without speech", async () => {
  const { music, noise } = await import("../train/audio_prior/augment.ts");
  const { Rng } = await import("../train/audio_prior/corpus.ts");
  const bg = music(new Rng(2), 3 * 16000).map((v) => 0.1 * v);
  const pink = noise(new Rng(5), 3 * 16000, "pink");
  for (let i = 0; i < bg.length; i++) bg[i] = bg[i]! + 0.02 * pink[i]!;
  const f = await computeFeatures(bg, 16000);
  const r = await predictArticulation(f, { method: "prior", fps: parseFps(25) });
  let maxAbs = 0;
  for (const v of r.video) maxAbs = Math.max(maxAbs, Math.abs(v));
  assert.ok(maxAbs < 0.02, `largest channel value over music ${maxAbs}`);
  // The VAD gate stays closed throughout: no speech was heard in the music.
  assert.ok(r.gate.every((g) => g < 0.01));
});
