/**
 * Measuring the articulation channels ({@link ARTICULATION_CHANNELS}) and eye
 * blinks from a face mesh in canonical head space (the tracked 468 landmarks with
 * the rigid head pose removed, MediaPipe canonical mesh units = cm).
 *
 * Measurement is in two steps so that it does not depend on the speaker's face
 * shape: {@link measureGeometry} takes raw distances from one frame's mesh, and
 * {@link articulationFromGeometry} normalises them against the speaker's neutral
 * (closed, relaxed) geometry, estimated over a clip by {@link estimateNeutral}.
 *
 * @module
 */
import { ARTICULATION_DIM, channelIndex } from "./mod.ts";

/** MediaPipe face-mesh landmark indices used here. */
export const LANDMARK = {
  upperLipOuter: 0,
  upperLipInner: 13,
  lowerLipInner: 14,
  lowerLipOuter: 17,
  mouthCornerRight: 61, // subject's right (image left on a frontal face)
  mouthCornerLeft: 291,
  noseBase: 2,
  chin: 152,
  rightEyeOuter: 33,
  rightEyeInner: 133,
  rightEyeUpper: 159,
  rightEyeLower: 145,
  leftEyeOuter: 263,
  leftEyeInner: 362,
  leftEyeUpper: 386,
  leftEyeLower: 374,
} as const;

/** Raw mouth and eye measurements of one frame, canonical head space (cm). */
export interface FaceGeometry {
  /** Inner-lip midline gap (13–14). */
  lipGapCm: number;
  /** Mouth corner distance (61–291). */
  mouthWidthCm: number;
  /** Chin (152) to nose base (2): grows as the jaw drops. */
  chinDropCm: number;
  /** Mean z (forward) of the four lip midline points. */
  lipForwardCm: number;
  /** z of the upper minus z of the lower outer lip midline (lower lip tucked → larger). */
  lipStepCm: number;
  /** Eye opening / eye width per eye: [subject's right, subject's left]. */
  eyeOpenness: [number, number];
}

/** The speaker's neutral geometry (closed, relaxed mouth; open eyes). */
export interface NeutralGeometry {
  lipGapCm: number;
  mouthWidthCm: number;
  chinDropCm: number;
  lipForwardCm: number;
  lipStepCm: number;
  /** Openness of a fully open eye, per eye. */
  eyeOpenness: [number, number];
}

function dist(v: ArrayLike<number>, a: number, b: number): number {
  return Math.hypot(
    v[a * 3]! - v[b * 3]!,
    v[a * 3 + 1]! - v[b * 3 + 1]!,
    v[a * 3 + 2]! - v[b * 3 + 2]!,
  );
}

/** Raw measurements of a head-space mesh `vertices` ([468, 3], cm). */
export function measureGeometry(vertices: ArrayLike<number>): FaceGeometry {
  if (vertices.length !== 468 * 3) {
    throw new RangeError(
      `measureGeometry(): expected 468×3 vertex coordinates, got ${vertices.length}`,
    );
  }
  const L = LANDMARK;
  const z = (i: number) => vertices[i * 3 + 2]!;
  return {
    lipGapCm: dist(vertices, L.upperLipInner, L.lowerLipInner),
    mouthWidthCm: dist(vertices, L.mouthCornerRight, L.mouthCornerLeft),
    chinDropCm: dist(vertices, L.chin, L.noseBase),
    lipForwardCm: (z(L.upperLipOuter) + z(L.upperLipInner) + z(L.lowerLipInner) +
      z(L.lowerLipOuter)) / 4,
    lipStepCm: z(L.upperLipOuter) - z(L.lowerLipOuter),
    eyeOpenness: [
      dist(vertices, L.rightEyeUpper, L.rightEyeLower) /
      Math.max(dist(vertices, L.rightEyeOuter, L.rightEyeInner), 1e-6),
      dist(vertices, L.leftEyeUpper, L.leftEyeLower) /
      Math.max(dist(vertices, L.leftEyeOuter, L.leftEyeInner), 1e-6),
    ],
  };
}

function percentile(values: number[], p: number): number {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const i = Math.min(s.length - 1, Math.max(0, Math.round(p * (s.length - 1))));
  return s[i]!;
}

