/**
 * Phoneme → articulation targets, derived from IPA features rather than listed
 * per language, so any language espeak-ng speaks is covered.
 *
 * Vowels are described by height h (0 close … 1 open), backness b (0 front …
 * 1 back) and rounding r; their targets in the articulation space
 * (`src/articulation/mod.ts`) are:
 *
 * | channel          | vowel target                                        |
 * | ---------------- | --------------------------------------------------- |
 * | jaw_open         | 0.12 + 0.68 h                                       |
 * | lip_aperture     | 0.08 + 0.62 h − 0.12 r (1 − h)                      |
 * | mouth_width      | rounded: −0.45 − 0.4 (1 − h); else 0.55 (1 − b)(1 − 0.4 h) − 0.1 b |
 * | lip_protrusion   | rounded: 0.45 + 0.45 (1 − h); else 0                 |
 * | teeth_visible    | rounded: 0.1; else 0.2 + 0.4 (1 − b) (1 − 0.3 h)     |
 * | others           | 0                                                   |
 *
 * Consonants get a target and a per-channel dominance from their place of
 * articulation (and manner for a few): a bilabial seals the lips with high
 * dominance, a labiodental tucks the lower lip, dentals show the tongue,
 * postalveolar fricatives round and protrude, while velars, uvulars and
 * glottals have low dominance on the jaw and lips so they take the shape of
 * the neighbouring vowels (see `coarticulation.ts`).
 *
 * @module
 */
import { ARTICULATION_DIM, channelIndex } from "../../articulation/mod.ts";

/** Articulation target and dominance of one phoneme segment, both `[C]`. */
export interface PhonemeTarget {
  /** The base IPA symbol. */
  symbol: string;
  kind: "vowel" | "consonant" | "silence";
  target: Float32Array;
  dominance: Float32Array;
  /** Anticipatory / carry-over time constants of the dominance (s). */
  tauBeforeS: number;
  tauAfterS: number;
}

const J = channelIndex("jaw_open");
const A = channelIndex("lip_aperture");
const W = channelIndex("mouth_width");
const P = channelIndex("lip_protrusion");
const B = channelIndex("bilabial_closure");
const L = channelIndex("labiodental");
const T = channelIndex("teeth_visible");
const G = channelIndex("tongue_visible");

/** Vowels: [height, backness, rounded]. */
const VOWELS: Record<string, [number, number, boolean]> = {
  i: [0, 0, false],
  y: [0, 0, true],
  ɨ: [0, 0.5, false],
  ʉ: [0, 0.5, true],
  ɯ: [0, 1, false],
  u: [0, 1, true],
  ɪ: [0.15, 0.15, false],
  ʏ: [0.15, 0.15, true],
  ʊ: [0.15, 0.85, true],
  ᵻ: [0.1, 0.4, false],
  e: [0.33, 0, false],
  ø: [0.33, 0, true],
  ɘ: [0.33, 0.5, false],
  ɵ: [0.33, 0.5, true],
  ɤ: [0.33, 1, false],
  o: [0.33, 1, true],
  ə: [0.5, 0.5, false],
  ɚ: [0.45, 0.5, false],
  ɛ: [0.66, 0, false],
  œ: [0.66, 0, true],
  ɜ: [0.6, 0.5, false],
  ɝ: [0.55, 0.5, false],
  ɞ: [0.66, 0.5, true],
  ʌ: [0.66, 1, false],
  ɔ: [0.66, 1, true],
  æ: [0.85, 0, false],
  ɐ: [0.8, 0.5, false],
  a: [1, 0.2, false],
  ä: [1, 0.5, false],
  ɶ: [1, 0, true],
  ɑ: [1, 1, false],
  ɒ: [1, 1, true],
};

type Place =
  | "bilabial"
  | "labiodental"
  | "dental"
  | "alveolar"
  | "postalveolar"
  | "retroflex"
  | "palatal"
  | "labiovelar"
  | "velar"
  | "uvular"
  | "glottal";

