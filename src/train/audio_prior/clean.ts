/**
 * Cleaning of aligned real training clips before training (never applied to
 * the held-out evaluation sets beyond the model-independent gate of
 * `eval.ts`): a clip is dropped when
 *
 * 1. it holds ≥ 50 ms of loud voiced sound outside its alignment
 *    (`untranscribedVoicedFrames`, `breath.ts`): speech the transcript or the
 *    aligner missed, whose "rest" targets would teach a closed mouth on speech;
 * 2. (optional) its reference does not follow the audio: Pearson r of
 *    jaw_open + lip_aperture between a teacher prior's prediction (the
 *    synthetic-only model, which never saw these clips) and the clip's aligned
 *    targets is below `teacherMinR`. A mistranscribed or misaligned clip scores
 *    ≈ 0; typical clean clips ≈ 0.7 (asterisk quartiles 0.63 / 0.72 / 0.81).
 *
 * `train.ts` and `interpolate.ts` apply the same cleaning before the seeded
 * validation split, so both see the same validation clips.
 *
 * @module
 */
import { ARTICULATION_DIM } from "../../articulation/mod.ts";
import { type LogMel, logMel, MEL_CONFIG } from "../../audio/mel.ts";
import { AudioPrior } from "../../audio/prior.ts";
import { REPO_ROOT } from "../../../fixtures/mod.ts";
import { join } from "node:path";
import { pearson } from "../head/metrics.ts";
import { UNTRANSCRIBED_MAX_FRAMES, untranscribedVoicedFrames } from "./breath.ts";
import { articulationTargets } from "./coarticulation.ts";
import type { RealUtt } from "./real_corpus.ts";

/** What to drop (see the module doc). */
export interface CleanOptions {
  dropUntranscribed: boolean;
  /** 0 = keep every clip whatever its reference agreement. */
  teacherMinR: number;
}

/** The teacher of the agreement filter: the synthetic-only prior. */
export const TEACHER_PATH: string = join(REPO_ROOT, "models", "audio_prior_synth.onnx");

/** r of jaw_open + lip_aperture: a prior's prediction vs the clip's aligned targets. */
export async function referenceAgreement(
  prior: AudioPrior,
  u: RealUtt,
  mel: LogMel = logMel(u.samples),
): Promise<number> {
  const p = await prior.predict(mel.data);
  const t = articulationTargets(u.phonemes, mel.frames, MEL_CONFIG.frameRateHz);
  const a = new Float64Array(mel.frames);
  const b = new Float64Array(mel.frames);
  for (let j = 0; j < mel.frames; j++) {
    a[j] = p[j * ARTICULATION_DIM]! + p[j * ARTICULATION_DIM + 1]!;
    b[j] = t[j * ARTICULATION_DIM]! + t[j * ARTICULATION_DIM + 1]!;
  }
  return pearson(a, b);
}

/** Keep the clips that pass; counts of the dropped ones by reason. */
export async function cleanClips(
  utts: readonly RealUtt[],
  opts: CleanOptions,
): Promise<{ kept: RealUtt[]; droppedUntranscribed: number; droppedTeacher: number }> {
  using teacher = opts.teacherMinR > 0 ? await AudioPrior.load(TEACHER_PATH) : undefined;
  const kept: RealUtt[] = [];
  let droppedUntranscribed = 0, droppedTeacher = 0;
  for (const u of utts) {
    const mel = logMel(u.samples); // once per clip, for both tests
    if (
      opts.dropUntranscribed &&
      untranscribedVoicedFrames(u.samples, mel.data, u.phonemes) >= UNTRANSCRIBED_MAX_FRAMES
    ) {
      droppedUntranscribed++;
      continue;
    }
    // NaN (a constant reference) fails the comparison: dropped.
    if (teacher && !((await referenceAgreement(teacher, u, mel)) >= opts.teacherMinR)) {
      droppedTeacher++;
      continue;
    }
    kept.push(u);
  }
  return { kept, droppedUntranscribed, droppedTeacher };
}
