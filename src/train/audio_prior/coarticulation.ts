/**
 * Coarticulation: turn a timed phoneme sequence into a smooth articulation
 * track with a dominance model (after Cohen & Massaro 1993). Each segment s
 * has a target T_s and a per-channel dominance α_s; its influence at time t is
 *
 *   D_s(t) = α_s · exp(−d / τ)   with d the distance from t to the segment
 *                                (0 inside it), τ = τ_before before the
 *                                segment (anticipation) and τ_after after it,
 *                                times a per-channel scale (contact channels
 *                                switch fast, rounding spreads furthest),
 *
 * and the track is the dominance-weighted mean Σ D_s T_s / Σ D_s per channel,
 * followed by the contact constraints of `src/audio/contacts.ts` (no lip gap
 * while the lips are sealed).
 * Strong segments (bilabial closure, labiodental contact, silence) win where
 * they are; weak ones (velars, glottals) take their neighbours' shape; lip
 * rounding spreads ahead into preceding consonants.
 *
 * @module
 */
import { ARTICULATION_DIM, channelIndex } from "../../articulation/mod.ts";
import { enforceContacts } from "../../audio/contacts.ts";
import { parsePhoneme, type PhonemeTarget, silenceTarget } from "./phonemes.ts";

/** A timed phoneme: espeak-ng id (IPA, "" for a pause) and its span in seconds. */
export interface TimedPhoneme {
  id: string;
  startS: number;
  endS: number;
}

/**
 * Per-channel scale of the time constants: contact channels (closure, tuck,
 * tongue) switch fast, the jaw and mouth width move slowly, rounding is
 * anticipated furthest.
 */
const TAU_SCALE: Float64Array = (() => {
  const s = new Float64Array(ARTICULATION_DIM).fill(1);
  s[channelIndex("lip_aperture")] = 0.5;
  s[channelIndex("lip_protrusion")] = 1.3;
  s[channelIndex("bilabial_closure")] = 0.3;
  s[channelIndex("labiodental")] = 0.3;
  s[channelIndex("teeth_visible")] = 0.5;
  s[channelIndex("tongue_visible")] = 0.3;
  return s;
})();

interface Segment {
  entry: PhonemeTarget;
  startS: number;
  endS: number;
}

/** Expand timed phonemes into table segments (diphthongs and affricates split evenly). */
export function toSegments(phonemes: readonly TimedPhoneme[]): Segment[] {
  const segs: Segment[] = [];
  for (const p of phonemes) {
    if (!(p.endS > p.startS)) continue;
    const parts = p.id === "" ? [silenceTarget()] : parsePhoneme(p.id);
    if (parts.length === 0) continue; // unknown symbol: neighbours fill in
    const d = (p.endS - p.startS) / parts.length;
    parts.forEach((entry, i) =>
      segs.push({ entry, startS: p.startS + i * d, endS: p.startS + (i + 1) * d })
    );
  }
  return segs;
}

/**
 * Articulation targets `[frames, C]` at `rateHz` (frame j at j / rateHz s) for
 * the timed phonemes. Time not covered by any phoneme is silence.
 */
export function articulationTargets(
  phonemes: readonly TimedPhoneme[],
  frames: number,
  rateHz = 100,
): Float32Array {
  const c = ARTICULATION_DIM;
  const segs = toSegments(phonemes);
  // Fill the gaps (and both ends) with silence segments.
  const sil = silenceTarget();
  const all: Segment[] = [];
  let cursor = -1;
  for (const s of [...segs].sort((a, b) => a.startS - b.startS)) {
    if (s.startS - cursor > 1e-3) all.push({ entry: sil, startS: cursor, endS: s.startS });
    all.push(s);
    cursor = Math.max(cursor, s.endS);
  }
  all.push({ entry: sil, startS: cursor, endS: frames / rateHz + 1 });
  const out = new Float32Array(frames * c);
  const num = new Float64Array(c);
  const den = new Float64Array(c);
  let first = 0;
  const reach = 0.5; // s; dominance beyond this is negligible (exp(−0.5/0.08))
  for (let j = 0; j < frames; j++) {
    const t = j / rateHz;
    num.fill(0);
    den.fill(0);
    while (first < all.length && all[first]!.endS < t - reach) first++;
    for (let k = first; k < all.length; k++) {
      const s = all[k]!;
      if (s.startS > t + reach) break;
      const e = s.entry;
      const before = s.startS - t; // > 0: segment is ahead (anticipation)
      const after = t - s.endS; // > 0: segment is behind (carry-over)
      const dist = before > 0 ? before / e.tauBeforeS : after > 0 ? after / e.tauAfterS : 0;
      if (dist > 14) continue;
      for (let ch = 0; ch < c; ch++) {
        const d = (dist === 0 ? 1 : Math.exp(-dist / TAU_SCALE[ch]!)) * e.dominance[ch]!;
        num[ch] = num[ch]! + d * e.target[ch]!;
        den[ch] = den[ch]! + d;
      }
    }
    for (let ch = 0; ch < c; ch++) out[j * c + ch] = den[ch]! > 0 ? num[ch]! / den[ch]! : 0;
  }
  return enforceContacts(out);
}
