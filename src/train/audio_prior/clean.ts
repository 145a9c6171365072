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
import { logMel, MEL_CONFIG } from "../../audio/mel.ts";
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
export async function referenceAgreement(prior: AudioPrior, u: RealUtt): Promise<number> {
  const mel = logMel(u.samples);
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
  let kept = [...utts];
  let droppedUntranscribed = 0, droppedTeacher = 0;
  if (opts.dropUntranscribed) {
    kept = kept.filter((u) =>
      untranscribedVoicedFrames(u.samples, logMel(u.samples).data, u.phonemes) <
        UNTRANSCRIBED_MAX_FRAMES
    );
    droppedUntranscribed = utts.length - kept.length;
  }
  if (opts.teacherMinR > 0) {
    using teacher = await AudioPrior.load(TEACHER_PATH);
    const pass: RealUtt[] = [];
    // NaN (a constant reference) fails the comparison: dropped.
    for (const u of kept) {
      if ((await referenceAgreement(teacher, u)) >= opts.teacherMinR) pass.push(u);
    }
    droppedTeacher = kept.length - pass.length;
    kept = pass;
  }
  return { kept, droppedUntranscribed, droppedTeacher };
}
