import assert from "node:assert/strict";
import { haveSphinx, ipaToCmu } from "./phone_align.ts";

Deno.test("ipaToCmu() maps espeak-ng ids to the nearest English phones", () => {
  assert.deepEqual(ipaToCmu("ˈaɪ"), ["AY"]);
  assert.deepEqual(ipaToCmu("tʃ"), ["CH"]);
  assert.deepEqual(ipaToCmu("ts"), ["T", "S"]);
  assert.deepEqual(ipaToCmu("ɔ̃"), ["AO"]);
  assert.deepEqual(ipaToCmu("ɾ"), ["D"]);
  assert.deepEqual(ipaToCmu("nʲ"), ["N"]);
  assert.deepEqual(ipaToCmu("ʔ"), []);
  assert.deepEqual(ipaToCmu(""), []);
});

const LIBRIVOX = "/usr/share/pocketsphinx/test/data/librivox";
const CLIP = `${LIBRIVOX}/sense_and_sensibility_01_austen_64kb-0880.wav`;
const ready = (await haveSphinx()) &&
  (await Deno.stat(CLIP).then(() => true, () => false));
if (!ready) {
  console.log(
    "Skipping the pocketsphinx alignment tests: needs Debian packages pocketsphinx, " +
      "pocketsphinx-en-us and pocketsphinx-testdata",
  );
}

Deno.test({
  name:
    "alignPhones() aligns a real LibriVox clip: phones in order, /p/ on its burst, wrong text scores worse",
  ignore: !ready,
  fn: async () => {
    const { alignPhones } = await import("./phone_align.ts");
    const { Espeak } = await import("./corpus.ts");
    const { decodeWav } = await import("../../media/wav.ts");
    const wav = decodeWav(await Deno.readFile(CLIP), CLIP);
    assert.equal(wav.sampleRateHz, 16000);
    const x = wav.samples;
    const espeak = await Espeak.create();
    const ids = (t: string) => espeak.synthesize(t, "en-us").phonemes.map((p) => p.id);
    const [right, wrong] = await alignPhones([
      { id: "right", samples: x, phonemes: ids("he was not an ill disposed young man") },
      { id: "wrong", samples: x, phonemes: ids("the weather in the north is usually quite cold") },
    ]);
    assert.ok(right!.found, "no alignment found for the right transcript");
    const ph = right!.phonemes;
    for (let i = 1; i < ph.length; i++) {
      assert.ok(ph[i]!.startS >= ph[i - 1]!.endS - 1e-9, `phones overlap at ${i}`);
    }
    // Speech span from Silero VAD (32 ms frames, p > 0.5), as in align_test.ts;
    // measured: aligned 0.228…2.748 s, VAD 0.256…2.848 s.
    const { SileroVad } = await import("../../audio/vad.ts");
    using vad = await SileroVad.load();
    const pv = await vad.probabilities(x);
    const onsetS = pv.findIndex((v) => v > 0.5) * 0.032;
    const offsetS = (pv.length - 1 - [...pv].reverse().findIndex((v) => v > 0.5)) * 0.032 + 0.032;
    console.log(`aligned ${ph[0]!.startS}…${ph.at(-1)!.endS} s, VAD ${onsetS}…${offsetS} s`);
    assert.ok(
      Math.abs(ph[0]!.startS - onsetS) < 0.1,
      `first phone ${ph[0]!.startS} vs VAD ${onsetS}`,
    );
    assert.ok(
      Math.abs(ph[ph.length - 1]!.endS - offsetS) < 0.15,
      `last phone ${ph[ph.length - 1]!.endS} vs VAD ${offsetS}`,
    );
    // 10 ms RMS (20 ms windows) for the closure check.
    const rms: number[] = [];
    for (let i = 0; i + 320 <= x.length; i += 160) {
      let s = 0;
      for (let k = 0; k < 320; k++) s += x[i + k]! ** 2;
      rms.push(Math.sqrt(s / 320));
    }
    // The /p/ of "disposed": its closure is quieter than the vowels around it.
    const p = ph.find((q) => q.id.includes("p"));
    assert.ok(p, "no /p/ aligned");
    const at = (tS: number) => rms[Math.max(0, Math.min(rms.length - 1, Math.round(tS * 100)))]!;
    let minIn = Infinity;
    for (let t = p.startS; t <= p.endS; t += 0.005) minIn = Math.min(minIn, at(t));
    const k = ph.indexOf(p);
    const nextVowel = ph.slice(k + 1).find((q) => /[aeiouəɐɪʊɔɑæʌ]/.test(q.id))!;
    let maxVowel = 0;
    for (let t = nextVowel.startS; t <= nextVowel.endS; t += 0.005) {
      maxVowel = Math.max(maxVowel, at(t));
    }
    console.log(`/p/ ${p.startS}…${p.endS} s: min RMS ${minIn}, next vowel peak ${maxVowel}`);
    console.log(`score per frame: right ${right!.scorePerFrame}, wrong ${wrong!.scorePerFrame}`);
    // Measured 0.0026 vs 0.084 (ratio 0.03); a misplaced /p/ over a vowel gives > 0.5.
    assert.ok(minIn < 0.35 * maxVowel, `closure RMS ${minIn} vs vowel ${maxVowel}`);
    // A transcript of other words either fails or fits much worse per frame
    // (measured: right −16.6, wrong: no path through the grammar).
    assert.ok(
      !wrong!.found || wrong!.scorePerFrame < right!.scorePerFrame - 3,
      `right ${right!.scorePerFrame}, wrong ${wrong!.scorePerFrame}`,
    );
  },
});

Deno.test("trimTail() cuts 0.2 s after the last frame within the given dB of the loudest", async () => {
  const { trimTail } = await import("./phone_align.ts");
  // 0.5 s of a 200 Hz tone (RMS ≈ 0.35), then 1 s of a tail 30 dB down.
  const x = new Float32Array(24000);
  for (let i = 0; i < x.length; i++) {
    x[i] = Math.sin((2 * Math.PI * 200 * i) / 16000) * (i < 8000 ? 0.5 : 0.5 * 10 ** (-30 / 20));
  }
  const cut = trimTail(x, 20);
  // The last loud 20 ms frame starts at 7840, so the cut is (49 + 2) · 160 + 3200 samples.
  assert.equal(cut.length, 51 * 160 + 3200);
  assert.equal(trimTail(x, 40).length, x.length, "a 40 dB range keeps the whole tail");
  assert.equal(cut[100], x[100]);
});
