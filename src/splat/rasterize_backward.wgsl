// Backward rasterizer: per-pixel reverse traversal (the reference renderCUDA
// backward), one workgroup per bin (see emit.wgsl), BWD_THREADS invocations ×
// BWD_PIXELS pixels.
//
// Design: each pixel starts from its final transmittance and walks the tile's list
// back to front from its `last` contributor, recovering T_i = T_{i+1} / (1 − α_i)
// and the colour blended behind (S); dL/dα follows _cpu_raster.ts exactly, incl.
// the background and dL/dalpha terms and no o/G gradient where α hit ALPHA_MAX.
// The per-Gaussian sums over pixels are the hard part: WGSL has no float atomics.
// We add f32 values with a compare-exchange loop on the u32 bit pattern
// (atomicCompareExchangeWeak on array<atomic<u32>>): exact f32 adds in a
// nondeterministic order, no fixed-point range to choose. Atomics are kept rare by
// two reductions before them: each invocation first sums its BWD_PIXELS pixels
// privately, then writes its partial sums for the whole batch of BWD_BATCH
// Gaussians to workgroup memory; after a barrier, invocation t reduces Gaussians
// t, t + BWD_THREADS, … over all invocations and issues the CAS adds — at most one
// per value per (tile, Gaussian) instance, skipped for zeros. On llvmpipe the
// atomics (scalarised per lane) dominated the pass before this reduction (2.5×
// slower without it). The reduction is compiled only with the SHARED_REDUCE
// define: Mesa llvmpipe's GL backend deadlocks on it, so on GL the direct
// per-invocation CAS variant is used (see _webgpu_context.ts). As in
// the forward pass, exp() is skipped where the exponent is surely below
// ln(ALPHA_MIN / o) (same conservative floor, so the same pixels pass), and
// pixels outside the padded bounding box of the α ≥ ALPHA_MIN ellipse skip the
// Gaussian (same box as the forward pass).

@group(0) @binding(0) var<uniform> frame: Frame;
@group(0) @binding(1) var<storage, read> splats: array<Splat>;
@group(0) @binding(2) var<storage, read> inst_vals: array<u32>;
@group(0) @binding(3) var<storage, read> ranges: array<u32>;
@group(0) @binding(4) var<storage, read> final_t: array<f32>; // [H, W]
@group(0) @binding(5) var<storage, read> last_in: array<u32>; // [H, W]
@group(0) @binding(6) var<storage, read> d_rgb: array<f32>; // [H, W, 3]
@group(0) @binding(7) var<storage, read> d_alpha: array<f32>; // [H, W] (or [1] when absent)
@group(0) @binding(8) var<storage, read_write> grads2d: array<atomic<u32>>; // [N, GRAD2D_STRIDE]

var<workgroup> b_id: array<u32, BWD_BATCH>;
var<workgroup> b_xy: array<vec2<f32>, BWD_BATCH>;
var<workgroup> b_conic_o: array<vec4<f32>, BWD_BATCH>;
var<workgroup> b_rgb: array<vec3<f32>, BWD_BATCH>;
var<workgroup> b_pmin: array<f32, BWD_BATCH>;
var<workgroup> b_ext: array<vec2<f32>, BWD_BATCH>;
//#if SHARED_REDUCE
var<workgroup> part: array<f32, BWD_BATCH * GRAD2D_STRIDE * BWD_THREADS>; // [batch, 9, threads]
//#endif
var<workgroup> max_last: atomic<u32>;
var<workgroup> max_last_read: u32;

