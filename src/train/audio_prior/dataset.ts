/**
 * Training / evaluation data for the prior: espeak-ng utterances resampled to
 * 16 kHz with their timed phonemes, and random training clips built from them
 * (placement with silence gaps, a second utterance, speed perturbation,
 * background-only clips, augmentation), each with log-mel features `[T, 80]`
 * and articulation targets `[T, 8]` on the same 100 Hz clock.
 *
 * @module
 */
import { ARTICULATION_DIM } from "../../articulation/mod.ts";
import { logMel, MEL_CONFIG, melCentersHz, melFrameCount } from "../../audio/mel.ts";
import { resample } from "../../audio/resample.ts";
import { augmentClip, breath, equalizeMel, music, noise, warpMel } from "./augment.ts";
import { articulationTargets, type TimedPhoneme } from "./coarticulation.ts";
import { Espeak, randomText, Rng } from "./corpus.ts";

/** An utterance at 16 kHz. */
export interface Utt16 {
  language: string;
  variant: string;
  /** `[N]` at 16 kHz. */
  samples: Float32Array;
  phonemes: TimedPhoneme[];
  rms: number;
}

function rms(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / Math.max(1, x.length));
}

/**
 * Synthesise `count` utterances, each with a random language of `languages`,
 * a random variant of `variants`, rate 120–260 wpm and pitch 20–80.
 */
export async function buildCorpus(
  count: number,
  languages: Readonly<Record<string, Parameters<typeof randomText>[1]>>,
  variants: readonly string[],
  seed: number,
): Promise<Utt16[]> {
  const rng = new Rng(seed);
  const espeak = await Espeak.create();
  const langs = Object.keys(languages);
  const out: Utt16[] = [];
  for (let i = 0; i < count; i++) {
    const lang = langs[i % langs.length]!;
    const variant = rng.pick(variants);
    const text = randomText(rng, languages[lang]!, 4 + rng.int(10));
    const u = espeak.synthesize(text, lang, variant, rng.uniform(120, 260), rng.uniform(20, 80));
    if (u.samples.length < 2205) continue;
    const samples = resample(u.samples, u.sampleRateHz, MEL_CONFIG.sampleRateHz, {
      zeroCrossings: 12,
    });
    out.push({ language: lang, variant, samples, phonemes: u.phonemes, rms: rms(samples) });
  }
  return out;
}

/** What a training clip is cut from: an utterance with timed phonemes (synthetic or real). */
export interface ClipSource {
  /** `[N]` at 16 kHz. */
  samples: Float32Array;
  phonemes: TimedPhoneme[];
  rms: number;
  /** The same utterance through a low-bitrate codec (delay removed), `[N]`; see `codec.ts`. */
  codec?: Float32Array;
}

/** Probability of using an utterance's codec copy when it has one. */
export const CODEC_SHARE = 0.35;

/** One training clip: features `[frames, 80]`, targets `[frames, 8]`. */
export interface Clip {
  mel: Float32Array;
  target: Float32Array;
  frames: number;
}

/** Place `u` (optionally sped up by `speed`) into `canvas` at sample `offset` and return its shifted phonemes. */
function place(
  canvas: Float32Array,
  u: ClipSource,
  offset: number,
  speed: number,
  x0: Float32Array,
): TimedPhoneme[] {
  let x = x0;
  if (speed !== 1) {
    x = resample(x, Math.round(MEL_CONFIG.sampleRateHz * speed), MEL_CONFIG.sampleRateHz, {
      zeroCrossings: 8,
    });
  }
  for (let i = 0; i < x.length; i++) {
    const j = offset + i;
    if (j >= 0 && j < canvas.length) canvas[j] = canvas[j]! + x[i]!;
  }
  const t0 = offset / MEL_CONFIG.sampleRateHz;
  return u.phonemes.map((p) => ({
    id: p.id,
    startS: t0 + p.startS / speed,
    endS: t0 + p.endS / speed,
  }));
}

/** Optional augmentations of {@link makeClip} (all off = the synthetic-only recipe). */
export interface ClipOptions {
  /**
   * Probability of each of two feature-domain perturbations: vocal-tract-length
   * warping (α 0.88–1.12, {@link warpMel}) and a random equaliser
   * ({@link equalizeMel}); speakers and microphones the corpus lacks.
   */
  spectral?: number;
  /** Probability of one or two breaths ({@link breath}) in the clip's pauses (target: rest). */
  breaths?: number;
}

/**
 * A random training clip of `frames` feature frames from `corpus`: one or two
 * utterances at random offsets (so clips start and end in silence or
 * mid-speech), 50 % speed-perturbed (0.88–1.12), 4 % background only, then
 * optional breaths in the pauses, {@link augmentClip}, and optional spectral
 * perturbations ({@link ClipOptions}).
 */
