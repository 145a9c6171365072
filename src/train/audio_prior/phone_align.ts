/**
 * Phone-level forced alignment of real speech with Debian's `pocketsphinx`
 * (+ `pocketsphinx-en-us`), which has no `align` command: each phone of the
 * transcript becomes a "word" of a linear grammar (one word per phone, a
 * dictionary in which word `p_aa` is the phone AA), and `pocketsphinx_batch
 * -adcin yes -fsgusefiller yes -hypseg` decodes the utterance with it; the
 * segmentation of the best path gives every phone's start frame, and the
 * optional filler words (`<sil>`, noise) take pauses. The grammar is the
 * linear JSGF `public <s> = p_dh p_ah …;` written in pocketsphinx's compiled
 * FSG form, so that one process aligns a whole batch (`-fsgctl`, one grammar per
 * utterance) instead of loading the acoustic model once per clip.
 *
 * Any language: the transcript's phonemes come from espeak-ng (IPA, the
 * training target); each is mapped to the nearest English phone only to
 * align (`ipaToCmu`), and the IPA ids keep the aligned times.
 *
 * Quality per clip: mean acoustic score per speech frame (log-likelihood in
 * pocketsphinx's log base, higher is better), the share of phones squeezed to
 * the 3-frame minimum (a transcript that does not match the audio gets
 * crushed into a few frames), and the speech span vs the whole clip.
 *
 * @module
 */
import { join } from "node:path";
import type { TimedPhoneme } from "./coarticulation.ts";

/** Where Debian's pocketsphinx-en-us installs the acoustic model. */
export const SPHINX_HMM = "/usr/share/pocketsphinx/model/en-us/en-us";

/** The 39 phones of the CMU/en-us model. */
export const CMU_PHONES: readonly string[] = [
  "AA",
  "AE",
  "AH",
  "AO",
  "AW",
  "AY",
  "B",
  "CH",
  "D",
  "DH",
  "EH",
  "ER",
  "EY",
  "F",
  "G",
  "HH",
  "IH",
  "IY",
  "JH",
  "K",
  "L",
  "M",
  "N",
  "NG",
  "OW",
  "OY",
  "P",
  "R",
  "S",
  "SH",
  "T",
  "TH",
  "UH",
  "UW",
  "V",
  "W",
  "Y",
  "Z",
  "ZH",
]; // deno-fmt-ignore

/** Nearest English phone of one base IPA symbol (`undefined`: not aligned, e.g. ʔ). */
const IPA_CMU: Record<string, string> = {
  // vowels
  i: "IY", y: "IY", ɨ: "IH", ʉ: "UW", ɯ: "UW", u: "UW", ɪ: "IH", ʏ: "IH", ʊ: "UH", ᵻ: "IH",
  e: "EY", ø: "ER", ɘ: "AH", ɵ: "AH", ɤ: "AH", o: "OW", ə: "AH", ɚ: "ER", ɛ: "EH", œ: "EH",
  ɜ: "ER", ɝ: "ER", ɞ: "AH", ʌ: "AH", ɔ: "AO", æ: "AE", ɐ: "AH", a: "AA", ä: "AA", ɶ: "AA",
  ɑ: "AA", ɒ: "AA",
  // consonants
  p: "P", b: "B", m: "M", ɸ: "F", β: "V", ʙ: "B", f: "F", v: "V", ɱ: "M", ʋ: "V", θ: "TH",
  ð: "DH", t: "T", d: "D", n: "N", s: "S", z: "Z", l: "L", ɫ: "L", ɬ: "L", ɮ: "L", ɾ: "D",
  r: "R", ɹ: "R", ʃ: "SH", ʒ: "ZH", ɕ: "SH", ʑ: "ZH", ʈ: "T", ɖ: "D", ɳ: "N", ʂ: "SH",
  ʐ: "ZH", ɻ: "R", ɭ: "L", ɽ: "D", c: "K", ɟ: "G", ɲ: "N", ç: "HH", ʝ: "Y", j: "Y", ʎ: "L",
  w: "W", ʍ: "W", ɥ: "W", k: "K", g: "G", ɡ: "G", ŋ: "NG", x: "HH", ɣ: "G", ɰ: "W", ʟ: "L",
  q: "K", ɢ: "G", ɴ: "NG", χ: "HH", ʁ: "R", ʀ: "R", ħ: "HH", ʕ: "HH", h: "HH", ɦ: "HH",
}; // deno-fmt-ignore

