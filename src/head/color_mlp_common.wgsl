// Shared part of the colour MLP's forward and backward passes (appended after the
// generated prelude by mlpShaderSource()): the inputs both read (bindings 1–4), the
// first-layer term shared by a workgroup, and one Gaussian's way through the three
// layers. The math is colorMlpForwardRef() of color_mlp.ts (f32 here, f64 there).
// The including pass declares `mp: MlpParams` at binding 0.
//
// Design: the frame condition (articulation + jaw code, and the view direction when
// one direction is shared by all Gaussians) is the same for every Gaussian, so its
// part of the first layer, base = b1 + W1[:, F..F+C]·cond (+ W1[:, F+C..]·d), is
// computed once per workgroup into workgroup memory (thread j computes row j) and
// each invocation adds only its own feature (and direction) columns. Hidden
// activations live in private arrays sized H; the network shape (F, C, H, offsets)
// is compiled in as constants, so every loop has a fixed trip count.

@group(0) @binding(1) var<storage, read> weights: array<f32>; // [P]
@group(0) @binding(2) var<storage, read> features: array<f32>; // [N, F]
@group(0) @binding(3) var<storage, read> frame_in: array<f32>; // [C + 3]: cond, shared dir
@group(0) @binding(4) var<storage, read> dirs: array<f32>; // [N, 3] (when dir_per_gaussian)

var<workgroup> base: array<f32, H>;

// Fills `base` (thread li computes row li). Has a barrier: call it from uniform
// control flow, before any invocation returns.
fn load_frame_base(li: u32) {
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
}

// One Gaussian's inputs and activations: features f, direction d (zero when one
// direction is shared), h1 = relu(a1), h2 = relu(a2) and the output logits z
// (rgb = sigmoid(z)). h > 0 exactly where the pre-activation a > 0.
struct MlpForward {
  f: array<f32, F>,
  d: vec3<f32>,
  h1: array<f32, H>,
  h2: array<f32, H>,
  z: vec3<f32>,
}

fn mlp_forward(i: u32) -> MlpForward {
  var r: MlpForward;
  for (var k = 0u; k < F; k++) { r.f[k] = features[i * F + k]; }
  r.d = vec3<f32>(0.0);
  if (mp.dir_per_gaussian != 0u) {
    r.d = vec3<f32>(dirs[3u * i], dirs[3u * i + 1u], dirs[3u * i + 2u]);
  }
  for (var j = 0u; j < H; j++) {
    let row = OFF_W1 + j * IN;
    var a = base[j];
    for (var k = 0u; k < F; k++) { a += weights[row + k] * r.f[k]; }
    if (mp.dir_per_gaussian != 0u) {
      a += dot(vec3<f32>(weights[row + F + C], weights[row + F + C + 1u], weights[row + F + C + 2u]), r.d);
    }
    r.h1[j] = max(a, 0.0);
  }
  for (var j = 0u; j < H; j++) {
    let row = OFF_W2 + j * H;
    var a = weights[OFF_B2 + j];
    for (var k = 0u; k < H; k++) { a += weights[row + k] * r.h1[k]; }
    r.h2[j] = max(a, 0.0);
  }
  for (var o = 0u; o < 3u; o++) {
    let row = OFF_W3 + o * H;
    var z = weights[OFF_B3 + o] + r.f[o];
    for (var k = 0u; k < H; k++) { z += weights[row + k] * r.h2[k]; }
    r.z[o] = z;
  }
  return r;
}
