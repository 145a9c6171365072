// Colour MLP forward, one invocation per Gaussian: rgb_i = sigmoid(MLP(f_i, cond, d_i)).
//
// Design: the layers are color_mlp_common.wgsl's (the frame term of the first layer
// is computed once per workgroup). The output goes to out[out_offset + 3i ..]:
// either the MLP's own rgb buffer (host read-back) or, with out_offset = the colour
// group's offset, the splatter's parameter buffer, so the colours never leave the
// device. The math is colorMlpForwardRef() of color_mlp.ts (f32 here, f64 there).

@group(0) @binding(0) var<uniform> mp: MlpParams;
@group(0) @binding(5) var<storage, read_write> out: array<f32>; // rgb at out_offset, [N, 3]

@compute @workgroup_size(MLP_WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  load_frame_base(li);
  let i = gid.x;
  if (i >= mp.n) { return; }
  var r = mlp_forward(i);
  for (var o = 0u; o < 3u; o++) {
    out[mp.out_offset + 3u * i + o] = 1.0 / (1.0 + exp(-r.z[o]));
  }
}