/** Two-symbol sequences with one English phone. */
const IPA_PAIRS: Record<string, string> = {
  aɪ: "AY", aʊ: "AW", ɔɪ: "OY", eɪ: "EY", oʊ: "OW", əʊ: "OW", tʃ: "CH", dʒ: "JH", ɜː: "ER",
  ɑɪ: "AY", ɐɪ: "AY", ʌɪ: "AY", ɛɪ: "EY", tɕ: "CH", dʑ: "JH", tʂ: "CH", dʐ: "JH",
}; // deno-fmt-ignore

/** Strip stress, length and diacritics from an espeak-ng phoneme id. */
function baseIpa(id: string): string {
  return id.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(
    /[ˈˌːˑ.\-_ʲʷᵝʰˠˤ̪̃\u02de'",;:!?0-9]/g,
    "",
  );
}

/** English phones (alignment units) for one espeak-ng phoneme id; `[]` for pauses/unknown. */
export function ipaToCmu(id: string): string[] {
  const s = [...baseIpa(id)];
  const out: string[] = [];
  for (let i = 0; i < s.length; i++) {
    const pair = i + 1 < s.length ? IPA_PAIRS[s[i]! + s[i + 1]!] : undefined;
    if (pair) {
      out.push(pair);
      i++;
      continue;
    }
    const c = IPA_CMU[s[i]!];
    if (c && out[out.length - 1] !== c) out.push(c);
  }
  return out;
}

/** One utterance to align: 16 kHz audio and the espeak-ng phoneme ids of its transcript. */
export interface AlignRequest {
  id: string;
  /** `[N]` mono 16 kHz, −1…1. */
  samples: Float32Array;
  /** espeak-ng phoneme ids in order (IPA; "" = pause). */
  phonemes: readonly string[];
}

/** Alignment of one utterance. */
export interface AlignResult {
  id: string;
  /** The IPA phonemes with aligned times (s); phonemes with no English unit are left out. */
  phonemes: TimedPhoneme[];
  /** Mean acoustic score per frame of the aligned phones (pocketsphinx log units; higher is better). */
  scorePerFrame: number;
  /** Share of phones at the 3-frame minimum duration. */
  squeezed: number;
  /** Aligned speech span (first phone start … last phone end) over the clip duration. */
  speechShare: number;
  /** False when pocketsphinx found no path through the grammar. */
  found: boolean;
}

/** Pocketsphinx frame i covers samples 160 i … 160 i + 410 (centre ≈ 12.8 ms after ours at 160 i). */
const SPHINX_FRAME_OFFSET_S = 0.008;

/**
 * Options of `alignPhones`. The defaults are what every training shard uses
 * (beams 1e-80/1e-80/1e-60, pocketsphinx's own `-remove_silence yes`).
 */
export interface AlignOptions {
  /**
   * `pocketsphinx_batch` arguments that replace or add to the defaults, e.g.
   * `{ "-beam": "1e-200" }` (pocketsphinx rejects a repeated argument, so they
   * are merged by name).
   */
  sphinxArgs?: Readonly<Record<string, string>>;
  /**
   * Align only up to 0.2 s after the last 10 ms frame whose RMS is within this
   * many dB of the clip's loudest (reverberant recordings: without
   * pocketsphinx's VAD the last phones otherwise stretch into the decaying
   * tail). `speechShare` is then relative to the trimmed clip.
   */
  trimTailDb?: number;
}

/** `x` `[N]` cut 0.2 s after its last 10 ms frame within `db` of the loudest frame. */
export function trimTail(x: Float32Array, db: number): Float32Array {
  const hop = 160;
  const rms = new Float64Array(Math.max(1, Math.floor(x.length / hop)));
  for (let f = 0; f < rms.length; f++) {
    let e = 0;
    for (let i = f * hop; i < Math.min(x.length, (f + 2) * hop); i++) e += x[i]! * x[i]!;
    rms[f] = Math.sqrt(e / (2 * hop));
  }
  let peak = 0;
  for (const v of rms) peak = Math.max(peak, v);
  const floor = peak * 10 ** (-db / 20);
  let last = rms.length - 1;
  while (last > 0 && rms[last]! < floor) last--;
  return x.subarray(0, Math.min(x.length, (last + 2) * hop + 3200));
}

let haveSphinxCache: boolean | undefined;
/** True when `pocketsphinx_batch` and the en-us model are installed. */
export async function haveSphinx(): Promise<boolean> {
  if (haveSphinxCache !== undefined) return haveSphinxCache;
  try {
    await Deno.stat(join(SPHINX_HMM, "mdef"));
    const out = await new Deno.Command("pocketsphinx_batch", {
      args: [],
      stdout: "null",
      stderr: "null",
    })
      .output();
    haveSphinxCache = out.code !== 127;
  } catch {
    haveSphinxCache = false;
  }
  return haveSphinxCache;
}

function toS16(x: Float32Array): Uint8Array {
  const out = new Int16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    out[i] = Math.max(-32768, Math.min(32767, Math.round(x[i]! * 32767)));
  }
  return new Uint8Array(out.buffer);
}

