// Colour MLP weight gradients: a deterministic two-level sum over Gaussians of the
// per-Gaussian factors color_mlp_backward.wgsl wrote to the activation buffer.
//
// Design: every weight's gradient is Σ_i a_i·b_i for two columns of the activation
// rows (W2[j,k]: δ2_j·h1_k; W3[o,k]: δz_o·h2_k; W1[j,k]: δ1_j·f_k or δ1_j·d_k; a bias:
// δ alone). The condition columns of W1 (and the direction columns when one
// direction is shared) factor as cond_k·Σ_i δ1_j. `partial` gives each invocation
// one weight and one chunk of GRAD_CHUNK Gaussians (grid: weights × chunks), so
// there are no atomics and the summation order is fixed; `reduce` sums the chunks
// of each weight and ADDS the result to the accumulated weight gradient (several
// backward calls may be accumulated before an Adam step).

@group(0) @binding(0) var<uniform> mp: MlpParams;
@group(0) @binding(1) var<storage, read> acts: array<f32>; // [N, act_stride]
@group(0) @binding(2) var<storage, read> frame_in: array<f32>; // [C + 3]
@group(0) @binding(3) var<storage, read_write> partial: array<f32>; // [chunks, P]
@group(0) @binding(4) var<storage, read_write> grad_weights: array<f32>; // [P]

@compute @workgroup_size(MLP_WG)
fn partial_sums(@builtin(global_invocation_id) gid: vec3<u32>) {
  let p = gid.x;
  let chunk = gid.y;
  if (p >= mp.total) { return; }
  let c_h1 = F + 3u;
  let c_d1 = c_h1 + H;
  let c_h2 = c_d1 + H;
  let c_d2 = c_h2 + H;
  let c_dz = c_d2 + H;
  // Columns a (δ) and b (activation; NONE = bias) and a constant factor.
  let NONE = 0xffffffffu;
  var ca = 0u;
  var cb = NONE;
  var factor = 1.0;
  if (p < OFF_B1) {
    let j = (p - OFF_W1) / IN;
    let k = (p - OFF_W1) % IN;
    ca = c_d1 + j;
    if (k < F) {
      cb = k;
    } else if (k < F + C) {
      factor = frame_in[k - F];
    } else if (mp.dir_per_gaussian != 0u) {
      cb = F + (k - F - C);
    } else {
      factor = frame_in[C + (k - F - C)];
    }
  } else if (p < OFF_W2) {
    ca = c_d1 + (p - OFF_B1);
  } else if (p < OFF_B2) {
    ca = c_d2 + (p - OFF_W2) / H;
    cb = c_h1 + (p - OFF_W2) % H;
  } else if (p < OFF_W3) {
    ca = c_d2 + (p - OFF_B2);
  } else if (p < OFF_B3) {
    ca = c_dz + (p - OFF_W3) / H;
    cb = c_h2 + (p - OFF_W3) % H;
  } else {
    ca = c_dz + (p - OFF_B3);
  }
  let i0 = chunk * GRAD_CHUNK;
  let i1 = min(mp.n, i0 + GRAD_CHUNK);
  var s = 0.0;
  if (cb == NONE) {
    for (var i = i0; i < i1; i++) { s += acts[i * S + ca]; }
  } else {
    for (var i = i0; i < i1; i++) { s += acts[i * S + ca] * acts[i * S + cb]; }
  }
  partial[chunk * mp.total + p] = factor * s;
}

@compute @workgroup_size(MLP_WG)
fn reduce(@builtin(global_invocation_id) gid: vec3<u32>) {
  let p = gid.x;
  if (p >= mp.total) { return; }
  var s = 0.0;
  for (var c = 0u; c < mp.chunks; c++) { s += partial[c * mp.total + p]; }
  grad_weights[p] += s;
}
