/**
 * Synthetic multilingual speech with exact phoneme timings, from espeak-ng
 * (`@echogarden/espeak-ng-emscripten`, 22050 Hz). Texts are random pseudo-words
 * written in each language's own script (Latin, Cyrillic, Greek, Hangul, kana,
 * Devanagari, pinyin), so espeak's letter-to-sound rules of that language pick
 * its phoneme inventory. Voices: the language's default plus espeak variants
 * (+m1…, +f1…, +klatt…, named variants), with random rate and pitch.
 *
 * Languages and variants are split into train and held-out sets; held-out ones
 * never appear in training.
 *
 * @module
 */
import type { TimedPhoneme } from "./coarticulation.ts";

/** A seeded PRNG (mulberry32): reproducible corpora and augmentation. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(a: number, b: number): number {
    return a + (b - a) * this.next();
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = Math.max(1e-12, this.next());
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
}

type Script = "latin" | "cyrillic" | "greek" | "hangul" | "kana" | "devanagari" | "pinyin";

/** espeak-ng voice name → script of the generated text. */
export const TRAIN_LANGUAGES: Readonly<Record<string, Script>> = {
  "en-us": "latin",
  "en": "latin",
  "de": "latin",
  "fr": "latin",
  "es": "latin",
  "pt": "latin",
  "nl": "latin",
  "sv": "latin",
  "da": "latin",
  "fi": "latin",
  "et": "latin",
  "cs": "latin",
  "sk": "latin",
  "hr": "latin",
  "ro": "latin",
  "tr": "latin",
  "id": "latin",
  "vi": "latin",
  "eo": "latin",
  "cy": "latin",
  "ca": "latin",
  "lt": "latin",
  "ru": "cyrillic",
  "bg": "cyrillic",
  "el": "greek",
  "ja": "kana",
  "hi": "devanagari",
  "cmn-Latn-pinyin": "pinyin",
};

/** Languages never used in training (evaluation only). */
export const HELDOUT_LANGUAGES: Readonly<Record<string, Script>> = {
  "it": "latin",
  "pl": "latin",
  "hu": "latin",
  "sw": "latin",
  "uk": "cyrillic",
  "ko": "hangul",
};

/** espeak-ng variants used in training (with the language's default voice). */
export const TRAIN_VARIANTS: readonly string[] = [
  "",
  "m1",
  "m2",
  "m3",
  "m4",
  "m5",
  "m7",
  "f1",
  "f2",
  "f3",
  "f5",
  "klatt",
  "klatt2",
  "klatt3",
  "klatt6",
  "croak",
  "Andy",
  "Annie",
  "aunty",
  "boris",
  "david",
  "Gene",
  "Jacky",
  "Lee",
  "max",
  "Michael",
  "norbert",
  "Tweaky",
  "benjamin",
  "caleb",
  "linda",
  "steph",
  "robert",
  "iven",
  "john",
  "quincy",
  "rob",
  "shelby",
  "travis",
  "zac",
  "adam",
  "anika",
  "paul",
  "pablo",
  "victor",
  "sandro",
];

/** Variants never used in training (evaluation only). */
export const HELDOUT_VARIANTS: readonly string[] = [
  "m6",
  "f4",
  "klatt4",
  "Storm",
  "edward",
  "Alvin",
];

const LATIN_ONSETS = [
  "b",
  "p",
  "m",
  "f",
  "v",
  "t",
  "d",
  "n",
  "s",
  "z",
  "l",
  "r",
  "k",
  "g",
  "h",
  "j",
  "w",
  "ch",
  "sh",
  "th",
  "pr",
  "bl",
  "tr",
  "st",
  "sp",
  "fl",
  "gr",
  "kr",
  "pl",
  "br",
  "dr",
  "mn",
  "",
]; // deno-fmt-ignore
const LATIN_VOWELS = ["a", "e", "i", "o", "u", "a", "e", "o", "ai", "ou", "ei", "au", "y", "ie", "oo", "ee"];
const LATIN_CODAS = [
  "",
  "",
  "",
  "n",
  "m",
  "s",
  "t",
  "l",
  "r",
  "k",
  "p",
  "ng",
  "st",
  "nd",
  "f",
  "b",
];
const CYR_CONS = "бвгдзйклмнпрстфхцчшщж".split("");
const CYR_VOW = "аеиоуыэюяё".split("");
const GREEK_CONS = "βγδζθκλμνξπρστφχψ".split("");
const GREEK_VOW = ["α", "ε", "η", "ι", "ο", "υ", "ω", "ά", "έ", "ί", "ό", "ού", "αι", "ει"];
const KANA =
  ("あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん" +
    "がぎぐげござじずぜぞだでどばびぶべぼぱぴぷぺぽ").split("");
const DEVA_CONS = "कखगघचछजझटडतथदधनपफबभमयरलवशसह".split("");
const DEVA_VOW_SIGNS = ["", "ा", "ि", "ी", "ु", "ू", "े", "ै", "ो", "ौ"];
const PINYIN_INITIALS = [
  "b",
  "p",
  "m",
  "f",
  "d",
  "t",
  "n",
  "l",
  "g",
  "k",
  "h",
  "j",
  "q",
  "x",
  "zh",
  "ch",
  "sh",
  "r",
  "z",
  "c",
  "s",
  "y",
  "w",
  "",
];
const PINYIN_FINALS = [
  "a",
  "o",
  "e",
  "i",
  "u",
  "ai",
  "ei",
  "ao",
  "ou",
  "an",
  "en",
  "ang",
  "eng",
  "ong",
  "ia",
  "ie",
  "iao",
  "iu",
  "ian",
  "in",
  "ing",
  "ua",
  "uo",
  "uai",
  "ui",
  "uan",
  "un",
];

