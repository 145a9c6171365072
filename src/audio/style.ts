/**
 * Speaker style: calibrate the prior's output ranges to how this speaker
 * articulates, from their face track (no audio from the footage needed). Per
 * channel, the spread between the [low, high] percentiles of the predicted
 * track is matched to the same spread of the measured track (`articulation` of
 * a face-track file) by a gain a around the channel's neutral value n:
 * y = n + a·(x − n). A speaker who opens their jaw little gets small jaw
 * motion, one who rounds a lot gets strong rounding, and silence stays neutral
 * (offsets in the measured track are tracking bias, not style, so they are not
 * transferred).
 *
 * Channels the tracker cannot observe (constant or missing, e.g.
 * `tongue_visible`) keep the identity map; the scale is bounded to
 * [0.25, 4] so a short or odd track cannot blow the motion up.
 *
 * @module
 */
import { ARTICULATION_CHANNELS, ARTICULATION_DIM, clampArticulation } from "../articulation/mod.ts";

/** Per-channel affine map, `[C]` each. */
export interface StyleMap {
  scale: Float32Array;
  offset: Float32Array;
}

/** Options of {@link calibrateStyle}. */
export interface StyleOptions {
  /** Low / high percentiles compared (default 5 and 95). */
  lowPct?: number;
  highPct?: number;
  /** A channel whose measured or predicted spread is below this keeps the identity (default 0.02). */
  minSpread?: number;
}

function percentile(sorted: Float32Array, pct: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (pct / 100) * (sorted.length - 1);
  const a = Math.floor(pos);
  const b = Math.min(sorted.length - 1, a + 1);
  return sorted[a]! + (sorted[b]! - sorted[a]!) * (pos - a);
}

function column(track: Float32Array, ch: number): Float32Array {
  const c = ARTICULATION_DIM;
  const out: number[] = [];
  for (let j = 0; j < track.length / c; j++) {
    const v = track[j * c + ch]!;
    if (Number.isFinite(v)) out.push(v);
  }
  return Float32Array.from(out).sort();
}

/**
 * Fit the style map from a predicted track `[T, C]` and a measured track
 * `[T2, C]` (any lengths; NaN rows — frames without a face — are ignored).
 */
export function calibrateStyle(
  predicted: Float32Array,
  measured: Float32Array,
  opts: StyleOptions = {},
): StyleMap {
  const c = ARTICULATION_DIM;
  for (const [name, x] of [["predicted", predicted], ["measured", measured]] as const) {
    if (x.length % c !== 0) {
      throw new RangeError(`The ${name} track length ${x.length} is not a multiple of ${c}`);
    }
  }
  const lo = opts.lowPct ?? 5;
  const hi = opts.highPct ?? 95;
  const minSpread = opts.minSpread ?? 0.02;
  const scale = new Float32Array(c).fill(1);
  const offset = new Float32Array(c);
  for (let ch = 0; ch < c; ch++) {
    const p = column(predicted, ch);
    const m = column(measured, ch);
    if (p.length < 10 || m.length < 10) continue;
    const [plo, phi, mlo, mhi] = [
      percentile(p, lo),
      percentile(p, hi),
      percentile(m, lo),
      percentile(m, hi),
    ];
    if (phi - plo < minSpread || mhi - mlo < minSpread) continue;
    const a = Math.min(4, Math.max(0.25, (mhi - mlo) / (phi - plo)));
    const n = ARTICULATION_CHANNELS[ch]!.neutral;
    scale[ch] = a;
    offset[ch] = n * (1 - a) + 0; // + 0 turns −0 into 0
  }
  return { scale, offset };
}

/** Apply a style map to a track `[T, C]` (new array, clamped to the channel ranges). */
export function applyStyle(track: Float32Array, style: StyleMap): Float32Array {
  const c = ARTICULATION_DIM;
  if (track.length % c !== 0) {
    throw new RangeError(`Track length ${track.length} is not a multiple of ${c}`);
  }
  const out = new Float32Array(track.length);
  for (let i = 0; i < track.length; i++) {
    const ch = i % c;
    out[i] = style.scale[ch]! * track[i]! + style.offset[ch]!;
  }
  return clampArticulation(out);
}

/** Channel names with their map, for logs and file metadata. */
export function describeStyle(style: StyleMap): Record<string, { scale: number; offset: number }> {
  return Object.fromEntries(
    ARTICULATION_CHANNELS.map((
      ch,
      i,
    ) => [ch.name, { scale: style.scale[i]!, offset: style.offset[i]! }]),
  );
}