/**
 * Align a batch of utterances with one `pocketsphinx_batch` run. Throws a clear
 * error naming the Debian packages when pocketsphinx is missing.
 */
export async function alignPhones(
  reqs: readonly AlignRequest[],
  opts: AlignOptions = {},
): Promise<AlignResult[]> {
  if (!(await haveSphinx())) {
    throw new Error(
      "Phone alignment needs pocketsphinx_batch and the en-us model: " +
        "apt-get install pocketsphinx pocketsphinx-en-us",
    );
  }
  if (opts.trimTailDb !== undefined) {
    const db = opts.trimTailDb;
    reqs = reqs.map((q) => ({ ...q, samples: trimTail(q.samples, db) }));
  }
  const dir = await Deno.makeTempDir({ prefix: "dub-align-" });
  try {
    const dict = CMU_PHONES.map((p) => `p_${p.toLowerCase()} ${p}`).join("\n") + "\n";
    await Deno.writeTextFile(join(dir, "phones.dict"), dict);
    // Per request: the units and, for each unit, which IPA phoneme it belongs to.
    const plans: Array<{ units: string[]; owner: number[] }> = [];
    const ctl: string[] = [];
    const fsgCtl: string[] = [];
    for (let r = 0; r < reqs.length; r++) {
      const q = reqs[r]!;
      const units: string[] = [];
      const owner: number[] = [];
      q.phonemes.forEach((id, k) => {
        for (const u of ipaToCmu(id)) {
          units.push(u);
          owner.push(k);
        }
      });
      plans.push({ units, owner });
      if (units.length === 0) continue;
      const name = `u${r}`;
      await Deno.writeFile(join(dir, `${name}.raw`), toS16(q.samples));
      const fsg = [`FSG_BEGIN ${name}`, `NUM_STATES ${units.length + 1}`, "START_STATE 0"];
      fsg.push(`FINAL_STATE ${units.length}`);
      units.forEach((u, i) => fsg.push(`TRANSITION ${i} ${i + 1} 1.0 p_${u.toLowerCase()}`));
      fsg.push("FSG_END", "");
      await Deno.writeTextFile(join(dir, `${name}.fsg`), fsg.join("\n"));
      ctl.push(name);
      fsgCtl.push(join(dir, `${name}.fsg`));
    }
    const hyps = new Map<string, string>();
    if (ctl.length) {
      await Deno.writeTextFile(join(dir, "ctl"), ctl.join("\n") + "\n");
      await Deno.writeTextFile(join(dir, "fsgctl"), fsgCtl.join("\n") + "\n");
      const args: Record<string, string> = {
        "-adcin": "yes",
        "-cepdir": dir,
        "-cepext": ".raw",
        "-ctl": join(dir, "ctl"),
        "-hmm": SPHINX_HMM,
        "-dict": join(dir, "phones.dict"),
        "-fsgctl": join(dir, "fsgctl"),
        "-fsgusefiller": "yes",
        "-bestpath": "no",
        "-hypseg": join(dir, "seg"),
        "-beam": "1e-80",
        "-pbeam": "1e-80",
        "-wbeam": "1e-60",
        "-logfn": join(dir, "log"),
        ...opts.sphinxArgs,
      };
      const out = await new Deno.Command("pocketsphinx_batch", {
        args: Object.entries(args).flat(),
        stdout: "null",
        stderr: "null",
      }).output();
      const segText = await Deno.readTextFile(join(dir, "seg")).catch(() => "");
      if (!out.success && !segText) {
        const log = await Deno.readTextFile(join(dir, "log")).catch(() => "");
        throw new Error(`pocketsphinx_batch failed: ${log.split("\n").slice(-5).join("\n")}`);
      }
      for (const line of segText.split("\n")) {
        const sp = line.indexOf(" ");
        if (sp > 0) hyps.set(line.slice(0, sp), line);
      }
    }
    return reqs.map((q, r) => parseHyp(q, plans[r]!, hyps.get(`u${r}`)));
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Parse one `-hypseg` line: `id S s T total A ascr L lscr (sf ascr lscr word)* ef`
 * and give each IPA phoneme the span of its units.
 */
function parseHyp(
  q: AlignRequest,
  plan: { units: string[]; owner: number[] },
  line: string | undefined,
): AlignResult {
  const durS = q.samples.length / 16000;
  const fail: AlignResult = {
    id: q.id,
    phonemes: [],
    scorePerFrame: -Infinity,
    squeezed: 1,
    speechShare: 0,
    found: false,
  };
  if (!line) return fail;
  const tok = line.trim().split(/\s+/);
  const body = tok.slice(9);
  const endFrame = Number(body[body.length - 1]);
  const words: Array<{ sf: number; ascr: number; word: string }> = [];
  for (let i = 0; i + 3 < body.length; i += 4) {
    words.push({ sf: Number(body[i]), ascr: Number(body[i + 1]), word: body[i + 3]! });
  }
  const units: Array<{ sf: number; ef: number; ascr: number }> = [];
  words.forEach((w, i) => {
    const ef = i + 1 < words.length ? words[i + 1]!.sf : endFrame;
    if (w.word.startsWith("p_")) units.push({ sf: w.sf, ef, ascr: w.ascr });
  });
  if (units.length !== plan.units.length || units.length === 0) return fail;
  const spans = new Map<number, { s: number; e: number }>();
  let frames = 0, ascr = 0, squeezed = 0;
  units.forEach((u, i) => {
    const k = plan.owner[i]!;
    const sp = spans.get(k);
    spans.set(k, sp ? { s: sp.s, e: u.ef } : { s: u.sf, e: u.ef });
    frames += u.ef - u.sf;
    ascr += u.ascr;
    if (u.ef - u.sf <= 3) squeezed++;
  });
  const phonemes: TimedPhoneme[] = [];
  for (const [k, sp] of [...spans].sort((a, b) => a[0] - b[0])) {
    phonemes.push({
      id: q.phonemes[k]!,
      startS: sp.s / 100 + SPHINX_FRAME_OFFSET_S,
      endS: sp.e / 100 + SPHINX_FRAME_OFFSET_S,
    });
  }
  const first = phonemes[0]!.startS;
  const last = phonemes[phonemes.length - 1]!.endS;
  return {
    id: q.id,
    phonemes,
    scorePerFrame: ascr / Math.max(1, frames),
    squeezed: squeezed / units.length,
    speechShare: (last - first) / Math.max(1e-3, durS),
    found: true,
  };
}
