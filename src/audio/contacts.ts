/**
 * Physical consistency between channels: sealed lips have no gap, and a lower
 * lip tucked under the teeth leaves only a small one. Applied to the phoneme
 * targets and to every prediction, so the two agree:
 *
 *   lip_aperture ← lip_aperture · (1 − bilabial_closure) · (1 − 0.6 · labiodental)
 *
 * @module
 */
import { ARTICULATION_DIM, channelIndex } from "../articulation/mod.ts";

const A = channelIndex("lip_aperture");
const B = channelIndex("bilabial_closure");
const L = channelIndex("labiodental");

/** Enforce the contact constraints on a track `[T, C]` in place; returns it. */
export function enforceContacts(track: Float32Array): Float32Array {
  const c = ARTICULATION_DIM;
  for (let j = 0; j < track.length / c; j++) {
    const b = Math.min(1, Math.max(0, track[j * c + B]!));
    const l = Math.min(1, Math.max(0, track[j * c + L]!));
    track[j * c + A] = track[j * c + A]! * (1 - b) * (1 - 0.6 * l);
  }
  return track;
}
