/**
 * The articulation space: a small, language-independent description of what the
 * mouth is doing in one video frame. The audio prior predicts it from speech
 * (`lipsync.expression`), face tracking measures it from a face mesh
 * (`face.track`), and speaker adaptation maps it to the speaker's own mesh
 * deformation. This file is the single definition of the channels; everything
 * else indexes channels through {@link ARTICULATION_CHANNELS} / {@link channelIndex}.
 *
 * All channels are normalised to [0, 1] except `mouth_width`, which is a signed
 * change relative to the speaker's neutral width in [-1, 1]. Geometric channels
 * are defined on the canonical head (MediaPipe canonical face mesh, cm) after the
 * rigid head pose is removed, so they do not depend on camera distance.
 *
 * @module
 */

/** One articulation channel. */
export interface ArticulationChannel {
  /** Stable snake_case name used in files, ONNX metadata and YAML. */
  readonly name: string;
  /** What the channel means, physically. */
  readonly description: string;
  /** Inclusive value range. */
  readonly range: readonly [number, number];
  /** Value for a relaxed, closed, neutral mouth (silence). */
  readonly neutral: number;
  /** How it is measured from a face mesh (canonical head space, cm). */
  readonly geometry: string;
}

/** The channels, in the order used by every array `[T, C]` of articulation. */
export const ARTICULATION_CHANNELS: readonly ArticulationChannel[] = [
  {
    name: "jaw_open",
    description: "Jaw opening: 0 closed teeth, 1 wide open (about 2.5 cm chin drop)",
    range: [0, 1],
    neutral: 0,
    geometry: "chin (152) to nose base (2) distance minus the neutral distance, / 2.5 cm, clamped",
  },
  {
    name: "lip_aperture",
    description: "Vertical gap between the inner lips: 0 touching, 1 about 2 cm apart",
    range: [0, 1],
    neutral: 0,
    geometry: "inner-lip midline gap (13-14) minus the speaker's closed gap, / 2.0 cm, clamped",
  },
  {
    name: "mouth_width",
    description: "Mouth corner distance relative to neutral: -1 narrow/rounded, +1 spread",
    range: [-1, 1],
    neutral: 0,
    geometry:
      "(corner distance - neutral corner distance) / (0.3 * neutral corner distance), clamped",
  },
  {
    name: "lip_protrusion",
    description: "Lip rounding and protrusion (u, o, ʃ): 0 none, 1 fully pushed forward",
    range: [0, 1],
    neutral: 0,
    geometry:
      "forward (z) displacement of the lip midpoints (0, 13, 14, 17) vs neutral / 0.8 cm, clamped",
  },
  {
    name: "bilabial_closure",
    description: "Lips pressed together (p, b, m): 1 sealed, 0 not in contact",
    range: [0, 1],
    neutral: 0,
    geometry:
      "1 when the inner-lip gap is below 0.1 cm and the jaw is not open, falling to 0 at 0.4 cm",
  },
  {
    name: "labiodental",
    description: "Lower lip tucked under the upper teeth (f, v): 1 full contact",
    range: [0, 1],
    neutral: 0,
    geometry:
      "outer lower lip (17) retracted behind the upper lip (0) by 0.1-0.4 cm more than neutral, lips nearly closed",
  },
  {
    name: "teeth_visible",
    description: "Share of the upper/lower teeth exposed between the lips",
    range: [0, 1],
    neutral: 0,
    geometry: "inner-lip gap beyond 0.2 cm relative to 1.0 cm, weighted by spread, clamped",
  },
  {
    name: "tongue_visible",
    description: "Tongue tip visible between the teeth (θ, ð, l): 0 hidden, 1 forward",
    range: [0, 1],
    neutral: 0,
    geometry: "not observable from the mesh; measured as 0 (audio prior only)",
  },
] as const;

/** Number of articulation channels C. */
export const ARTICULATION_DIM: number = ARTICULATION_CHANNELS.length;

/** Channel names in order. */
export const ARTICULATION_NAMES: readonly string[] = ARTICULATION_CHANNELS.map((
  c,
) => c.name);

/** Index of a channel by name; throws a RangeError for an unknown name. */
export function channelIndex(name: string): number {
  const i = ARTICULATION_NAMES.indexOf(name);
  if (i < 0) {
    throw new RangeError(
      `Unknown articulation channel "${name}"; expected one of ${ARTICULATION_NAMES.join(", ")}`,
    );
  }
  return i;
}

/** The neutral (closed, relaxed) articulation vector, `[C]`. */
export function neutralArticulation(): Float32Array {
  return Float32Array.from(ARTICULATION_CHANNELS.map((c) => c.neutral));
}

/** Clamp every channel of a `[T, C]` track (row-major) to its range, in place. */
export function clampArticulation(track: Float32Array): Float32Array {
  if (track.length % ARTICULATION_DIM !== 0) {
    throw new RangeError(
      `Articulation track length ${track.length} is not a multiple of ${ARTICULATION_DIM}`,
    );
  }
  for (let i = 0; i < track.length; i++) {
    const ch = ARTICULATION_CHANNELS[i % ARTICULATION_DIM]!;
    const v = track[i]!;
    track[i] = Number.isFinite(v) ? Math.min(ch.range[1], Math.max(ch.range[0], v)) : ch.neutral;
  }
  return track;
}