fn atomic_add_f32(i: u32, v: f32) {
  var old = atomicLoad(&grads2d[i]);
  loop {
    let r = atomicCompareExchangeWeak(&grads2d[i], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
    old = r.old_value;
  }
}

@compute @workgroup_size(BWD_THREADS)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let tile = wg.y * frame.bins_x + wg.x;
  let start = ranges[2u * tile];
  let has_alpha = arrayLength(&d_alpha) >= frame.width * frame.height;
  let bg = vec3<f32>(frame.bg_r, frame.bg_g, frame.bg_b);

  var pf: array<vec2<f32>, BWD_PIXELS>;
  var T: array<f32, BWD_PIXELS>;
  var TF: array<f32, BWD_PIXELS>;
  var S: array<vec3<f32>, BWD_PIXELS>;
  var G0: array<vec3<f32>, BWD_PIXELS>;
  var GA: array<f32, BWD_PIXELS>;
  var last: array<u32, BWD_PIXELS>;
  if (t == 0u) { atomicStore(&max_last, 0u); }
  workgroupBarrier();
  var my_max = 0u;
  for (var q = 0u; q < BWD_PIXELS; q++) {
    let lp = t + BWD_THREADS * q;
    let px = wg.x * BIN_SIZE + lp % BIN_SIZE;
    let py = wg.y * BIN_SIZE + lp / BIN_SIZE;
    pf[q] = vec2<f32>(f32(px), f32(py));
    S[q] = vec3<f32>(0.0);
    last[q] = 0u;
    T[q] = 1.0;
    TF[q] = 1.0;
    G0[q] = vec3<f32>(0.0);
    GA[q] = 0.0;
    if (px < frame.width && py < frame.height) {
      let p = py * frame.width + px;
      T[q] = final_t[p];
      TF[q] = final_t[p];
      last[q] = last_in[p];
      G0[q] = vec3<f32>(d_rgb[3u * p], d_rgb[3u * p + 1u], d_rgb[3u * p + 2u]);
      if (has_alpha) { GA[q] = d_alpha[p]; }
      my_max = max(my_max, last[q]);
    }
  }
  atomicMax(&max_last, my_max);
  workgroupBarrier();
  if (t == 0u) { max_last_read = atomicLoad(&max_last); }
  let n_last = workgroupUniformLoad(&max_last_read);
  let n_batches = (n_last + BWD_BATCH - 1u) / BWD_BATCH;

  for (var bi = n_batches; bi > 0u; bi--) {
    let lo = (bi - 1u) * BWD_BATCH;
    let hi = min(lo + BWD_BATCH, n_last);
    workgroupBarrier();
    for (var l = t; lo + l < hi; l += BWD_THREADS) {
      let g = inst_vals[start + lo + l];
      let s = splats[g];
      b_id[l] = g;
      b_xy[l] = vec2<f32>(s.x, s.y);
      b_conic_o[l] = vec4<f32>(s.conic_a, s.conic_b, s.conic_c, s.opacity);
      b_rgb[l] = vec3<f32>(s.r, s.g, s.b);
      b_pmin[l] = power_floor(s.opacity);
      b_ext[l] = alpha_extent(s.conic_a, s.conic_b, s.conic_c, s.opacity);
    }
    workgroupBarrier();
    for (var jj = hi - lo; jj > 0u; jj--) {
      let j = jj - 1u;
      let k = lo + j;
      let xy = b_xy[j];
      let co = b_conic_o[j];
      let c = b_rgb[j];
      let pmin = b_pmin[j];
      let ext = b_ext[j];
      var g_xy = vec2<f32>(0.0);
      var g_conic = vec3<f32>(0.0);
      var g_o = 0.0;
      var g_rgb = vec3<f32>(0.0);
      var hit = false;
      for (var q = 0u; q < BWD_PIXELS; q++) {
        if (k >= last[q]) { continue; }
        let d = xy - pf[q];
        if (abs(d.x) > ext.x || abs(d.y) > ext.y) { continue; }
        let power = -0.5 * (co.x * d.x * d.x + co.z * d.y * d.y) - co.y * d.x * d.y;
        if (power > 0.0 || power < pmin) { continue; }
        let G = exp(power);
        let ao = co.w * G;
        let alpha = min(ALPHA_MAX, ao);
        if (alpha < ALPHA_MIN) { continue; }
        hit = true;
        let one_minus = 1.0 - alpha;
        let Ti = T[q] / one_minus;
        T[q] = Ti;
        let w = alpha * Ti;
        let g0 = G0[q];
        g_rgb += w * g0;
        let tf = TF[q];
        let d_al = dot(g0, c * Ti - (S[q] + tf * bg) / one_minus) + GA[q] * tf / one_minus;
        S[q] += c * w;
        if (ao >= ALPHA_MAX) { continue; }
        g_o += G * d_al;
        let d_pow = co.w * d_al * G;
        g_xy += d_pow * vec2<f32>(-(co.x * d.x + co.y * d.y), -(co.y * d.x + co.z * d.y));
        g_conic += d_pow * vec3<f32>(-0.5 * d.x * d.x, -d.x * d.y, -0.5 * d.y * d.y);
      }
//#if SHARED_REDUCE
      let pb = j * GRAD2D_STRIDE * BWD_THREADS + t;
      if (hit) {
        part[pb] = g_xy.x;
        part[pb + BWD_THREADS] = g_xy.y;
        part[pb + 2u * BWD_THREADS] = g_conic.x;
        part[pb + 3u * BWD_THREADS] = g_conic.y;
        part[pb + 4u * BWD_THREADS] = g_conic.z;
        part[pb + 5u * BWD_THREADS] = g_o;
        part[pb + 6u * BWD_THREADS] = g_rgb.x;
        part[pb + 7u * BWD_THREADS] = g_rgb.y;
        part[pb + 8u * BWD_THREADS] = g_rgb.z;
      } else {
        for (var v = 0u; v < GRAD2D_STRIDE; v++) { part[pb + v * BWD_THREADS] = 0.0; }
      }
    }
    workgroupBarrier();
    for (var j = t; lo + j < hi; j += BWD_THREADS) {
      let o = b_id[j] * GRAD2D_STRIDE;
      for (var v = 0u; v < GRAD2D_STRIDE; v++) {
        let base = (j * GRAD2D_STRIDE + v) * BWD_THREADS;
        var sum = 0.0;
        for (var u = 0u; u < BWD_THREADS; u++) { sum += part[base + u]; }
        if (sum != 0.0) { atomic_add_f32(o + v, sum); }
      }
    }
  }
}
//#else
      // Fallback without the workgroup reduction (Mesa llvmpipe's GL backend hangs
      // on the shared-memory version): one CAS add per value per invocation.
      if (hit) {
        let o = b_id[j] * GRAD2D_STRIDE;
        atomic_add_f32(o, g_xy.x);
        atomic_add_f32(o + 1u, g_xy.y);
        atomic_add_f32(o + 2u, g_conic.x);
        atomic_add_f32(o + 3u, g_conic.y);
        atomic_add_f32(o + 4u, g_conic.z);
        atomic_add_f32(o + 5u, g_o);
        atomic_add_f32(o + 6u, g_rgb.x);
        atomic_add_f32(o + 7u, g_rgb.y);
        atomic_add_f32(o + 8u, g_rgb.z);
      }
    }
  }
}
//#endif
