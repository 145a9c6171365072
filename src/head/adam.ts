/**
 * Adam (torch semantics, bias-corrected) over named parameter groups held on the
 * host, with one learning rate per group. Moments are named groups too, so
 * densification (`src/splat/densify.ts`) can carry them along with the parameters.
 *
 * @module
 */

export class HostAdam {
  readonly m = new Map<string, Float32Array>();
  readonly v = new Map<string, Float32Array>();
  t = 0;
  constructor(
    public lr: Record<string, number>,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly eps = 1e-15,
  ) {}

  /** One update of `params[name]` by `grads[name]` for every group with a learning rate. */
  step(params: Record<string, Float32Array>, grads: Record<string, ArrayLike<number>>): void {
    this.t++;
    const b1 = this.beta1, b2 = this.beta2;
    const bc1 = 1 - b1 ** this.t, bc2 = Math.sqrt(1 - b2 ** this.t);
    for (const [name, lr] of Object.entries(this.lr)) {
      const p = params[name], g = grads[name];
      if (!p || !g || lr === 0) continue;
      if (g.length !== p.length) {
        throw new RangeError(
          `HostAdam: gradient of "${name}" has ${g.length} values, expected ${p.length}`,
        );
      }
      let m = this.m.get(name), v = this.v.get(name);
      if (!m || m.length !== p.length) this.m.set(name, m = new Float32Array(p.length));
      if (!v || v.length !== p.length) this.v.set(name, v = new Float32Array(p.length));
      const step = lr / bc1;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]!;
        const mi = b1 * m[i]! + (1 - b1) * gi;
        const vi = b2 * v[i]! + (1 - b2) * gi * gi;
        m[i] = mi, v[i] = vi;
        p[i] = p[i]! - (step * mi) / (Math.sqrt(vi) / bc2 + this.eps);
      }
    }
  }
}