/** Consonants: [place, manner]. */
const CONSONANTS: Record<string, [Place, string]> = {
  p: ["bilabial", "plosive"],
  b: ["bilabial", "plosive"],
  m: ["bilabial", "nasal"],
  ɸ: ["bilabial", "fricative"],
  β: ["bilabial", "fricative"],
  ʙ: ["bilabial", "trill"],
  f: ["labiodental", "fricative"],
  v: ["labiodental", "fricative"],
  ɱ: ["labiodental", "nasal"],
  ʋ: ["labiodental", "approximant"],
  θ: ["dental", "fricative"],
  ð: ["dental", "fricative"],
  t: ["alveolar", "plosive"],
  d: ["alveolar", "plosive"],
  n: ["alveolar", "nasal"],
  s: ["alveolar", "sibilant"],
  z: ["alveolar", "sibilant"],
  l: ["alveolar", "lateral"],
  ɫ: ["alveolar", "lateral"],
  ɬ: ["alveolar", "lateral"],
  ɮ: ["alveolar", "lateral"],
  ɾ: ["alveolar", "tap"],
  r: ["alveolar", "trill"],
  ɹ: ["postalveolar", "rhotic"],
  ʃ: ["postalveolar", "sibilant"],
  ʒ: ["postalveolar", "sibilant"],
  ɕ: ["palatal", "sibilant"],
  ʑ: ["palatal", "sibilant"],
  ʈ: ["retroflex", "plosive"],
  ɖ: ["retroflex", "plosive"],
  ɳ: ["retroflex", "nasal"],
  ʂ: ["retroflex", "sibilant"],
  ʐ: ["retroflex", "sibilant"],
  ɻ: ["retroflex", "approximant"],
  ɭ: ["retroflex", "lateral"],
  ɽ: ["retroflex", "tap"],
  c: ["palatal", "plosive"],
  ɟ: ["palatal", "plosive"],
  ɲ: ["palatal", "nasal"],
  ç: ["palatal", "fricative"],
  ʝ: ["palatal", "fricative"],
  j: ["palatal", "approximant"],
  ʎ: ["palatal", "lateral"],
  w: ["labiovelar", "approximant"],
  ʍ: ["labiovelar", "approximant"],
  ɥ: ["labiovelar", "approximant"],
  k: ["velar", "plosive"],
  g: ["velar", "plosive"],
  ɡ: ["velar", "plosive"],
  ŋ: ["velar", "nasal"],
  x: ["velar", "fricative"],
  ɣ: ["velar", "fricative"],
  ɰ: ["velar", "approximant"],
  ʟ: ["velar", "lateral"],
  q: ["uvular", "plosive"],
  ɢ: ["uvular", "plosive"],
  ɴ: ["uvular", "nasal"],
  χ: ["uvular", "fricative"],
  ʁ: ["uvular", "fricative"],
  ʀ: ["uvular", "trill"],
  ħ: ["glottal", "fricative"],
  ʕ: ["glottal", "fricative"],
  h: ["glottal", "fricative"],
  ɦ: ["glottal", "fricative"],
  ʔ: ["glottal", "plosive"],
};

/** Per-channel vector helper: `[C]` filled with `fill`, then overrides. */
function vec(fill: number, set: Record<number, number> = {}): Float32Array {
  const v = new Float32Array(ARTICULATION_DIM).fill(fill);
  for (const [k, x] of Object.entries(set)) v[Number(k)] = x;
  return v;
}

function vowelTarget(sym: string, [h, b, r]: [number, number, boolean]): PhonemeTarget {
  const t = vec(0);
  t[J] = 0.12 + 0.68 * h;
  t[A] = 0.08 + 0.62 * h - (r ? 0.12 * (1 - h) : 0);
  t[W] = r ? -0.45 - 0.4 * (1 - h) : 0.55 * (1 - b) * (1 - 0.4 * h) - 0.1 * b;
  t[P] = r ? 0.45 + 0.45 * (1 - h) : 0;
  t[T] = r ? 0.1 : 0.2 + 0.4 * (1 - b) * (1 - 0.3 * h);
  // Rounding is anticipated further ahead than the jaw (look-ahead coarticulation).
  const d = vec(1, { [P]: r ? 1.5 : 0.6, [W]: r ? 1.5 : 1 });
  return { symbol: sym, kind: "vowel", target: t, dominance: d, tauBeforeS: 0.07, tauAfterS: 0.05 };
}