/**
 * The speaker's neutral geometry from many frames: the closed gap and jaw are low
 * percentiles (a speaker closes the mouth between words), width / protrusion /
 * lip step are medians, open eyes the 90th percentile of openness. With fewer than
 * `minFrames` frames the `fallback` (e.g. the canonical mesh's geometry) is used.
 */
export function estimateNeutral(
  samples: readonly FaceGeometry[],
  fallback: NeutralGeometry,
  minFrames = 10,
): NeutralGeometry {
  if (samples.length < minFrames) return fallback;
  const col = (f: (g: FaceGeometry) => number) => samples.map(f);
  return {
    lipGapCm: percentile(col((g) => g.lipGapCm), 0.05),
    mouthWidthCm: percentile(col((g) => g.mouthWidthCm), 0.5),
    chinDropCm: percentile(col((g) => g.chinDropCm), 0.1),
    lipForwardCm: percentile(col((g) => g.lipForwardCm), 0.5),
    lipStepCm: percentile(col((g) => g.lipStepCm), 0.5),
    eyeOpenness: [
      percentile(col((g) => g.eyeOpenness[0]), 0.9),
      percentile(col((g) => g.eyeOpenness[1]), 0.9),
    ],
  };
}

/** Neutral geometry of a single mesh taken as neutral (e.g. the canonical mesh). */
export function neutralOf(vertices: ArrayLike<number>): NeutralGeometry {
  const g = measureGeometry(vertices);
  return { ...g, eyeOpenness: [g.eyeOpenness[0], g.eyeOpenness[1]] };
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const ramp = (v: number, from: number, to: number) => clamp((v - from) / (to - from), 0, 1);

/**
 * bilabial_closure = (1 − ramp(lip gap beyond neutral, 0.1, 0.4 cm)) ·
 * (1 − ramp(jaw_open, {@link BILABIAL_JAW_RAMP})): lips together and the jaw
 * nearly closed.
 */
export const BILABIAL_JAW_RAMP: readonly [number, number] = [0.1, 0.3];

const CH = {
  jaw: channelIndex("jaw_open"),
  aperture: channelIndex("lip_aperture"),
  width: channelIndex("mouth_width"),
  protrusion: channelIndex("lip_protrusion"),
  bilabial: channelIndex("bilabial_closure"),
  labiodental: channelIndex("labiodental"),
  teeth: channelIndex("teeth_visible"),
  tongue: channelIndex("tongue_visible"),
};

/** Articulation vector `[C]` of one frame's geometry against the speaker's neutral. */
export function articulationFromGeometry(
  g: FaceGeometry,
  n: NeutralGeometry,
): Float32Array {
  const out = new Float32Array(ARTICULATION_DIM);
  const gap = Math.max(0, g.lipGapCm - n.lipGapCm); // opening beyond the speaker's closed lips
  const jaw = clamp((g.chinDropCm - n.chinDropCm) / 2.5, 0, 1);
  const width = clamp(
    (g.mouthWidthCm - n.mouthWidthCm) / (0.3 * n.mouthWidthCm),
    -1,
    1,
  );
  out[CH.jaw] = jaw;
  out[CH.aperture] = clamp(gap / 2.0, 0, 1);
  out[CH.width] = width;
  out[CH.protrusion] = clamp((g.lipForwardCm - n.lipForwardCm) / 0.8, 0, 1);
  out[CH.bilabial] = (1 - ramp(gap, 0.1, 0.4)) *
    (1 - ramp(jaw, BILABIAL_JAW_RAMP[0], BILABIAL_JAW_RAMP[1]));
  out[CH.labiodental] = ramp(g.lipStepCm - n.lipStepCm, 0.1, 0.4) *
    (1 - ramp(gap, 0.3, 0.6));
  out[CH.teeth] = ramp(gap, 0.2, 1.2) * clamp(0.6 + 0.4 * width, 0, 1);
  out[CH.tongue] = 0;
  return out;
}

/** Blink per eye in [0, 1] (0 open, 1 closed) from openness against the open-eye reference. */
export function blinkFromGeometry(
  g: FaceGeometry,
  n: NeutralGeometry,
): [number, number] {
  const b = (o: number, ref: number) => clamp(1 - o / Math.max(ref, 1e-6), 0, 1);
  return [
    b(g.eyeOpenness[0], n.eyeOpenness[0]),
    b(g.eyeOpenness[1], n.eyeOpenness[1]),
  ];
}
