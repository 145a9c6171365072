/**
 * Reusable typed-array buffers for the CPU reference. Allocating (and first
 * touching) large typed arrays is expensive (page faults: ≈20× the cost of
 * refilling an existing one here), so a training loop renders into the same
 * buffers every step. Buffers grow by 25% headroom and are handed out as views;
 * a view is valid until the next request of the same name.
 *
 * @module
 */

type Ctor<T> = { new (n: number): T };
type Typed = Float64Array | Int32Array | Uint32Array | Uint8Array;

export class Workspace {
  #bufs = new Map<string, Typed>();

  #get<T extends Typed>(ctor: Ctor<T>, name: string, n: number, zero: boolean): T {
    let b = this.#bufs.get(name) as T | undefined;
    if (!b || !(b instanceof ctor) || b.length < n) {
      b = new ctor(Math.max(n, Math.ceil((b?.length ?? 0) * 1.25)));
      this.#bufs.set(name, b);
      zero = false; // fresh buffers are zero
    }
    const v = (b.length === n ? b : b.subarray(0, n)) as T;
    if (zero) v.fill(0);
    return v;
  }

  /** Length of the buffer held under `name` (0: none yet). */
  capacity(name: string): number {
    return this.#bufs.get(name)?.length ?? 0;
  }

  f64(name: string, n: number, zero = false): Float64Array {
    return this.#get(Float64Array, name, n, zero);
  }
  i32(name: string, n: number, zero = false): Int32Array {
    return this.#get(Int32Array, name, n, zero);
  }
  u32(name: string, n: number, zero = false): Uint32Array {
    return this.#get(Uint32Array, name, n, zero);
  }
  u8(name: string, n: number, zero = false): Uint8Array {
    return this.#get(Uint8Array, name, n, zero);
  }
}