function consonantTarget(sym: string, [place, manner]: [Place, string]): PhonemeTarget {
  // Defaults: a mid-closed jaw and lips, low dominance on shape channels.
  const t = vec(0, { [J]: 0.2, [A]: 0.15, [W]: 0.05, [T]: 0.3 });
  const d = vec(0.4, { [B]: 1, [L]: 1, [G]: 1 });
  let tauBefore = 0.05;
  const tauAfter = 0.04;
  switch (place) {
    case "bilabial":
      Object.assign(t, vec(0, { [J]: 0.08, [A]: 0, [W]: 0, [P]: 0.05, [B]: 1, [T]: 0 }));
      d[B] = 6;
      d[A] = 4;
      d[J] = 2;
      d[T] = 4;
      if (manner === "fricative") t[B] = 0.6, t[A] = 0.05;
      break;
    case "labiodental":
      Object.assign(t, vec(0, { [J]: 0.12, [A]: 0.05, [W]: 0.05, [L]: 1, [T]: 0.45 }));
      d[L] = 8;
      d[A] = 4;
      d[J] = 1.5;
      d[B] = 4;
      if (manner === "approximant") t[L] = 0.5;
      break;
    case "dental":
      Object.assign(t, vec(0, { [J]: 0.18, [A]: 0.2, [W]: 0.1, [T]: 0.55, [G]: 1 }));
      d[G] = 6;
      d[T] = 2;
      d[A] = 1.5;
      break;
    case "alveolar":
      t[J] = manner === "sibilant" ? 0.1 : manner === "lateral" ? 0.28 : 0.2;
      t[A] = manner === "sibilant" ? 0.1 : 0.18;
      t[T] = manner === "sibilant" ? 0.6 : 0.35;
      if (manner === "lateral") t[G] = 0.3;
      if (manner === "sibilant") d[J] = 1.5, d[T] = 1.5, d[A] = 1;
      break;
    case "postalveolar":
      Object.assign(t, vec(0, { [J]: 0.14, [A]: 0.14, [W]: -0.45, [P]: 0.7, [T]: 0.45 }));
      d[P] = 2.5;
      d[W] = 2;
      d[J] = 1;
      if (manner === "rhotic") t[P] = 0.35, t[W] = -0.2, t[T] = 0.2, d[P] = 1.2, d[W] = 1;
      break;
    case "retroflex":
      t[J] = 0.2;
      t[A] = 0.15;
      if (manner === "sibilant") t[P] = 0.3, t[W] = -0.1, d[P] = 1;
      break;
    case "palatal":
      Object.assign(t, vec(0, { [J]: 0.14, [A]: 0.1, [W]: 0.3, [T]: 0.4 }));
      if (manner === "sibilant") t[T] = 0.55, d[T] = 1.2;
      break;
    case "labiovelar":
      Object.assign(t, vec(0, { [J]: 0.12, [A]: 0.06, [W]: -0.8, [P]: 0.85, [T]: 0.05 }));
      d[P] = 3;
      d[W] = 3;
      d[A] = 2;
      tauBefore = 0.08;
      break;
    case "velar":
      t[J] = 0.25;
      t[A] = 0.2;
      d[J] = 0.25;
      d[A] = 0.25;
      d[W] = 0.2;
      d[P] = 0.2;
      d[T] = 0.2;
      break;
    case "uvular":
    case "glottal":
      t[J] = 0.3;
      t[A] = 0.25;
      d[J] = 0.15;
      d[A] = 0.15;
      d[W] = 0.15;
      d[P] = 0.15;
      d[T] = 0.15;
      break;
  }
  return {
    symbol: sym,
    kind: "consonant",
    target: t,
    dominance: d,
    tauBeforeS: tauBefore,
    tauAfterS: tauAfter,
  };
}

/** Silence / pause: neutral mouth, strong but short-reaching dominance. */
export function silenceTarget(): PhonemeTarget {
  return {
    symbol: "_",
    kind: "silence",
    target: vec(0),
    dominance: vec(2),
    tauBeforeS: 0.03,
    tauAfterS: 0.03,
  };
}

const TABLE = new Map<string, PhonemeTarget>();
for (const [s, f] of Object.entries(VOWELS)) TABLE.set(s, vowelTarget(s, f));
for (const [s, f] of Object.entries(CONSONANTS)) TABLE.set(s, consonantTarget(s, f));

/** The table entry of one base IPA symbol, or undefined. */
export function lookupSymbol(symbol: string): PhonemeTarget | undefined {
  return TABLE.get(symbol);
}

/** All base symbols in the table. */
export function tableSymbols(): string[] {
  return [...TABLE.keys()];
}

/**
 * Split an espeak-ng phoneme id (IPA with stress, length and diacritics, e.g.
 * "ˈaɪ", "tʃ", "ɔ̃", "ɭʲ") into the table entries it is made of, in order.
 * Diacritics and suprasegmentals are dropped; symbols not in the table are
 * skipped. An empty id (a pause) gives `[]`.
 */
export function parsePhoneme(id: string): PhonemeTarget[] {
  const base = id.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(
    /[ˈˌːˑ.\-_ʲʷᵝʰˠˤ̪̃\u02de]/g,
    "",
  );
  const out: PhonemeTarget[] = [];
  for (const ch of base) {
    const e = TABLE.get(ch === "g" ? "ɡ" : ch) ?? TABLE.get(ch);
    if (e) out.push(e);
  }
  return out;
}
