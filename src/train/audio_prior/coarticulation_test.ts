import assert from "node:assert/strict";
import { ARTICULATION_DIM, channelIndex } from "../../articulation/mod.ts";
import { articulationTargets } from "./coarticulation.ts";
import { parsePhoneme } from "./phonemes.ts";

const at = (track: Float32Array, tS: number, name: string) =>
  track[Math.round(tS * 100) * ARTICULATION_DIM + channelIndex(name)]!;

Deno.test("parsePhoneme() strips stress, length and diacritics and splits diphthongs and affricates", () => {
  assert.deepEqual(parsePhoneme("ˈaː").map((e) => e.symbol), ["a"]);
  assert.deepEqual(parsePhoneme("aɪ").map((e) => e.symbol), ["a", "ɪ"]);
  assert.deepEqual(parsePhoneme("tʃ").map((e) => e.symbol), ["t", "ʃ"]);
  assert.deepEqual(parsePhoneme("ɔ̃").map((e) => e.symbol), ["ɔ"]);
  assert.deepEqual(parsePhoneme("ɭʲ").map((e) => e.symbol), ["ɭ"]);
  assert.deepEqual(parsePhoneme(""), []);
});

Deno.test("articulationTargets() closes the lips for p/m, opens for a, rounds ahead of u, and is neutral in silence", () => {
  // silence | a 0.2–0.4 | p 0.4–0.48 | a 0.48–0.7 | t 0.7–0.76 | u 0.76–0.95 | m 0.95–1.05 | silence
  const ph = [
    { id: "ˈa", startS: 0.2, endS: 0.4 },
    { id: "p", startS: 0.4, endS: 0.48 },
    { id: "a", startS: 0.48, endS: 0.7 },
    { id: "t", startS: 0.7, endS: 0.76 },
    { id: "u", startS: 0.76, endS: 0.95 },
    { id: "m", startS: 0.95, endS: 1.05 },
  ];
  const y = articulationTargets(ph, 160);
  assert.ok(at(y, 0.44, "bilabial_closure") > 0.9, "p closes the lips");
  assert.ok(at(y, 0.44, "lip_aperture") < 0.05, "p: no lip gap");
  assert.ok(at(y, 1.0, "bilabial_closure") > 0.9, "m closes the lips");
  assert.ok(at(y, 0.3, "jaw_open") > 0.6, "a opens the jaw");
  assert.ok(at(y, 0.3, "bilabial_closure") < 0.05, "a: lips apart");
  assert.ok(at(y, 0.85, "lip_protrusion") > 0.7, "u protrudes");
  // Anticipation: rounding has started during t, before u is heard; not during the first a.
  assert.ok(at(y, 0.73, "lip_protrusion") > 0.3, `t before u: ${at(y, 0.73, "lip_protrusion")}`);
  assert.ok(at(y, 0.3, "lip_protrusion") < 0.05);
  for (
    const name of ["jaw_open", "lip_aperture", "mouth_width", "lip_protrusion", "bilabial_closure"]
  ) {
    // 0.2 s before speech the jaw may have begun to open (anticipation), only just.
    assert.ok(Math.abs(at(y, 0, name)) < 0.03, `silence before: ${name}`);
    assert.ok(Math.abs(at(y, 1.5, name)) < 0.01, `silence after: ${name}`);
  }
});