function word(rng: Rng, script: Script): string {
  const syl = 1 + rng.int(rng.next() < 0.3 ? 4 : 3);
  let w = "";
  for (let i = 0; i < syl; i++) {
    switch (script) {
      case "latin":
        w += rng.pick(LATIN_ONSETS) + rng.pick(LATIN_VOWELS) +
          (rng.next() < 0.35 ? rng.pick(LATIN_CODAS) : "");
        break;
      case "cyrillic":
        w += (rng.next() < 0.85 ? rng.pick(CYR_CONS) : "") + rng.pick(CYR_VOW) +
          (rng.next() < 0.2 ? rng.pick(CYR_CONS) : "");
        break;
      case "greek":
        w += rng.pick(GREEK_CONS) + rng.pick(GREEK_VOW);
        break;
      case "kana":
        w += rng.pick(KANA) + (rng.next() < 0.5 ? rng.pick(KANA) : "");
        break;
      case "devanagari":
        w += rng.pick(DEVA_CONS) + rng.pick(DEVA_VOW_SIGNS);
        break;
      case "hangul": {
        const l = rng.int(19);
        const v = rng.int(21);
        const t = rng.next() < 0.4 ? rng.int(28) : 0;
        w += String.fromCharCode(0xac00 + (l * 21 + v) * 28 + t);
        break;
      }
      case "pinyin":
        w += rng.pick(PINYIN_INITIALS) + rng.pick(PINYIN_FINALS) + (1 + rng.int(4));
        break;
    }
  }
  return w;
}

/** A random pseudo-sentence text of `nWords` words in `script`, with pauses. */
export function randomText(rng: Rng, script: Script, nWords: number): string {
  const parts: string[] = [];
  for (let i = 0; i < nWords; i++) {
    let w = word(rng, script);
    const r = rng.next();
    if (i < nWords - 1 && r < 0.08) w += ",";
    else if (i < nWords - 1 && r < 0.12) w += ".";
    parts.push(w);
  }
  return parts.join(script === "kana" ? "、" : " ") + (script === "kana" ? "。" : ".");
}

/** One synthesised utterance. */
export interface Utterance {
  language: string;
  variant: string;
  text: string;
  /** Mono float32 `[N]` at `sampleRateHz`. */
  samples: Float32Array;
  sampleRateHz: number;
  phonemes: TimedPhoneme[];
}

// deno-lint-ignore no-explicit-any
type EspeakWorker = any;

/**
 * Run `f` with `Date.now` frozen: espeak-ng seeds the noise of its breathy
 * variants (f2, f3, f5, victor, sandro…) from the clock, which made corpora
 * differ between runs; a fixed clock makes synthesis reproducible.
 */
async function withFixedClock<T>(f: () => T | Promise<T>): Promise<T> {
  const now = Date.now;
  Date.now = () => 1_700_000_000_000;
  try {
    return await f();
  } finally {
    Date.now = now;
  }
}

/** espeak-ng in-process synthesiser (one emscripten instance), deterministic. */
export class Espeak {
  private constructor(private readonly w: EspeakWorker) {}

  static async create(): Promise<Espeak> {
    const mod = await import("@echogarden/espeak-ng-emscripten");
    // deno-lint-ignore no-explicit-any
    const init = (mod as any).default ?? mod;
    return await withFixedClock(async () => {
      const m = await init();
      return new Espeak(new m.eSpeakNGWorker());
    });
  }

  /**
   * Synthesise `text` with `language` (+ `variant`), speaking rate in words per
   * minute and pitch 0–99. Phoneme spans run from each phoneme event to the
   * next event (phoneme or end); "" ids are pauses.
   */
  synthesize(text: string, language: string, variant = "", rateWpm = 175, pitch = 50): Utterance {
    const voice = variant ? `${language}+${variant}` : language;
    const rc = this.w.set_voice(voice);
    if (rc !== 0) {
      throw new RangeError(`Unknown espeak-ng voice "${voice}"; pick one from list_voices()`);
    }
    this.w.rate = Math.round(rateWpm);
    this.w.pitch = Math.round(pitch);
    const chunks: Int16Array[] = [];
    const events: Array<{ type: string; ms: number; id: string }> = [];
    this.w.synthesize(
      text,
      (samples: Int16Array | null, evs: Array<Record<string, unknown>> | null) => {
        if (samples && samples.length) chunks.push(new Int16Array(samples));
        for (const e of evs ?? []) {
          events.push({
            type: String(e["type"]),
            ms: Number(e["audio_position"]),
            id: String(e["id"] ?? ""),
          });
        }
        return false;
      },
    );
    const total = chunks.reduce((a, c) => a + c.length, 0);
    const samples = new Float32Array(total);
    let o = 0;
    for (const c of chunks) for (let i = 0; i < c.length; i++) samples[o++] = c[i]! / 32768;
    const durS = total / 22050;
    const phonemes: TimedPhoneme[] = [];
    const marks = events.filter((e) => e.type === "phoneme" || e.type === "end");
    for (let i = 0; i < marks.length; i++) {
      const e = marks[i]!;
      if (e.type !== "phoneme") continue;
      const next = marks.slice(i + 1).find((x) => x.ms >= e.ms);
      const endMs = next ? next.ms : durS * 1000;
      if (endMs > e.ms) {
        phonemes.push({ id: e.id, startS: e.ms / 1000, endS: Math.min(endMs / 1000, durS) });
      }
    }
    return { language, variant, text, samples, sampleRateHz: 22050, phonemes };
  }
}
