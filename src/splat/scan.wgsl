// Exclusive prefix sum of a u32 array, in ONE workgroup of SCAN_THREADS.
//
// Design: used for the per-Gaussian tile counts (→ instance offsets) and for the
// radix sort's digit histograms (→ scatter bases). Each thread scans a contiguous
// chunk serially, the chunk totals are scanned in workgroup memory (Hillis–Steele,
// log2(SCAN_THREADS) steps), then each thread adds its base while writing. One
// workgroup keeps it simple and exact; the arrays scanned here are at most a few
// hundred thousand entries (a multi-block scan would be the next step on a big GPU).
// `pp.n` entries are scanned; the grand total goes to total[pp.aux].

@group(0) @binding(0) var<uniform> pp: Pass;
@group(0) @binding(1) var<storage, read_write> data: array<u32>;
@group(0) @binding(2) var<storage, read_write> total: array<u32>;

var<workgroup> sums: array<u32, SCAN_THREADS>;

@compute @workgroup_size(SCAN_THREADS)
fn main(@builtin(local_invocation_index) t: u32) {
  let n = pp.n;
  let chunk = (n + SCAN_THREADS - 1u) / SCAN_THREADS;
  let lo = min(n, t * chunk);
  let hi = min(n, lo + chunk);
  var s = 0u;
  for (var i = lo; i < hi; i++) { s += data[i]; }
  sums[t] = s;
  workgroupBarrier();
  for (var d = 1u; d < SCAN_THREADS; d = d << 1u) {
    var v = 0u;
    if (t >= d) { v = sums[t - d]; }
    workgroupBarrier();
    sums[t] += v;
    workgroupBarrier();
  }
  var run = sums[t] - s; // exclusive base of this chunk
  for (var i = lo; i < hi; i++) {
    let x = data[i];
    data[i] = run;
    run += x;
  }
  if (t == SCAN_THREADS - 1u) { total[pp.aux] = sums[t]; }
}
