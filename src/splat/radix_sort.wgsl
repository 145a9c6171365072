// One stable LSD radix-sort pass on (u32 key, u32 value) pairs, RADIX_BITS per pass.
//
// Design: three dispatches per pass — `histogram` (per block of RADIX_BLOCK keys,
// digit counts with workgroup atomics, stored digit-major: hist[d·blocks + b]),
// the single-workgroup exclusive scan of scan.wgsl over that table (which gives
// every (digit, block) its global base in one go), and `scatter`. Stability, which
// LSD needs and which keeps depth order inside each tile, comes from giving each
// thread a contiguous run of RADIX_ITEMS keys: the thread counts its own digits,
// the per-thread counts are scanned across threads in workgroup memory, and the
// thread then writes its keys in order. No subgroup operations are needed (Deno's
// WebGPU on llvmpipe exposes none). 4-bit digits keep the per-thread tables small
// (16 × 64 words of workgroup memory). The depth sort takes 8 passes over N
// Gaussians; the tile sort of instances only ceil(log2(tiles) / 4) passes, because
// instances are emitted already in depth order.

@group(0) @binding(0) var<uniform> pp: Pass;
@group(0) @binding(1) var<storage, read> keys_in: array<u32>;
@group(0) @binding(2) var<storage, read> vals_in: array<u32>;
@group(0) @binding(3) var<storage, read_write> hist: array<u32>;
@group(0) @binding(4) var<storage, read_write> keys_out: array<u32>;
@group(0) @binding(5) var<storage, read_write> vals_out: array<u32>;

var<workgroup> bins: array<atomic<u32>, RADIX_BINS>;
var<workgroup> counts: array<u32, RADIX_BINS * RADIX_THREADS>;

fn digit(k: u32) -> u32 {
  return (k >> pp.shift) & (RADIX_BINS - 1u);
}

@compute @workgroup_size(RADIX_THREADS)
fn histogram(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let b = wg.x;
  if (t < RADIX_BINS) { atomicStore(&bins[t], 0u); }
  workgroupBarrier();
  let lo = b * RADIX_BLOCK + t * RADIX_ITEMS;
  let hi = min(pp.n, lo + RADIX_ITEMS);
  for (var i = lo; i < hi; i++) { atomicAdd(&bins[digit(keys_in[i])], 1u); }
  workgroupBarrier();
  if (t < RADIX_BINS) { hist[t * pp.blocks + b] = atomicLoad(&bins[t]); }
}

@compute @workgroup_size(RADIX_THREADS)
fn scatter(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let b = wg.x;
  let lo = b * RADIX_BLOCK + t * RADIX_ITEMS;
  let hi = min(pp.n, lo + RADIX_ITEMS);
  var mine: array<u32, RADIX_BINS>;
  for (var d = 0u; d < RADIX_BINS; d++) { mine[d] = 0u; }
  for (var i = lo; i < hi; i++) { mine[digit(keys_in[i])] += 1u; }
  for (var d = 0u; d < RADIX_BINS; d++) { counts[d * RADIX_THREADS + t] = mine[d]; }
  workgroupBarrier();
  if (t < RADIX_BINS) {
    var run = hist[t * pp.blocks + b];
    for (var j = 0u; j < RADIX_THREADS; j++) {
      let c = counts[t * RADIX_THREADS + j];
      counts[t * RADIX_THREADS + j] = run;
      run += c;
    }
  }
  workgroupBarrier();
  for (var d = 0u; d < RADIX_BINS; d++) { mine[d] = counts[d * RADIX_THREADS + t]; }
  for (var i = lo; i < hi; i++) {
    let k = keys_in[i];
    let d = digit(k);
    let p = mine[d];
    mine[d] = p + 1u;
    keys_out[p] = k;
    vals_out[p] = vals_in[i];
  }
}
