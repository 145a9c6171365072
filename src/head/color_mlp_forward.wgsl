// Colour MLP forward, one invocation per Gaussian: rgb_i = sigmoid(MLP(f_i, cond, d_i)).
//
// Design: the frame condition (articulation + jaw code, and the view direction when
// one direction is shared by all Gaussians) is the same for every Gaussian, so its
// part of the first layer, base = b1 + W1[:, F..F+C]·cond (+ W1[:, F+C..]·d), is
// computed once per workgroup into workgroup memory (thread j computes row j) and
// each invocation adds only its own feature (and direction) columns. Hidden
// activations live in private arrays sized H. The output goes to
// out[out_offset + 3i ..]: either the MLP's own rgb buffer (host read-back) or,
// with out_offset = the colour group's offset, the splatter's parameter buffer, so
// the colours never leave the device. The network shape (F, C, H, offsets) is
// compiled in as constants, so every loop has a fixed trip count. The math is colorMlpForwardRef() of
// color_mlp.ts (f32 here, f64 there).

@group(0) @binding(0) var<uniform> mp: MlpParams;
@group(0) @binding(1) var<storage, read> weights: array<f32>; // [P]
@group(0) @binding(2) var<storage, read> features: array<f32>; // [N, F]
@group(0) @binding(3) var<storage, read> frame_in: array<f32>; // [C + 3]: cond, shared dir
@group(0) @binding(4) var<storage, read> dirs: array<f32>; // [N, 3] (when dir_per_gaussian)
@group(0) @binding(5) var<storage, read_write> out: array<f32>; // rgb at out_offset, [N, 3]

var<workgroup> base: array<f32, H>;

@compute @workgroup_size(MLP_WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  if (li < H) {
    let row = OFF_W1 + li * IN;
    var s = weights[OFF_B1 + li];
    for (var k = 0u; k < C; k++) { s += weights[row + F + k] * frame_in[k]; }
    if (mp.dir_per_gaussian == 0u) {
      for (var k = 0u; k < 3u; k++) { s += weights[row + F + C + k] * frame_in[C + k]; }
    }
    base[li] = s;
  }
  workgroupBarrier();
  let i = gid.x;
  if (i >= mp.n) { return; }

  var f: array<f32, F>;
  for (var k = 0u; k < F; k++) { f[k] = features[i * F + k]; }
  var d = vec3<f32>(0.0);
  if (mp.dir_per_gaussian != 0u) { d = vec3<f32>(dirs[3u * i], dirs[3u * i + 1u], dirs[3u * i + 2u]); }
  var h1: array<f32, H>;
  for (var j = 0u; j < H; j++) {
    let row = OFF_W1 + j * IN;
    var a = base[j];
    for (var k = 0u; k < F; k++) { a += weights[row + k] * f[k]; }
    if (mp.dir_per_gaussian != 0u) {
      a += dot(vec3<f32>(weights[row + F + C], weights[row + F + C + 1u], weights[row + F + C + 2u]), d);
    }
    h1[j] = max(a, 0.0);
  }
  var h2: array<f32, H>;
  for (var j = 0u; j < H; j++) {
    let row = OFF_W2 + j * H;
    var a = weights[OFF_B2 + j];
    for (var k = 0u; k < H; k++) { a += weights[row + k] * h1[k]; }
    h2[j] = max(a, 0.0);
  }
  for (var o = 0u; o < 3u; o++) {
    let row = OFF_W3 + o * H;
    var z = weights[OFF_B3 + o] + f[o];
    for (var k = 0u; k < H; k++) { z += weights[row + k] * h2[k]; }
    out[mp.out_offset + 3u * i + o] = 1.0 / (1.0 + exp(-z));
  }
}
