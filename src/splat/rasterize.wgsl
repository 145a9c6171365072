// Forward rasterizer: one workgroup per BIN_SIZE² bin, one invocation per pixel.
//
// Design: the reference renderCUDA. The tile's instances (front to back) are
// walked in batches of BIN_PIXELS: every invocation loads one Splat into
// workgroup memory, then each pixel blends the batch with the reference rules
// (skip power > 0; α = min(ALPHA_MAX, o·exp(power)); skip α < ALPHA_MIN; stop,
// without blending, when T·(1 − α) < T_MIN). A workgroup-wide count of finished
// pixels lets the whole tile stop early (read with workgroupUniformLoad so the
// loop exit stays in uniform control flow). For the backward pass each pixel keeps
// its final transmittance and `last` = 1 + index (within the tile list) of the
// last blended Gaussian. The α test is first done on the exponent against
// ln(ALPHA_MIN / o), staged with the batch, with a margin that only lets through
// borderline cases to the exact test — most pixels of a splat's footprint are
// rejected without evaluating exp(). Before that, a pixel outside the bounding box
// of the Gaussian's α ≥ ALPHA_MIN ellipse (half-extents sqrt(Q·Σxx), sqrt(Q·Σyy)
// with Q = 2·ln(o / ALPHA_MIN), padded) skips it outright; on SIMD hardware and
// llvmpipe, whole groups of pixels of the same row skip together.

@group(0) @binding(0) var<uniform> frame: Frame;
@group(0) @binding(1) var<storage, read> splats: array<Splat>;
@group(0) @binding(2) var<storage, read> inst_vals: array<u32>;
@group(0) @binding(3) var<storage, read> ranges: array<u32>;
@group(0) @binding(4) var<storage, read_write> out_rgb: array<f32>; // [H, W, 3]
@group(0) @binding(5) var<storage, read_write> out_alpha: array<f32>; // [H, W]
@group(0) @binding(6) var<storage, read_write> out_depth: array<f32>; // [H, W]
@group(0) @binding(7) var<storage, read_write> out_count: array<u32>; // [H, W]
@group(0) @binding(8) var<storage, read_write> out_final_t: array<f32>; // [H, W]
@group(0) @binding(9) var<storage, read_write> out_last: array<u32>; // [H, W]

var<workgroup> b_xy: array<vec2<f32>, BIN_PIXELS>;
var<workgroup> b_conic_o: array<vec4<f32>, BIN_PIXELS>;
var<workgroup> b_rgbd: array<vec4<f32>, BIN_PIXELS>;
var<workgroup> b_pmin: array<f32, BIN_PIXELS>;
var<workgroup> b_ext: array<vec2<f32>, BIN_PIXELS>;
var<workgroup> n_done: atomic<u32>;
var<workgroup> n_done_read: u32;

@compute @workgroup_size(BIN_SIZE, BIN_SIZE / FWD_PIXELS)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let tile = wg.y * frame.bins_x + wg.x;
  let start = ranges[2u * tile];
  let end = ranges[2u * tile + 1u];
  if (li == 0u) { atomicStore(&n_done, 0u); }
  workgroupBarrier();

  // Each invocation carries FWD_PIXELS pixels of one column (rows lid.y + k·rows).
  let rows = BIN_SIZE / FWD_PIXELS;
  var pf: array<vec2<f32>, FWD_PIXELS>;
  var done: array<bool, FWD_PIXELS>;
  var T: array<f32, FWD_PIXELS>;
  var C: array<vec3<f32>, FWD_PIXELS>;
  var D: array<f32, FWD_PIXELS>;
  var last: array<u32, FWD_PIXELS>;
  var cnt: array<u32, FWD_PIXELS>;
  var all_done = true;
  for (var q = 0u; q < FWD_PIXELS; q++) {
    let px = wg.x * BIN_SIZE + lid.x;
    let py = wg.y * BIN_SIZE + lid.y + q * rows;
    pf[q] = vec2<f32>(f32(px), f32(py));
    done[q] = !(px < frame.width && py < frame.height);
    if (done[q]) { atomicAdd(&n_done, 1u); } else { all_done = false; }
    T[q] = 1.0;
    C[q] = vec3<f32>(0.0);
    D[q] = 0.0;
    last[q] = 0u;
    cnt[q] = 0u;
  }

  for (var base = start; base < end; base += BIN_PIXELS) {
    workgroupBarrier();
    if (li == 0u) { n_done_read = atomicLoad(&n_done); }
    if (workgroupUniformLoad(&n_done_read) == BIN_PIXELS) { break; }
    for (var l = li; l < BIN_PIXELS; l += BIN_PIXELS / FWD_PIXELS) {
      let k = base + l;
      if (k < end) {
        let s = splats[inst_vals[k]];
        b_xy[l] = vec2<f32>(s.x, s.y);
        b_conic_o[l] = vec4<f32>(s.conic_a, s.conic_b, s.conic_c, s.opacity);
        b_rgbd[l] = vec4<f32>(s.r, s.g, s.b, s.depth);
        b_pmin[l] = power_floor(s.opacity);
        b_ext[l] = alpha_extent(s.conic_a, s.conic_b, s.conic_c, s.opacity);
      }
    }
    workgroupBarrier();
    let cnt_batch = min(BIN_PIXELS, end - base);
    for (var j = 0u; j < cnt_batch; j++) {
      if (all_done) { break; }
      let xy = b_xy[j];
      let ext = b_ext[j];
      let co = b_conic_o[j];
      let pmin = b_pmin[j];
      for (var q = 0u; q < FWD_PIXELS; q++) {
        if (done[q]) { continue; }
        let d = xy - pf[q];
        if (abs(d.x) > ext.x || abs(d.y) > ext.y) { continue; }
        let power = -0.5 * (co.x * d.x * d.x + co.z * d.y * d.y) - co.y * d.x * d.y;
        if (power > 0.0 || power < pmin) { continue; }
        let alpha = min(ALPHA_MAX, co.w * exp(power));
        if (alpha < ALPHA_MIN) { continue; }
        let test_t = T[q] * (1.0 - alpha);
        if (test_t < T_MIN) {
          done[q] = true;
          atomicAdd(&n_done, 1u);
          continue;
        }
        let w = alpha * T[q];
        let cd = b_rgbd[j];
        C[q] += cd.xyz * w;
        D[q] += cd.w * w;
        T[q] = test_t;
        last[q] = base - start + j + 1u;
        cnt[q] += 1u;
      }
      all_done = true;
      for (var q = 0u; q < FWD_PIXELS; q++) { all_done = all_done && done[q]; }
    }
  }
  for (var q = 0u; q < FWD_PIXELS; q++) {
    let px = u32(pf[q].x);
    let py = u32(pf[q].y);
    if (px < frame.width && py < frame.height) {
      let p = py * frame.width + px;
      let t = T[q];
      out_rgb[3u * p] = C[q].x + t * frame.bg_r;
      out_rgb[3u * p + 1u] = C[q].y + t * frame.bg_g;
      out_rgb[3u * p + 2u] = C[q].z + t * frame.bg_b;
      out_alpha[p] = 1.0 - t;
      out_depth[p] = D[q];
      out_count[p] = cnt[q];
      out_final_t[p] = t;
      out_last[p] = last[q];
    }
  }
}