export function makeClip(
  rng: Rng,
  corpus: readonly ClipSource[],
  frames: number,
  second: readonly ClipSource[] = corpus,
  opts: ClipOptions = {},
): Clip {
  const hop = MEL_CONFIG.hopLength;
  const n = (frames - 1) * hop;
  const canvas = new Float32Array(n);
  const phonemes: TimedPhoneme[] = [];
  let speechRms = 0.05;
  const r = rng.next();
  if (r < 0.04) {
    // Background only: music or noise must not move the lips.
    const bg = rng.next() < 0.5
      ? music(rng, n)
      : noise(rng, n, rng.pick(["white", "pink", "brown"] as const));
    const g = rng.uniform(0.005, 0.1);
    for (let i = 0; i < n; i++) canvas[i] = g * bg[i]!;
    return finish(rng, canvas, [], frames, g, opts);
  }
  const u = rng.pick(corpus);
  // Speed quantised to 1 % steps so the resampling ratio stays a small fraction.
  const speed = rng.next() < 0.5 ? Math.round(rng.uniform(88, 112)) / 100 : 1;
  const len = Math.round(u.samples.length / speed);
  const offset = Math.round(rng.uniform(-len + 0.3 * n, 0.7 * n));
  const pickAudio = (v: ClipSource) => v.codec && rng.next() < CODEC_SHARE ? v.codec : v.samples;
  phonemes.push(...place(canvas, u, offset, speed, pickAudio(u)));
  speechRms = u.rms;
  if (rng.next() < 0.35) {
    const v = rng.pick(second);
    const gap = Math.round(rng.uniform(0.05, 1.0) * MEL_CONFIG.sampleRateHz);
    phonemes.push(...place(canvas, v, offset + len + gap, 1, pickAudio(v)));
  }
  if (opts.breaths && rng.next() < opts.breaths) addBreaths(rng, canvas, phonemes, speechRms);
  return finish(rng, canvas, phonemes, frames, speechRms, opts);
}

/**
 * Add one or two breaths (0.25–0.7 s, −32…−12 dB re the speech RMS) inside the
 * pauses of `canvas`, each ≥ 120 ms from any phoneme, in place.
 */
function addBreaths(
  rng: Rng,
  canvas: Float32Array,
  phonemes: readonly TimedPhoneme[],
  speechRms: number,
): void {
  const sr = MEL_CONFIG.sampleRateHz;
  const busy = new Uint8Array(canvas.length);
  for (const p of phonemes) {
    if (!p.id) continue;
    const a = Math.max(0, Math.floor((p.startS - 0.12) * sr));
    const b = Math.min(canvas.length, Math.ceil((p.endS + 0.12) * sr));
    busy.fill(1, a, b);
  }
  const count = 1 + (rng.next() < 0.3 ? 1 : 0);
  for (let k = 0; k < count; k++) {
    const len = Math.round(rng.uniform(0.25, 0.7) * sr);
    // Free runs long enough for this breath.
    const starts: number[] = [];
    let run = 0;
    for (let i = 0; i < canvas.length; i++) {
      run = busy[i] ? 0 : run + 1;
      if (run >= len && (i - len + 1) % 160 === 0) starts.push(i - len + 1);
    }
    if (!starts.length) return;
    const at = rng.pick(starts);
    const x = breath(rng, len);
    const g = speechRms * 10 ** (rng.uniform(-32, -12) / 20);
    for (let i = 0; i < len; i++) canvas[at + i] = canvas[at + i]! + g * x[i]!;
    busy.fill(1, at, at + len);
  }
}

let centers: Float64Array | undefined;

function finish(
  rng: Rng,
  canvas: Float32Array,
  phonemes: TimedPhoneme[],
  frames: number,
  speechRms: number,
  opts: ClipOptions = {},
): Clip {
  const audio = augmentClip(rng, canvas, speechRms);
  const mel = logMel(audio);
  if (mel.frames !== frames) throw new Error(`Clip has ${mel.frames} frames, expected ${frames}`);
  if (opts.spectral) {
    const nMels = MEL_CONFIG.nMels;
    if (rng.next() < opts.spectral) {
      centers ??= melCentersHz();
      warpMel(mel.data, nMels, centers, Math.round(rng.uniform(88, 112)) / 100);
    }
    if (rng.next() < opts.spectral) equalizeMel(rng, mel.data, nMels);
  }
  const target = phonemes.length
    ? articulationTargets(phonemes, frames, MEL_CONFIG.frameRateHz)
    : new Float32Array(frames * ARTICULATION_DIM);
  return { mel: mel.data, target, frames };
}

/** Features and targets of a whole utterance (no augmentation), for evaluation. */
export function utteranceExample(u: Utt16): Clip {
  const mel = logMel(u.samples);
  const frames = melFrameCount(u.samples.length);
  return {
    mel: mel.data,
    target: articulationTargets(u.phonemes, frames, MEL_CONFIG.frameRateHz),
    frames,
  };
}
