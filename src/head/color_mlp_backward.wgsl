// Colour MLP backward, one invocation per Gaussian: from dL/drgb_i to dL/df_i
// (added to the feature gradient) and to the per-Gaussian factors of the weight
// gradients.
//
// Design: the forward is recomputed by color_mlp_common.wgsl's mlp_forward() (no
// state is kept between the passes), then δz = g·y(1−y), δ2 = (W3ᵀδz)⊙[a2 > 0],
// δ1 = (W2ᵀδ2)⊙[a1 > 0]; dL/df_i = δz[0..3]
// (skip connection) + W1[:, 0..F]ᵀδ1. The weight gradients are sums over all
// Gaussians of outer products (δ1·xᵀ, δ2·h1ᵀ, δz·h2ᵀ); summing them here would need
// float atomics (CAS loops, which Mesa's GL driver deadlocks on), so each Gaussian
// writes its factors as one row of the activation buffer — [f (F), d (3), h1, δ1,
// h2, δ2 (H each), δz (3)] — and color_mlp_weight_grad.wgsl reduces them
// deterministically. A Gaussian with zero upstream gradient writes a zero row. The
// upstream gradient is read at grad_in[grad_offset + 3i ..]: the MLP's own buffer
// or the splatter's gradient buffer (colour group), so it never leaves the device.
// The math is colorMlpBackwardRef() of color_mlp.ts.

@group(0) @binding(0) var<uniform> mp: MlpParams;
@group(0) @binding(5) var<storage, read> grad_in: array<f32>; // dL/drgb at grad_offset, [N, 3]
@group(0) @binding(6) var<storage, read_write> grad_features: array<f32>; // [N, F], accumulated
@group(0) @binding(7) var<storage, read_write> acts: array<f32>; // [N, act_stride]

@compute @workgroup_size(MLP_WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  load_frame_base(li);
  let i = gid.x;
  if (i >= mp.n) { return; }
  let ao = i * S;
  let g = vec3<f32>(
    grad_in[mp.grad_offset + 3u * i],
    grad_in[mp.grad_offset + 3u * i + 1u],
    grad_in[mp.grad_offset + 3u * i + 2u],
  );
  if (all(g == vec3<f32>(0.0))) {
    for (var k = 0u; k < S; k++) { acts[ao + k] = 0.0; }
    return;
  }
  // Row sections.
  let o_h1 = ao + F + 3u;
  let o_d1 = o_h1 + H;
  let o_h2 = o_d1 + H;
  let o_d2 = o_h2 + H;
  let o_dz = o_d2 + H;

  var r = mlp_forward(i);
  for (var k = 0u; k < F; k++) { acts[ao + k] = r.f[k]; }
  acts[ao + F] = r.d.x;
  acts[ao + F + 1u] = r.d.y;
  acts[ao + F + 2u] = r.d.z;
  for (var j = 0u; j < H; j++) {
    acts[o_h1 + j] = r.h1[j];
    acts[o_h2 + j] = r.h2[j];
  }
  var dz = vec3<f32>(0.0);
  for (var o = 0u; o < 3u; o++) {
    let y = 1.0 / (1.0 + exp(-r.z[o]));
    dz[o] = g[o] * y * (1.0 - y);
    acts[o_dz + o] = dz[o];
  }
  // δ2, then δ1 = W2ᵀ δ2 (accumulated row by row), masked by the ReLUs.
  var d1: array<f32, H>;
  for (var k = 0u; k < H; k++) { d1[k] = 0.0; }
  for (var j = 0u; j < H; j++) {
    var dh = weights[OFF_W3 + j] * dz.x + weights[OFF_W3 + H + j] * dz.y +
      weights[OFF_W3 + 2u * H + j] * dz.z;
    if (r.h2[j] <= 0.0) { dh = 0.0; }
    acts[o_d2 + j] = dh;
    if (dh != 0.0) {
      let row = OFF_W2 + j * H;
      for (var k = 0u; k < H; k++) { d1[k] += dh * weights[row + k]; }
    }
  }
  var gf: array<f32, F>;
  for (var k = 0u; k < F; k++) { gf[k] = 0.0; }
  gf[0] = dz.x;
  gf[1] = dz.y;
  gf[2] = dz.z;
  for (var j = 0u; j < H; j++) {
    var dj = d1[j];
    if (r.h1[j] <= 0.0) { dj = 0.0; }
    acts[o_d1 + j] = dj;
    if (dj != 0.0) {
      let row = OFF_W1 + j * IN;
      for (var k = 0u; k < F; k++) { gf[k] += dj * weights[row + k]; }
    }
  }
  for (var k = 0u; k < F; k++) { grad_features[i * F + k] += gf[k]; }
}
